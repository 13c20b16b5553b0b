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
    help: str = ""

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
    name: str
    title: str
    description: str
    params: dict = field(default_factory=dict)
    epochs: int = 5              # what this architecture is meant to be trained with
    batch_size: int = 128

    def defaults(self) -> dict:
        return {name: param.default for name, param in self.params.items()}


_COMMON = {
    "optimizer": Param("rmsprop", str, choices=OPTIMIZERS, help="how the weights are updated"),
    "learning_rate": Param(0.001, float, 1e-6, 1.0, help="step size of the optimizer"),
}

ARCHITECTURES = {
    "dense": Architecture(
        "dense", "Dense network (the tutorial's)",
        "784 pixels -> Dense(relu) -> Dense(10, softmax). The tutorial's network, ~98% accurate.",
        {"hidden_units": Param(512, int, 1, 4096, help="neurons in the hidden layer"),
         "dropout": Param(0.0, float, 0.0, 0.9, help="fraction of hidden activations dropped in training"),
         **_COMMON}),
    "cnn": Architecture(
        "cnn", "Convolutional network (the Keras example)",
        "Conv(32) -> MaxPool -> Conv(64) -> MaxPool -> Dropout -> Dense(10, softmax): the network of "
        "keras-io's mnist_convnet example, ~99% accurate.",
        {"filters": Param(32, int, 1, 256, help="filters in the first convolution (the second has twice)"),
         "dropout": Param(0.5, float, 0.0, 0.9, help="fraction of features dropped before the classifier"),
         **_COMMON, "optimizer": Param("adam", str, choices=OPTIMIZERS, help=_COMMON["optimizer"].help)}),
}


_RECIPE = {
    "schedule": Param("constant", str, choices=("constant", "one_cycle"),
                      help="learning rate: fixed, or one cycle (warm up, then cosine down to zero)"),
    "augment": Param(0.0, float, 0.0, 1.0,
                     help="strength of random rotation, scale, shear, shift, elastic bending and "
                          "stroke thickness"),
}

def _strided_cnn_params(*, filters, conv_layers, dropout, learning_rate, augment) -> dict:
    """cnn_fast and cnn_best share one network and recipe; only their defaults differ."""
    return {
        "filters": Param(filters, int, 4, 128, help="filters in the first block (the others have twice)"),
        "conv_layers": Param(conv_layers, int, 2, 3, help="2: two strided convolutions (28 -> 14 -> 7 "
                             "pixels); 3: and a third at 7x7 that combines their features"),
        "dropout": Param(dropout, float, 0.0, 0.9, help="fraction of features dropped before the classifier"),
        "optimizer": Param("adam", str, choices=OPTIMIZERS, help=_COMMON["optimizer"].help),
        "learning_rate": Param(learning_rate, float, 1e-6, 1.0, help="peak learning rate of the cycle"),
        "schedule": dataclass_replace(_RECIPE["schedule"], default="one_cycle"),
        "augment": dataclass_replace(_RECIPE["augment"], default=augment),
    }


def _strided_blocks(filters: int, conv_layers: int) -> list[tuple[int, int, int]]:
    """(filters, kernel, stride) of the presets' convolutions: 28 -> 14 -> 7 pixels, then at 7x7."""
    return [(filters, 5, 2), (2 * filters, 3, 2), (2 * filters, 3, 1)][:conv_layers]


ARCHITECTURES["cnn_fast"] = Architecture(
    "cnn_fast", "Fast CNN (99% in half a minute)",
    "Two strided, batch-normalised convolutions (28 -> 14 -> 7 pixels) and a one-cycle learning "
    "rate: about 99% test accuracy in half a minute on two CPU cores.",
    _strided_cnn_params(filters=24, conv_layers=2, dropout=0.0, learning_rate=0.02, augment=0.0),
    epochs=3, batch_size=256)
