"""What a model file may name, and what each layer's config may say: allow-lists, checked before
Keras deserializes anything.

Keras resolves a config's (module, class_name) by importing the module, so anything not listed in
ALLOWED_CLASSES is refused: safe mode alone lets a file call any public Keras function,
`keras.config.set_floatx` included, and such a call changes the process for every visitor. Keras
also honours keys the cost walk never reads (`lora_rank` adds weights; a quantizing dtype policy
makes new ones), and later releases add more: so each allowed layer lists the keys of its config
(LAYER_KEYS) with the values each may take, and anything else is refused by name.
"""

from __future__ import annotations

import math
import re

from .cost import CostError

ALLOWED_CLASSES = {
    "keras": {"Sequential", "DTypePolicy", "FloatDTypePolicy"},
    "keras.src.models.functional": {"Functional"},
    "keras.layers": {
        "InputLayer", "Dense", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D",
        "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "Reshape",
        "Dropout", "SpatialDropout2D", "GaussianNoise", "BatchNormalization", "LayerNormalization",
        "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "Rescaling", "ZeroPadding2D",
        "Add", "Concatenate", "Average", "Maximum", "Multiply",
        "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast"},
    "keras.initializers": {
        "Zeros", "Ones", "Constant", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
        "LecunUniform", "LecunNormal", "RandomUniform", "RandomNormal", "TruncatedNormal",
        "VarianceScaling", "Orthogonal", "Identity"},
    "keras.regularizers": {"L1", "L2", "L1L2"},
    "keras.constraints": {"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"},
    "keras.optimizers": {"Adam", "AdamW", "RMSprop", "SGD", "Adamax", "Nadam", "Adagrad",
                         "Adadelta", "Lion"},
    "keras.losses": {"CategoricalCrossentropy"},      # the presets' label smoothing: numbers only
    "keras.optimizers.schedules": {"CosineDecay", "ExponentialDecay", "PiecewiseConstantDecay",
                                   "InverseTimeDecay", "PolynomialDecay"},
    None: {"__keras_tensor__"},    # the functional graph's edges: data, not code
}
# Functions may appear only as activations, by name.
ALLOWED_ACTIVATIONS = {
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish",
    "sigmoid", "hard_sigmoid", "tanh", "softplus", "softsign", "softmax", "log_softmax", "exponential"}
MODELS = {"Sequential", "Functional"}
CODE_LAYERS = {"Lambda", "TFSMLayer"}   # named in the message: the commonest way to hide code
# Float policies only: a quantizing one ("int8_from_float32") makes weights the walk never counted.
FLOAT_DTYPES = {"float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16"}


class SettingError(CostError):
    """A layer's config says what the allow-list does not admit (storage.ModelFileError carries it)."""


# --- The values a key may take --------------------------------------------------------------------

def _none(value) -> bool:
    return value is None


def _bool(value) -> bool:
    return isinstance(value, bool)


def _number(low=-math.inf, high=math.inf):
    def check(value) -> bool:
        return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                and low <= value <= high)
    return check


def _either(*checks):
    return lambda value: any(check(value) for check in checks)


def _one_of(*allowed):
    return lambda value: isinstance(value, (str, bool, type(None))) and value in allowed


def _ints(low: int, high: int, most: int = 4):
    """An int, or a list of up to `most` of them (nested one level: ZeroPadding2D's pairs)."""
    single = _number(low, high)

    def check(value) -> bool:
        if isinstance(value, (list, tuple)):
            return 0 < len(value) <= most and all(
                (single(v) and isinstance(v, int)) or (isinstance(v, (list, tuple)) and check(v)) for v in value)
        return isinstance(value, int) and single(value)
    return check


def _numbers(low: float, high: float, most: int = 2):
    single = _number(low, high)
    return lambda value: single(value) or (isinstance(value, (list, tuple)) and 0 < len(value) <= most
                                           and all(single(v) for v in value))


_NAME = re.compile(r"[\w.:/-]{1,120}")


def _name(value) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


# The keys of a serialized object (Keras adds shared_object_id to an object used twice).
OBJECT_KEYS = {"module", "class_name", "config", "registered_name", "shared_object_id"}


def _dtype(value) -> bool:
    if value is None or isinstance(value, str):
        return value is None or value in FLOAT_DTYPES
    return (isinstance(value, dict) and set(value) <= OBJECT_KEYS
            and value.get("class_name") in {"DTypePolicy", "FloatDTypePolicy"}
            and isinstance(value.get("config"), dict) and set(value["config"]) == {"name"}
            and value["config"]["name"] in FLOAT_DTYPES)


def _activation(value) -> bool:
    if isinstance(value, str):
        return value in ALLOWED_ACTIVATIONS
    return isinstance(value, dict) and value.get("class_name") == "function" and value.get("config") in ALLOWED_ACTIVATIONS


_SCALAR = _either(_none, _bool, _number(), lambda v: isinstance(v, str) and len(v) <= 40)


