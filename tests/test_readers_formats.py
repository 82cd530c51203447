"""MusicCaps CSV, DiVa JSON, playlists (Yes.com, AotM-2011), HetRec Last.fm, MagnaTagATune."""

import json

import pytest

from labkit.data import (
    DataFormatError,
    parse_aspect_list,
    read_aotm_json,
    read_assignments,
    read_diva_json,
    read_hetrec_lastfm,
    read_magnatagatune,
    read_musiccaps,
    read_yes_dataset,
    read_yes_playlists,
)

HEADER = "ytid,start_s,end_s,audioset_positive_labels,aspect_list,caption,author_id,is_balanced_subset,is_audioset_eval\n"


def test_musiccaps_reads_aspects_and_sentences(write):
    path = write(
        "mc.csv",
        HEADER + 'abc,30,40,"/m/1","[\'low quality\', \'sad\']","A sad song. It has low quality.",4,False,True\n'
        + 'def,0,10,"/m/2","[""male voice""]","Male voice singing!",1,True,False\n',
    )
    corpus = read_musiccaps(path)
    assert corpus.ids == ["abc", "def"]
    assert corpus["abc"].labels == ("low quality", "sad")
    assert corpus["abc"].comments == ("A sad song.", "It has low quality.")
    assert read_musiccaps(path, comments="caption")["abc"].comments == ("A sad song. It has low quality.",)


def test_aspect_list_is_never_evaluated():
    assert parse_aspect_list("['a', \"b c\"]") == ["a", "b c"]
    for text in ["__import__('os').system('echo hacked')", "[1, 2]", "'not a list'", "['a',"]:
        with pytest.raises(ValueError):
            parse_aspect_list(text)


@pytest.mark.parametrize(
    "body, line, fragment",
    [
        ('abc,30,40,"","[\'a\']","cap",4,False,True\nabc,0,10,"","[\'b\']","cap",4,False,True\n', 3, "duplicate ytid"),
        ('abc,30,40,"","open(\'x\')","cap",4,False,True\n', 2, "aspect_list"),
        ('abc,thirty,40,"","[\'a\']","cap",4,False,True\n', 2, "must be numbers"),
        ('abc,30,40\n', 2, "wrong number of fields"),
    ],
)
def test_musiccaps_malformed(write, body, line, fragment):
    path = write("mc.csv", HEADER + body)
    with pytest.raises(DataFormatError) as info:
        read_musiccaps(path)
    assert info.value.line == line and fragment in str(info.value) and str(path) in str(info.value)


def test_musiccaps_missing_column(write):
    with pytest.raises(DataFormatError, match="missing column.*caption"):
        read_musiccaps(write("mc.csv", "ytid,start_s,end_s,aspect_list\nabc,1,2,\"['a']\"\n"))


def test_musiccaps_real_file(musiccaps_csv):
    corpus = read_musiccaps(musiccaps_csv)
    assert len(corpus) == 4427 and corpus.has_labels
    assert all(item.comments for item in corpus)


def test_diva_json(write):
    data = {"s1": {"user_comments": ["好听", "很伤感"], "song_labels": ["伤感"]}, "s2": {"user_comments": ["x"]}}
    corpus = read_diva_json(write("d.json", json.dumps(data, ensure_ascii=False)))
    assert corpus.ids == ["s1", "s2"]
    assert corpus["s1"].labels == ("伤感",) and corpus["s2"].labels is None


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"s1": {"user_comments": ["a"]}, "s1": {"user_comments": ["b"]}}', "record 's1': duplicate key"),
        ('{"s1": {"song_labels": ["a"]}}', "record 's1': missing field 'user_comments'"),
        ('{"s1": {"user_comments": "a"}}', "record 's1': field 'user_comments' must be a list"),
        ('{"s1": [1]}', "record 's1': each song must be a JSON object"),
        ('{"s1": {"user_comments": ["a"]},\n "s2": }', ":2: not valid JSON"),
        ("[]", "expected a JSON object"),
    ],
)
def test_diva_json_malformed(write, text, fragment):
    with pytest.raises(DataFormatError) as info:
        read_diva_json(write("d.json", text))
    assert fragment in str(info.value)


def write_yes(write, train="10 11 12\n5 6 7\n0 1 2\n2 0\n\n1\n", tags="0 1\n#\n1\n", hashes="0, rock\n1, pop\n"):
    write("yes/train.txt", train)
    write("yes/tags.txt", tags)
    write("yes/tag_hash.txt", hashes)
    write("yes/song_hash.txt", "0\tA\tX\n1\tB\tY\n2\tC\tZ\n")
    return write("yes/train.txt", train).parent


