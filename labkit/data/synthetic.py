"""A synthetic teaching corpus with everything known: the planted label groups, each song's
complete label set, the experts' incomplete gold labels, and playlists.

It mirrors the DiVa setting (seed 000, Figure 1): comments mention labels from planted semantic
groups (synonyms such as "male voice" / "male vocal" / "male singer"); the expert vocabulary holds
only the most frequent labels, so the others are out of vocabulary; experts also miss part of the
in-vocabulary labels (missed supervision). Some comments name a label the song does not have ("my
brother only listens to jazz"), so string matching alone is not enough. Playlists are walks over
songs that mostly stay within a style and drift to neighbouring styles, so neighbouring songs in a
playlist share tags more than distant ones (seed 001, Figure 2).

``make_synthetic_corpus(seed)`` builds it in memory; ``write_synthetic_corpus(folder)`` writes the
same files as the MusicCaps protocol (``train.jsonl``, ``test_comments.jsonl``, ``test1.jsonl``,
``test2.jsonl``, ``gold_vocab.txt``), ``label_groups.tsv``, and the playlists in the Yes.com format
under ``playlists/``. The committed sample in ``data/synthetic/`` is its output for the defaults.
``iter_synthetic_items(n)`` streams any number of items for scale tests (``labkit synth --items N``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..outputs import atomic_write_text, write_folder
from .corpus import Corpus, Item
from .jsonl import write_jsonl_corpus
from .playlists import PlaylistCollection

# Planted semantic groups: the first labels of a group are the ones people use most.
LABEL_GROUPS: dict[str, list[str]] = {
    "sad mood": ["sad", "melancholic", "gloomy", "heartbreaking", "sorrowful"],
    "happy mood": ["happy", "cheerful", "joyful", "uplifting", "feel good"],
    "high energy": ["energetic", "upbeat", "lively", "high energy", "driving rhythm"],
    "calm mood": ["relaxing", "calm", "soothing", "peaceful", "chill"],
    "male vocals": ["male voice", "male vocal", "male singer", "baritone voice"],
    "female vocals": ["female voice", "female vocal", "female singer", "soprano voice"],
    "no vocals": ["instrumental", "no vocals", "no singing"],
    "electric guitar": ["electric guitar", "distorted guitar", "guitar riff", "e-guitar"],
    "acoustic guitar": ["acoustic guitar", "fingerpicking", "strummed guitar"],
    "piano": ["piano", "piano melody", "soft piano", "keys"],
    "drums": ["drums", "punchy kick", "drum beat", "hi hats"],
    "synths": ["synth", "synthesizer", "synth pad", "electronic beat"],
    "fast tempo": ["fast tempo", "quick tempo", "rapid pace"],
    "slow tempo": ["slow tempo", "laid back", "unhurried"],
    "low quality": ["low quality", "poor audio quality", "lo-fi", "noisy recording"],
}

# Styles (genres) in a ring: playlists drift to the neighbouring styles. Each style has its own
# labels and prefers some of the groups above.
STYLES: dict[str, tuple[list[str], list[str]]] = {
    "rock": (["rock", "hard rock", "rock and roll"], ["electric guitar", "drums", "high energy", "male vocals", "fast tempo"]),
    "punk": (["punk", "punk rock", "garage"], ["electric guitar", "drums", "high energy", "low quality", "fast tempo"]),
    "hip-hop": (["hip-hop", "rap", "boom bap"], ["drums", "synths", "male vocals", "high energy", "low quality"]),
    "electronic": (["electronic", "edm", "techno"], ["synths", "drums", "high energy", "fast tempo", "no vocals"]),
    "pop": (["pop", "pop song", "catchy pop"], ["female vocals", "synths", "happy mood", "drums", "high energy"]),
    "jazz": (["jazz", "swing", "bebop"], ["piano", "drums", "calm mood", "no vocals", "slow tempo"]),
    "classical": (["classical", "orchestral", "string ensemble"], ["piano", "no vocals", "calm mood", "sad mood", "slow tempo"]),
    "folk": (["folk", "singer-songwriter", "folk song"], ["acoustic guitar", "female vocals", "calm mood", "sad mood", "slow tempo"]),
    "country": (["country", "twang", "bluegrass"], ["acoustic guitar", "male vocals", "happy mood", "slow tempo", "low quality"]),
}

TEMPLATES = [
    "the {} in this track is amazing",
    "such a {} song",
    "{} vibes all the way",
    "i really love the {} here",
    "you can hear the {} right from the start",
    "this one is so {}",
    "{} at its best",
    "what a {} tune",
    "the {} part gives me chills",
]
FILLERS = [
    "listened to this on repeat all week",
    "who is here in 2023",
    "my dad used to play this in the car",
    "this brings back memories of summer",
    "underrated artist for sure",
    "found this through a friend",
    "the lyrics hit different at night",
    "best song on the album",
    "can't stop listening",
    "saw them live last year",
]
DISTRACTORS = [
    "my brother only listens to {} but he liked this",
    "not a fan of {} usually",
    "people who say this is {} are wrong",
]


@dataclass
class SyntheticCorpus:
    """Everything the generator knows.

    train: training songs with gold labels; test_comments: test songs without labels; test_gold and
    test_complete: the test songs' gold and complete label sets; gold_vocab: the expert vocabulary;
    complete: every song's complete labels (train and test, in id order); label_group: label -> its
    planted group (styles count as groups); playlists: walks over all songs (song i = ``ids[i]``).
    """

    train: Corpus
    test_comments: Corpus
    test_gold: Corpus
    test_complete: Corpus
    gold_vocab: list[str]
    complete: dict[str, tuple[str, ...]]
    label_group: dict[str, str]
    playlists: PlaylistCollection
    song_style: dict[str, str]


def _group_table() -> dict[str, list[str]]:
    groups = dict(LABEL_GROUPS)
    for style, (labels, _) in STYLES.items():
        groups[f"{style} style"] = labels
    return groups


def _pick_labels(rng: np.random.Generator, labels: list[str], n: int) -> list[str]:
    """Labels of a group with Zipf-like preference for the first (most common) ones."""
    weights = 1.0 / np.arange(1, len(labels) + 1) ** 1.2
    chosen = rng.choice(len(labels), size=min(n, len(labels)), replace=False, p=weights / weights.sum())
    return [labels[i] for i in sorted(chosen)]


def _song(rng: np.random.Generator, style: str, groups: dict[str, list[str]]) -> list[str]:
    style_labels, preferred = STYLES[style]
    labels = _pick_labels(rng, style_labels, 1 + int(rng.random() < 0.3))
    others = [g for g in LABEL_GROUPS if g not in preferred]
    n_preferred = int(rng.integers(2, 5))
    chosen = list(rng.choice(preferred, size=n_preferred, replace=False))
    if rng.random() < 0.5:
        chosen.append(str(rng.choice(others)))
    for group in chosen:
        labels += _pick_labels(rng, groups[group], 1 + int(rng.random() < 0.35))
    return list(dict.fromkeys(labels))


def _comments(rng: np.random.Generator, labels: list[str], all_labels: list[str]) -> list[str]:
    comments = [TEMPLATES[int(rng.integers(len(TEMPLATES)))].format(label) for label in labels]
    comments += [FILLERS[int(i)] for i in rng.choice(len(FILLERS), size=int(rng.integers(1, 4)), replace=False)]
    if rng.random() < 0.25:
        stray = [label for label in all_labels if label not in labels]
        comments.append(DISTRACTORS[int(rng.integers(len(DISTRACTORS)))].format(stray[int(rng.integers(len(stray)))]))
    order = rng.permutation(len(comments))
    return [comments[i] for i in order]


def _playlists(rng: np.random.Generator, styles: list[str], n_playlists: int, length: tuple[int, int]) -> list[list[int]]:
    ring = list(STYLES)
    by_style = {s: [i for i, st in enumerate(styles) if st == s] for s in ring}
    playlists = []
    for _ in range(n_playlists):
        position = ring.index(styles[int(rng.integers(len(styles)))])
        songs: list[int] = []
        for _ in range(int(rng.integers(length[0], length[1] + 1))):
            step = rng.random()
            if step > 0.75:  # drift to a neighbouring style
                position = (position + (1 if step > 0.875 else -1)) % len(ring)
            pool = [s for s in by_style[ring[position]] if s not in songs] or by_style[ring[position]]
            songs.append(int(rng.choice(pool)))
        playlists.append(songs)
    return playlists


def make_synthetic_corpus(
    n_songs: int = 480,
    *,
    seed: int = 0,
    test_fraction: float = 0.25,
    vocab_size: int = 30,
    keep_probability: float = 0.5,
    n_playlists: int = 600,
    playlist_length: tuple[int, int] = (4, 12),
) -> SyntheticCorpus:
    """Generate the corpus; the same arguments always give the same corpus."""
    rng = np.random.default_rng(seed)
    groups = _group_table()
    label_group = {label: g for g, labels in groups.items() for label in labels}
    all_labels = list(label_group)
    ids = [f"song-{i:04d}" for i in range(n_songs)]
    styles = [str(s) for s in rng.choice(list(STYLES), size=n_songs)]
    complete = {sid: tuple(_song(rng, st, groups)) for sid, st in zip(ids, styles)}
    comments = {sid: tuple(_comments(rng, list(complete[sid]), all_labels)) for sid in ids}
    n_test = int(round(n_songs * test_fraction))
    test_ids = set(ids[i] for i in rng.choice(n_songs, size=n_test, replace=False))
    train_ids = [sid for sid in ids if sid not in test_ids]
    test_order = [sid for sid in ids if sid in test_ids]
    counts = Counter(label for sid in train_ids for label in complete[sid])
    gold_vocab = [label for label, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:vocab_size]]
    in_vocab = set(gold_vocab)
    gold = {
        sid: tuple(label for label in complete[sid] if label in in_vocab and rng.random() < keep_probability) for sid in ids
    }
    playlists = PlaylistCollection.from_lists(_playlists(rng, styles, n_playlists, playlist_length), ids)
    return SyntheticCorpus(
        train=Corpus([Item(sid, comments[sid], gold[sid]) for sid in train_ids], name="train"),
        test_comments=Corpus([Item(sid, comments[sid]) for sid in test_order], name="test_comments"),
        test_gold=Corpus([Item(sid, comments[sid], gold[sid]) for sid in test_order], name="test1"),
        test_complete=Corpus([Item(sid, comments[sid], complete[sid]) for sid in test_order], name="test2"),
        gold_vocab=gold_vocab,
        complete=complete,
        label_group=label_group,
        playlists=playlists,
        song_style=dict(zip(ids, styles)),
    )


def write_synthetic_corpus(folder: str | Path, corpus: SyntheticCorpus | None = None, **kwargs) -> Path:
    """Write the corpus files into ``folder`` and return it. The folder is written whole, in a
    temporary folder renamed into place (an interrupted run leaves the old corpus or the new one,
    never a mixture), and replaces only an earlier synthetic corpus (:func:`labkit.outputs.write_folder`).

    Layout: ``train.jsonl``, ``test_comments.jsonl``, ``test1.jsonl`` (gold), ``test2.jsonl``
    (complete), ``gold_vocab.txt``, ``label_groups.tsv`` (label, group, in_gold_vocab) and
    ``playlists/`` in the Yes.com format (``train.txt``, ``tags.txt`` with each song's gold labels
    as tags, ``tag_hash.txt``, ``song_hash.txt`` with the item id as title and the style as artist).
    """
    corpus = corpus if corpus is not None else make_synthetic_corpus(**kwargs)

    def write(folder: Path) -> None:
        write_jsonl_corpus(corpus.train, folder / "train.jsonl")
        write_jsonl_corpus(corpus.test_comments, folder / "test_comments.jsonl")
        write_jsonl_corpus(corpus.test_gold, folder / "test1.jsonl")
        write_jsonl_corpus(corpus.test_complete, folder / "test2.jsonl")
        atomic_write_text(folder / "gold_vocab.txt", "\n".join(corpus.gold_vocab) + "\n")
        vocab = set(corpus.gold_vocab)
        rows = ["label\tgroup\tin_gold_vocab"] + [
            f"{label}\t{group}\t{int(label in vocab)}" for label, group in corpus.label_group.items()
        ]
        atomic_write_text(folder / "label_groups.tsv", "\n".join(rows) + "\n")
        ids = corpus.playlists.song_keys
        gold = {item.id: item.labels for part in (corpus.train, corpus.test_gold) for item in part}
        tag_id = {label: i for i, label in enumerate(corpus.gold_vocab)}
        plays = np.bincount(corpus.playlists.songs, minlength=len(ids))
        lines = [" ".join(str(i) for i in range(len(ids))), " ".join(str(int(c)) for c in plays)]
        lines += [" ".join(str(s) for s in corpus.playlists[p]) for p in range(len(corpus.playlists))]
        atomic_write_text(folder / "playlists" / "train.txt", "\n".join(lines) + "\n")
        tags = [" ".join(str(tag_id[label]) for label in gold[sid]) or "#" for sid in ids]
        atomic_write_text(folder / "playlists" / "tags.txt", "\n".join(tags) + "\n")
        atomic_write_text(folder / "playlists" / "tag_hash.txt", "\n".join(f"{i}, {label}" for label, i in tag_id.items()) + "\n")
        songs = [f"{i}\t{sid}\t{corpus.song_style[sid]}" for i, sid in enumerate(ids)]
        atomic_write_text(folder / "playlists" / "song_hash.txt", "\n".join(songs) + "\n")

    return write_folder(folder, write, kind="synthetic-corpus", option="--out")


STREAM_CHUNK = 10_000  # items generated from one seeded generator (memory holds one chunk's worth)


def iter_synthetic_items(n_items: int, *, seed: int = 0, keep_probability: float = 0.5) -> Iterator[Item]:
    """``n_items`` synthetic items ("item-0000000", ...) generated one at a time, for labelling
    and training at catalogue scale: songs and comments drawn as in :func:`make_synthetic_corpus`,
    gold labels those of each song's complete set that are in the default corpus's gold vocabulary
    (``make_synthetic_corpus(seed=seed).gold_vocab``), each kept with ``keep_probability``.

    Item i comes from a generator seeded by (seed, i // STREAM_CHUNK), so the first m items of a
    longer stream are the m items of a shorter one with the same seed."""
    if n_items < 0:
        raise ValueError(f"n_items must be at least 0, got {n_items}")
    vocabulary = set(make_synthetic_corpus(seed=seed).gold_vocab)
    groups = _group_table()
    all_labels = list(dict.fromkeys(label for labels in groups.values() for label in labels))
    style_names = list(STYLES)
    for start in range(0, n_items, STREAM_CHUNK):
        rng = np.random.default_rng([seed, start // STREAM_CHUNK])
        for k in range(min(STREAM_CHUNK, n_items - start)):  # one draw after another: a shorter stream is a prefix
            complete = _song(rng, style_names[int(rng.integers(len(style_names)))], groups)
            comments = tuple(_comments(rng, complete, all_labels))
            gold = tuple(label for label in complete if label in vocabulary and rng.random() < keep_probability)
            yield Item(f"item-{start + k:07d}", comments, gold)
