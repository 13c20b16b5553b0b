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
    # Every writer file of both UNIPEN files has a part, and the pen digits' 30 writers are all used.
    files = {(s.site, s.writer) for kind in ("digits", "letters") for s in unipen.load(kind)}
    assert set(protocol.unipen_parts()) == files
    assert {w for w in found if w.startswith("pendigits/")} == {f"pendigits/{n}" for n in range(1, 31)}


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
    assert not taught & set("OISZBGQDJLT")
    every = {s.label for s in unipen.load("letters")}
    assert len(every) == 26 and taught < every
