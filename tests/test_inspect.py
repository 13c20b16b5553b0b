"""mnist_core.inspect against trusted references: Keras sub-models, the completeness of integrated
gradients, direct re-predictions, a brute-force NumPy search, and NumPy's eigendecomposition."""

import keras
import numpy as np
import pytest

from mnist_core import inspect, storage
from mnist_core.preprocess import to_model_input

from .conftest import ROOT

BUNDLED = {"tutorial": "tutorial.keras", "best": "default.keras"}


@pytest.fixture(scope="module", params=list(BUNDLED))
def model(request):
    return storage.load_model(ROOT / "models" / BUNDLED[request.param])[0]


@pytest.fixture(scope="module")
def images(mnist):
    return to_model_input(mnist.x_test[:8])


def test_activations_are_each_layers_own_output(model, images):
    layers = inspect.activations(model, images[0])
    assert [name for name, _ in layers] == [layer.name for layer in model.layers]
    for layer, (_, values) in zip(model.layers, layers):
        reference = keras.Model(model.inputs, layer.output)(images[:1].reshape((1,) + model.input_shape[1:]))
        np.testing.assert_allclose(values, np.asarray(reference)[0], atol=1e-5)
    np.testing.assert_allclose(layers[-1][1].sum(), 1.0, atol=1e-5)      # the softmax


@pytest.mark.parametrize("index", [0, 1, 4])
def test_integrated_gradients_add_up_to_the_change_in_probability(model, images, index):
    x = images[index]
    probabilities = np.asarray(model(x.reshape((1,) + model.input_shape[1:]), training=False))[0]
    target = int(probabilities.argmax())
    base = np.asarray(model(np.zeros((1,) + model.input_shape[1:], np.float32), training=False))[0]
    attributions = inspect.attribution(model, x, target=target, steps=128)
    assert attributions.shape == (28, 28)
    change = probabilities[target] - base[target]
    assert abs(attributions.sum() - change) <= 0.05 * abs(change), (attributions.sum(), change)
    assert np.abs(attributions[x == 0]).sum() == 0        # a black pixel equals the baseline


def test_why_not_another_digit_is_the_same_method_for_another_target(model, images):
    towards_7 = inspect.integrated_gradients(model, images[0], target=7)
    towards_1 = inspect.integrated_gradients(model, images[0], target=1)
    assert towards_7.sum() > towards_1.sum()               # test image 0 is a 7


def test_occlusion_equals_a_direct_reprediction(model, images):
    x = images[1]
    drops = inspect.occlusion(model, x, patch=7)
    assert drops.shape == (28, 28)
    probabilities = np.asarray(model(x.reshape((1,) + model.input_shape[1:]), training=False))[0]
    target = int(probabilities.argmax())
    hidden = x.copy()
    hidden[7:14, 14:21] = 0
    direct = np.asarray(model(hidden.reshape((1,) + model.input_shape[1:]), training=False))[0, target]
    np.testing.assert_allclose(drops[10, 17], probabilities[target] - direct, atol=1e-5)
    assert np.all(drops[7:14, 14:21] == drops[7, 14])      # one value per square


def test_grad_cam_for_convolutions_only(model, images):
    if not any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers):
        with pytest.raises(ValueError, match="convolutional"):
            inspect.attribution(model, images[0], method="grad_cam")
        filters = inspect.first_layer_filters(model)      # a dense layer: its units' 784 weights
        kernel = np.asarray(model.layers[0].kernel)
        assert filters.shape == (inspect.FILTERS_SHOWN, 28, 28)
        np.testing.assert_array_equal(filters[3], kernel[:, 3].reshape(28, 28))
        return
    cam = inspect.attribution(model, images[0], method="grad_cam")
    assert cam.shape == (28, 28) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    filters = inspect.first_layer_filters(model)
    kernel = np.asarray(model.layers[0].kernel)
    assert filters.shape == (kernel.shape[3], kernel.shape[0], kernel.shape[1])
    np.testing.assert_array_equal(filters[3], kernel[:, :, 0, 3])


