"""The stand-alone Keras script of a run (the Train page's Code tab and the notebook export).

The network is written from the model build_model makes, layer by layer, so the two can't drift;
the rest of the recipe comes from the same preset (mnist_core.networks.presets).
"""

from __future__ import annotations

from functools import lru_cache

from .optimizers import WARMUP_FRACTION, WARMUP_START
from .presets import OPTIMIZERS, validate_hparams


@lru_cache(maxsize=64)
def _network(arch: str, hparams: tuple) -> tuple[tuple[str, ...], bool]:
    """The layers' Keras calls, and whether the input is flat: built once per configuration (the
    Train page asks on every rerun)."""
    from mnist_core.models import build_model
    model = build_model(arch, **dict(hparams))
    return tuple(layer_code(layer) for layer in model.layers), model.input_shape[1:] == (784,)


def layer_code(layer) -> str:
    """One layer as the Keras call that makes it (the layers build_model uses)."""
    c = layer.get_config()
    kind = type(layer).__name__
    if kind == "Dense":
        bias = "" if c["use_bias"] else ", use_bias=False"
        activation = "" if c["activation"] == "linear" else f', activation="{c["activation"]}"'
        return f'layers.Dense({c["units"]}{bias}{activation})'
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
    """Keras' own random layers closest to mnist_core.drawings.augment at `strength`: the same rotation,
    zoom and shift ranges (Keras has no shear, elastic bending or stroke thickness layer)."""
    from mnist_core.drawings import augment
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
    body = []
    if hp.get("augment"):
        body += ["    # Augmentation, active only while training (MNIST Studio also shears, bends",
                 "    # strokes elastically and thickens or thins them):",
                 *("    " + line for line in augmentation_code(hp["augment"]))]
    network, flat = _network(arch, tuple(sorted(hp.items())))
    body += [f"    {line}," for line in network]
    inputs = "keras.Input(shape=(28 * 28,))" if flat else "keras.Input(shape=(28, 28, 1))"
    reshape = "(-1, 28 * 28)" if flat else "(-1, 28, 28, 1)"
    optimizer, extra = OPTIMIZERS[hp["optimizer"]]
    extra = "".join(f", {name}={value!r}" for name, value in extra.items())
    seed_line = [f"keras.utils.set_random_seed({seed})", ""] if seed is not None else []
    split = f", validation_split={validation_split}" if validation_split else ""
    smoothing = hp.get("label_smoothing", 0.0)
    loss = (f"keras.losses.CategoricalCrossentropy(label_smoothing={smoothing})" if smoothing
            else '"categorical_crossentropy"')
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
        f"{extra}),",
        f"              loss={loss}, metrics=[\"accuracy\"])",
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
