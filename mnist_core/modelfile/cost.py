"""What a model will cost, read from its config before Keras builds anything.

An uploaded model file is small on disk but may describe a network that is huge in memory or slow
to run: a Dense layer of 64,000 units, a padding of 300 pixels, a stack of a hundred convolutions.
`estimate` walks the config the way Keras would build it, layer by layer, computing each output
shape, the weights and the multiply-adds per image, with every argument that sets a size checked
against a bound; `refusal` says which budget a model exceeds. Nothing here imports TensorFlow.

The budget, written down once. The app's own networks need 35-410 k parameters, 0.5-22 k values in
their largest activation and 0.4-4.5 M multiply-adds per image; the budget leaves room for a
learner's own (the classic Keras CNN: 1.2 M parameters, 37 k values, 12 M multiply-adds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_PARAMETERS = 2_000_000          # weights (and batch statistics); the classic Keras CNN has 1.2 M
MAX_ACTIVATION = 131_072            # values in one layer's output for one image (28 x 28 x 128 = 100 k)
MAX_MULTIPLY_ADDS = 20_000_000      # per image: 10,000 test images then take seconds, not minutes
MAX_LAYERS = 128
EVALUATION_SECONDS = 90             # an upload's test-set evaluation stops here (its owner's time)
# Bounds on the arguments that set a size (each is also held in check by the budget above; these
# stop an absurd number before any arithmetic is done with it).
MAX_WIDTH = 4096                    # units, filters
MAX_WINDOW = 32                     # kernel, pool and stride sides; dilation; padding per side
MAX_DEPTH_MULTIPLIER = 64
VALUE_BYTES = 4                     # float32

# Evaluating an upload goes through the model in chunks of at most this many images, fewer when
# one chunk would hold more than CHUNK_BYTES of activations or CHUNK_MULTIPLY_ADDS of work.
CHUNK_IMAGES = 2048
CHUNK_BYTES = 64 * 2**20
CHUNK_MULTIPLY_ADDS = 2_000_000_000


class CostError(ValueError):
    """The config can't be costed or is over budget: `code` says why, `values` fill the message
    (storage.ModelFileError carries the same code to the page)."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code} {values}")


@dataclass(frozen=True)
class ModelCost:
    parameters: int
    largest_activation: int     # values in the largest layer output, per image
    activations: int            # values in all layer outputs together, per image
    multiply_adds: int          # per image
    layers: int
    input_shape: tuple
    output_shape: tuple

    def chunk(self) -> int:
        """Images per forward pass that keep one pass within CHUNK_BYTES and CHUNK_MULTIPLY_ADDS."""
        by_memory = CHUNK_BYTES // max(1, VALUE_BYTES * self.activations)
        by_work = CHUNK_MULTIPLY_ADDS // max(1, self.multiply_adds)
        return int(max(1, min(CHUNK_IMAGES, by_memory, by_work)))


# The refusal code of each budget: which ModelCost field it bounds, and the bound.
BUDGETS = {"too_many_parameters": ("parameters", MAX_PARAMETERS),
           "too_large_activation": ("largest_activation", MAX_ACTIVATION),
           "too_much_work": ("multiply_adds", MAX_MULTIPLY_ADDS)}


def of_model(model) -> ModelCost:
    """The cost of a Keras model already built (the same walk, over its own config)."""
    import keras
    return estimate(keras.saving.serialize_keras_object(model))


def refusal(cost: ModelCost) -> CostError | None:
    """The first budget `cost` exceeds, as an error to raise; None when it fits."""
    for code, (field, limit) in BUDGETS.items():
        value = getattr(cost, field)
        if value > limit:
            return CostError(code, value=f"{value:,}", limit=f"{limit:,}")
    return None


def estimate(config: dict) -> ModelCost:
    """The cost of the model a `.keras` config.json describes (CostError when it can't be read)."""
    tally = _Tally()
    try:
        if not isinstance(config, dict) or config.get("class_name") not in ("Sequential", "Functional"):
            raise CostError("not_single_io")
        inputs, outputs = _model(config, None, tally)
        if len(inputs) == 1:
            _check_build(config, inputs, "model")
    except CostError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError,
            OverflowError, RecursionError) as exc:   # a config Keras could not build either
        raise CostError("bad_architecture", detail=type(exc).__name__) from exc
    if len(inputs) != 1 or len(outputs) != 1:
        raise CostError("not_single_io")
    return ModelCost(tally.parameters, tally.largest, tally.total, tally.multiply_adds, tally.layers,
                     inputs[0], outputs[0])