def test_yes_dataset(write):
    ds = read_yes_dataset(write_yes(write))
    assert len(ds.playlists) == 3
    assert list(ds.playlists[1]) == [2, 0] and list(ds.playlists.lengths) == [3, 2, 1]
    assert ds.playlists.song_keys == ["10", "11", "12"] and list(ds.play_counts) == [5, 6, 7]
    assert ds.song_tags.toarray().tolist() == [[1, 1], [0, 0], [0, 1]]
    assert ds.tag_names == ["rock", "pop"] and list(ds.songs.title) == ["A", "B", "C"]
    assert ds.playlists.incidence().toarray().tolist() == [[1, 1, 1], [1, 0, 1], [0, 1, 0]]


@pytest.mark.parametrize(
    "kwargs, file, fragment",
    [
        ({"train": "10 11 12\n5 6 7\n0 1 3\n"}, "train.txt:3:", "out of range"),
        ({"train": "10 11 12\n5 6 7\n0 x 2\n"}, "train.txt:3:", "expected integers"),
        ({"train": "10 11 12\n5 6\n0 1\n"}, "train.txt:2:", "2 play counts for 3 song ids"),
        ({"tags": "0\n1\n"}, "tags.txt", "2 lines of tags for 3 songs"),
        ({"tags": "0\n#\n7\n"}, "tags.txt:3:", "tag id 7 is not in tag_hash.txt"),
        ({"hashes": "0, rock\nbad line\n"}, "tag_hash.txt:2:", "expected 'id, tag'"),
    ],
)
def test_yes_malformed(write, kwargs, file, fragment):
    with pytest.raises(DataFormatError) as info:
        read_yes_dataset(write_yes(write, **kwargs))
    assert file in str(info.value) and fragment in str(info.value)


def test_yes_real_data(yes_playlists):
    ds = read_yes_dataset(yes_playlists)
    assert len(ds.playlists) == 41480 and ds.playlists.n_songs == 3168
    assert ds.song_tags.shape == (3168, 251) and len(ds.songs) == 3168


def test_aotm(write):
    mixes = [
        {"mix_id": 1, "playlist": [[["A", "t1"], "TR1"], [["B", "t2"], None]], "category": "x"},
        {"mix_id": 2, "playlist": [[["C", "t3"], "TR1"], [["B", "t2"], ""]]},
    ]
    pl = read_aotm_json(write("a.json", json.dumps(mixes)))
    assert pl.playlist_keys == ["1", "2"]
    assert pl.song_keys == ["TR1", "B - t2"]
    assert [list(pl[0]), list(pl[1])] == [[0, 1], [0, 1]]
    bad = [{"mix_id": 1, "playlist": [["A", "t1"]]}]
    with pytest.raises(DataFormatError, match="record '1': entry 0"):
        read_aotm_json(write("b.json", json.dumps(bad)))
    with pytest.raises(DataFormatError, match="duplicate mix_id"):
        read_aotm_json(write("c.json", json.dumps([mixes[0], mixes[0]])))
    with pytest.raises(DataFormatError, match="needs 'mix_id'"):
        read_aotm_json(write("d.json", json.dumps([{"playlist": []}])))


def write_hetrec(write, rows="2\t52\t13\t1\t4\t2009\n2\t52\t15\t1\t4\t2009\n"):
    write("h/user_taggedartists.dat", "userID\tartistID\ttagID\tday\tmonth\tyear\r\n" + rows)
    write("h/tags.dat", "tagID\ttagValue\n13\tChillout\n15\tdownt\xe9mpo\n".encode("latin-1"))
    write("h/artists.dat", "id\tname\turl\tpictureURL\n52\tMorch\xe9eba\tu\tp\n".encode("latin-1"))
    return write("h/tags.dat", "tagID\ttagValue\n13\tChillout\n15\tdownt\xe9mpo\n".encode("latin-1")).parent


def test_hetrec(write):
    frame = read_hetrec_lastfm(write_hetrec(write))
    assert frame.tag.tolist() == ["chillout", "downtémpo"]
    assert frame.item_name.tolist() == ["Morchéeba", "Morchéeba"] and frame.item.tolist() == ["52", "52"]


