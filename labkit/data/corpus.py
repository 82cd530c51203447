"""The corpus: items with an id, their comment texts and (optionally) their label set."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import scipy.sparse as sp

from .vocab import Vocabulary


@dataclass(frozen=True)
class Item:
    """One song (or clip, or document): its id, comment texts and labels.

    ``labels`` is ``None`` where the source has no labels at all (input for prediction), and an
    empty tuple where it has an empty label set. Labels keep their order and hold no duplicates.
    """

    id: str
    comments: tuple[str, ...]
    labels: tuple[str, ...] | None = None

    @property
    def text(self) -> str:
        """All comments joined into one text, one comment per line."""
        return "\n".join(self.comments)


@dataclass
class Corpus:
    """An ordered collection of :class:`Item` with unique ids.

    Build one with :meth:`from_items` (which checks ids) or a reader such as
    :func:`labkit.data.read_jsonl_corpus`.
    """

    items: list[Item]
    name: str = ""
    _position: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._position = {}
        for i, item in enumerate(self.items):
            if item.id in self._position:
                raise ValueError(f"duplicate item id {item.id!r} (items {self._position[item.id]} and {i})")
            self._position[item.id] = i

    @classmethod
    def from_items(cls, items: Iterable[Item], name: str = "") -> Corpus:
        return cls(list(items), name=name)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __getitem__(self, key: int | str) -> Item:
        if isinstance(key, str):
            return self.items[self._position[key]]
        return self.items[key]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._position

    def __repr__(self) -> str:
        labelled = sum(item.labels is not None for item in self.items)
        return f"Corpus({self.name or 'unnamed'}: {len(self)} items, {labelled} labelled)"

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def comments(self) -> list[tuple[str, ...]]:
        return [item.comments for item in self.items]

    @property
    def texts(self) -> list[str]:
        """One text per item: its comments joined by newlines."""
        return [item.text for item in self.items]

    @property
    def has_labels(self) -> bool:
        return all(item.labels is not None for item in self.items)

    @property
    def label_sets(self) -> list[tuple[str, ...]]:
        """Each item's labels; an item without labels gives an empty tuple."""
        return [item.labels or () for item in self.items]

    def position(self, item_id: str) -> int:
        """Row index of ``item_id``."""
        return self._position[item_id]

    def label_vocabulary(self, *, min_count: int = 1) -> Vocabulary:
        """Labels of the corpus seen at least ``min_count`` times, most frequent first."""
        return Vocabulary.from_label_sets(self.label_sets, min_count=min_count)

    def label_matrix(self, vocab: Vocabulary | None = None) -> sp.csr_matrix:
        """Binary CSR (len(self), len(vocab)); labels outside ``vocab`` are left out."""
        vocab = vocab if vocab is not None else self.label_vocabulary()
        return vocab.label_matrix(self.label_sets)

    def subset(self, ids: Sequence[str]) -> Corpus:
        """The items with these ids, in this order."""
        return Corpus([self[i] for i in ids], name=self.name)

    def with_labels(self, label_sets: Sequence[Iterable[str]] | None) -> Corpus:
        """A copy whose items carry ``label_sets`` (or no labels at all when ``None``)."""
        if label_sets is None:
            return Corpus([Item(it.id, it.comments, None) for it in self.items], name=self.name)
        if len(label_sets) != len(self.items):
            raise ValueError(f"{len(label_sets)} label sets for {len(self.items)} items")
        return Corpus(
            [Item(it.id, it.comments, tuple(dict.fromkeys(ls))) for it, ls in zip(self.items, label_sets)],
            name=self.name,
        )
