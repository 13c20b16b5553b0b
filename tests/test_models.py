"""Models: the tutorial's network exactly, the CNN, validation, and the code shown to learners."""

import keras
import numpy as np
import pytest

from mnist_core.networks import describe, optimizers, presets, script
from mnist_core import models


def tutorial_network():
    """The tutorial, written out with plain Keras."""
    network = keras.Sequential([keras.Input(shape=(28 * 28,)),
                                keras.layers.Dense(512, activation="relu"),
                                keras.layers.Dense(10, activation="softmax")])
    network.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return network


def keras_io_convnet():
    """keras-io's mnist_convnet.py, as written there."""
    network = keras.Sequential([keras.Input(shape=(28, 28, 1)),
                                keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                                keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
                                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                                keras.layers.Flatten(),
                                keras.layers.Dropout(0.5),
                                keras.layers.Dense(10, activation="softmax")])
    network.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return network


def test_default_dense_is_exactly_the_tutorial():
    model, reference = models.build_model(), tutorial_network()
    assert model.count_params() == reference.count_params() == 784 * 512 + 512 + 512 * 10 + 10
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    for ours, theirs in zip(model.layers, reference.layers):
        assert ours.units == theirs.units and ours.activation.__name__ == theirs.activation.__name__
    assert type(model.optimizer) is type(reference.optimizer) is keras.optimizers.RMSprop
    assert float(model.optimizer.learning_rate) == pytest.approx(float(reference.optimizer.learning_rate))
    assert model.loss == "categorical_crossentropy"
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)


def test_cnn_is_the_keras_example():
    model, reference = models.build_model("cnn"), keras_io_convnet()
    assert model.input_shape == reference.input_shape and model.output_shape == reference.output_shape
    assert [(type(l).__name__, l.output.shape) for l in model.layers] == \
        [(type(l).__name__, l.output.shape) for l in reference.layers]
    assert model.count_params() == reference.count_params()
    assert type(model.optimizer) is type(reference.optimizer)


def test_hyperparameters_change_the_network():
    model = models.build_model("dense", hidden_units=64, dropout=0.2, optimizer="sgd", learning_rate=0.05)
    assert model.layers[0].units == 64 and isinstance(model.layers[1], keras.layers.Dropout)
    assert type(model.optimizer) is keras.optimizers.SGD
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)


def test_presets_are_the_strided_network_the_fast_one_thin():
    fast, best = models.build_model("cnn_fast"), models.build_model("cnn_best")
    convs = lambda m: [(l.filters, l.kernel_size, l.strides) for l in m.layers  # noqa: E731
                       if isinstance(l, keras.layers.Conv2D)]
    fast_hp, best_hp = presets.architecture_defaults("cnn_fast"), presets.architecture_defaults("cnn_best")
    for model, hp in ((fast, fast_hp), (best, best_hp)):
        f = hp["filters"]
        assert convs(model) == [(f, (5, 5), (2, 2)), (2 * f, (3, 3), (2, 2)), (2 * f, (3, 3), (1, 1))][:hp["conv_layers"]]
        # The third convolution sees the 7x7 maps: cheap, and the classifier's input stays 7*7*2f.
        assert model.get_layer("flatten").output.shape[1] == 7 * 7 * 2 * f
        dense = [l.units for l in model.layers if isinstance(l, keras.layers.Dense)]
        assert dense == ([hp["hidden_units"]] if hp["hidden_units"] else []) + [10]
    assert models.build_model("cnn_best", conv_layers=2).count_params() < best.count_params()
    with pytest.raises(ValueError, match="between"):
        models.build_model("cnn_best", conv_layers=4)


@pytest.mark.parametrize("arch, hparams, message", [
    ("dense", {"hidden_units": 0}, "between"),
    ("dense", {"hidden_units": 12.5}, "whole number"),
    ("dense", {"dropout": 1.5}, "between"),
    ("dense", {"dropout": float("nan")}, "between"),
    ("dense", {"optimizer": "magic"}, "one of"),
    ("dense", {"filters": 3}, "no hyperparameter"),
    ("dense", {"learning_rate": "fast"}, "number"),
    ("dense", {"hidden_units": True}, "number"),
    ("transformer", {}, "unknown architecture"),
])
def test_bad_hyperparameters_get_clear_errors(arch, hparams, message):
    with pytest.raises(ValueError, match=message):
        models.build_model(arch, **hparams)


