"""The protocol over both collections (#29): written once, no writer in two parts."""

from collections import defaultdict

from mnist_core.drawings import pendigits, protocol, unipen


def parts_of_each_writer():
    found = defaultdict(set)
    for part in protocol.PARTS:
        for kind in ("digits", "letters"):
            for w in protocol.written(part, kind):
                found[w.writer].add(part)
    return found


def test_no_writer_is_in_two_parts_in_either_collection():
    found = parts_of_each_writer()
    assert {w for w, parts in found.items() if len(parts) > 1} == set()
    # Every person of both UNIPEN files has a part, and the pen digits' 30 writers are all used.
    people = {(s.site, protocol.person(s.site, s.writer)) for kind in ("digits", "letters") for s in unipen.load(kind)}
    assert set(protocol.unipen_parts()) == people
    assert {w for w in found if w.startswith("pendigits/")} == {f"pendigits/{n}" for n in range(1, 31)}


def test_one_persons_recording_files_are_in_one_part():
    """A UNIPEN "writer" is a recording file; these files are one person's (their sessions), so each
    group is in one part. (Before, art08trn was in choose and art08tst held out.)"""
    people = {"art": ["art08trn", "art08tst"], "pri": ["000.0", "000.1", "000.2", "000.3", "000.4"],
              "tos": ["f1002058", "t1002062"], "kai": ["ktum0", "ktum1", "ktum5"],
              "val": ["gresai30", "gresai5a"]}
    parts = protocol.unipen_parts()
    files = {(s.site, s.writer) for kind in ("digits", "letters") for s in unipen.load(kind)}
    for site, names in people.items():
        assert len({protocol.person(site, name) for name in names}) == 1, names
        assert len({parts[site, protocol.person(site, name)] for name in names}) == 1
        assert all((site, name) in files for name in names)
    assert protocol.person("syn", "bek-dig2") == "bek"        # a session suffix
    # A site without a rule: the file is the person.
    assert protocol.person("aga", "amywldrp") == "amywldrp" and protocol.person("gmd", "alek") == "alek"


def test_generated_non_digits_are_none_a_digit_can_look_like():
    from mnist_core.drawings import strokes
    assert not set(strokes.LETTERS) & set(protocol.LOOKS_LIKE_A_DIGIT)
    assert not set(protocol.NOT_DIGIT_LETTERS) & set(protocol.LOOKS_LIKE_A_DIGIT)


def test_the_pen_digits_split_is_the_one_pendigits_writes():
    for part in protocol.PARTS:
        writers = {int(w.writer.split("/")[1]) for w in protocol.written(part) if w.collection == "pendigits"}
        assert writers == set(pendigits.WRITERS[part])


def test_the_held_out_site_is_held_out_whole_and_every_part_has_both_collections():
    for (site, _), part in protocol.unipen_parts().items():
        if site == protocol.HELD_OUT_SITE:
            assert part == "held_out"
    for part in protocol.PARTS:
        digits = protocol.written(part)
        assert {w.collection for w in digits} == {"pendigits", "unipen"}
        assert {w.label for w in digits} == set(range(10))


def test_only_letters_no_digit_looks_like_are_taught_as_not_a_digit():
    taught = {w.label for part in protocol.PARTS for w in protocol.written(part, "letters")}
    assert taught == set(protocol.NOT_DIGIT_LETTERS)
    assert not taught & set(protocol.LOOKS_LIKE_A_DIGIT)
    every = {s.label for s in unipen.load("letters")}
    assert len(every) == 26 and taught < every


def test_the_image_readers_drawings_come_from_the_parts_it_is_given_only(monkeypatch):
    """strokes' real pen digits and letters are the given parts' (train, or train + choose for the
    bundled reader's last run): each real sample drawn is found in those parts and in no other."""
    import numpy as np
    import pytest

    from mnist_core.drawings import strokes
    asked = []
    real = protocol.written
    monkeypatch.setattr(protocol, "written", lambda part, kind="digits": asked.append((part, kind)) or real(part, kind))
    drawn = []
    square = np.zeros((280, 280), np.uint8)
    square[100:180, 120:160] = 255
    monkeypatch.setattr(pendigits, "draw", lambda sample, rng, augment=False: drawn.append(sample) or square)
    mnist = np.zeros((200, 28, 28), np.uint8), np.zeros(200, np.uint8)      # one per drawing, as a chunk gets
    strokes._chunk(200, [0, 1, 0], *mnist, ("train", "choose"))
    assert {part for part, _ in asked} == {"train", "choose"} and {k for _, k in asked} == {"digits", "letters"}
    allowed = {w.writer for part in ("train", "choose") for kind in ("digits", "letters") for w in real(part, kind)}
    real_share = (strokes.MIX["pen"] + strokes.MIX["letters"]) / sum(strokes.MIX.values())
    assert len(drawn) == round(200 * real_share)
    assert {w.writer for w in drawn} <= allowed
    assert {w.collection for w in drawn} == {"pendigits", "unipen"}
    with pytest.raises(ValueError):
        strokes.training_drawings(10, 0, *mnist, parts=("train", "held_out"))
