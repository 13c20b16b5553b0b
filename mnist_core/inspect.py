"""Looking inside the network at one image: what every layer makes of it, which pixels drove the
answer, what the answer loses when part of it is hidden, and which training images it resembles.

Pure functions of (model, image) and two small index classes; no Streamlit and no caching policy
(the app decides what it keeps per model). Images are 28x28 floats in [0, 1], as canvas_to_mnist
and to_model_input return them.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from .predict import chunk_for, gated

# model -> its compiled probes. No probe may refer to the model object (only to its layers and
# tensors), or the entry would keep its own key alive: every model looked at would stay in memory.
_probes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _batch(model, images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.shape == (28, 28):
        images = images[None]
    return images.reshape((len(images),) + tuple(model.input_shape[1:]))


def _probe(model, name: str, outputs):
    """A compiled function from the model's input to `outputs` (a keras sub-model run by a
    tf.function, traced once for any batch size), built once per model: one image costs
    milliseconds, not the tens an eager Keras call costs."""
    probes = _probes.setdefault(model, {})
    if name not in probes:
        sub_model = keras.Model(model.inputs[0], outputs)
        signature = tf.TensorSpec((None,) + tuple(model.input_shape[1:]), tf.float32)
        probes[name] = gated(tf.function(lambda x: sub_model(x, training=False),
                                         input_signature=[signature], reduce_retracing=True))
    return probes[name]


def _chunk(model) -> int:
    """predict.chunk_for(model), worked out once per model."""
    probes = _probes.setdefault(model, {})
    if "chunk" not in probes:
        probes["chunk"] = chunk_for(model)
    return probes["chunk"]


def _forward(model, batch):
    return _probe(model, "output", model.layers[-1].output)(batch)


def _gradient_path(model):
    """Compiled: the gradients of p(target) along a batch of images (for integrated gradients)."""
    probes = _probes.setdefault(model, {})
    if "gradients" not in probes:
        signature = [tf.TensorSpec((None,) + tuple(model.input_shape[1:]), tf.float32),
                     tf.TensorSpec((), tf.int32)]
        # A sub-model of the same layers, never `model` itself: a probe that refers to its key
        # keeps the key alive, and the WeakKeyDictionary would hold every model ever looked at.
        forward = keras.Model(model.inputs[0], model.layers[-1].output)

        @tf.function(input_signature=signature, reduce_retracing=True)
        def gradients(path, target):
            with tf.GradientTape() as tape:
                tape.watch(path)
                probability = tf.gather(forward(path, training=False), target, axis=1)
            return tape.gradient(probability, path)
        probes["gradients"] = gated(gradients)
    return probes["gradients"]


# --- What each layer makes of it ------------------------------------------------------------------

def activations(model, image) -> list[tuple[str, np.ndarray]]:
    """Every layer's output for one image, in order: (layer name, array without the batch axis)."""
    probe = _probe(model, "layers", [layer.output for layer in model.layers])
    outputs = probe(_batch(model, image))
    return [(layer.name, np.asarray(output)[0]) for layer, output in zip(model.layers, outputs)]


FILTERS_SHOWN = 32   # a dense first layer has 512 units of 784 weights: the first 32 are shown


