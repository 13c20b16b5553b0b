"""Where training runs: the GPUs TensorFlow sees, else the CPU cores."""

from __future__ import annotations

import os


def device_description() -> tuple[str, int | str]:
    """("gpu", "its names") or ("cpu", number of cores): where training runs."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "gpu", ", ".join(gpu.name for gpu in gpus)
    return "cpu", os.cpu_count() or 1