def test_neighbours_equal_a_brute_force_search(model, mnist):
    train = to_model_input(mnist.x_train[:3000])
    index = inspect.NeighbourIndex(model, train, mnist.y_train[:3000], max_dims=256)
    query = to_model_input(mnist.x_test[0])
    found, distances = index.nearest(query, k=10)
    points, q = index.features(train).astype(np.float64), index.features(query)[0].astype(np.float64)
    brute = np.linalg.norm(points - q, axis=1)
    np.testing.assert_array_equal(found, np.argsort(brute, kind="stable")[:10])
    np.testing.assert_allclose(distances, brute[found], rtol=1e-4, atol=1e-3)
    assert (index.labels[found] == 7).sum() >= 8           # a 7's neighbours are 7s


def test_feature_map_is_the_principal_plane(model, mnist):
    images = to_model_input(mnist.x_test[:1000])
    feature_map = inspect.FeatureMap(model, images)
    features = inspect.penultimate(model, images).astype(np.float64)
    centred = features - features.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    reference = centred @ vectors[:, ::-1][:, :2]
    for axis in range(2):   # the same axes, up to sign
        sign = np.sign(reference[:, axis] @ feature_map.points[:, axis])
        np.testing.assert_allclose(feature_map.points[:, axis], sign * reference[:, axis], rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(feature_map.place(images[5]), feature_map.points[5], rtol=1e-3, atol=1e-3)
    assert inspect.embedding_2d(model, images[:50]).shape == (50, 2)


def captions_of(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


@pytest.mark.parametrize("key", ["tutorial", "best"])
def test_the_inside_view_on_predict_for_each_architecture(mnist_path, monkeypatch, key):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    from .test_app import open_page
    at = open_page("predict", index="0", model=key)          # test image 0, a 7
    assert not at.exception and not at.error
    assert at.session_state["inside_view"] is None           # nothing computed until a view is open
    assert not any(" · " in c for c in captions_of(at))
    at.session_state["inside_view"] = "layers"               # one view at a time
    at.run()
    captions = captions_of(at)
    if key == "best":
        assert "conv1 · 40 feature maps" in captions
        assert "The first layer's 40 filters (what each looks for)" in captions
    else:
        assert any(c.startswith("hidden · 512 units") for c in captions)
    assert not any(c.startswith("evidence for") for c in captions)   # not computed until chosen
    at.session_state["inside_view"] = "evidence"
    at.run()
    captions = captions_of(at)
    assert "evidence for 7 (integrated gradients)" in captions
    assert "what 7 loses when a 4×4 square is hidden" in captions
    if key == "best":
        assert "where the last convolution looked (Grad-CAM)" in captions
    else:
        assert any("Grad-CAM needs a convolutional network" in c.value for c in at.caption)
    at.session_state["inside_view"] = "neighbours"
    at.run()
    neighbours = [c for c in captions_of(at) if c.startswith("#")]
    assert len(neighbours) == 10 and sum(c.endswith(": 7") for c in neighbours) >= 8
    at.session_state["inside_view"] = "map"
    at.run()
    assert len(at.get("vega_lite_chart")) == 2                 # the probabilities and the map
    assert not at.exception


# --- Break it ---------------------------------------------------------------------------------------

def test_switched_off_units_match_a_numpy_network_without_them(images):
    model = storage.load_model(ROOT / "models" / "tutorial.keras")[0]
    (w1, b1), (w2, b2) = (layer.get_weights() for layer in model.layers)
    off = list(range(0, 512, 3))
    copy = inspect.broken(model, {"hidden": off})
    hidden = np.maximum(images.reshape(-1, 784) @ w1 + b1, 0)
    hidden[:, off] = 0                                   # the same neurons, dead, in NumPy
    logits = hidden @ w2 + b2
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(copy.predict(images.reshape(-1, 784), verbose=0), expected, atol=1e-5)
    assert np.all(dict(inspect.activations(copy, images[0]))["hidden"][off] == 0)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], w1)     # the original is intact