class _Tally:
    def __init__(self):
        self.parameters = self.largest = self.total = self.multiply_adds = self.layers = 0

    def add(self, name: str, shape: tuple, parameters: int = 0, multiply_adds: int = 0) -> tuple:
        self.layers += 1
        if self.layers > MAX_LAYERS:
            raise CostError("too_many_layers", limit=MAX_LAYERS)
        values = math.prod(shape)
        if min(shape, default=1) < 1:
            raise CostError("bad_layer", layer=name)
        self.parameters += parameters
        self.largest = max(self.largest, values)
        self.total += values
        self.multiply_adds += multiply_adds
        # Stop as soon as a budget is passed: a later layer's arithmetic never sees absurd sizes.
        over = refusal(ModelCost(self.parameters, self.largest, self.total, self.multiply_adds,
                                 self.layers, (), ()))
        if over is not None:
            raise over
        return shape


# --- Models: a chain of layers, or a graph of them -----------------------------------------------

def _model(node: dict, given: tuple | None, tally: _Tally) -> tuple[list, list]:
    """(input shapes, output shapes) of a Sequential or Functional config, fed `given` (nested)."""
    config = node["config"]
    layers = config["layers"]
    if not isinstance(layers, list):
        raise CostError("bad_architecture", detail="layers")
    if node["class_name"] == "Sequential":
        start = _sequential_input(config, layers) if given is None else given
        if config.get("build_input_shape") is not None and _lists(config["build_input_shape"]) != [None, *start]:
            raise CostError("wrong_build_shape", layer=_name(node), claimed=str(config["build_input_shape"])[:60],
                            shape=str([None, *start]))
        shape = start
        for layer in layers:
            if layer.get("class_name") == "InputLayer":
                if _input_shape(layer["config"]) != shape:
                    raise CostError("bad_layer", layer=_name(layer))
                continue
            shape = _layer(layer, [shape], tally)
        return [start], [shape]
    return _functional(config, layers, given, tally)


def _sequential_input(config: dict, layers: list) -> tuple:
    if layers and layers[0].get("class_name") == "InputLayer":
        return _input_shape(layers[0]["config"])
    build = config.get("build_input_shape")
    if build is None and layers:
        build = layers[0]["config"].get("batch_shape") or layers[0]["config"].get("batch_input_shape")
    if build is None:
        raise CostError("not_single_io")
    return _shape(build[1:], "input")


def _input_shape(config: dict) -> tuple:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None:
        shape = [None] + list(config["shape"])
    return _shape(shape[1:], "input")


def _functional(config: dict, layers: list, given: tuple | None, tally: _Tally) -> tuple[list, list]:
    produced: dict[tuple, tuple] = {}      # (layer name, node index, tensor index) -> shape
    inputs = []
    for layer in layers:
        name = _name(layer)
        if layer.get("class_name") == "InputLayer":
            shape = _input_shape(layer["config"]) if given is None else given
            produced[(name, 0, 0)] = shape
            inputs.append(shape)
            continue
        nodes = layer.get("inbound_nodes") or []
        if not isinstance(nodes, list) or not nodes:
            raise CostError("bad_layer", layer=name)
        for index, inbound in enumerate(nodes):
            sources = [_history(tensor) for tensor in _tensors(inbound.get("args"))]
            if not sources or any(source not in produced for source in sources):
                raise CostError("bad_layer", layer=name)
            produced[(name, index, 0)] = _layer(layer, [produced[s] for s in sources], tally, first=index == 0)
    outputs = [produced.get(_history_of(ref)) for ref in _refs(config["output_layers"])]
    if any(shape is None for shape in outputs):
        raise CostError("not_single_io")
    return inputs, outputs


def _tensors(args) -> list:
    """The `__keras_tensor__` entries of a node's arguments, in order."""
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            return [args]
        return [t for value in args.values() for t in _tensors(value)]
    if isinstance(args, list):
        return [t for value in args for t in _tensors(value)]
    return []


def _history(tensor: dict) -> tuple:
    return _history_of(tensor["config"]["keras_history"])


def _history_of(ref) -> tuple:
    name, node, index = ref
    if not isinstance(name, str) or not isinstance(node, int) or not isinstance(index, int):
        raise CostError("bad_architecture", detail="keras_history")
    return name, node, index


def _refs(value) -> list:
    """output_layers: one [name, node, index] or a list of them."""
    return [value] if value and isinstance(value[0], str) else list(value)


def _name(layer: dict) -> str:
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    return str(layer.get("name") or config.get("name") or layer.get("class_name"))[:80]


# --- Layers -------------------------------------------------------------------------------------

SAME_SHAPE = {"Dropout", "SpatialDropout2D", "GaussianNoise", "Activation", "ReLU", "LeakyReLU", "ELU",
              "Softmax", "Rescaling", "RandomRotation", "RandomZoom", "RandomTranslation",
              "RandomContrast"}
