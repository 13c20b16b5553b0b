"""A run as the store keeps a finished one, for the tests that need a learner with a saved run."""

from __future__ import annotations

import numpy as np

from mnist_core.runstore import RunRecord

from .conftest import ROOT


def seeded_record(accuracy: float = 0.9796) -> RunRecord:
    """The bundled tutorial model as the file, with a plausible history and confusion matrix
    (4 read as 9 forty times), so a board has something to draw without training."""
    confusion = np.diag(np.full(10, 980)) + np.eye(10, k=1, dtype=int) * 3
    confusion[4, 9] = 40
    return RunRecord(1, "run 1 · dense", "dense", 407_050, accuracy, 15.8,
                     {"metadata": {"arch": "dense", "epochs": 2, "test_accuracy": accuracy,
                                   "history": {"accuracy": [0.92, accuracy]}},
                      "confusion": confusion.tolist(), "per_digit": {"recall": [accuracy] * 10}},
                     (ROOT / "models" / "tutorial.keras").read_bytes())
