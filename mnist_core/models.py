"""Step 3 of the tutorial: build and compile the network.

`build_model("dense")` with no arguments is exactly the tutorial's network:
Dense(512, relu) on the 784 flattened pixels -> Dense(10, softmax), compiled with rmsprop,
categorical cross-entropy and accuracy. Every other choice is a named, validated hyperparameter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace

import keras
from keras import layers

NUM_CLASSES = 10
OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd")


@dataclass(frozen=True)
class Param:
    default: object
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def validate(self, name: str, value):
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{name} must be one of {', '.join(map(str, self.choices))}; "
                                 f"got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number; got {value!r}")
        if self.kind is int:
            if float(value) != int(value):
                raise ValueError(f"{name} must be a whole number; got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if value != value or (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            raise ValueError(f"{name} must be between {self.low} and {self.high}; got {value!r}")
        return value


@dataclass(frozen=True)
class Architecture:
    """An architecture's hyperparameters and how it is meant to be trained. (Its title and
    description, in each language, are in the app's catalogues: studio/locales.)"""
    name: str
    params: dict = field(default_factory=dict)
    epochs: int = 5              # what this architecture is meant to be trained with
    batch_size: int = 128

    def defaults(self) -> dict:
        return {name: param.default for name, param in self.params.items()}


_COMMON = {
    "optimizer": Param("rmsprop", str, choices=OPTIMIZERS),
    "learning_rate": Param(0.001, float, 1e-6, 1.0),
}

ARCHITECTURES = {
    # 784 pixels -> Dense(relu) -> Dense(10, softmax): the tutorial's network, ~98 % accurate.
    "dense": Architecture(
        "dense",
        {"hidden_units": Param(512, int, 1, 4096),
         "dropout": Param(0.0, float, 0.0, 0.9),
         **_COMMON}),
    # Conv(32) -> MaxPool -> Conv(64) -> MaxPool -> Dropout -> Dense(10): keras-io's mnist_convnet.
    "cnn": Architecture(
        "cnn",
        {"filters": Param(32, int, 1, 256),
         "dropout": Param(0.5, float, 0.0, 0.9),
         **_COMMON, "optimizer": Param("adam", str, choices=OPTIMIZERS)},
        epochs=6),      # ~98.9 % here; keras-io trains it for 15
}


_RECIPE = {
    "schedule": Param("constant", str, choices=("constant", "one_cycle")),
    "augment": Param(0.0, float, 0.0, 1.0),
}

def _strided_cnn_params(*, filters, conv_layers, dropout, learning_rate, augment) -> dict:
    """cnn_fast and cnn_best share one network and recipe; only their defaults differ."""
    return {
        "filters": Param(filters, int, 4, 128),
        "conv_layers": Param(conv_layers, int, 2, 3),
        "dropout": Param(dropout, float, 0.0, 0.9),
        "optimizer": Param("adam", str, choices=OPTIMIZERS),
        "learning_rate": Param(learning_rate, float, 1e-6, 1.0),
        "schedule": dataclass_replace(_RECIPE["schedule"], default="one_cycle"),
        "augment": dataclass_replace(_RECIPE["augment"], default=augment),
    }


def _strided_blocks(filters: int, conv_layers: int) -> list[tuple[int, int, int]]:
    """(filters, kernel, stride) of the presets' convolutions: 28 -> 14 -> 7 pixels, then at 7x7."""
    return [(filters, 5, 2), (2 * filters, 3, 2), (2 * filters, 3, 1)][:conv_layers]


# Two strided, batch-normalised convolutions and a one-cycle schedule: ~99 % in half a minute.
ARCHITECTURES["cnn_fast"] = Architecture(
    "cnn_fast",
    _strided_cnn_params(filters=24, conv_layers=2, dropout=0.0, learning_rate=0.02, augment=0.0),
    epochs=3, batch_size=256)