ARCHITECTURES["cnn_best"] = Architecture(
    "cnn_best", "Best CNN (99.5%+, reads drawings best)",
    "The fast CNN made wider and one convolution deeper, with dropout, augmentation (rotation, "
    "scale, shear, shift, elastic bending, stroke thickness) and a longer one-cycle run: the most "
    "accurate preset and the best at reading drawings. About 15 epochs, nine minutes on two CPU "
    "cores.",
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
    """A compiled model for `arch`; with no hyperparameters, the tutorial's exact settings."""
    hp = validate_hparams(arch, hparams)
    if seed is not None:
        keras.utils.set_random_seed(seed)   # weight initialisation, dropout and shuffling
    # Every layer is named: the names read better in the layer table, and Keras' automatic naming
    # keeps thread-local counters that a server's threads must not depend on.
    if arch == "dense":
        stack = [keras.Input(shape=(28 * 28,), name="pixels"),
                 layers.Dense(hp["hidden_units"], activation="relu", name="hidden")]
        if hp["dropout"]:
            stack.append(layers.Dropout(hp["dropout"], name="dropout"))
    elif arch == "cnn":
        stack = [keras.Input(shape=(28, 28, 1), name="image"),
                 layers.Conv2D(hp["filters"], kernel_size=(3, 3), activation="relu", name="conv1"),
                 layers.MaxPooling2D(pool_size=(2, 2), name="pool1"),
                 layers.Conv2D(2 * hp["filters"], kernel_size=(3, 3), activation="relu", name="conv2"),
                 layers.MaxPooling2D(pool_size=(2, 2), name="pool2"),
                 layers.Flatten(name="flatten")]
        if hp["dropout"]:
            stack.append(layers.Dropout(hp["dropout"], name="dropout"))
    else:   # cnn_fast and cnn_best: the same network, cnn_best wider, deeper, trained longer, augmented
        # Strided convolutions shrink the image at once (28 -> 14 -> 7): on a CPU the full-size
        # convolutions are most of the cost, and MNIST digits lose little at half resolution.
        # A third convolution at 7x7 costs little and lifts the best preset past 99.5 %.
        stack = [keras.Input(shape=(28, 28, 1), name="image")]
        blocks = _strided_blocks(hp["filters"], hp["conv_layers"])
        for block, (width, kernel, stride) in enumerate(blocks, 1):
            stack += [layers.Conv2D(width, kernel, strides=stride, padding="same", use_bias=False,
                                    name=f"conv{block}"),
                      layers.BatchNormalization(name=f"conv{block}_bn"),
                      layers.Activation("relu", name=f"conv{block}_relu")]
        stack.append(layers.Flatten(name="flatten"))
        if hp["dropout"]:
            stack.append(layers.Dropout(hp["dropout"], name="dropout"))
    stack.append(layers.Dense(NUM_CLASSES, activation="softmax", name="output"))
    model = keras.Sequential(stack, name=f"mnist_{arch}")
    model.compile(optimizer=make_optimizer(hp["optimizer"], hp["learning_rate"]),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    # How to train it, read by training.train (not saved with the model: it is not the model).
    model.mnist_recipe = {"optimizer": hp["optimizer"], "learning_rate": hp["learning_rate"],
                          "schedule": hp.get("schedule", "constant"), "augment": hp.get("augment", 0.0)}
    return model


def one_cycle(peak: float, total_steps: int, warmup_fraction: float = 0.25):
    """Warm up from peak/25 to peak, then cosine down to zero: Keras' own schedule, so a saved
    model still contains only Keras objects."""
    warmup = max(1, int(total_steps * warmup_fraction))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 25, decay_steps=max(1, total_steps - warmup), alpha=0.0,
        warmup_target=peak, warmup_steps=warmup)


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


def keras_code(arch: str, hparams: dict, *, epochs: int, batch_size: int,
               validation_split: float = 0.0, seed: int | None = None) -> str:
    """A stand-alone script that trains this configuration with plain Keras."""
    hp = validate_hparams(arch, hparams)
    if arch == "dense":
        body = [f'    layers.Dense({hp["hidden_units"]}, activation="relu"),']
        if hp["dropout"]:
            body.append(f'    layers.Dropout({hp["dropout"]}),')
        inputs, reshape = "keras.Input(shape=(28 * 28,))", "(-1, 28 * 28)"
    elif arch == "cnn":
        f = hp["filters"]
        body = [f'    layers.Conv2D({f}, kernel_size=(3, 3), activation="relu"),',
                '    layers.MaxPooling2D(pool_size=(2, 2)),',
                f'    layers.Conv2D({2 * f}, kernel_size=(3, 3), activation="relu"),',
                '    layers.MaxPooling2D(pool_size=(2, 2)),',
                '    layers.Flatten(),']
        if hp["dropout"]:
            body.append(f'    layers.Dropout({hp["dropout"]}),')
        inputs, reshape = "keras.Input(shape=(28, 28, 1))", "(-1, 28, 28, 1)"
    else:
        f, a = hp["filters"], hp["augment"]
        body = []
        if a:   # close to mnist_core.augment (which also shears, bends and thickens strokes)
            body += ["    # Augmentation, active only while training:",
                     f"    layers.RandomRotation({round(15 / 360 * a, 4)}),",
                     f"    layers.RandomZoom({round(0.15 * a, 4)}),",
                     f"    layers.RandomTranslation({round(2.5 / 28 * a, 4)}, {round(2.5 / 28 * a, 4)}),"]
        for width, kernel, stride in _strided_blocks(f, hp["conv_layers"]):
            conv = f'layers.Conv2D({width}, {kernel}, strides={stride}, padding="same", use_bias=False)'
            body += [f"    {conv},",
                     "    layers.BatchNormalization(),", '    layers.Activation("relu"),']
        body.append("    layers.Flatten(),")
        if hp["dropout"]:
            body.append(f'    layers.Dropout({hp["dropout"]}),')
        inputs, reshape = "keras.Input(shape=(28, 28, 1))", "(-1, 28, 28, 1)"
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
            f"schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate={hp['learning_rate']} / 25,",
            "    decay_steps=steps - steps // 4, alpha=0.0,",
            f"    warmup_target={hp['learning_rate']}, warmup_steps=steps // 4)", ""]
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
        '    layers.Dense(10, activation="softmax"),',
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
        "# The tutorial's last step, read with argmax (a probability is never exactly 1):",
        "probabilities = model.predict(test_images[1:2])",
        'print("test image 1 is a", probabilities.argmax(), "- the label says", test_labels[1].argmax())',
        "",
    ])


def device_description() -> str:
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return f"GPU ({', '.join(gpu.name for gpu in gpus)})"
    return f"CPU ({os.cpu_count()} cores)"
