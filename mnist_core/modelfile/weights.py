"""The weights file's declared shapes, checked against the cost walk before any weight is read.

An HDF5 dataset declares its shape in a header of a few bytes; Keras allocates that much when it
reads the dataset, and a compressed dataset of gigabytes of zeros takes almost nothing on disk. So
every dataset is measured by what it declares (h5py reads headers only): the model's own weights
may hold at most the parameters the walk counted (plus a few values of random layers' seed state),
any one dataset no more than that, the optimizer's at most OPTIMIZER_SLOTS copies; links (which
could point outside the file) and virtual datasets are refused.
"""

from __future__ import annotations

import io
import math

OPTIMIZER_SLOTS = 3              # Adam's two moments (three with AMSGrad) per weight
SEED_VALUES_PER_LAYER = 8        # a random layer's seed generator state: 2 values
MAX_ITEM_BYTES = 8               # float64 at most


class WeightsError(ValueError):
    """`code` and `values` as storage.ModelFileError takes them."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code} {values}")


def check_declared(payload: bytes, parameters: int, layers: int) -> None:
    """Refuse (WeightsError) a weights file whose datasets declare more than the walk allows."""
    import h5py
    try:
        with h5py.File(io.BytesIO(payload), "r") as weights:
            datasets, problem = [], []

            def visit(name, link):
                if not isinstance(link, h5py.HardLink):
                    problem.append(name)
                    return
                node = weights.get(name, getlink=False)
                if isinstance(node, h5py.Dataset):
                    datasets.append((name, node))
            weights.visititems_links(visit)
            if problem:
                raise WeightsError("weights_link", name=problem[0][:80])
            model_values = optimizer_values = 0
            for name, dataset in datasets:
                values = math.prod(dataset.shape or ())
                if dataset.is_virtual or dataset.dtype.kind not in "fiub" or dataset.dtype.itemsize > MAX_ITEM_BYTES \
                        or values > max(parameters, SEED_VALUES_PER_LAYER):
                    raise WeightsError("weights_shape", name=name[:80], shape=str(dataset.shape)[:60],
                                       parameters=f"{parameters:,}")
                if name.startswith("optimizer/"):
                    optimizer_values += values
                else:
                    model_values += values
    except WeightsError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:   # not HDF5, or damaged
        raise WeightsError("weights_damaged", detail=type(exc).__name__) from exc
    if model_values > parameters + SEED_VALUES_PER_LAYER * layers:
        raise WeightsError("weights_shape", name="layers", shape=f"{model_values:,}", parameters=f"{parameters:,}")
    if optimizer_values > OPTIMIZER_SLOTS * parameters + SEED_VALUES_PER_LAYER * layers:
        raise WeightsError("weights_shape", name="optimizer", shape=f"{optimizer_values:,}",
                           parameters=f"{parameters:,}")