def test_architecture_defaults_for_the_ui_are_the_tutorials_network():
    """The Train page's defaults for "dense" build the tutorial's network with Keras' own rmsprop."""
    defaults, reference = presets.architecture_defaults("dense"), tutorial_network()
    assert defaults["hidden_units"] == reference.layers[0].units and defaults["dropout"] == 0
    assert type(reference.optimizer).__name__.lower() == defaults["optimizer"]      # RMSprop
    assert defaults["learning_rate"] == pytest.approx(float(reference.optimizer.learning_rate))
    assert set(presets.ARCHITECTURES) >= {"dense", "cnn"}


def test_seed_makes_initial_weights_repeatable():
    first = models.build_model("dense", seed=7).get_weights()
    second = models.build_model("dense", seed=7).get_weights()
    other = models.build_model("dense", seed=8).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_layer_table_and_graph():
    model = models.build_model("cnn")
    table = describe.layer_table(model)
    assert sum(row["parameters"] for row in table) == model.count_params()
    assert table[0]["type"] == "Conv2D" and table[0]["output shape"] == "(None, 26, 26, 32)"
    dot = describe.graph_dot(model)
    assert dot.startswith("digraph") and dot.count("->") == len(model.layers)


def _layer_facts(layer):
    """What makes a layer what it is, without its name and seeds."""
    config = layer.get_config()
    ignored = {"name", "seed", "kernel_initializer", "bias_initializer", "dtype", "trainable"}
    return type(layer).__name__, {k: v for k, v in config.items() if k not in ignored}


@pytest.mark.parametrize("arch, hparams", [("dense", {}), ("cnn", {"filters": 8, "optimizer": "sgd"}),
                                           ("dense", {"dropout": 0.3, "optimizer": "adamw"}),
                                           ("cnn_fast", {}), ("cnn_best", {"filters": 8}),
                                           ("cnn_best", {"filters": 8, "hidden_units": 16,
                                                         "label_smoothing": 0.2})])
