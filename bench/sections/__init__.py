"""The benchmark's sections, one module each, named as `python bench/run.py --only NAME` names it.

Each section measures, prints every row the moment it has it (bench.table.collector) and returns
its rows; bench/run.py runs the sections asked for and bench/table.py writes what they found.
A section imports mnist_core and bench's own tools, never studio (no Streamlit) and never the
app's pages: what it measures in the app it measures through a real server and browser.
"""

from __future__ import annotations

import os
from pathlib import Path

from mnist_core.data import load_mnist

ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    return Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")


def data():
    return load_mnist(data_dir())
