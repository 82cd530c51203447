"""Playlist-based tag propagation on the Yes.com playlists with Last.fm tags (../shared/data/yes-playlists).

Run: .venv/bin/python bench/propagation_yes.py [--out bench/results/propagation_yes.md]

Half of the song-tag links are hidden (seed 0). Prints, and writes as Markdown:
1. seconds to build P(s'|s) for all playlists, against a plain Python loop over playlists and songs
   (the same numbers: the script checks they agree);
2. AUC of ranking the hidden links above every other unlinked pair, by propagated score for
   several r, and by tag popularity;
3. a song tagger on song features that use no tags (a learned embedding per song; playlist song
   vectors from a gensim skip-gram over playlists), trained on the visible links with and without
   the supportive loss (Eq. 3; r and its weight chosen on validation links), scored on the hidden
   links (visible pairs excluded from the ranking): retrieval MAP, AUC-ROC, and the relative gain
   in AP per popularity bin (Figure 5 of the paper).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _report import write_report  # bench/ is on sys.path when a script here runs

from labkit.data.playlists import read_yes_dataset
from labkit.metrics.curves import average_precision_columns, roc_auc_columns
from labkit.paths import shared_data_dir
from labkit.propagation.categories import categorize
from labkit.propagation.experiment import (
    hide_links,
    link_auc,
    playlist_song_vectors,
    predict_tags,
    relative_gain_by_category,
    relative_gain_by_rank,
    train_song_tagger,
)
from labkit.propagation.plots import gain_by_category_figure, gain_by_rank_figure
from labkit.propagation.transitions import propagated_scores, transition_matrix

R_VALUES = (0.1, 0.2, 0.4, 0.6, 0.8)


def loop_transition(playlists, r: float) -> sp.csr_matrix:
    """The plain baseline: Eq. 2 and 4 with Python loops over playlists and positions."""
    acc: dict[tuple[int, int], float] = {}
    count = np.zeros(playlists.n_songs)
    for k in range(len(playlists)):
        p = playlists[k].tolist()
        if len(p) < 2:
            continue
        seen = set()
        for i, s in enumerate(p):
            if s in seen:
                continue
            seen.add(s)
            weights = [0.0 if j == i else r ** abs(i - j) for j in range(len(p))]
            total = sum(weights)
            for j, other in enumerate(p):
                if j != i:
                    acc[(s, other)] = acc.get((s, other), 0.0) + weights[j] / total
            count[s] += 1
    keys = np.array(list(acc), dtype=np.int64).reshape(-1, 2)
    vals = np.array(list(acc.values())) / count[keys[:, 0]]
    return sp.csr_matrix((vals, (keys[:, 0], keys[:, 1])), shape=(playlists.n_songs,) * 2)


def hidden_link_scores(probs: np.ndarray, visible: np.ndarray, hidden: np.ndarray) -> tuple[float, float, np.ndarray, float]:
    """Retrieval MAP and AUC-ROC over tags of ranking the hidden links, per-tag AP, and annotation
    MAP over songs; visible pairs are excluded from every ranking."""
    p = probs.copy()
    p[visible] = -1.0
    ap = average_precision_columns(p, hidden)
    annotation = float(np.nanmean(average_precision_columns(p.T, hidden.T)))
    return float(np.nanmean(ap)), float(np.nanmean(roc_auc_columns(p, hidden))), ap, annotation


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/propagation_yes.md"))
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None or not (shared / "yes-playlists").is_dir():
        print("skipped: ../shared/data/yes-playlists is absent", file=sys.stderr)
        return 0
    data = read_yes_dataset(shared / "yes-playlists")
    playlists, song_tags = data.playlists, data.song_tags
    lines = [f"# Tag propagation on Yes.com ({len(playlists)} playlists, {playlists.n_songs} songs, "
             f"{song_tags.shape[1]} tags, {song_tags.nnz} links; half hidden, seed 0)", ""]

    start = time.perf_counter()
    fast = transition_matrix(playlists, 0.4)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    slow = loop_transition(playlists, 0.4)
    t_slow = time.perf_counter() - start
    gap = abs(fast - slow).max()
    lines += ["## P(s'|s) for every playlist", "",
              f"- vectorised: {t_fast:.2f} s; plain Python loop: {t_slow:.2f} s; {t_slow / t_fast:.1f}x faster; "
              f"largest difference {gap:.1e}; {fast.nnz} non-zero entries", ""]

    visible, hidden = hide_links(song_tags, 0.5, seed=0)
    popularity = np.asarray(visible.sum(axis=0)).ravel()
    lines += ["## Hidden links ranked by propagated score (AUC over all unlinked song-tag pairs)", "",
              "| scorer | AUC |", "|---|---:|",
              f"| tag popularity | {link_auc(np.tile(popularity, (visible.shape[0], 1)), hidden, visible):.4f} |"]
    for r in R_VALUES:
        lines.append(f"| propagation, r = {r} | {link_auc(propagated_scores(transition_matrix(playlists, r), visible), hidden, visible):.4f} |")

    rows = np.arange(playlists.n_songs)
    identity = np.eye(playlists.n_songs, dtype=np.float32)  # a learned embedding per song
    feature_sets = {"song identity (learned song embeddings)": identity,
                    f"playlist song vectors ({64}-d skip-gram)": playlist_song_vectors(playlists, dim=64)}
    # settings (r, supportive weight) are chosen on validation links hidden from the visible ones
    fit, validation = hide_links(visible, 0.2, seed=1)
    lines += ["", f"## Song tagger (two-layer MLP), {args.epochs} epochs: without and with the supportive loss", "",
              "Two readings of Eq. 3: 'links' (the propagated tags as positives weighted by P(s'|s), the default) and "
              "'soft targets' (s' passes its whole label vector, zeros included). "
              "r and the supportive weight are chosen on validation links (20% of the visible links, hidden again); "
              "the tagger is then retrained on all visible links and scored on the hidden ones (visible pairs "
              "excluded from each tag's ranking).", ""]
    readings = {"links": False, "soft targets": True}  # supportive_bce(negatives=...)
    v, h = visible.toarray() > 0, hidden.toarray() > 0
    val_v, val_h = fit.toarray() > 0, validation.toarray() > 0
    for name, features in feature_sets.items():
        base_val = hidden_link_scores(predict_tags(train_song_tagger(features, fit, rows, epochs=args.epochs), features, rows), val_v, val_h)[0]
        base = train_song_tagger(features, visible, rows, epochs=args.epochs)
        b_map, b_auc, b_ap, b_ann = hidden_link_scores(predict_tags(base, features, rows), v, h)
        lines += [f"### {name}", "", f"Validation retrieval MAP without the supportive loss: {base_val:.4f}.", "",
                  "| training | chosen on validation (val MAP) | retrieval MAP | AUC-ROC | annotation MAP | AP gain by popularity rank (5 bins, head first) |",
                  "|---|---|---:|---:|---:|---|", f"| BCE (Eq. 1) | | {b_map:.4f} | {b_auc:.4f} | {b_ann:.4f} | |"]
        grids, kept = [], {}
        for reading, negatives in readings.items():
            trials = []
            for r in (0.2, 0.4, 0.6):
                propagated = propagated_scores(transition_matrix(playlists, r), fit)
                for weight in (0.3, 1.0, 3.0):
                    model = train_song_tagger(features, fit, rows, propagated=propagated, support_weight=weight,
                                              support_negatives=negatives, epochs=args.epochs)
                    trials.append((hidden_link_scores(predict_tags(model, features, rows), val_v, val_h)[0], r, weight))
            best_val, r, weight = max(trials)
            model = train_song_tagger(features, visible, rows, propagated=propagated_scores(transition_matrix(playlists, r), visible),
                                      support_weight=weight, support_negatives=negatives, epochs=args.epochs)
            s_map, s_auc, s_ap, s_ann = hidden_link_scores(predict_tags(model, features, rows), v, h)
            kept[reading] = (r, weight, s_ap)
            gains = ", ".join(f"{g['relative_gain']:+.1%}" for g in relative_gain_by_rank(b_ap, s_ap, popularity))
            lines.append(f"| + supportive term, {reading} | r = {r}, weight {weight} ({best_val:.4f}) | {s_map:.4f} | {s_auc:.4f} | "
                         f"{s_ann:.4f} | {gains} |")
            grids.append(f"- {reading}: " + ", ".join(f"r {t[1]}/w {t[2]}: {t[0]:.4f}" for t in trials))
        lines += ["", "Validation grids (retrieval MAP on the validation links):", "", *grids, ""]
        r, weight, s_ap = kept["links"]
        sweep = []
        for r_test in R_VALUES:
            model = train_song_tagger(features, visible, rows, propagated=propagated_scores(transition_matrix(playlists, r_test), visible),
                                      support_weight=weight, epochs=args.epochs)
            sweep.append(f"r {r_test}: {hidden_link_scores(predict_tags(model, features, rows), v, h)[0]:.4f}")
        lines += [f"Search range sweep (links reading, weight {weight}), retrieval MAP on the hidden links: {', '.join(sweep)} "
                  f"(without the supportive term: {b_map:.4f}).", ""]
        by_rank = relative_gain_by_rank(b_ap, s_ap, popularity)
        by_category = relative_gain_by_category(b_ap, s_ap, popularity, categorize(data.tag_names))
        lines += [f"Per tag category (links reading, r = {r}, weight {weight}; Table II of the paper, other tags by keyword rules):", "",
                  "| category | tags | mean popularity | AP without | AP with | relative gain |", "|---|---:|---:|---:|---:|---:|",
                  *(f"| {c['category']} | {c['tags']} | {c['mean_popularity']:.0f} | {c['baseline']:.4f} | {c['proposed']:.4f} | "
                    f"{c['relative_gain']:+.1%} |" for c in by_category), ""]
        if features is identity:
            stem = args.out.with_suffix("")
            gain_by_rank_figure(by_rank, title=f"Supportive loss, {name}: AP gain by popularity rank").write_html(
                f"{stem}_gain_by_rank.html", include_plotlyjs="cdn")
            gain_by_category_figure(by_category, title=f"Supportive loss, {name}: AP gain by tag category").write_html(
                f"{stem}_gain_by_category.html", include_plotlyjs="cdn")
            lines += [f"Figures: `{stem.name}_gain_by_rank.html`, `{stem.name}_gain_by_category.html` (plotly).", ""]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
