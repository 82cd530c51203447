"""Cluster explorer update time at 1k, 5k and 20k tags, in Python (what a control costs before the
browser draws it), against rebuilding the explorer from scratch (the naive redraw: a new widget
and figure per change, which is what a notebook re-running its cell does).

Run: .venv/bin/python bench/widgets_scale.py [--out bench/results/widgets_scale.md]

Synthetic tags in 200 groups (32-d vectors, a given 2-D map, Zipf counts), as a large folksonomy
looks (HetRec: 9,749 tags; MusicCaps: 5k+ aspects). Measured, as medians over repeated moves:
- k change: re-cluster (k-means: 4 restarts up to 5,000 tags, quick above) and redraw, each k new;
- k revisited: a k already seen (clustering cached): the redraw alone;
- select cluster / search / legend isolate / count threshold / re-project: one control each;
- baseline: ``ClusterExplorer(...)`` built anew at the current k (clustering included).
The ratio is baseline / update.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _report import median_seconds, write_report  # bench/ is on sys.path when a script here runs

from widgets import ClusterExplorer


def synthetic_tags(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, 32))
    group = rng.integers(0, 200, n)
    vectors = (centres[group] + 0.4 * rng.normal(size=(n, 32))).astype(np.float32)
    maps = {"pca": centres[group, :2] * 3 + 0.3 * rng.normal(size=(n, 2)), "umap": rng.normal(size=(n, 2))}
    counts = rng.zipf(1.6, n).clip(1, 10_000)
    return [f"tag{i:05d}" for i in range(n)], vectors, counts, maps



def measure(n: int) -> tuple[list[float], tuple[float, float]]:
    """Median ms of each update at n tags, and the baseline's ratio to a k change and to a selection."""
    tags, vectors, counts, maps = synthetic_tags(n)
    explorer = ClusterExplorer(tags, vectors, counts, k=100, projection="pca", coordinates=maps)
    ks = [150, 200, 120, 180, 160]
    k_change = median_seconds(lambda k: setattr(explorer.k, "value", k), ks)
    k_again = median_seconds(lambda k: setattr(explorer.k, "value", k), ks)
    select = median_seconds(explorer.show_cluster, [3, 10, 50, 7, 90])
    search = median_seconds(explorer.search, ["tag00012", "tag0100", "tag00999", "tag0042", "tag00007"])
    isolate = median_seconds(explorer.legend_clicked, [5, 5, 12, 12, 30])
    min_count = median_seconds(lambda m: setattr(explorer.min_count, "value", m), [2, 1, 2, 1, 2])
    explorer.min_count.value = 1
    reproject = median_seconds(lambda m: setattr(explorer.projection, "value", m), ["umap", "pca", "umap", "pca", "umap"])
    k = explorer.k.value
    rebuild = median_seconds(lambda _: ClusterExplorer(tags, vectors, counts, k=k, projection="pca", coordinates=maps), range(3))
    ms = [x * 1000 for x in (k_change, k_again, select, search, isolate, min_count, reproject, rebuild)]
    return ms, (rebuild / k_change, rebuild / select)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "widgets_scale.md")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    args = parser.parse_args()
    lines = ["# Cluster explorer update time (Python side)", "",
             "`.venv/bin/python bench/widgets_scale.py`: medians in ms; ratio = rebuilding the explorer / the update.", "",
             "| tags | k change | k revisited | select cluster | search | legend isolate | min count | re-project | rebuild (baseline) | ratio (k change) | ratio (select) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in args.sizes:
        ms, ratios = measure(n)
        lines.append(f"| {n:,} | " + " | ".join(f"{x:.0f}" for x in ms) + f" | {ratios[0]:.1f}x | {ratios[1]:.0f}x |")
        print(lines[-1], flush=True)
    lines += ["", "Aim: under 300 ms at 20k tags for a k change and for selections (issue 18)."]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