def test_keras_code_runs_and_builds_the_same_network(monkeypatch, mnist, arch, hparams):
    """The script shown on the Train page is real: run it (on a slice of MNIST, no download) and
    compare it with build_model layer by layer, its schedule and its augmentation ranges."""
    from mnist_core.drawings import augment
    small = ((mnist.x_train[:256], mnist.y_train[:256]), (mnist.x_test[:64], mnist.y_test[:64]))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: small)
    code = script.keras_code(arch, hparams, epochs=1, batch_size=64, validation_split=0.1, seed=3)
    namespace = {}
    exec(compile(code, "<keras_code>", "exec"), namespace)  # noqa: S102 (our own generated code)
    built, written = models.build_model(arch, **hparams), namespace["model"]
    randomising = [l for l in written.layers if type(l).__name__.startswith("Random")]
    network = [l for l in written.layers if l not in randomising]
    assert [_layer_facts(l) for l in network] == [_layer_facts(l) for l in built.layers]
    assert written.count_params() == built.count_params()
    assert 0.0 <= namespace["test_acc"] <= 1.0
    hp = presets.validate_hparams(arch, hparams)
    if hp.get("schedule") == "one_cycle":          # the same schedule as training.train makes
        steps = -(-int(60000 * 0.9) // 64)
        assert namespace["schedule"].get_config() == optimizers.one_cycle(hp["learning_rate"], steps).get_config()
    # The same optimizer and loss (label smoothing included) as training.train compiles.
    ours = keras.Sequential([keras.Input(built.input_shape[1:])] + [keras.layers.Identity()])
    optimizers.compile_model(ours, presets.recipe(arch, hparams), total_steps=10)
    assert type(written.optimizer) is type(ours.optimizer)
    theirs_loss, ours_loss = written.loss, ours.loss
    smoothing = lambda loss: 0.0 if isinstance(loss, str) else loss.get_config()["label_smoothing"]  # noqa: E731
    assert smoothing(theirs_loss) == pytest.approx(smoothing(ours_loss)) == pytest.approx(hp.get("label_smoothing", 0.0))
    if hp.get("augment"):
        strength = hp["augment"]
        rotation, zoom, shift = (l.get_config() for l in randomising)
        assert rotation["factor"][1] == pytest.approx(augment.ROTATION_DEGREES / 360 * strength, abs=1e-4)
        assert zoom["height_factor"] == pytest.approx(augment.SCALE * strength, abs=1e-4)
        assert shift["width_factor"] == pytest.approx(augment.SHIFT_PIXELS / 28 * strength, abs=1e-4)
    else:
        assert not randomising


@pytest.mark.parametrize("arch", list(presets.ARCHITECTURES))
def test_one_recipe_for_the_command_line_the_script_and_the_notebook(arch):
    """`python -m mnist_core train --arch NAME` alone, the Train page's script and the notebook all
    train the preset's own epochs, batch size and validation split."""
    import ast

    from mnist_core.__main__ import _parser, run_spec
    preset = presets.ARCHITECTURES[arch]
    spec = run_spec(_parser().parse_args(["train", "--arch", arch, "--out", "x.keras"]))
    assert (spec.epochs, spec.batch_size, spec.validation_split) == \
        (preset.epochs, preset.batch_size, preset.validation_split)
    assert spec.hparams == preset.defaults()
    changed = run_spec(_parser().parse_args(["train", "--arch", arch, "--epochs", "2", "--out", "x.keras"]))
    assert changed.epochs == 2 and changed.batch_size == preset.batch_size

    code = script.keras_code(arch, {}, epochs=spec.epochs, batch_size=spec.batch_size,
                             validation_split=spec.validation_split, seed=0)
    fit = next(node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
               and getattr(node.func, "attr", "") == "fit")
    told = {k.arg: ast.literal_eval(k.value) for k in fit.keywords}
    assert told["epochs"] == preset.epochs and told["batch_size"] == preset.batch_size
    assert told.get("validation_split", 0.0) == preset.validation_split

    from studio.train.notebook import notebook_bytes
    import json
    notebook = json.loads(notebook_bytes(arch, arch, {}, epochs=spec.epochs, batch_size=spec.batch_size,
                                         validation_split=spec.validation_split, seed=0))
    sources = ("".join(cell["source"]) for cell in notebook["cells"])   # nbformat keeps lines as lists
    assert ast.unparse(fit) in "\n".join(sources)


def test_presets_train_with_their_recipe(small_mnist):
    """cnn_fast/cnn_best: a one-cycle schedule sized to the run, augmentation through tf.data."""
    from mnist_core import training
    model = models.build_model("cnn_best", filters=4)
    result = training.train(model, small_mnist, epochs=2, batch_size=100, validation_split=0.1,
                            recipe=presets.recipe("cnn_best", {"filters": 4}))
    schedule = model.optimizer.learning_rate
    assert result.epochs_completed == 2 and "val_accuracy" in result.history
    assert type(model.optimizer._learning_rate).__name__ == "CosineDecay"
    assert float(schedule) < 0.001          # annealed to (almost) zero at the end of the cycle


def test_without_a_recipe_a_model_trains_as_compiled(small_mnist):
    from mnist_core import training
    model = models.build_model("cnn_best", filters=4)
    training.train(model, small_mnist, epochs=1, batch_size=100)
    peak = presets.architecture_defaults("cnn_best")["learning_rate"]
    assert float(model.optimizer.learning_rate) == pytest.approx(peak)   # the preset's peak, constant


def test_presets_save_and_load_safely(tmp_path, small_mnist):
    from mnist_core import storage, training
    model = models.build_model("cnn_fast", filters=4)
    training.train(model, small_mnist, epochs=1, batch_size=100)
    loaded, _ = storage.load_model(storage.save_model(model, tmp_path / "fast.keras"))
    assert loaded.count_params() == model.count_params()
