"""Who the readers of drawings learn from, are chosen on and are measured on: written down once.

Two collections of real pen trajectories, each split by the people who wrote them, into three parts:
- train: the readers learn from it;
- choose: every choice is made on it (the pen reader's size and epochs, how the two readers are
  combined, the confidence under which the page withholds an answer);
- held_out: measured on only, never trained, tuned or chosen on.
Once the choices are made they are frozen and the readers are retrained on train + choose.

Pen digits (UCI, 30 writers): by writer, in `pendigits.WRITERS` (written there, used here).
UNIPEN (seven sites): one whole site is held out (a place, tablet and protocol no reader saw, as the
collection's other sites will be), and within each other site its writers go to the parts in a fixed
order (by the SHA-256 of "site/person"), each to the part furthest below its share of that site's
samples (digits and letters together, so a writer's digits and letters share a part). A UNIPEN
"writer" is a recording file, and one person may have several (`art08trn` and `art08tst`, `000.0` to
`000.4`, `ktum0` and `ktum5`): PERSON names the person in each site's file names, erring towards one
person (two people taken for one only move together). No person is in two parts: tests/test_protocol.py
checks it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from . import pendigits, unipen

PARTS = ("train", "choose", "held_out")
HELD_OUT_SITE = "aga"                                    # no sample of it is trained or chosen on
SHARES = {"train": 0.6, "choose": 0.15, "held_out": 0.25}  # of each other site's samples
# Upper-case letters taught as "not a digit": only shapes no digit has. O, I, S, Z, B, G, Q, D, J, L
# and T can be written like a digit (0, 1, 5, 2, 8, 6, 9, 0, 1, 4, 7) and are never used.
NOT_DIGIT_LETTERS = tuple("ACEFHKMNPRUVWXY")
LOOKS_LIKE_A_DIGIT = tuple("OISZBGQDJLT")
# The person behind a UNIPEN recording file, site by site (the file name where the site gives one file a
# person): art's training and test sessions (art08trn, art08tst), pri's numbered sessions (000.0-000.4),
# tos' f- and t- files of one number (f1002058, t1002062), syn's, val's and kai's name before a session
# suffix (bek-dig2; gresai30-gresai5a; ktum0, ktum5).
PERSON = {"art": r"(art\d+)", "pri": r"(\d+)\.", "tos": r"[ft](\d{4})", "syn": r"([a-z]+)",
          "val": r"([a-z]+)", "kai": r"([a-z]+)"}


@dataclass(frozen=True)
class Written:
    """One real trajectory: label (0-9, or a letter), its collection, its writer and site, strokes
    (canvas orientation, y down, any units)."""
    label: int | str
    collection: str           # "pendigits" or "unipen"
    writer: str               # the person: "pendigits/7", "unipen/val/gresai" (protocol.person)
    site: str                 # "pendigits" for the one-site collection
    strokes: tuple


def person(site: str, file: str) -> str:
    """The person who wrote a UNIPEN recording file (PERSON; the file name where a site has no rule)."""
    found = re.match(PERSON[site], file) if site in PERSON else None
    return found.group(1) if found else file


@functools.lru_cache(maxsize=1)
def unipen_parts() -> dict[tuple[str, str], str]:
    """(site, person) -> part, for every person of both UNIPEN files."""
    counts = Counter((s.site, person(s.site, s.writer)) for kind in ("digits", "letters") for s in unipen.load(kind))
    by_site = defaultdict(list)
    for site, who in counts:
        by_site[site].append(who)
    parts = {}
    for site, people in sorted(by_site.items()):
        if site == HELD_OUT_SITE:
            parts.update({(site, p): "held_out" for p in people})
            continue
        filled = dict.fromkeys(PARTS, 0)
        total = sum(counts[site, p] for p in people)
        for p in sorted(people, key=lambda p: hashlib.sha256(f"{site}/{p}".encode()).hexdigest()):
            part = min(PARTS, key=lambda part: filled[part] / total - SHARES[part])
            parts[site, p] = part
            filled[part] += counts[site, p]
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
        who = person(s.site, s.writer)
        if parts[s.site, who] == part and (kind == "digits" or s.label in NOT_DIGIT_LETTERS):
            found.append(Written(s.label, "unipen", f"unipen/{s.site}/{who}", s.site, s.strokes))
    return found
