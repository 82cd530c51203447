import numpy as np
import pytest

from labkit.data import DataFormatError
from labkit.data.protocol import read_protocol
from labkit.data.synthetic import write_synthetic_corpus


def test_read_protocol_aligns_test_sets(tmp_path):
    write_synthetic_corpus(tmp_path, n_songs=40, n_playlists=5)
    p = read_protocol(tmp_path)
    assert len(p.gold) == len(p.complete) == len(p.test) and not p.test.has_labels
    assert all(set(g) <= set(c) for g, c in zip(p.gold, p.complete))
    lines = (tmp_path / "test2.jsonl").read_text().splitlines()
    (tmp_path / "test2.jsonl").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(DataFormatError, match="test item missing"):
        read_protocol(tmp_path)


def test_complete_label_set_by_hand():
    from labkit.data import complete_label_set

    comments = ["The Pop song features a soft female vocal.", "It sounds sad, Hip-Hop like."]
    aspects = ["pop", "Soft female vocal", "sad", "hip", "female vocals", "sustained pulsating synth lead", "hip-hop"]
    assert complete_label_set(aspects, comments) == ["hip-hop", "pop", "sad", "soft female vocal"]


def test_complete_label_set_rebuilds_musiccaps_test2(musiccaps_protocol, musiccaps_csv):
    """The protocol's rule, applied to the test clips' aspects, gives their test2 sets (>= 99%)."""
    from labkit.data import complete_label_set, read_musiccaps
    from labkit.data.protocol import read_protocol

    protocol, clips = read_protocol(musiccaps_protocol), read_musiccaps(musiccaps_csv)
    same = [set(complete_label_set(clips[i].labels, protocol.test[i].comments)) == set(c)
            for i, c in zip(protocol.test.ids, protocol.complete)]
    assert np.mean(same) >= 0.99, np.mean(same)