MERGES = {"Add", "Average", "Maximum", "Multiply"}
MODELS = {"Sequential", "Functional"}


def _layer(layer: dict, shapes: list[tuple], tally: _Tally, first: bool = True) -> tuple:
    """Output shape of one layer fed `shapes`; its weights and work go into `tally`."""
    kind, config, name = layer["class_name"], layer["config"], _name(layer)
    if first:
        _check_build(layer, shapes, name)
    if kind in MODELS:
        if len(shapes) != 1:
            raise CostError("bad_layer", layer=name)
        _, outputs = _model(layer, shapes[0], tally)
        if len(outputs) != 1:
            raise CostError("not_single_io")
        return outputs[0]
    if kind in MERGES or kind == "Concatenate":
        return tally.add(name, *_merge(kind, config, shapes, name))
    if len(shapes) != 1:
        raise CostError("bad_layer", layer=name)
    shape = shapes[0]
    size = math.prod(shape)
    if kind in SAME_SHAPE:
        return tally.add(name, shape, 0, size)
    if kind == "Dense":
        units = _int(config, "units", 1, MAX_WIDTH, name)
        fan_in = shape[-1]
        parameters = fan_in * units + units * bool(config.get("use_bias", True))
        return tally.add(name, shape[:-1] + (units,), parameters, size * units)
    if kind == "Flatten":
        return tally.add(name, (size,))
    if kind == "Reshape":
        return tally.add(name, _reshape(config, size, name))
    if kind in ("BatchNormalization", "LayerNormalization"):
        axes = config.get("axis", -1)
        axes = [axes] if isinstance(axes, int) else axes
        features = math.prod(shape[_axis(a, len(shape), name)] for a in axes)
        per_feature = 4 if kind == "BatchNormalization" else 2   # gamma, beta (+ mean, variance)
        return tally.add(name, shape, per_feature * features, 2 * size)
    if kind == "PReLU":
        shared = config.get("shared_axes") or []
        kept = [d for i, d in enumerate(shape, start=1) if i not in shared]
        return tally.add(name, shape, math.prod(kept), size)
    return _spatial(kind, config, shape, name, tally)


def _check_build(node: dict, shapes: list[tuple], name: str) -> None:
    """Keras builds a layer from its `build_config` before any shape check: a Dense(8) claiming
    5,000,000 inputs is allocated first and refused after. So it must say what the walk found."""
    build = node.get("build_config")
    if build is None or build == {"input_shape": None}:      # nothing to build from
        return
    expected = [None, *shapes[0]] if len(shapes) == 1 else [[None, *shape] for shape in shapes]
    if not isinstance(build, dict) or set(build) != {"input_shape"} or _lists(build["input_shape"]) != expected:
        raise CostError("wrong_build_shape", layer=name, claimed=str(build)[:60], shape=str(expected))


def _lists(value):
    """A shape as JSON gives it back (tuples as lists), for comparing."""
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _merge(kind: str, config: dict, shapes: list[tuple], name: str) -> tuple:
    if len(shapes) < 2 or len({len(s) for s in shapes}) != 1:
        raise CostError("bad_layer", layer=name)
    if kind == "Concatenate":
        axis = _axis(config.get("axis", -1), len(shapes[0]), name)
        rest = {s[:axis] + s[axis + 1:] for s in shapes}
        if len(rest) != 1:
            raise CostError("bad_layer", layer=name)
        shape = shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1:]
        return shape, 0, math.prod(shape)
    shape = tuple(max(dims) for dims in zip(*shapes))
    if any(d not in (1, m) for s in shapes for d, m in zip(s, shape)):
        raise CostError("bad_layer", layer=name)
    return shape, 0, len(shapes) * math.prod(shape)


