"""What defines a training run, its limits, and the metadata a trained model carries.

Written once here and used by the Train page, the command line, the jobs and the model files.
Imports no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .presets import TUTORIAL, architecture

EPOCHS = (1, 100)
BATCH_SIZE = (8, 4096)
VALIDATION_SPLIT = (0.0, 0.5)
DRAWINGS = (0, 200_000)   # extra training drawings (mnist_core.strokes), on top of MNIST's 60,000


def check_run(epochs, batch_size, validation_split) -> None:
    """ValueError unless the three numbers lie within the limits above."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not EPOCHS[0] <= epochs <= EPOCHS[1]:
        raise ValueError(f"epochs must be a whole number from {EPOCHS[0]} to {EPOCHS[1]}; got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or \
            not BATCH_SIZE[0] <= batch_size <= BATCH_SIZE[1]:
        raise ValueError(f"batch size must be a whole number from {BATCH_SIZE[0]} to "
                         f"{BATCH_SIZE[1]}; got {batch_size!r}")
    if not isinstance(validation_split, (int, float)) or \
            not VALIDATION_SPLIT[0] <= validation_split <= VALIDATION_SPLIT[1]:
        raise ValueError(f"validation split must be between {VALIDATION_SPLIT[0]} and "
                         f"{VALIDATION_SPLIT[1]}; got {validation_split!r}")


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
    drawings: int = 0        # extra pen-stroke drawings to train on: digits people's way, non-digits

    @classmethod
    def preset(cls, arch: str, hparams: dict | None = None, **changes) -> "RunSpec":
        """`arch` trained with its own recipe (presets.ARCHITECTURES), `changes` aside."""
        recipe = architecture(arch)
        return cls(arch, dict(hparams or {}), **{"epochs": recipe.epochs, "batch_size": recipe.batch_size,
                                                 "validation_split": recipe.validation_split} | changes)

    def validated(self) -> "RunSpec":
        from .presets import validate_hparams
        check_run(self.epochs, self.batch_size, self.validation_split)
        if isinstance(self.drawings, bool) or not isinstance(self.drawings, int) or \
                not DRAWINGS[0] <= self.drawings <= DRAWINGS[1]:
            raise ValueError(f"drawings must be a whole number from {DRAWINGS[0]} to {DRAWINGS[1]}; "
                             f"got {self.drawings!r}")
        return RunSpec(self.arch, validate_hparams(self.arch, self.hparams), self.epochs,
                       self.batch_size, float(self.validation_split), self.seed, self.drawings)

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
                **extra}
