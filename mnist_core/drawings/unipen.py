"""Real pen-drawn digits and upper-case letters of a second collection: UNIPEN train_r01_v07, seven sites
(International Unipen Foundation, 1999; CC BY 4.0; data/unipen/README.md). Each sample is one writer's
trajectory, its strokes in order with y pointing down as on a canvas, and the site and writer file it was
recorded in (the protocol splits by them)."""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).resolve().parents[2] / "data" / "unipen"
FILES = {"digits": FOLDER / "unipen-digits.json.gz", "letters": FOLDER / "unipen-uppercase.json.gz"}


class UnipenDataError(ValueError):
    """The UNIPEN files are missing or not in the expected format."""


@dataclass(frozen=True)
class Sample:
    label: int | str          # a digit 0-9, or an upper-case letter
    site: str
    writer: str
    strokes: tuple            # pen-down strokes in order, each (n, 2) float64 (x, y), y pointing DOWN


def parse(records: list) -> list[Sample]:
    samples = []
    for number, record in enumerate(records):
        try:
            strokes = tuple(np.asarray(s, np.float64).reshape(-1, 2) * [1, -1] for s in record["strokes"] if len(s))
            label = record["label"]
            samples.append(Sample(label, str(record["site"]), str(record["writer"]), strokes))
        except (KeyError, TypeError, ValueError) as exc:
            raise UnipenDataError(f"record {number}: {exc}") from exc
        if not strokes:
            raise UnipenDataError(f"record {number} has no strokes")
    return samples


@functools.lru_cache(maxsize=2)
def load(kind: str) -> tuple[Sample, ...]:
    """All samples of one file: kind "digits" or "letters"."""
    try:
        with gzip.open(FILES[kind], "rt", encoding="utf-8") as file:
            return tuple(parse(json.load(file)))
    except (OSError, json.JSONDecodeError) as exc:
        raise UnipenDataError(f"cannot read the UNIPEN {kind} at {FILES[kind]}: {exc}") from exc
