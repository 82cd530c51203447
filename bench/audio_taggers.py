"""The audio taggers on the real clips of ../shared/data/audio: parameter counts and the seconds of
one training step (forward + backward + Adam, batch 8) on this machine's CPU (and GPU if any).

Run: .venv/bin/python bench/audio_taggers.py [--out bench/results/audio_taggers.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.audio import chunk, list_clips, load_audio, log_mel
from labkit.audio.sample_cnn import count_parameters
from labkit.embed import pick_device
from labkit.losses import bce
from labkit.paths import shared_data_dir
from labkit.registry import load_all

INPUTS = {"sample_cnn": ("waveform", 3**10), "pons_waveform": ("waveform", 3**10), "pons_spectrogram": ("log-mel", 128)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/audio_taggers.md"))
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None or not (shared / "audio").is_dir():
        print("skipped: ../shared/data/audio is absent", file=sys.stderr)
        return 0
    waves = [load_audio(p, duration=10.0) for p in list_clips(shared / "audio")]
    batches = {
        "waveform": torch.from_numpy(np.concatenate([chunk(w, 3**10) for w in waves])[:8]),
        "log-mel": torch.from_numpy(np.concatenate([chunk(log_mel(w), 128) for w in waves])[:8]),
    }
    devices = ["cpu"] + (["cuda"] if pick_device("auto") == "cuda" else [])
    lines = [f"# Audio taggers on {len(waves)} real clips (first 10 s each), 50 tags, batch 8", "",
             "| model | input | parameters | " + " | ".join(f"s per step ({d})" for d in devices) + " |",
             "|---|---|---:|" + "---:|" * len(devices)]
    for name, (kind, _) in INPUTS.items():
        timings = []
        for device in devices:
            torch.manual_seed(0)
            model = load_all()[name](n_tags=50).to(device).train()
            optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
            x = batches[kind].to(device)
            y = (torch.rand(len(x), 50) < 0.1).float().to(device)
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                loss = bce(model(x), y)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                if device == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - start)
            timings.append(best)
        shape = "x".join(map(str, batches[kind].shape[1:]))
        lines.append(f"| {name} | {kind} {shape} | {count_parameters(model):,} | " + " | ".join(f"{t:.3f}" for t in timings) + " |")
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