def test_dead_feature_maps_stay_zero_through_batch_normalisation(images):
    model = storage.load_model(ROOT / "models" / "default.keras")[0]
    first = inspect.breakable_layers(model)[0][0]
    copy = inspect.broken(model, {first: [0, 5]})
    layers = dict(inspect.activations(copy, images[0]))
    after = [name for name, _ in inspect.activations(copy, images[0])]
    for name in after[:after.index(first) + 3]:          # the convolution, its normalisation, its ReLU
        assert np.all(layers[name][..., [0, 5]] == 0), name
    assert np.abs(layers[first][..., 1]).max() > 0


def test_noise_changes_a_copy_and_nothing_broken_is_the_model(images, model):
    batch = images.reshape((-1,) + model.input_shape[1:])
    intact = model.predict(batch, verbose=0)
    np.testing.assert_allclose(inspect.broken(model).predict(batch, verbose=0), intact, atol=1e-6)
    noisy = inspect.broken(model, noise=0.5, seed=1).predict(batch, verbose=0)
    assert np.abs(noisy - intact).max() > 0.01
    np.testing.assert_allclose(model.predict(batch, verbose=0), intact)
    with pytest.raises(ValueError, match="breakable"):
        inspect.broken(model, {"no_such_layer": [0]})


def test_break_it_in_the_app_and_reset(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    from .test_app import open_page
    at = open_page("predict", index="0", model="tutorial")
    at.session_state["inside_view"] = "break"
    at.run()
    at.slider(key="break_off").set_value(100).run()           # every hidden unit dead
    assert not at.exception
    said = next(m for m in at.metric if m.label == "Broken copy says")
    # With no hidden unit alive, the output is softmax(bias): the same digit for any image.
    bias = storage.load_model(ROOT / "models" / "tutorial.keras")[0].layers[-1].get_weights()[1]
    assert said.value in (str(int(np.argmax(bias))), "?")
    next(b for b in at.button if b.label == "Reset").click().run()
    assert at.slider(key="break_off").value == 0 and not any(m.label == "Broken copy says" for m in at.metric)


def test_evaluate_opens_a_mistake_in_predicts_inside_view(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    from .test_app import open_page
    at = open_page("evaluate", model="tutorial")
    chosen = at.selectbox(key="eval_inside").value
    next(b for b in at.button if b.label == "Open in Predict's Inside view").click().run()
    assert not at.exception
    assert at.session_state["predict_source"] == "test" and at.session_state["predict_index"] == chosen
    assert at.session_state["inside_view"] == "layers" and any(
        c.startswith("hidden · 512 units") for c in captions_of(at))


def test_growth_is_the_filters_and_the_map_and_keeps_its_orientation(model, images):
    filters, points = inspect.growth(model, images)
    np.testing.assert_array_equal(filters, inspect.first_layer_filters(model))
    reference = inspect.embedding_2d(model, images)
    np.testing.assert_allclose(np.abs(points), np.abs(reference), rtol=1e-5, atol=1e-5)
    _, turned = inspect.growth(model, images, previous=-reference)     # last epoch's axes, flipped
    np.testing.assert_allclose(turned, -reference, rtol=1e-5, atol=1e-5)


def test_each_epoch_reports_the_filters_as_they_are(small_mnist):
    from mnist_core import models, training
    model = models.build_model("dense", seed=0, hidden_units=16)
    reports = []
    training.train(model, small_mnist, epochs=2, batch_size=100, seed=0, watch=small_mnist.x_test[:50],
                   on_progress=reports.append)
    epochs = [r for r in reports if r.kind == "epoch"]
    assert len(epochs) == 2 and all(r.growth is not None for r in epochs)
    filters, points = epochs[-1].growth
    np.testing.assert_array_equal(filters, inspect.first_layer_filters(model))   # after the last epoch
    assert points.shape == (50, 2) and not np.array_equal(epochs[0].growth[0], filters)


def test_an_index_of_uint8_images_is_the_index_of_the_same_images_in_0_1(model, mnist):
    pixels = mnist.x_train[:2500]
    from_uint8 = inspect.NeighbourIndex(model, pixels, mnist.y_train[:2500])
    from_float = inspect.NeighbourIndex(model, to_model_input(pixels), mnist.y_train[:2500])
    np.testing.assert_allclose(from_uint8.points, from_float.points, rtol=1e-5, atol=1e-4)