def _object(value) -> bool:
    """An initializer, regularizer or constraint (its class is checked by check_config): numbers,
    short names and a few axes, never a tensor's worth of values."""
    if value is None:
        return True
    if not (isinstance(value, dict) and set(value) <= OBJECT_KEYS
            and isinstance(value.get("config"), dict)):
        return False
    return all(_SCALAR(v) or (isinstance(v, (list, tuple)) and len(v) <= 4 and all(_SCALAR(x) for x in v))
               for v in value["config"].values())


def _walked(value) -> bool:
    """A size the cost walk bounds itself, naming its range when it refuses (cost.py)."""
    return True


_FORMAT = _one_of(None, "channels_last", "channels_first")
_SEED = _either(_none, _number(0, 2**32))
_AXIS = _PADDING = _WINDOW = _walked
_RATE = _number(0, 1)
_FILL = {"fill_mode": _one_of("reflect", "wrap", "constant", "nearest"),
         "interpolation": _one_of("bilinear", "nearest"), "fill_value": _number(), "seed": _SEED,
         "data_format": _FORMAT}

COMMON = {"name": _name, "trainable": _bool, "dtype": _dtype}
_WEIGHTED = {"activation": _activation, "use_bias": _bool, "bias_initializer": _object,
             "bias_regularizer": _object, "bias_constraint": _object, "activity_regularizer": _object}
_WINDOWED = {"kernel_size": _WINDOW, "strides": _WINDOW, "padding": _PADDING, "data_format": _FORMAT,
             "dilation_rate": _WINDOW}
_POOL = {"pool_size": _WINDOW, "strides": _walked, "padding": _PADDING, "data_format": _FORMAT}
_GLOBAL = {"data_format": _FORMAT, "keepdims": _bool}
_NORMALIZED = {"axis": _AXIS, "epsilon": _number(0, 1), "center": _bool, "scale": _bool,
               **{f"{w}_{kind}": _object for w in ("beta", "gamma")
                  for kind in ("initializer", "regularizer", "constraint")}}

# Each layer's config keys and the values each may take: a key not listed is refused, by name.
# `lora_rank`/`lora_alpha`/`quantization_config` are listed as "absent or None": a file may not
# add weights the cost walk never counted.
LAYER_KEYS = {
    "InputLayer": {"batch_shape": _walked,
                   "batch_input_shape": _walked,
                   "shape": _walked, "batch_size": _none, "dtype": _dtype,
                   "sparse": _one_of(False), "ragged": _one_of(False), "name": _name,
                   "optional": _one_of(False)},
    "Dense": {**COMMON, **_WEIGHTED, "units": _walked, "kernel_initializer": _object,
              "kernel_regularizer": _object, "kernel_constraint": _object, "lora_rank": _none,
              "lora_alpha": _none, "quantization_config": _none},
    "Conv2D": {**COMMON, **_WEIGHTED, **_WINDOWED, "filters": _walked,
               "groups": _walked, "kernel_initializer": _object,
               "kernel_regularizer": _object, "kernel_constraint": _object, "lora_rank": _none,
               "lora_alpha": _none, "quantization_config": _none},
    "DepthwiseConv2D": {**COMMON, **_WEIGHTED, **_WINDOWED, "depth_multiplier": _walked,
                        **{f"depthwise_{kind}": _object for kind in ("initializer", "regularizer", "constraint")}},
    "SeparableConv2D": {**COMMON, **_WEIGHTED, **_WINDOWED, "depth_multiplier": _walked,
                        "filters": _walked,
                        **{f"{part}_{kind}": _object for part in ("depthwise", "pointwise")
                           for kind in ("initializer", "regularizer", "constraint")}},
    "MaxPooling2D": {**COMMON, **_POOL},
    "AveragePooling2D": {**COMMON, **_POOL},
    "GlobalAveragePooling2D": {**COMMON, **_GLOBAL},
    "GlobalMaxPooling2D": {**COMMON, **_GLOBAL},
    "Flatten": {**COMMON, "data_format": _FORMAT},
    "Reshape": {**COMMON, "target_shape": _walked},
    "Dropout": {**COMMON, "rate": _RATE, "seed": _SEED, "noise_shape": _none},
    "SpatialDropout2D": {**COMMON, "rate": _RATE, "seed": _SEED, "data_format": _FORMAT},
    "GaussianNoise": {**COMMON, "stddev": _number(0, 1e3), "seed": _SEED},
    "BatchNormalization": {**COMMON, **_NORMALIZED, "momentum": _number(0, 1),
                           "moving_mean_initializer": _object, "moving_variance_initializer": _object,
                           "synchronized": _one_of(False), "renorm": _one_of(False),
                           "renorm_clipping": _none, "renorm_momentum": _number(0, 1)},
    "LayerNormalization": {**COMMON, **_NORMALIZED, "rms_scaling": _bool},
    "Activation": {**COMMON, "activation": _activation},
    "ReLU": {**COMMON, "max_value": _either(_none, _number()), "negative_slope": _number(),
             "threshold": _number()},
    "LeakyReLU": {**COMMON, "negative_slope": _number()},
    "ELU": {**COMMON, "alpha": _number()},
    "PReLU": {**COMMON, "alpha_initializer": _object, "alpha_regularizer": _object,
              "alpha_constraint": _object, "shared_axes": _either(_none, _ints(1, 3, 3))},
    "Softmax": {**COMMON, "axis": _AXIS},
    "Rescaling": {**COMMON, "scale": _number(), "offset": _number()},
    "ZeroPadding2D": {**COMMON, "padding": _walked, "data_format": _FORMAT},
    "Add": COMMON, "Average": COMMON, "Maximum": COMMON, "Multiply": COMMON,
    "Concatenate": {**COMMON, "axis": _AXIS},
    "RandomRotation": {**COMMON, **_FILL, "factor": _numbers(-1, 1)},
    "RandomZoom": {**COMMON, **_FILL, "height_factor": _numbers(-1, 1),
                   "width_factor": _either(_none, _numbers(-1, 1))},
    "RandomTranslation": {**COMMON, **_FILL, "height_factor": _numbers(-1, 1), "width_factor": _numbers(-1, 1)},
    "RandomContrast": {**COMMON, "factor": _numbers(0, 1), "value_range": _numbers(-1e4, 1e4),
                       "seed": _SEED, "data_format": _FORMAT},
    "Sequential": {**COMMON, "layers": lambda v: isinstance(v, list), "build_input_shape": lambda v: True},
    "Functional": {**COMMON, "layers": lambda v: isinstance(v, list), "input_layers": lambda v: True,
                   "output_layers": lambda v: True},
}
# The keys around a layer's config in a saved file (the walk reads build_config and the edges).
NODE_KEYS = OBJECT_KEYS | {"build_config", "name", "inbound_nodes"}


