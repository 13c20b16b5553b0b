"""The architectures and how each is meant to be trained: one definition of each recipe.

The Train page, the command line (`python -m mnist_core train --arch NAME`), the tutorial page,
the exported script and notebook, and bench/run.py all read a preset from here. Imports no
TensorFlow. (Titles and descriptions, in each language, are in studio/ui/locales.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .hparams import Param

# name -> (keras.optimizers class, its extra arguments): read by the builder and the script writer.
OPTIMIZERS = {"rmsprop": ("RMSprop", {}), "adam": ("Adam", {}), "adamw": ("AdamW", {}),
              "sgd": ("SGD", {"momentum": 0.9})}
SCHEDULES = ("constant", "one_cycle")


@dataclass(frozen=True)
class Architecture:
    """An architecture's hyperparameters and its recipe: the epochs, batch size and validation
    split it is meant to be trained with (the hyperparameters hold the rest of the recipe)."""
    name: str
    params: dict = field(default_factory=dict)
    epochs: int = 5
    batch_size: int = 128
    validation_split: float = 0.0

    def defaults(self) -> dict:
        return {name: param.default for name, param in self.params.items()}


_COMMON = {
    "optimizer": Param("rmsprop", str, choices=tuple(OPTIMIZERS)),
    "learning_rate": Param(0.001, float, 1e-6, 1.0),
}

ARCHITECTURES = {
    # 784 pixels -> Dense(relu) -> Dense(10, softmax), 5 epochs of 128: the tutorial's network and
    # recipe, exactly as the note trains it (~98 %).
    "dense": Architecture(
        "dense",
        {"hidden_units": Param(512, int, 1, 4096),
         "dropout": Param(0.0, float, 0.0, 0.9),
         **_COMMON},
        epochs=5, batch_size=128),
    # Conv(32) -> MaxPool -> Conv(64) -> MaxPool -> Dropout -> Dense(10): keras-io's mnist_convnet.
    "cnn": Architecture(
        "cnn",
        {"filters": Param(32, int, 1, 256),
         "dropout": Param(0.5, float, 0.0, 0.9),
         **_COMMON, "optimizer": Param("adam", str, choices=tuple(OPTIMIZERS))},
        epochs=6),      # ~98.9 % here; keras-io trains it for 15
}
TUTORIAL = ARCHITECTURES["dense"]      # model.fit(train_images, train_labels, epochs=5, batch_size=128)

# The presets hold out a twentieth of the training set (3,000 digits): what the Train page and the
# benchmark watch to say when a run crossed 98, 99 and 99.5 %, and what their recipes were chosen on.
PRESET_VALIDATION = 0.05


def _strided_cnn_params(*, filters, conv_layers, hidden_units, dropout, learning_rate, augment,
                        label_smoothing) -> dict:
    """cnn_fast and cnn_best share one network and recipe; only their defaults differ."""
    return {
        "filters": Param(filters, int, 4, 128),
        "conv_layers": Param(conv_layers, int, 2, 3),
        "hidden_units": Param(hidden_units, int, 0, 1024),     # 0: the convolutions feed the output
        "dropout": Param(dropout, float, 0.0, 0.9),
        "optimizer": Param("adam", str, choices=tuple(OPTIMIZERS)),
        "learning_rate": Param(learning_rate, float, 1e-6, 1.0),
        "schedule": Param("one_cycle", str, choices=SCHEDULES),
        "augment": Param(augment, float, 0.0, 1.0),
        "label_smoothing": Param(label_smoothing, float, 0.0, 0.5),
    }


# Three thin strided, batch-normalised convolutions, a small hidden layer, label smoothing and a
# one-cycle schedule over two epochs: 99 % in seconds. (Chosen on the validation split: two epochs
# of this beat three of the wider two-convolution network in less time; see docs/training-presets.md.)
ARCHITECTURES["cnn_fast"] = Architecture(
    "cnn_fast",
    _strided_cnn_params(filters=16, conv_layers=3, hidden_units=128, dropout=0.0, learning_rate=0.02,
                        augment=0.0, label_smoothing=0.1),
    epochs=2, batch_size=256, validation_split=PRESET_VALIDATION)
# Twice as wide, with dropout, augmentation and 15 epochs: the most accurate preset, the best at
# reading drawings. (Chosen on the validation split among four variants: the hidden layer, label
# smoothing and milder augmentation gave 99.64 % there, the previous recipe 99.61 %.)
ARCHITECTURES["cnn_best"] = Architecture(
    "cnn_best",
    _strided_cnn_params(filters=32, conv_layers=3, hidden_units=128, dropout=0.25, learning_rate=0.01,
                        augment=0.4, label_smoothing=0.1),
    epochs=15, batch_size=128, validation_split=PRESET_VALIDATION)


def architecture(arch: str) -> Architecture:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch]


def architecture_defaults(arch: str) -> dict:
    return architecture(arch).defaults()


def validate_hparams(arch: str, hparams: dict) -> dict:
    """Return the full, checked hyperparameters for `arch` (defaults filled in)."""
    spec = architecture(arch)
    unknown = set(hparams) - set(spec.params)
    if unknown:
        raise ValueError(f"{arch} has no hyperparameter {', '.join(sorted(unknown))}; "
                         f"it takes {', '.join(spec.params)}")
    merged = spec.defaults() | hparams
    return {name: spec.params[name].validate(name, value) for name, value in merged.items()}


def recipe(arch: str, hparams: dict | None = None) -> dict:
    """How `arch` is trained beyond epochs and batches (training.train's `recipe`): optimizer,
    learning rate, schedule, augmentation, label smoothing. Not part of the model file."""
    hp = validate_hparams(arch, hparams or {})
    return {"optimizer": hp["optimizer"], "learning_rate": hp["learning_rate"],
            "schedule": hp.get("schedule", "constant"), "augment": hp.get("augment", 0.0),
            "label_smoothing": hp.get("label_smoothing", 0.0)}


def strided_blocks(filters: int, conv_layers: int) -> list[tuple[int, int, int]]:
    """(filters, kernel, stride) of the presets' convolutions: 28 -> 14 -> 7 pixels, then at 7x7."""
    return [(filters, 5, 2), (2 * filters, 3, 2), (2 * filters, 3, 1)][:conv_layers]


# What the benchmark measured of each preset (`python bench/run.py --only speed best`, written by
# bench/table.py, never typed): the Train page's preset cards read it.
MEASURED = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.json"


def measured(path: Path | None = None) -> dict:
    """{arch: {"when", "commit", "cpu_cores", "seeds", "test_accuracy", "seconds", "time_to"}}, or {}."""
    try:
        return json.loads((path or MEASURED).read_text(encoding="utf-8"))
    except (OSError, ValueError):      # no benchmark run yet (or a damaged file): no figures
        return {}


__all__ = ["ARCHITECTURES", "Architecture", "MEASURED", "OPTIMIZERS", "PRESET_VALIDATION", "Param", "TUTORIAL",
           "architecture", "architecture_defaults", "measured", "recipe", "strided_blocks",
           "validate_hparams"]