@pytest.mark.parametrize(
    "rows, fragment",
    [
        ("2\t52\t13\t1\t4\t2009\n2\t52\t99\t1\t4\t2009\n", "user_taggedartists.dat:3: tag id 99 is not in tags.dat"),
        ("2\t52\t13\t1\t4\n", "user_taggedartists.dat:2: expected 6 tab-separated fields, found 5"),
        ("2\tx52\t13\t1\t4\t2009\n", "user_taggedartists.dat:2: column 'artistID' must hold integers"),
    ],
)
def test_hetrec_malformed(write, rows, fragment):
    with pytest.raises(DataFormatError) as info:
        read_hetrec_lastfm(write_hetrec(write, rows))
    assert fragment in str(info.value)


def test_hetrec_real(hetrec):
    frame = read_hetrec_lastfm(hetrec)
    assert len(frame) == 186478  # both parts of the split assignments file
    assert frame.tag.nunique() > 9000


def test_assignments(write):
    frame = read_assignments(write("a.tsv", "artist\ttag\tweight\nA\trock\t1\nB\tpop\t2\n"), item_col="artist")
    assert frame.to_dict("list") == {"item": ["A", "B"], "tag": ["rock", "pop"]}
    with pytest.raises(DataFormatError, match=":3: empty item or tag"):
        read_assignments(write("b.tsv", "item\ttag\nA\trock\nB\t \n"))
    with pytest.raises(DataFormatError, match="missing column"):
        read_assignments(write("c.tsv", "item\tlabel\nA\trock\n"))


MTAT_HEADER = '"clip_id"\t"no voice"\t"singer"\t"mp3_path"\n'


def test_magnatagatune(write):
    m = read_magnatagatune(write("ann.csv", MTAT_HEADER + '"2"\t"1"\t"0"\t"f/a.mp3"\n"6"\t"0"\t"1"\t"f/b.mp3"\n'))
    assert m.tags == ["no voice", "singer"] and m.clip_ids == ["2", "6"] and m.paths == ["f/a.mp3", "f/b.mp3"]
    assert m.labels.toarray().tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('"2"\t"1"\t"2"\t"a.mp3"\n', ":2: record '2': tag 'singer' must be 0 or 1"),
        ('"2"\t"1"\t"a.mp3"\n', ":2: expected 4 fields, found 3"),
        ('"2"\t"1"\t"0"\t"a.mp3"\n"2"\t"1"\t"0"\t"a.mp3"\n', ":3: duplicate clip_id '2'"),
    ],
)
def test_magnatagatune_malformed(write, body, fragment):
    with pytest.raises(DataFormatError) as info:
        read_magnatagatune(write("ann.csv", MTAT_HEADER + body))
    assert fragment in str(info.value)


def test_magnatagatune_bad_header(write):
    with pytest.raises(DataFormatError, match="expected a header"):
        read_magnatagatune(write("ann.csv", "id\ttag\n1\t0\n"))


READERS = {
    "jsonl corpus": ("c.jsonl", lambda p: __import__("labkit").data.read_jsonl_corpus(p), '{"id": "a", "comments": []}\n'),
    "predictions": ("p.jsonl", lambda p: __import__("labkit").data.read_predictions(p), '{"id": "a", "labels": []}\n'),
    "musiccaps": ("m.csv", read_musiccaps, HEADER + 'abc,30,40,"","[\'a\']","cap",4,False,True\n'),
    "diva json": ("d.json", read_diva_json, '{"s1": {"user_comments": ["a"]},\n "s2": {"user_comments": ["b"]}}'),
    "yes playlists": ("train.txt", read_yes_playlists, "1 2\n3 4\n0 1\n"),
    "aotm": ("a.json", read_aotm_json, '[{"mix_id": 1,\n "playlist": []}]'),
    "assignments": ("a.tsv", read_assignments, "item\ttag\nA\trock\n"),
    "magnatagatune": ("ann.csv", read_magnatagatune, MTAT_HEADER + '"2"\t"1"\t"0"\t"a.mp3"\n'),
}


@pytest.mark.parametrize("reader", READERS, ids=list(READERS))
def test_every_reader_rejects_empty_files_and_bad_bytes(write, reader):
    name, read, good = READERS[reader]
    read(write(name, good))  # the good sample reads
    with pytest.raises(DataFormatError, match="empty"):
        read(write(name, ""))
    lines = good.split("\n")
    broken = ("\n".join(lines[:-1]) + "\n").encode() + "caf\xe9".encode("latin-1") + lines[-1].encode()
    with pytest.raises(DataFormatError) as info:
        read(write(name, broken))
    assert info.value.line == len(lines) and "not valid utf-8" in str(info.value)
