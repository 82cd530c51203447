"""A harvester to take away: a trained DiVa pair classifier with everything it needs to label new
items' comments without the training data, saved as safetensors + JSON and loaded without
executing anything from the folder.

What labelling needs, and where it comes from:

- candidates: the same extraction rules (language, longest phrase), run on the new comments;
- the fitted candidate space (:class:`labkit.embed.space.SpaceFit`, from the training items only):
  phrase vocabulary and vectors, idf, the PCA bases of the pair context and neighbour features;
- the encoder: its name and settings plus probe vectors that must come out again (a transformer),
  or the corpus-trained word vectors themselves (FastText / word2vec);
- the classifier's weights, and its settings (threshold, nested suppression, pair features).

Folder layout (``Harvester.save_pretrained``)::

    DIR/config.json           format, kit version, method, language, settings, encoder, space, training, file hashes
    DIR/phrases.json          the fitted phrase vocabulary (gold vocabulary first)
    DIR/labels.json           the labels the run ended with: each with its gold and pseudo-label counts
    DIR/space.safetensors     phrase_vectors, idf, context_* and neighbours_* PCA bases
    DIR/encoder.json          the encoder's settings (static vectors: their words too)
    DIR/encoder.safetensors   probe vectors (transformer) or the word (and n-gram) vectors (static)
    DIR/joint.safetensors     the last round's SN, PV and DA of every fitted phrase (the joint score's parts)
    DIR/classifier/           config.json + model.safetensors, loadable by labkit.io.from_pretrained
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data.corpus import Item
from ..data.jsonl import Prediction
from ..embed.space import LABEL_BATCH, CandidateSpace, SpaceFit, transform_space
from ..errors import DataFormatError
from ..timing import section
from .config import DiVaConfig

FORMAT, FORMAT_VERSION = "labkit-harvester", 1
FILES = ("config.json", "phrases.json", "labels.json", "space.safetensors", "encoder.json", "encoder.safetensors",
         "joint.safetensors", "classifier/config.json", "classifier/model.safetensors")
PROBE_TEXTS = ("a mellow piano melody over soft strings", "punchy kick drums and a distorted electric guitar", "节奏明快的流行歌曲，钢琴伴奏")
PROBE_TOLERANCE = 1e-4
HARVESTER_METHODS = ("diva", "diva-static", "diva-light")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encoder_settings(encoder) -> dict:
    """What rebuilds ``encoder``: a transformer's name or path and pooling, or a static encoder's
    :meth:`~labkit.embed.static.StaticEncoder.settings`."""
    if hasattr(encoder, "iter_token_batches"):
        return {"kind": "transformer", "name_or_path": str(encoder.name_or_path), "layers": list(encoder.layers),
                "max_length": int(encoder.max_length), "encoder_id": encoder.encoder_id, "dim": int(encoder.dim),
                "probe_texts": list(PROBE_TEXTS)}
    if hasattr(encoder, "arrays") and hasattr(encoder, "settings"):
        return {**encoder.settings(), "encoder_id": encoder.encoder_id}
    raise TypeError(f"cannot save a harvester with a {type(encoder).__name__} encoder")


def encoder_arrays(encoder) -> dict[str, np.ndarray]:
    """A transformer's probe vectors (n_probe, dim), or a static encoder's vectors."""
    if hasattr(encoder, "iter_token_batches"):
        return {"probe": np.ascontiguousarray(encoder.encode(list(PROBE_TEXTS)), np.float32)}
    return encoder.arrays()


@dataclass
class Harvester:
    """A trained pair classifier and what it needs to label the comments of new items.

    fitted: the candidate space's fit on the training items; model: the :class:`PairClassifier`;
    encoder: the encoder object the space was fitted with; config: the run's settings
    (``predict_threshold``, ``suppress_nested`` and the pair features are used here); labels:
    [{"label", "gold", "pseudo"}] the labels the run ended with on its training items; joint:
    {"SN", "PV", "DA"} (n_phrases,) float64 of the fitted phrases in the last round (or empty).
    """

    fitted: SpaceFit
    model: object
    encoder: object
    config: DiVaConfig
    method: str = "diva"
    labels: list = field(default_factory=list)
    joint: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    device: str = "cpu"

    # ------------------------------------------------------------------ building
    @classmethod
    def from_run(cls, run, encoder, *, method: str | None = None, joint: bool = True) -> Harvester:
        """The harvester of a DiVa run (its current classifier: after ``fit``, the best round's),
        whose space was fitted on its training items (``build_candidate_space(..., n_fit=...)``)."""
        space: CandidateSpace = run.pairs.space
        fitted = space.fitted
        if fitted is None or run.model is None:
            raise ValueError("the run has no fitted space or no classifier yet: train it first")
        if len(run.fit_rows) and int(np.max(run.fit_rows)) >= (space.n_fit or 0):
            raise ValueError("the run trains on rows its space was not fitted on")
        n_known = len(fitted.phrases)
        rows = np.concatenate([run.fit_rows, run.val_rows])
        gold = np.bincount(run.gold[rows].indices, minlength=run.gold.shape[1])[:n_known]
        pseudo = np.bincount(run.pseudo[rows].indices, minlength=run.gold.shape[1])[:n_known] if run.pseudo.nnz else np.zeros(n_known, int)
        labels = [{"label": fitted.phrases[j], "gold": int(gold[j]), "pseudo": int(pseudo[j])}
                  for j in np.flatnonzero((gold + pseudo) > 0)]
        parts = {}
        if joint:
            found = run.score_components()
            parts = {name: np.asarray(found[name], np.float64)[:n_known] for name in ("SN", "PV", "DA")}
        config = dataclasses.replace(run.config)
        training = {"items": int(len(rows)), "round": int(run.round), "best_round": run.best_round,
                    "pseudo_labels": int(run.pseudo.nnz), "gold_labels": int(run.gold[rows].nnz)}
        model = copy.deepcopy(run.model).cpu().eval()
        return cls(fitted, model, encoder, config, method or config.variant, labels, parts, training)

    def to(self, device: str) -> Harvester:
        """Score on ``device`` (``"cpu"`` or ``"cuda"``)."""
        self.device = device
        self.model.to(device)
        return self

    # ------------------------------------------------------------------ labelling
    def score(self, comments: Sequence[Sequence[str]]) -> tuple[CandidateSpace, sp.csr_matrix]:
        """The candidate space of new items (one list of comments each) and the classifier's
        (n_items, n_phrases) CSR probabilities on their candidate pairs. Each item's scores
        depend on its own comments alone."""
        from .pairs import PairSpace, score_candidates

        c = self.config
        space = transform_space(self.fitted, comments, self.encoder, batch_size=max(len(comments), 1))
        with section("features"):
            pairs = PairSpace.build(space, include_absent_vocabulary=c.include_absent_vocabulary, use_bounds=c.boundary_features,
                                    vocabulary_features=c.vocabulary_features)
        with section("scoring"):
            return space, score_candidates(self.model, pairs, np.arange(space.n_items), device=self.device)

    def label(
        self, items: Iterable[Item | Sequence[str]], *, threshold: float | None = None, top_k: int | None = None,
        batch_size: int = LABEL_BATCH, progress: bool = False, total: int | None = None,
    ) -> Iterator[Prediction]:
        """Ranked predictions for ``items`` (:class:`Item` objects, or lists of comments, then
        numbered "0", "1", ...), read and labelled ``batch_size`` at a time (memory holds one
        batch; at the default, LABEL_BATCH, the batches are those in which ``harvest`` built the
        items it labelled, so scores agree with the run's to the last bit): the candidates with probability >= ``threshold`` (default: the run's
        ``predict_threshold``), best first, at most ``top_k`` of them."""
        from tqdm.auto import tqdm

        from .predictions import to_predictions

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        threshold = self.config.predict_threshold if threshold is None else threshold
        bar = tqdm(total=total, desc="labelling", unit="item", disable=not progress)
        batch: list[Item] = []

        def flush() -> list[Prediction]:
            space, scores = self.score([item.comments for item in batch])
            with section("ranking"):
                out = to_predictions([item.id for item in batch], scores, space, threshold=threshold, top_k=top_k,
                                     nested=self.config.suppress_nested)
            bar.update(len(batch))
            batch.clear()
            return out

        try:
            for n, item in enumerate(items):
                batch.append(item if isinstance(item, Item) else Item(str(n), tuple(item)))
                if len(batch) == batch_size:
                    yield from flush()
            if batch:
                yield from flush()
        finally:
            bar.close()

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, folder: str | Path, *, option: str = "--save-model") -> Path:
        """Write the harvester folder (see the module docstring) atomically; an existing folder is
        replaced only when it is an earlier harvester holding nothing else."""
        from safetensors.numpy import save_file

        from .. import __version__
        from ..io import write_pretrained_files
        from ..outputs import write_folder

        settings = {k: v for k, v in self.config.to_dict().items() if k not in ("device", "progress")}
        enc_settings = encoder_settings(self.encoder)
        enc_arrays = encoder_arrays(self.encoder)
        words = enc_settings.pop("words", None)

        def write(tmp: Path) -> None:
            (tmp / "phrases.json").write_text(json.dumps(self.fitted.phrases.tokens, ensure_ascii=False), encoding="utf-8")
            (tmp / "labels.json").write_text(json.dumps(self.labels, ensure_ascii=False, indent=0), encoding="utf-8")
            save_file(self.fitted.arrays(), str(tmp / "space.safetensors"))
            encoder_json = dict(enc_settings, **({"words": words} if words is not None else {}))
            (tmp / "encoder.json").write_text(json.dumps(encoder_json, ensure_ascii=False), encoding="utf-8")
            save_file(enc_arrays, str(tmp / "encoder.safetensors"))
            save_file({k: np.ascontiguousarray(v, np.float64) for k, v in self.joint.items()} or {"none": np.zeros(0)},
                      str(tmp / "joint.safetensors"))
            (tmp / "classifier").mkdir()
            write_pretrained_files(self.model.cpu().eval(), tmp / "classifier", extra={"harvester": True})
            self.model.to(self.device)
            config = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "kit_version": __version__, "method": self.method,
                "language": self.fitted.lang, "settings": settings,
                "candidates": {"lang": self.fitted.lang, "max_words": self.fitted.max_words},
                "encoder": enc_settings, "space": self.fitted.settings(), "training": self.training,
                "outside_the_classifier": ["candidate extraction", "the encoder (item, phrase and context vectors)",
                                           "the pair features (counts, shares, TF-IDF, context and boundary PCA)", "threshold and nesting"],
                "files": {name: _sha256(tmp / name) for name in FILES if name != "config.json"},
            }
            (tmp / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False, default=str), encoding="utf-8")

        return write_folder(folder, write, kind="harvester", option=option)

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, *, encoder: str | None = None, device: str = "cpu", allow_other_version: bool = False,
        progress: bool = False,
    ) -> Harvester:
        """Load a harvester folder. Every file is checked first (present, its SHA-256 as saved,
        the format and kit version, shapes that fit one another); a transformer encoder is loaded
        by its saved name or path (or ``encoder``, a name or path on this machine) and must give
        the saved probe vectors back. Any problem raises :class:`DataFormatError` naming the file."""
        from safetensors.numpy import load_file

        from .. import __version__
        from ..io import build_matching, read_json_file, tensor_shapes
        from .classifier import PairClassifier

        folder = Path(folder)
        if not folder.is_dir():
            raise DataFormatError(folder, "no such folder" if not folder.exists() else "is a file, not a harvester folder")
        config_path = folder / "config.json"
        if not config_path.is_file():
            raise DataFormatError(folder, "not a labkit harvester folder (no config.json)")
        config = read_json_file(config_path)
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            hint = " (a classifier exported by `labkit export`? harvesters are saved by `labkit diva --save-model`)" if isinstance(config, dict) and "model" in config else ""
            raise DataFormatError(config_path, f"not a labkit harvester{hint}")
        if config.get("format_version") != FORMAT_VERSION:
            raise DataFormatError(config_path, f"harvester format {config.get('format_version')!r}; this labkit reads format {FORMAT_VERSION}")
        if config.get("kit_version") != __version__ and not allow_other_version:
            raise DataFormatError(config_path, f"saved by labkit {config.get('kit_version')}, this is labkit {__version__}: retrain it, or "
                                  "load it anyway with --allow-other-version (allow_other_version=True)")
        hashes = config.get("files")
        if not isinstance(hashes, dict):
            raise DataFormatError(config_path, "no file list ('files')")
        for name in FILES[1:]:
            path = folder / name
            if not path.is_file():
                raise DataFormatError(path, "missing from the harvester folder")
            if _sha256(path) != hashes.get(name):
                raise DataFormatError(path, "differs from the file the harvester was saved with (its SHA-256 does not match)")
        phrases = read_json_file(folder / "phrases.json")
        labels = read_json_file(folder / "labels.json")
        enc_settings = read_json_file(folder / "encoder.json")
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise DataFormatError(folder / "phrases.json", "expected a JSON list of phrases")

        def arrays(name: str) -> dict[str, np.ndarray]:
            try:
                return load_file(str(folder / name))
            except Exception as err:
                raise DataFormatError(folder / name, f"cannot read it ({type(err).__name__}: {err})") from None

        space_arrays = arrays("space.safetensors")
        try:
            fitted = SpaceFit.from_parts(phrases, space_arrays, config["space"])
        except (KeyError, TypeError, ValueError) as err:
            raise DataFormatError(folder / "space.safetensors", f"does not fit config.json's space ({err})") from None
        if fitted.phrase_vectors.shape[0] != len(phrases) or fitted.idf.shape != (len(phrases),):
            raise DataFormatError(folder / "space.safetensors", f"holds {fitted.phrase_vectors.shape[0]} phrase vectors for {len(phrases)} phrases")
        enc = _load_encoder(folder, enc_settings, arrays("encoder.safetensors"), encoder, device, progress)
        if enc.dim != fitted.phrase_vectors.shape[1]:
            raise DataFormatError(folder / "encoder.json", f"the encoder gives {enc.dim}-wide vectors, the phrases are {fitted.phrase_vectors.shape[1]}")
        from ..embed.space import encoder_identity

        fitted.encoder_id = encoder_identity(enc)  # checked to give the saved vectors
        classifier_config = read_json_file(folder / "classifier" / "config.json")
        args = classifier_config.get("args") if isinstance(classifier_config, dict) else None
        from ..io import checked_args

        args = checked_args(PairClassifier, args, folder / "classifier" / "config.json")
        weights = folder / "classifier" / "model.safetensors"
        model = build_matching(lambda: PairClassifier(**args), tensor_shapes(weights), folder / "classifier" / "config.json")
        import torch
        from safetensors.torch import load_file as load_torch

        model.load_state_dict(load_torch(str(weights)))
        settings = {k: v for k, v in config.get("settings", {}).items() if k in {f.name for f in dataclasses.fields(DiVaConfig)}}
        try:
            run_config = DiVaConfig(**settings, progress=progress)
        except (TypeError, ValueError) as err:
            raise DataFormatError(config_path, f"unusable settings ({err})") from None
        joint = {k: v for k, v in arrays("joint.safetensors").items() if k != "none"}
        harvester = cls(fitted, model.eval(), enc, run_config, config.get("method", "diva"), labels, joint, config.get("training", {}))
        with torch.no_grad():
            return harvester.to(device)


def _load_encoder(folder: Path, settings: dict, arrays: dict[str, np.ndarray], override: str | None, device: str, progress: bool):
    """The encoder a harvester folder describes, checked against its saved probe vectors."""
    path = folder / "encoder.json"
    if not isinstance(settings, dict) or settings.get("kind") not in ("transformer", "static"):
        raise DataFormatError(path, "not an encoder description (kind must be transformer or static)")
    if settings["kind"] == "static":
        from ..embed.static import StaticEncoder

        if override is not None:
            raise DataFormatError(path, "this harvester carries its own word vectors: --encoder does not apply")
        try:
            return StaticEncoder.from_parts(settings, arrays)
        except (KeyError, TypeError, ValueError) as err:
            raise DataFormatError(folder / "encoder.safetensors", f"does not fit encoder.json ({err})") from None
    from ..embed.transformer import TransformerEncoder

    name = override or settings["name_or_path"]
    encoder = TransformerEncoder(name, layers=tuple(settings.get("layers", (-1,))), max_length=int(settings.get("max_length", 256)),
                                 device=device, cache=False, progress=progress)
    try:
        probe = encoder.encode(list(settings.get("probe_texts", PROBE_TEXTS)))
    except OSError as err:
        raise DataFormatError(path, f"cannot load the encoder {name!r} ({err}); give its folder with --encoder") from None
    saved = arrays.get("probe")
    if saved is None or saved.shape != probe.shape:
        raise DataFormatError(path, f"the encoder {name!r} is not the one this harvester was trained with ({settings['name_or_path']!r}): "
                              f"it gives {probe.shape[1]}-wide vectors, not {None if saved is None else saved.shape[1]}")
    difference = float(np.abs(saved - probe).max())
    if difference > PROBE_TOLERANCE:
        raise DataFormatError(path, f"the encoder {name!r} is not the one this harvester was trained with ({settings['name_or_path']!r}): "
                              f"its probe vectors differ by {difference:.2g}")
    return encoder
