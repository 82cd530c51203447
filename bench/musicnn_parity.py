"""Parity of the kit's musicnn modules with the original TensorFlow graphs, on real recordings.

    .venv/bin/python bench/musicnn_parity.py [--tf-python PATH] [--audio DIR]

The original side runs ``musicnn/models.py``'s own graph (``tf.compat.v1.layers``, restored with
``tf.compat.v1.train.Saver`` from the package's checkpoints) in a separate environment with
TensorFlow: ``--tf-python``, else ``.venv-musicnn-tf/`` in the repository, created on first use
(TensorFlow 2.21 with tf_keras, whose Keras 2 layers keep ``tf.compat.v1.layers`` working, librosa,
and ``musicnn`` itself installed with ``--no-deps``). TensorFlow is never a dependency of the kit.

Both sides get the same input patches (the kit's :func:`musicnn_log_mel`), so the figures measure
the networks. The preprocessing is compared apart: musicnn's own ``batch_data`` against the kit's,
on every entry musicnn computes as a finite number, and the entries where musicnn's float16
arithmetic overflows are counted (it feeds them to the network as ``inf``, which gives NaN tags).

Prints, for each of the four models, the largest absolute difference of tag probabilities (per
patch and per clip) and of the penultimate embedding, and the top tags of three recordings from
both; writes ``bench/results/musicnn_parity.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labkit.audio import list_clips, load_audio  # noqa: E402
from labkit.audio.musicnn import PACKAGE_PIN, PRETRAINED, SR, musicnn_log_mel, musicnn_patches, pretrained_tagger, tag_patches  # noqa: E402
from labkit.paths import shared_data_dir  # noqa: E402

TF_ENV = ROOT / ".venv-musicnn-tf"
TF_PACKAGES = ["tensorflow==2.21.0", "tf_keras==2.21.0", "librosa"]
SHOWN = ["Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra)", "sorohanro_-_solo-trumpet-06",
         "admiralbob77_-_Choice_-_Drum-bass"]

# Runs inside the TensorFlow environment: the original graphs on the kit's patches, and musicnn's
# own preprocessing of each file.
TF_SIDE = r'''
import os, sys, json
os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import warnings; warnings.filterwarnings("ignore")
import numpy as np, tensorflow as tf
tf.compat.v1.disable_eager_execution()
from musicnn import models, configuration as config
from musicnn.extractor import batch_data
job = json.load(open(sys.argv[1]))
patches = np.load(job["patches"])  # (n, frames, 96)
out = {}
for checkpoint in job["checkpoints"]:
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, patches.shape[1], config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = models.define_model(x, is_training, checkpoint, 50)
        probs = tf.nn.sigmoid(outputs[0])
        embedding = tf.compat.v1.layers.flatten(outputs[5]) if "vgg" in checkpoint else outputs[8]
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(models.__file__), checkpoint) + "/")
        p, e = sess.run([probs, embedding], feed_dict={x: patches, is_training: False})
    out[checkpoint + "/probs"], out[checkpoint + "/embedding"] = p, e
for i, path in enumerate(job["files"]):
    try:
        with np.errstate(over="ignore"):
            _, rep = batch_data(path, 187, 187)  # (T, 96): musicnn's float16 log-mel
        out[f"rep/{i}"] = rep.astype(np.float32)
    except UnboundLocalError:  # shorter than one patch: musicnn's batch_data has no batch to return
        out[f"rep/{i}"] = np.zeros((0, 96), np.float32)
np.savez(job["out"], **out)
'''


def top_tags(tags: list[str], probs: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
    return [(tags[j], float(probs[j])) for j in np.argsort(-probs)[:k]]


def tf_python(given: str | None) -> Path:
    """The TensorFlow environment's python: the one given, or .venv-musicnn-tf (created if missing)."""
    if given:
        return Path(given)
    python = TF_ENV / "bin" / "python"
    if not python.is_file():
        print(f"creating {TF_ENV} (TensorFlow for the original graphs; a few minutes, once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TF_ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *TF_PACKAGES], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", PACKAGE_PIN], check=True)
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tf-python", help="a python with tensorflow, tf_keras, librosa and musicnn (default: .venv-musicnn-tf)")
    parser.add_argument("--audio", type=Path, help="a folder of recordings (default: ../shared/data/audio)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "musicnn_parity.md")
    args = parser.parse_args()
    folder = args.audio or ((shared_data_dir() or Path("/nonexistent")) / "audio")
    if not folder.is_dir():
        print(f"skipped: no recordings at {folder} (see ../shared/data/README.md, or give --audio DIR)")
        return 0
    files = list_clips(folder)
    python = tf_python(args.tf_python)

    start = time.perf_counter()
    reps = [musicnn_log_mel(load_audio(f, sr=SR)) for f in files]  # (96, T) each
    per_file = [musicnn_patches(rep) for rep in reps]
    counts = [len(p) for p in per_file]
    patches = np.concatenate(per_file)  # (n, 96, 187)
    print(f"{len(files)} recordings, {len(patches)} patches of 3 s (kit preprocessing {time.perf_counter() - start:.1f} s)", flush=True)

    checkpoints = [PRETRAINED[name][0] for name in PRETRAINED]
    with tempfile.TemporaryDirectory(prefix="labkit-parity-") as tmp:
        tmp = Path(tmp)
        np.save(tmp / "patches.npy", patches.transpose(0, 2, 1))
        job = {"patches": str(tmp / "patches.npy"), "checkpoints": checkpoints, "files": [str(f) for f in files],
               "out": str(tmp / "tf.npz")}
        (tmp / "job.json").write_text(json.dumps(job))
        (tmp / "tf_side.py").write_text(TF_SIDE)
        start = time.perf_counter()
        done = subprocess.run([str(python), str(tmp / "tf_side.py"), str(tmp / "job.json")], capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-3000:])
            print(f"the original graphs did not run in {python} (exit {done.returncode})")
            return 1
        print(f"original musicnn graphs (TensorFlow, {python}): {time.perf_counter() - start:.1f} s", flush=True)
        theirs = dict(np.load(tmp / "tf.npz"))

    owners = np.repeat(np.arange(len(files)), counts)
    lines = ["# musicnn parity: the kit's torch modules against the original TensorFlow graphs", "",
             f"{len(files)} recordings of `{folder}`, {len(patches)} patches of 187 frames; the same input patches on both sides.", "",
             "| model | max abs diff, tag probability (patch) | max abs diff, tag probability (clip mean) | max abs diff, embedding | "
             "embedding scale (max abs) | top-1 tag agrees (clips) |", "|---|---:|---:|---:|---:|---:|"]
    tops: dict[str, dict[str, tuple[list, list]]] = {}
    for name, checkpoint in zip(PRETRAINED, checkpoints):
        model = pretrained_tagger(name)
        probs, embeds = tag_patches(model, patches)
        p_tf, e_tf = theirs[checkpoint + "/probs"], theirs[checkpoint + "/embedding"]
        clip_ours = np.stack([probs[owners == i].mean(0) for i in range(len(files))])
        clip_tf = np.stack([p_tf[owners == i].mean(0) for i in range(len(files))])
        agree = int((clip_ours.argmax(1) == clip_tf.argmax(1)).sum())
        lines.append(f"| {name} ({checkpoint}) | {np.abs(probs - p_tf).max():.2e} | {np.abs(clip_ours - clip_tf).max():.2e} | "
                     f"{np.abs(embeds - e_tf).max():.2e} | {np.abs(e_tf).max():.3g} | {agree}/{len(files)} |")
        for i, f in enumerate(files):
            if f.stem in SHOWN:
                tops.setdefault(f.stem, {})[name] = (top_tags(model.tags, clip_ours[i]), top_tags(model.tags, clip_tf[i]))

    # preprocessing: musicnn's own batch_data against the kit's
    finite_diff, overflowed, affected, short = 0.0, 0, [], []
    for i, (f, rep) in enumerate(zip(files, reps)):
        original = theirs[f"rep/{i}"].T  # (96, T)
        if not original.size:
            short.append(f.stem)
            continue
        finite = np.isfinite(original)
        finite_diff = max(finite_diff, float(np.abs(original[finite] - rep[finite]).max()))
        if (~finite).any():
            overflowed += int((~finite).sum())
            affected.append(f.stem)
    lines += ["", "## Preprocessing", "",
              f"musicnn's `batch_data` against the kit's `musicnn_log_mel`: largest difference on the entries musicnn computes as "
              f"finite numbers **{finite_diff:.2e}**. musicnn's float16 arithmetic (`np.log10(10000 * x + 1)` on a float16 array) "
              f"overflows to `inf` on {overflowed} entries in {len(affected)} of {len(files)} recordings (mel power above 6.55); "
              "fed to the network, they make its tags NaN. The kit takes those entries in float32.", ""]
    if short:
        lines += [f"musicnn's `batch_data` fails on {', '.join(short)} (shorter than one 3-s patch: it has no batch to return); "
                  "the kit repeats such a clip until it fills one patch, as musicnn's training did (`pad_short: repeat-pad`).", ""]
    lines += ["## Top tags (clip mean over 3-s patches): kit | original", ""]
    for stem, by_model in tops.items():
        lines.append(f"**{stem}**")
        lines.append("")
        lines.append("| model | kit | original |")
        lines.append("|---|---|---|")
        for name, (ours, tf_) in by_model.items():
            show = lambda top: ", ".join(f"{t} {p:.2f}" for t, p in top)  # noqa: E731
            lines.append(f"| {name} | {show(ours)} | {show(tf_)} |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
