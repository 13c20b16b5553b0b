"""What defines a training run, its limits, and the metadata a trained model carries.

Written once here and used by the Train page, the command line, the jobs and the model files.
Imports no TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mnist_core.networks.presets import TUTORIAL, architecture

EPOCHS = (1, 100)
BATCH_SIZE = (8, 4096)
VALIDATION_SPLIT = (0.0, 0.5)
DRAWINGS = (0, 200_000)   # extra training drawings (mnist_core.drawings.strokes.MIX), on top of MNIST's 60,000


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


# Validation accuracies whose first crossing each run reports (and the run history compares).
MILESTONES = (0.98, 0.99, 0.995)


def time_to(val_accuracy: list, epoch_seconds: list) -> dict:
    """{"0.99": seconds of training until the validation accuracy first reached 99 %, or None}
    for each milestone, read at the ends of epochs (where Keras measures validation)."""
    crossed = {}
    for milestone in MILESTONES:
        crossed[str(milestone)] = next((round(seconds, 1) for accuracy, seconds in
                                        zip(val_accuracy, epoch_seconds) if accuracy >= milestone), None)
    return crossed


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a training run (what the Train page's widgets choose)."""
    arch: str = TUTORIAL.name
    hparams: dict = field(default_factory=dict)
    epochs: int = TUTORIAL.epochs
    batch_size: int = TUTORIAL.batch_size
    validation_split: float = TUTORIAL.validation_split
    seed: int | None = None
    drawings: int = 0        # extra drawings to train on: real pen digits, re-stroked MNIST, non-digits
    # A class's own handwriting to train on too (issue #28: all but the learner's own), or None. It
    # identifies the run by its digest (ClassDrawings.identity), never by its pixels.
    class_set: object = None

    @classmethod
    def preset(cls, arch: str, hparams: dict | None = None, **changes) -> "RunSpec":
        """`arch` trained with its own recipe (presets.ARCHITECTURES), `changes` aside."""
        recipe = architecture(arch)
        return cls(arch, dict(hparams or {}), **{"epochs": recipe.epochs, "batch_size": recipe.batch_size,
                                                 "validation_split": recipe.validation_split} | changes)

    def validated(self) -> "RunSpec":
        from mnist_core.networks.presets import validate_hparams
        check_run(self.epochs, self.batch_size, self.validation_split)
        if not _whole_in(self.drawings, DRAWINGS):
            raise SettingsError("drawings", DRAWINGS, self.drawings)
        from mnist_core.drawings.classset import ClassDrawings
        if self.class_set is not None and not isinstance(self.class_set, ClassDrawings):
            raise ValueError("class_set is a mnist_core.drawings.classset.ClassDrawings or None")
        return RunSpec(self.arch, validate_hparams(self.arch, self.hparams), self.epochs,
                       self.batch_size, float(self.validation_split), self.seed, self.drawings, self.class_set)

    def identity(self, data_checksum: str, mixed: dict | None = None) -> str:
        """What decides this run's result, as one hash: two runs with the same identity train the
        same network (mnist_core.runs.sharing trains them once). It is every field above (each
        hyperparameter, epochs, batch, validation split, seed, the drawings mixed in), the training
        data's checksum, `mixed` (data mixed into training from outside the spec: name -> a checksum
        of what is mixed in, e.g. a class's drawings or a learner's corrections) and the version of
        the code that trains. A new spec field joins the identity by being a field."""
        spec = asdict(self.validated())
        parts = {"spec": spec, "data": data_checksum, "mixed": dict(sorted((mixed or {}).items())),
                 "code": training_code_version()}
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def metadata(self, result, report, **extra) -> dict:
        """The metadata saved with a model trained from this spec (`result`: TrainingResult,
        `report`: EvaluationReport); `extra` adds e.g. its name and where it came from."""
        return {"arch": self.arch, "hparams": dict(self.hparams), "epochs": self.epochs,
                "epochs_completed": result.epochs_completed, "batch_size": self.batch_size,
                "validation_split": self.validation_split, "seed": self.seed,
                "history": result.history, "epoch_seconds": [round(s, 1) for s in result.epoch_seconds],
                "time_to": time_to(result.history.get("val_accuracy", []), result.epoch_seconds),
                "test_accuracy": report.accuracy,
                "test_loss": report.loss, "train_seconds": round(result.seconds, 1),
                "stopped_early": result.stopped, **({"drawings": self.drawings} if self.drawings else {}),
                **({"class_set": self.class_set.identity, "class_drawings": len(self.class_set)}
                   if self.class_set is not None else {}),
                **extra}


# The modules whose code decides what a run trains (its network, data pipeline, recipe, evaluation).
TRAINING_CODE = ("training.py", "models.py", "evaluation.py", "preprocess.py", "data.py",
                 "networks/presets.py", "networks/hparams.py", "networks/optimizers.py",
                 "drawings/augment.py", "drawings/strokes.py", "drawings/pendigits.py")
_code_version: str | None = None


def training_code_version() -> str:
    """A hash of the training code above and the Keras/TensorFlow versions that run it (read from
    the package metadata: no import)."""
    global _code_version
    if _code_version is None:
        from importlib.metadata import PackageNotFoundError, version
        digest = hashlib.sha256()
        root = Path(__file__).resolve().parents[1]
        for name in TRAINING_CODE:
            path = root / name
            digest.update(name.encode() + (path.read_bytes() if path.is_file() else b""))
        for package in ("keras", "tensorflow"):
            try:
                digest.update(f"{package}={version(package)}".encode())
            except PackageNotFoundError:
                digest.update(package.encode())
        _code_version = digest.hexdigest()[:16]
    return _code_version