def first_layer_filters(model) -> np.ndarray | None:
    """What the first layer looks for, as (n, height, width) images: the first convolution's
    kernels, or for a dense network the 28x28 input weights of its first FILTERS_SHOWN units.
    None when the first layer is neither."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel = np.asarray(layer.kernel)            # (height, width, channels, filters)
            return np.moveaxis(kernel[:, :, 0, :], -1, 0)
        if isinstance(layer, keras.layers.Dense):
            kernel = np.asarray(layer.kernel)            # (784, units)
            if kernel.shape[0] != 28 * 28:
                return None
            return kernel[:, :FILTERS_SHOWN].T.reshape(-1, 28, 28)
    return None


def growth(model, images, previous: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray]:
    """(first-layer filters, (n, 2) map points) of a model in training, for watching them form
    epoch by epoch. Each map axis is turned to agree with `previous` (the last epoch's points), so
    the map moves instead of flipping about."""
    points = embedding_2d(model, images)
    if previous is not None and previous.shape == points.shape:
        signs = np.sign(np.sum(points * previous, axis=0))
        points = points * np.where(signs == 0, 1, signs)
    return first_layer_filters(model), points


# --- What drove the answer -------------------------------------------------------------------------

COMPLETENESS = 0.05   # integrated gradients must add up to p(x) - p(baseline) within this share
MAX_STEPS = 512


def integrated_gradients(model, image, target: int | None = None, steps: int = 64,
                         baseline=None) -> np.ndarray:
    """Integrated gradients (Sundararajan et al., 2017) of p(target) from a black baseline:
    (x - baseline) times the gradient averaged along the straight path (trapezoid rule). The
    attributions add up to p(x) - p(baseline): when `steps` leave them more than COMPLETENESS
    off (a network with sharp bends along the path), the steps are doubled, up to MAX_STEPS,
    as the paper advises."""
    x = _batch(model, image)
    base = np.zeros_like(x) if baseline is None else _batch(model, baseline)
    ends = np.asarray(_forward(model, np.concatenate([x, base])))
    if target is None:
        target = int(ends[0].argmax())
    change = float(ends[0, target] - ends[1, target])
    while True:
        alphas = tf.reshape(tf.linspace(0.0, 1.0, steps + 1), (-1,) + (1,) * (x.ndim - 1))
        path = tf.constant(base) + alphas * tf.constant(x - base)
        gradients = _gradient_path(model)(path, tf.constant(target, tf.int32)).numpy()
        average = ((gradients[:-1] + gradients[1:]) / 2).mean(axis=0)
        attributions = ((x - base)[0] * average).reshape(28, 28)
        if abs(attributions.sum() - change) <= COMPLETENESS * abs(change) or steps >= MAX_STEPS:
            return attributions
        steps *= 2


def grad_cam(model, image, target: int | None = None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) on the last convolution block, upsampled to 28x28, in [0, 1].
    (For a Sequential model: the layers after the convolution are applied in order.)"""
    if not any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers):
        raise ValueError("Grad-CAM needs a convolutional layer; this model has none")
    # The last layer that still has a spatial map: the last convolution block's activation.
    conv = next(layer for layer in reversed(model.layers) if len(layer.output.shape) == 4)
    # Up to the convolution with a sub-model, then the remaining layers by hand, so that the tape
    # sees the very tensor the classifier reads (a functional model's outputs are copies).
    probe = _probe(model, "grad_cam", conv.output)
    after = model.layers[model.layers.index(conv) + 1:]
    maps = probe(_batch(model, image))
    with tf.GradientTape() as tape:
        tape.watch(maps)
        probabilities = maps
        for layer in after:
            probabilities = layer(probabilities, training=False)
        if target is None:
            target = int(tf.argmax(probabilities[0]))
        score = probabilities[:, target]
    gradients = tape.gradient(score, maps)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, (28, 28), method="bilinear")[0, :, :, 0].numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def attribution(model, image, method: str = "integrated_gradients", target: int | None = None,
                **options) -> np.ndarray:
    """(28, 28) evidence for `target` (default: the predicted digit), by `method`:
    "integrated_gradients" (signed: positive for, negative against) or "grad_cam" (>= 0)."""
    methods = {"integrated_gradients": integrated_gradients, "grad_cam": grad_cam}
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(methods)}")
    return methods[method](model, image, target=target, **options)


def occlusion(model, image, patch: int = 4, target: int | None = None) -> np.ndarray:
    """How much p(target) drops when each patch x patch square is blanked: (28, 28), each pixel
    holding its square's drop. All squares go through the model in one batch."""
    if 28 % patch:
        raise ValueError("patch must divide 28 (1, 2, 4, 7, 14 or 28)")
    image = np.asarray(image, dtype=np.float32).reshape(28, 28)
    probabilities = np.asarray(_forward(model, _batch(model, image)))[0]
    target = int(probabilities.argmax()) if target is None else target
    cells = 28 // patch
    occluded = np.repeat(image[None], cells * cells, axis=0)
    for index in range(cells * cells):
        row, column = divmod(index, cells)
        occluded[index, row * patch:(row + 1) * patch, column * patch:(column + 1) * patch] = 0
    hidden = np.asarray(_forward(model, _batch(model, occluded)))[:, target]
    drops = (probabilities[target] - hidden).reshape(cells, cells)
    return np.kron(drops, np.ones((patch, patch), np.float32))


# --- What it resembles -----------------------------------------------------------------------------