def check_config(node, *, top: bool = True) -> None:
    """Refuse (SettingError) a model config that names anything outside ALLOWED_CLASSES."""
    if isinstance(node, dict):
        if "class_name" in node:
            _check_object(node, top)
        for key, value in node.items():
            if key == "activation" and isinstance(value, str) and value not in ALLOWED_ACTIVATIONS:
                raise SettingError("foreign_function", name=value[:80])
            check_config(value, top=False)
    elif isinstance(node, list):
        for value in node:
            check_config(value, top=False)


def _check_object(node: dict, top: bool) -> None:
    class_name, module = node.get("class_name"), node.get("module")
    if not isinstance(class_name, str) or not (module is None or isinstance(module, str)):
        raise SettingError("foreign_object", name=str(class_name)[:80], module=str(module)[:80])
    if class_name in CODE_LAYERS:
        raise SettingError("code_layer", name=class_name)
    if class_name == "function":
        name = node.get("config")
        if module != "keras.activations" or not isinstance(name, str) or name not in ALLOWED_ACTIVATIONS:
            raise SettingError("foreign_function", name=str(node.get("config"))[:80])
    elif class_name not in ALLOWED_CLASSES.get(module, ()):
        raise SettingError("foreign_object", name=class_name[:80], module=str(module)[:80])
    registered = node.get("registered_name")
    if registered is not None and registered != class_name and registered != node.get("config"):
        raise SettingError("foreign_object", name=str(registered)[:80], module=str(module)[:80])
    # Keras compiles any object whose config carries a compile_config; only the model may.
    if not top and node.get("compile_config") is not None:
        raise SettingError("foreign_object", name=f"{class_name}.compile_config", module=str(module)[:80])


def check_layers(model: dict, *, top: bool = True) -> None:
    """Refuse (SettingError) a layer whose config holds a key, or a value, LAYER_KEYS does not admit."""
    allowed_nodes = NODE_KEYS | ({"compile_config"} if top else set())
    _check_settings(model, model.get("class_name"), allowed_nodes)
    layers = model["config"].get("layers")
    if not isinstance(layers, list):
        raise SettingError("bad_architecture", detail="layers")
    for layer in layers:
        if not isinstance(layer, dict):
            raise SettingError("bad_architecture", detail="layers")
        if layer.get("class_name") in MODELS:
            check_layers(layer, top=False)
        else:
            _check_settings(layer, layer.get("class_name"), NODE_KEYS)


def _check_settings(node: dict, kind, node_keys: set) -> None:
    config = node.get("config")
    name = str((config or {}).get("name") if isinstance(config, dict) else kind)[:80]
    allowed = LAYER_KEYS.get(kind)
    if allowed is None or not isinstance(config, dict):
        raise SettingError("foreign_object", name=str(kind)[:80], module=str(node.get("module"))[:80])
    for key in node:
        if key not in node_keys:
            raise SettingError("unknown_setting", layer=name, setting=str(key)[:80])
    for key, value in config.items():
        check = allowed.get(key)
        if check is None:
            raise SettingError("unknown_setting", layer=name, setting=str(key)[:80])
        if not check(value):
            raise SettingError("bad_setting", layer=name, setting=key, value=str(value)[:60])
