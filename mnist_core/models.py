"""Step 3 of the tutorial: build and compile the network.

`build_model("dense")` with no arguments is exactly the tutorial's network:
Dense(512, relu) on the 784 flattened pixels -> Dense(10, softmax), compiled with rmsprop,
categorical cross-entropy and accuracy. Every other choice is a named, validated hyperparameter
(mnist_core.networks.presets); how a model learns is mnist_core.networks.optimizers.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_core.networks.optimizers import compile_model
from mnist_core.networks.presets import recipe, strided_blocks, validate_hparams


NUM_CLASSES = 10


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
        blocks = strided_blocks(hp["filters"], hp["conv_layers"])
        for block, (width, size, stride) in enumerate(blocks, 1):
            stack += [layers.Conv2D(width, size, strides=stride, padding="same", use_bias=False,
                                    kernel_initializer=kernel(), name=f"conv{block}"),
                      layers.BatchNormalization(name=f"conv{block}_bn"),
                      layers.Activation("relu", name=f"conv{block}_relu")]
        stack.append(layers.Flatten(name="flatten"))
        if hp["hidden_units"]:     # a small batch-normalised layer: cheap, and a faster climb to 99 %
            stack += [layers.Dense(hp["hidden_units"], use_bias=False, kernel_initializer=kernel(),
                                   name="hidden"),
                      layers.BatchNormalization(name="hidden_bn"),
                      layers.Activation("relu", name="hidden_relu")]
        if hp["dropout"]:
            stack.append(dropout(hp["dropout"]))
    stack.append(layers.Dense(NUM_CLASSES, activation="softmax", kernel_initializer=kernel(),
                              name="output"))
    model = keras.Sequential(stack, name=f"mnist_{arch}")
    # Compiled at the recipe's peak learning rate; training.train swaps in its schedule.
    compile_model(model, recipe(arch, hp))
    return model