def _as_unit(images) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1]; float images as they are."""
    images = np.asarray(images)
    return images.astype(np.float32) / 255 if images.dtype == np.uint8 else images


def penultimate(model, images, batch: int | None = None) -> np.ndarray:
    """The features the classifier's last layer reads (the input of the final Dense), flattened;
    many images go through `batch` at a time (default: as many as the model's cost allows)."""
    probe = _probe(model, "penultimate", model.layers[-1].input)
    batched = _batch(model, images)
    batch = batch or (_chunk(model) if len(batched) > 1 else 1)
    return np.concatenate([np.asarray(probe(batched[i:i + batch])).reshape(
        len(batched[i:i + batch]), -1) for i in range(0, len(batched), batch)])


class NeighbourIndex:
    """The nearest images in the model's penultimate feature space (Euclidean, exact search).

    Features wider than `max_dims` are first projected onto their top `max_dims` principal
    components, fitted on a sample of 2,000 of the indexed images; the rest are then read and
    projected a chunk at a time, so the full-width features (60,000 x 3,920 floats for the default
    CNN, ~1 GB) never exist at once: the index is ~30 MB. `images` may be float in [0, 1] or uint8
    (then converted a chunk at a time). `features()` gives the space the search runs in.
    """

    CHUNK = 2048

    def __init__(self, model, images, labels, max_dims: int = 128):
        self.model, self.labels = model, np.asarray(labels)
        sample = penultimate(model, _as_unit(images[:: max(1, len(images) // 2000)]))
        self.mean, self.components = None, None
        if sample.shape[1] > max_dims:
            self.mean = sample.mean(axis=0)
            self.components = np.linalg.svd(sample - self.mean, full_matrices=False)[2][:max_dims]
        self.points = np.concatenate([self.features(_as_unit(images[i:i + self.CHUNK]))
                                      for i in range(0, len(images), self.CHUNK)])
        self.squared = (self.points.astype(np.float64) ** 2).sum(axis=1)

    def _project(self, features: np.ndarray) -> np.ndarray:
        if self.components is None:
            return features.astype(np.float32)
        return ((features - self.mean) @ self.components.T).astype(np.float32)

    def features(self, images) -> np.ndarray:
        return self._project(penultimate(self.model, images))

    def nearest(self, image, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(indices, distances) of the k nearest indexed images, nearest first."""
        query = self.features(image)[0].astype(np.float64)
        squared = np.maximum(self.squared - 2 * (self.points @ query) + query @ query, 0)
        nearest = np.argpartition(squared, k)[:k]
        nearest = nearest[np.argsort(squared[nearest], kind="stable")]
        return nearest, np.sqrt(squared[nearest])


class FeatureMap:
    """A 2-D map of images: the first two principal components of their penultimate features.
    `points` places the indexed images; `place(image)` puts a new one on the same map."""

    def __init__(self, model, images):
        self.model = model
        features = penultimate(model, images).astype(np.float64)
        self.mean = features.mean(axis=0)
        self.axes = np.linalg.svd(features - self.mean, full_matrices=False)[2][:2]
        self.points = ((features - self.mean) @ self.axes.T).astype(np.float32)

    def place(self, image) -> np.ndarray:
        return ((penultimate(self.model, image).astype(np.float64) - self.mean) @ self.axes.T)[0]


def embedding_2d(model, images) -> np.ndarray:
    """(n, 2): the images on the model's 2-D feature map (PCA of penultimate features)."""
    return FeatureMap(model, images).points


# --- Break it ---------------------------------------------------------------------------------------

def breakable_layers(model) -> list[tuple[str, int]]:
    """(name, units) of the layers whose units can be switched off: every Dense and Conv2D but the
    output layer. Empty for models that are not one chain of layers."""
    if not _is_chain(model):
        return []
    hidden = model.layers[:-1]
    return [(layer.name, int(layer.output.shape[-1])) for layer in hidden
            if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]


def _is_chain(model) -> bool:
    return isinstance(model, keras.Sequential) or all(
        len(getattr(layer, "_inbound_nodes", [])) <= 1 for layer in model.layers)


def broken(model, off: dict[str, list[int]] | None = None, noise: float = 0.0, seed: int = 0):
    """A copy of `model` with units switched off and noise in its weights; `model` is unchanged.

    `off` maps a layer name to the units (Dense) or feature maps (Conv2D) whose output becomes
    zero, as if those neurons had died: their weights and bias are zeroed, and so is the scale and
    shift of a batch normalisation that follows (else it would turn the zeros into a constant).
    `noise` adds Gaussian noise to every trained weight tensor, `noise` times the tensor's own
    standard deviation (0.5 is a lot). The copy has the same layers, so every probe here works on it.
    """
    off = off or {}
    names = [name for name, _ in breakable_layers(model)]
    if set(off) - set(names):
        raise ValueError(f"can't switch off units in {sorted(set(off) - set(names))}; "
                         f"breakable layers: {names}")
    copy = keras.models.clone_model(model)
    weights = model.get_weights()
    if noise:   # in what the network learnt; batch statistics (a variance must stay positive) stay
        rng = np.random.default_rng(seed)
        weights = [w + rng.normal(0, noise * (float(w.std()) or 1.0), w.shape).astype(w.dtype)
                   if variable.trainable else w for w, variable in zip(weights, model.weights)]
    copy.set_weights(weights)
    for position, layer in enumerate(copy.layers):
        units = list(off.get(layer.name, []))
        if not units:
            continue
        if float(np.max(np.abs(keras.ops.convert_to_numpy(layer.activation(np.zeros(1, np.float32)))))):
            raise ValueError(f"{layer.name}'s activation is not zero at zero: its units can't be switched off")
        _zero(layer.kernel, units)
        if layer.use_bias:
            _zero(layer.bias, units)
        for follower in copy.layers[position + 1:]:
            if isinstance(follower, (keras.layers.Dense, keras.layers.Conv2D)):
                break
            if isinstance(follower, keras.layers.BatchNormalization):
                for variable in (follower.gamma, follower.beta):
                    if variable is not None:
                        _zero(variable, units)
    return copy


def _zero(variable, units: list[int]) -> None:
    values = keras.ops.convert_to_numpy(variable).copy()
    values[..., units] = 0
    variable.assign(values)
