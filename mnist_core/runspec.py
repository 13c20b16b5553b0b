"""What defines a training run, its limits, and the metadata a trained model carries.

Written once here and used by the Train page, the command line, the jobs and the model files.
Imports no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EPOCHS = (1, 100)
BATCH_SIZE = (8, 4096)
VALIDATION_SPLIT = (0.0, 0.5)
DRAWINGS = (0, 200_000)   # extra training drawings (mnist_core.strokes.MIX), on top of MNIST's 60,000


SETTINGS = ("epochs", "batch_size", "validation_split", "drawings")    # SettingsError's codes


class SettingsError(ValueError):
    """A run setting outside its limits. `code` names the setting (epochs, batch_size,
    validation_split, drawings) and `values` its limits, for a page to translate; str() is the
    English the command line prints."""

    def __init__(self, code: str, limits: tuple, got):
        assert code in SETTINGS, code
        whole = code != "validation_split"
        rule = (f"a whole number from {limits[0]} to {limits[1]}" if whole
                else f"between {limits[0]} and {limits[1]}")
        super().__init__(f"{code.replace('_', ' ')} must be {rule}; got {got!r}")
        self.code, self.values = code, {"low": limits[0], "high": limits[1]}


def _whole_in(value, limits: tuple) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and limits[0] <= value <= limits[1]


def check_run(epochs, batch_size, validation_split) -> None:
    """SettingsError unless the three numbers lie within the limits above."""
    if not _whole_in(epochs, EPOCHS):
        raise SettingsError("epochs", EPOCHS, epochs)
    if not _whole_in(batch_size, BATCH_SIZE):
        raise SettingsError("batch_size", BATCH_SIZE, batch_size)
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) or \
            not VALIDATION_SPLIT[0] <= validation_split <= VALIDATION_SPLIT[1]:
        raise SettingsError("validation_split", VALIDATION_SPLIT, validation_split)


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a training run (what the Train page's widgets choose)."""
    arch: str = "dense"
    hparams: dict = field(default_factory=dict)
    epochs: int = 5
    batch_size: int = 128
    validation_split: float = 0.0
    seed: int | None = None
    drawings: int = 0        # extra drawings to train on: real pen digits, re-stroked MNIST, non-digits

    def validated(self) -> "RunSpec":
        from .models import validate_hparams  # noqa: PLC0415 (imports Keras)
        check_run(self.epochs, self.batch_size, self.validation_split)
        if not _whole_in(self.drawings, DRAWINGS):
            raise SettingsError("drawings", DRAWINGS, self.drawings)
        return RunSpec(self.arch, validate_hparams(self.arch, self.hparams), self.epochs,
                       self.batch_size, float(self.validation_split), self.seed, self.drawings)

    def metadata(self, result, report, **extra) -> dict:
        """The metadata saved with a model trained from this spec (`result`: TrainingResult,
        `report`: EvaluationReport); `extra` adds e.g. its name and where it came from."""
        return {"arch": self.arch, "hparams": dict(self.hparams), "epochs": self.epochs,
                "epochs_completed": result.epochs_completed, "batch_size": self.batch_size,
                "validation_split": self.validation_split, "seed": self.seed,
                "history": result.history, "test_accuracy": report.accuracy,
                "test_loss": report.loss, "train_seconds": round(result.seconds, 1),
                "stopped_early": result.stopped, **({"drawings": self.drawings} if self.drawings else {}),
                **extra}