def _spatial(kind: str, config: dict, shape: tuple, name: str, tally: _Tally) -> tuple:
    """The layers that slide a window over (height, width, channels) or pad it."""
    if kind not in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D",
                    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D"):
        raise CostError("foreign_object", name=kind[:80], module="keras.layers")
    if len(shape) != 3:
        raise CostError("bad_layer", layer=name)
    first = config.get("data_format") == "channels_first"
    (height, width, channels) = (shape[1], shape[2], shape[0]) if first else shape

    def out(h, w, c) -> tuple:
        return (c, h, w) if first else (h, w, c)

    if kind.startswith("Global"):
        keep = (1, 1) if config.get("keepdims") else ()
        result = out(1, 1, channels) if keep else (channels,)
        return tally.add(name, result, 0, height * width * channels)
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = _padding(config.get("padding", 1), name)
        return tally.add(name, out(height + top + bottom, width + left + right, channels))

    bias = bool(config.get("use_bias", True))
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        window = _pair(config, "pool_size", 1, MAX_WINDOW, name)
        strides = _pair(config, "strides", 1, MAX_WINDOW, name) if config.get("strides") else window
        dilation = (1, 1)
    else:
        window = _pair(config, "kernel_size", 1, MAX_WINDOW, name)
        strides = _pair(config, "strides", 1, MAX_WINDOW, name, default=1)
        dilation = _pair(config, "dilation_rate", 1, MAX_WINDOW, name, default=1)
    padding = config.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise CostError("bad_argument", layer=name, argument="padding", value=str(padding)[:40],
                        low="valid", high="same")
    sides = []
    for size, k, s, d in zip((height, width), window, strides, dilation):
        reach = (k - 1) * d + 1
        sides.append(-(-size // s) if padding == "same" else (size - reach) // s + 1)
    if min(sides) < 1:
        raise CostError("bad_layer", layer=name)
    h, w = sides
    area = window[0] * window[1]
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return tally.add(name, out(h, w, channels), 0, h * w * channels * area)
    if kind == "Conv2D":
        filters = _int(config, "filters", 1, MAX_WIDTH, name)
        groups = _int(config, "groups", 1, MAX_WIDTH, name, default=1)
        if channels % groups or filters % groups:
            raise CostError("bad_layer", layer=name)
        weights = area * (channels // groups) * filters
        return tally.add(name, out(h, w, filters), weights + filters * bias, h * w * weights)
    multiplier = _int(config, "depth_multiplier", 1, MAX_DEPTH_MULTIPLIER, name, default=1)
    depthwise = area * channels * multiplier
    if kind == "DepthwiseConv2D":
        return tally.add(name, out(h, w, channels * multiplier), depthwise + channels * multiplier * bias,
                         h * w * depthwise)
    filters = _int(config, "filters", 1, MAX_WIDTH, name)      # SeparableConv2D: depthwise, then 1x1
    tally.add(name + " (depthwise)", out(h, w, channels * multiplier), depthwise, h * w * depthwise)
    pointwise = channels * multiplier * filters
    return tally.add(name, out(h, w, filters), pointwise + filters * bias, h * w * pointwise)


# --- Arguments, each checked before it is used ---------------------------------------------------

def _int(config: dict, key: str, low: int, high: int, layer: str, default=None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CostError("bad_argument", layer=layer, argument=key, value=str(value)[:40], low=low, high=high)
    return value


def _pair(config: dict, key: str, low: int, high: int, layer: str, default=None) -> tuple[int, int]:
    value = config.get(key, default)
    pair = [value, value] if isinstance(value, int) else value
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise CostError("bad_argument", layer=layer, argument=key, value=str(value)[:40], low=low, high=high)
    return tuple(_int({key: v}, key, low, high, layer) for v in pair)


def _padding(value, layer: str) -> tuple:
    """ZeroPadding2D's padding: n, (rows, columns) or ((top, bottom), (left, right))."""
    if isinstance(value, int):
        value = [value, value]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise CostError("bad_argument", layer=layer, argument="padding", value=str(value)[:40],
                        low=0, high=MAX_WINDOW)
    return tuple(_pair({"padding": side}, "padding", 0, MAX_WINDOW, layer) for side in value)


def _axis(axis, rank: int, layer: str) -> int:
    """A layer's axis (counting the batch axis as 0, or negative) as an index into the shape."""
    if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis <= rank or axis == 0:
        raise CostError("bad_argument", layer=layer, argument="axis", value=str(axis)[:40], low=-rank, high=rank)
    return axis - 1 if axis > 0 else rank + axis


def _reshape(config: dict, size: int, layer: str) -> tuple:
    target = config.get("target_shape")
    if not isinstance(target, (list, tuple)) or not target or len(target) > 4:
        raise CostError("bad_argument", layer=layer, argument="target_shape", value=str(target)[:40],
                        low=1, high=MAX_ACTIVATION)
    known = [_int({"d": d}, "d", 1, MAX_ACTIVATION, layer) for d in target if d != -1]
    if len(known) < len(target) - 1 or size % max(1, math.prod(known)):
        raise CostError("bad_layer", layer=layer)
    shape = tuple(d if d != -1 else size // math.prod(known) for d in target)
    if math.prod(shape) != size:
        raise CostError("bad_layer", layer=layer)
    return shape


def _shape(dims, layer: str) -> tuple:
    """An input's shape: 1 to 3 known sizes (an MNIST model's input is one of ACCEPTED_INPUTS)."""
    if not isinstance(dims, (list, tuple)) or not 1 <= len(dims) <= 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_ACTIVATION for d in dims):
        raise CostError("wrong_input", shape=str(dims)[:80])
    return tuple(dims)