# Wider, one convolution deeper, dropout, augmentation, 15 epochs: 99.5 %+, reads drawings best.
ARCHITECTURES["cnn_best"] = Architecture(
    "cnn_best",
    _strided_cnn_params(filters=32, conv_layers=3, dropout=0.25, learning_rate=0.01, augment=0.6),
    epochs=15, batch_size=128)


def architecture_defaults(arch: str) -> dict:
    return _architecture(arch).defaults()


def validate_hparams(arch: str, hparams: dict) -> dict:
    """Return the full, checked hyperparameters for `arch` (defaults filled in)."""
    spec = _architecture(arch)
    unknown = set(hparams) - set(spec.params)
    if unknown:
        raise ValueError(f"{arch} has no hyperparameter {', '.join(sorted(unknown))}; "
                         f"it takes {', '.join(spec.params)}")
    merged = spec.defaults() | hparams
    return {name: spec.params[name].validate(name, value) for name, value in merged.items()}


def _architecture(arch: str) -> Architecture:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch]


def build_model(arch: str = "dense", *, seed: int | None = None, **hparams) -> keras.Model:
    """A compiled model for `arch`; with no hyperparameters, the tutorial's exact settings.

    `seed` fixes the initial weights and dropout of this model alone: each layer gets its own
    seeded initializer, so two models built at once on a server's threads don't disturb each
    other (keras.utils.set_random_seed would reseed the whole process).
    """
    hp = validate_hparams(arch, hparams)
    layer_seeds = iter(range(1000 * seed, 1000 * seed + 1000)) if seed is not None else None

    def kernel():
        return keras.initializers.GlorotUniform(seed=next(layer_seeds) if layer_seeds else None)

    def dropout(rate):
        return layers.Dropout(rate, seed=next(layer_seeds) if layer_seeds else None, name="dropout")

    # Every layer is named: the names read better in the layer table, and Keras' automatic naming
    # keeps thread-local counters that a server's threads must not depend on.
    if arch == "dense":
        stack = [keras.Input(shape=(28 * 28,), name="pixels"),
                 layers.Dense(hp["hidden_units"], activation="relu", kernel_initializer=kernel(),
                              name="hidden")]
        if hp["dropout"]:
            stack.append(dropout(hp["dropout"]))
    elif arch == "cnn":
        stack = [keras.Input(shape=(28, 28, 1), name="image"),
                 layers.Conv2D(hp["filters"], kernel_size=(3, 3), activation="relu",
                               kernel_initializer=kernel(), name="conv1"),
                 layers.MaxPooling2D(pool_size=(2, 2), name="pool1"),
                 layers.Conv2D(2 * hp["filters"], kernel_size=(3, 3), activation="relu",
                               kernel_initializer=kernel(), name="conv2"),
                 layers.MaxPooling2D(pool_size=(2, 2), name="pool2"),
                 layers.Flatten(name="flatten")]
        if hp["dropout"]:
            stack.append(dropout(hp["dropout"]))
    else:   # cnn_fast and cnn_best: the same network, cnn_best wider, deeper, trained longer, augmented
        # Strided convolutions shrink the image at once (28 -> 14 -> 7): on a CPU the full-size
        # convolutions are most of the cost, and MNIST digits lose little at half resolution.
        # A third convolution at 7x7 costs little and lifts the best preset past 99.5 %.
        stack = [keras.Input(shape=(28, 28, 1), name="image")]
        blocks = _strided_blocks(hp["filters"], hp["conv_layers"])
        for block, (width, size, stride) in enumerate(blocks, 1):
            stack += [layers.Conv2D(width, size, strides=stride, padding="same", use_bias=False,
                                    kernel_initializer=kernel(), name=f"conv{block}"),
                      layers.BatchNormalization(name=f"conv{block}_bn"),
                      layers.Activation("relu", name=f"conv{block}_relu")]
        stack.append(layers.Flatten(name="flatten"))
        if hp["dropout"]:
            stack.append(dropout(hp["dropout"]))
    stack.append(layers.Dense(NUM_CLASSES, activation="softmax", kernel_initializer=kernel(),
                              name="output"))
    model = keras.Sequential(stack, name=f"mnist_{arch}")
    model.compile(optimizer=make_optimizer(hp["optimizer"], hp["learning_rate"]),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def recipe(arch: str, hparams: dict | None = None) -> dict:
    """How `arch` is trained (training.train's `recipe`): optimizer, learning rate, schedule and
    augmentation. Not part of the model, so not saved with it."""
    hp = validate_hparams(arch, hparams or {})
    return {"optimizer": hp["optimizer"], "learning_rate": hp["learning_rate"],
            "schedule": hp.get("schedule", "constant"), "augment": hp.get("augment", 0.0)}


WARMUP_FRACTION = 4      # the first quarter of the steps warms up
WARMUP_START = 25        # from peak / 25


def one_cycle(peak: float, total_steps: int):
    """Warm up from peak/25 to peak, then cosine down to zero: Keras' own schedule, so a saved
    model still contains only Keras objects."""
    warmup = max(1, total_steps // WARMUP_FRACTION)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / WARMUP_START, decay_steps=max(1, total_steps - warmup),
        alpha=0.0, warmup_target=peak, warmup_steps=warmup)


def make_optimizer(name: str, learning_rate):
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    return {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam,
            "adamw": keras.optimizers.AdamW}[name](learning_rate=learning_rate)


# --- Looking at a model --------------------------------------------------------------------------

def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape, parameter count (like model.summary())."""
    return [{"layer": layer.name, "type": type(layer).__name__,
             "output shape": str(tuple(layer.output.shape)),
             "parameters": int(layer.count_params())}
            for layer in model.layers]


def graph_dot(model: keras.Model) -> str:
    """The model as a Graphviz DOT graph, drawn by the browser (no Graphviz binary needed)."""
    lines = ['digraph model {', '  rankdir=TB; node [shape=box, style="rounded,filled", '
             'fillcolor="#eef2ff", color="#4f46e5", fontname="Helvetica"];',
             f'  input [label="input\\n{tuple(model.input_shape[1:])}", fillcolor="#f1f5f9"];']
    previous = "input"
    for index, layer in enumerate(model.layers):
        label = f"{type(layer).__name__}\\n{tuple(layer.output.shape[1:])}"
        if layer.count_params():
            label += f"\\n{layer.count_params():,} params"
        lines.append(f'  l{index} [label="{label}"];')
        lines.append(f"  {previous} -> l{index};")
        previous = f"l{index}"
    lines.append("}")
    return "\n".join(lines)


def layer_code(layer) -> str:
    """One layer as the Keras call that makes it (the layers build_model uses)."""
    c = layer.get_config()
    kind = type(layer).__name__
    if kind == "Dense":
        return f'layers.Dense({c["units"]}, activation="{c["activation"]}")'
    if kind == "Conv2D":
        args = [str(c["filters"]), str(tuple(c["kernel_size"]))]
        if tuple(c["strides"]) != (1, 1):
            args.append(f"strides={c['strides'][0]}")
        if c["padding"] != "valid":
            args.append(f'padding="{c["padding"]}"')
        if not c["use_bias"]:
            args.append("use_bias=False")
        if c["activation"] != "linear":
            args.append(f'activation="{c["activation"]}"')
        return f"layers.Conv2D({', '.join(args)})"
    if kind == "MaxPooling2D":
        return f"layers.MaxPooling2D(pool_size={tuple(c['pool_size'])})"
    if kind == "Dropout":
        return f"layers.Dropout({c['rate']})"
    if kind == "Activation":
        return f'layers.Activation("{c["activation"]}")'
    if kind in ("Flatten", "BatchNormalization"):
        return f"layers.{kind}()"
    raise ValueError(f"no Keras code for a {kind} layer")


def augmentation_code(strength: float) -> list[str]:
    """Keras' own random layers closest to mnist_core.augment at `strength`: the same rotation,
    zoom and shift ranges (Keras has no shear, elastic bending or stroke thickness layer)."""
    from . import augment
    shift = round(augment.SHIFT_PIXELS / 28 * strength, 4)
    return [f"layers.RandomRotation({round(augment.ROTATION_DEGREES / 360 * strength, 4)}),",
            f"layers.RandomZoom({round(augment.SCALE * strength, 4)}),",
            f"layers.RandomTranslation({shift}, {shift}),"]


def keras_code(arch: str, hparams: dict, *, epochs: int, batch_size: int,
               validation_split: float = 0.0, seed: int | None = None) -> str:
    """A stand-alone script that trains this configuration with plain Keras.

    The network is written from the model build_model makes, layer by layer, so the two can't drift.
    """
    hp = validate_hparams(arch, hparams)
    model = build_model(arch, **hp)
    body = []
    if hp.get("augment"):
        body += ["    # Augmentation, active only while training (MNIST Studio also shears, bends",
                 "    # strokes elastically and thickens or thins them):",
                 *("    " + line for line in augmentation_code(hp["augment"]))]
    body += [f"    {layer_code(layer)}," for layer in model.layers]
    flat = model.input_shape[1:] == (784,)
    inputs = "keras.Input(shape=(28 * 28,))" if flat else "keras.Input(shape=(28, 28, 1))"
    reshape = "(-1, 28 * 28)" if flat else "(-1, 28, 28, 1)"
    optimizer = {"rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}[hp["optimizer"]]
    momentum = ", momentum=0.9" if hp["optimizer"] == "sgd" else ""
    seed_line = [f"keras.utils.set_random_seed({seed})", ""] if seed is not None else []
    split = f", validation_split={validation_split}" if validation_split else ""
    learning_rate, schedule_lines = hp["learning_rate"], []
    if hp.get("schedule") == "one_cycle":
        learning_rate = "schedule"
        schedule_lines = [
            "# One cycle: warm up to the peak learning rate, then cosine down to zero.",
            f"steps = {epochs} * -(-int(60000 * (1 - {validation_split})) // {batch_size})",
            f"warmup = max(1, steps // {WARMUP_FRACTION})",
            "schedule = keras.optimizers.schedules.CosineDecay(",
            f"    initial_learning_rate={hp['learning_rate']} / {WARMUP_START}, "
            "decay_steps=max(1, steps - warmup), alpha=0.0,",
            f"    warmup_target={hp['learning_rate']}, warmup_steps=warmup)", ""]
    return "\n".join([
        "import keras",
        "from keras import layers",
        "",
        *seed_line,
        "(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()",
        f"train_images = train_images.reshape{reshape}.astype(\"float32\") / 255",
        f"test_images = test_images.reshape{reshape}.astype(\"float32\") / 255",
        "train_labels = keras.utils.to_categorical(train_labels, 10)",
        "test_labels = keras.utils.to_categorical(test_labels, 10)",
        "",
        "model = keras.Sequential([",
        f"    {inputs},",
        *body,
        "])",
        *schedule_lines,
        f"model.compile(optimizer=keras.optimizers.{optimizer}(learning_rate={learning_rate}"
        f"{momentum}),",
        '              loss="categorical_crossentropy", metrics=["accuracy"])',
        "model.summary()",
        "",
        f"model.fit(train_images, train_labels, epochs={epochs}, batch_size={batch_size}{split})",
        "test_loss, test_acc = model.evaluate(test_images, test_labels)",
        'print(f"test accuracy: {test_acc:.4f}")',
        "",
        "# The tutorial's last step, read with argmax (never compare a probability with 1):",
        "probabilities = model.predict(test_images[1:2])",
        'print("test image 1 is a", probabilities.argmax(), "- the label says", test_labels[1].argmax())',
        "",
    ])


def device_description() -> tuple[str, int | str]:
    """("gpu", "its names") or ("cpu", number of cores): where training runs."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "gpu", ", ".join(gpu.name for gpu in gpus)
    return "cpu", os.cpu_count() or 1
