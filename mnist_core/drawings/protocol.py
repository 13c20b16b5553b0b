"""Who the readers of drawings learn from, are chosen on and are measured on: written down once.

Two collections of real pen trajectories, each split by the people who wrote them, into three parts:
- train: the readers learn from it;
- choose: every choice is made on it (the pen reader's size and epochs, how the two readers are
  combined, the confidence under which the page withholds an answer);
- held_out: measured on only, never trained, tuned or chosen on.
Once the choices are made they are frozen and the readers are retrained on train + choose.

Pen digits (UCI, 30 writers): by writer, in `pendigits.WRITERS` (written there, used here).
UNIPEN (seven sites): one whole site is held out (a place, tablet and protocol no reader saw, as the
collection's other sites will be), and within each other site its writer files go to the parts in
a fixed order (by the SHA-256 of "site/writer"), each to the part furthest below its share of that
site's samples (digits and letters together, so a writer's digits and letters share a part). No
writer is in two parts: tests/test_protocol.py checks it.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from . import pendigits, unipen

PARTS = ("train", "choose", "held_out")
HELD_OUT_SITE = "aga"                                    # no sample of it is trained or chosen on
SHARES = {"train": 0.6, "choose": 0.15, "held_out": 0.25}  # of each other site's samples
# Upper-case letters taught as "not a digit": only shapes no digit has. O, I, S, Z, B, G, Q, D, J, L
# and T can be written like a digit (0, 1, 5, 2, 8, 6, 9, 0, 1, 4, 7) and are never used.
NOT_DIGIT_LETTERS = tuple("ACEFHKMNPRUVWXY")


@dataclass(frozen=True)
class Written:
    """One real trajectory: label (0-9, or a letter), its collection, its writer and site, strokes
    (canvas orientation, y down, any units)."""
    label: int | str
    collection: str           # "pendigits" or "unipen"
    writer: str               # "pendigits/7", "unipen/syn/gresai34"
    site: str                 # "pendigits" for the one-site collection
    strokes: tuple


@functools.lru_cache(maxsize=1)
def unipen_parts() -> dict[tuple[str, str], str]:
    """(site, writer) -> part, for every writer file of both UNIPEN files."""
    counts = Counter((s.site, s.writer) for kind in ("digits", "letters") for s in unipen.load(kind))
    by_site = defaultdict(list)
    for site, writer in counts:
        by_site[site].append(writer)
    parts = {}
    for site, writers in sorted(by_site.items()):
        if site == HELD_OUT_SITE:
            parts.update({(site, w): "held_out" for w in writers})
            continue
        filled = dict.fromkeys(PARTS, 0)
        total = sum(counts[site, w] for w in writers)
        for w in sorted(writers, key=lambda w: hashlib.sha256(f"{site}/{w}".encode()).hexdigest()):
            part = min(PARTS, key=lambda p: filled[p] / total - SHARES[p])
            parts[site, w] = part
            filled[part] += counts[site, w]
    return parts


def written(part: str, kind: str = "digits") -> list[Written]:
    """The real trajectories of one part: kind "digits" (both collections) or "letters" (UNIPEN's
    upper-case letters of NOT_DIGIT_LETTERS)."""
    if part not in PARTS:
        raise ValueError(f"no part {part!r}: one of {PARTS}")
    found = []
    if kind == "digits":
        found += [Written(d.label, "pendigits", f"pendigits/{d.writer}", "pendigits", d.strokes)
                  for d in pendigits.digits(part)]
    parts = unipen_parts()
    for s in unipen.load(kind):
        if parts[s.site, s.writer] == part and (kind == "digits" or s.label in NOT_DIGIT_LETTERS):
            found.append(Written(s.label, "unipen", f"unipen/{s.site}/{s.writer}", s.site, s.strokes))
    return found
