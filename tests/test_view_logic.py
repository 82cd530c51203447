"""The headless logic behind the widgets, by hand: evidence spans, the spectrogram picture, the
tuner's sweeps and change lists, the proposal table, quick k-means for big maps."""

import struct
import zlib

import numpy as np
import pytest
from conftest import new_small_run as new_run

from labkit.audio.picture import colour_table, png_bytes, spectrogram_png
from labkit.diva.tuning import JointScoreTuner, TunerSettings
from labkit.kmeans import SphericalKMeans
from labkit.tagclusters.mapview import AVERAGE_AT_MOST, map_clusters
from labkit.text.evidence import phrase_evidence


def test_phrase_evidence_finds_the_candidate_occurrence():
    comments = ["Nice song", "the Electric Guitar solo!", "electric guitar again", "guitarist"]
    found = phrase_evidence(comments, "electric guitar")
    assert (found.comment, found.n_comments) == (1, 2)
    assert found.text[found.start:found.end] == "electric guitar"
    assert phrase_evidence(comments, "guitar").n_comments == 2  # "guitarist" is not the word "guitar"
    assert phrase_evidence(comments, "violin") is None
    chinese = phrase_evidence(["这首歌的吉他很好听", "没有"], "吉他", lang="zh")
    assert chinese.comment == 0 and chinese.text[chinese.start:chinese.end] == "吉他"


def decode_png(data: bytes) -> np.ndarray:
    """(height, width, 3) pixels of an 8-bit RGB PNG with filter 0 rows (what png_bytes writes)."""
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body, crc = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length], data[pos + 8 + length:pos + 12 + length]
        assert struct.unpack(">I", crc)[0] == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 3)


def test_spectrogram_png_puts_low_bands_at_the_bottom_in_the_colour_scale():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.testing.assert_array_equal(decode_png(png_bytes(rgb)), rgb)
    values = np.array([[0.0, 1.0, 2.0], [2.0, 2.0, 2.0]])  # band 0, band 1
    picture = decode_png(spectrogram_png(values))
    table = colour_table("magma")
    assert picture.shape == (2, 3, 3)
    np.testing.assert_array_equal(picture[1], table[[0, 128, 255]])  # band 0 is the bottom row; 1.0 is mid-scale
    np.testing.assert_array_equal(picture[0], table[[255, 255, 255]])
    assert tuple(table[0]) == (0, 0, 4) and tuple(table[-1]) == (252, 253, 191)  # plotly's magma ends


def test_quick_kmeans_and_the_average_linkage_limit():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 8)) * 4
    x = centres[np.repeat(np.arange(5), 40)] + 0.1 * rng.normal(size=(200, 8))
    labels = map_clusters(x, 5, quick=True)
    assert len(np.unique(labels)) == 5 and all(len(np.unique(labels[i * 40:(i + 1) * 40])) == 1 for i in range(5))
    assert SphericalKMeans(n_clusters=5, init_trials=1).get_params()["init_trials"] == 1
    with pytest.raises(ValueError, match="init_trials"):
        SphericalKMeans(n_clusters=5, init_trials=0).fit(x)
    with pytest.raises(ValueError, match=f"at most {AVERAGE_AT_MOST} tags"):
        map_clusters(np.ones((AVERAGE_AT_MOST + 1, 2)), 3, algorithm="average")


def test_tuner_sweep_changes_precision_and_flat_factors(synthetic_space):
    corpus, space = synthetic_space
    run = new_run(corpus, space)
    run.train()
    rows = run.fit_rows
    tuner = JointScoreTuner(run, complete=[list(corpus.complete[corpus.train.ids[r]]) for r in rows])
    base = TunerSettings.from_run(run)
    sweep = tuner.sweep(base, "classifier_threshold", [0.3, 0.95])
    loose, strict = tuner.view(base, classifier_threshold=0.3), tuner.view(base)
    assert list(sweep["classifier"]) == [loose.n_classifier, strict.n_classifier] and loose.n_classifier >= strict.n_classifier
    assert list(sweep["pseudo-labels"]) == [loose.n_classifier + loose.n_joint, strict.n_classifier + strict.n_joint]
    assert sweep["precision"][1] == pytest.approx(tuner.in_complete[strict.passes].sum() / strict.passes.sum())
    changed = tuner.items_changed(strict, loose)
    by_hand = np.zeros(len(rows), dtype=np.int64)
    for e in np.flatnonzero(strict.passes != loose.passes):
        by_hand[tuner.entry_row[e]] += 1
    np.testing.assert_array_equal(changed, by_hand)
    np.testing.assert_array_equal(tuner.items_passing(strict), np.bincount(tuner.entry_row[strict.passes], minlength=len(rows)))
    flat = tuner.constant_factors(strict)
    for name, value in flat.items():
        column = tuner.si[tuner.occurs] if name == "SI" else strict.factors[name][tuner.entry_phrase[tuner.occurs]]
        assert (column == value).all()
    assert "SN" not in flat  # SN varies over phrases


def test_proposal_table_holds_each_proposals_probability_and_g(synthetic_space):
    corpus, space = synthetic_space
    run = new_run(corpus, space)
    assert run.proposal_table().empty
    run.train()
    run.infer()
    run.joint_score()
    table = run.proposal_table()
    assert [tuple(x) for x in table[["row", "phrase", "source"]].itertuples(index=False)] == run.proposals()
    scores = run.candidate_scores()
    for row, phrase, prob, g in table[["row", "phrase", "probability", "G"]].itertuples(index=False):
        col = space.phrases.index[phrase]
        assert prob == pytest.approx(scores[row, col]) and g == pytest.approx(run.joint_g[row, col])
    assert (table["probability"][table["source"] == "classifier"] >= run.config.pseudo_threshold).all()
    assert (table["G"][table["source"] == "joint score"] >= run.config.joint_threshold).all()
    run.restore(run.snapshot())
    assert table["G"].notna().all() and run.proposal_table()["G"].isna().all()  # G is not part of the state
