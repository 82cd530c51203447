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
