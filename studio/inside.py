"""Inside the network, for the image on the Predict page: every layer's activations, the evidence
for the answer (integrated gradients, Grad-CAM, occlusion), the nearest training images and the
image's place on a 2-D map of the test set. Computing is mnist_core.inspect; this module decides
what is kept (per model: the neighbour index and the map) and draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from . import charts, state
from .i18n import t

MAP_POINTS = 2000      # test images on the map (all 10,000 would cost the browser, not the story)


def _normalised(array: np.ndarray) -> np.ndarray:
    low, high = float(array.min()), float(array.max())
    return (array - low) / (high - low) if high > low else np.zeros_like(array, dtype=np.float32)


def _tiles(maps: np.ndarray, columns: int = 8, gap: int = 1) -> np.ndarray:
    """(n, h, w) maps, each scaled to 0..1, in one grid image."""
    count, height, width = maps.shape
    rows = -(-count // columns)
    grid = np.ones((rows * (height + gap), columns * (width + gap)), np.float32)
    for index, feature in enumerate(maps):
        row, column = divmod(index, columns)
        grid[row * (height + gap):row * (height + gap) + height,
             column * (width + gap):column * (width + gap) + width] = _normalised(feature)
    return grid


def _strip(vector: np.ndarray, width: int = 32) -> np.ndarray:
    """A dense layer's units as a block of squares, `width` a row."""
    padded = np.zeros(-(-len(vector) // width) * width, np.float32)
    padded[:len(vector)] = _normalised(vector)
    return padded.reshape(-1, width)


def evidence_image(image: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """The digit in grey with evidence over it: orange for the answer, blue against it."""
    scale = np.abs(evidence).max() or 1.0
    positive, negative = np.clip(evidence / scale, 0, 1), np.clip(-evidence / scale, 0, 1)
    grey = 0.85 - 0.35 * np.clip(image, 0, 1)
    rgb = np.stack([grey] * 3, axis=-1)
    rgb = rgb * (1 - positive[..., None]) + positive[..., None] * np.array([0.96, 0.45, 0.05])
    rgb = rgb * (1 - negative[..., None]) + negative[..., None] * np.array([0.15, 0.35, 0.95])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _upscale(image: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


# --- What is kept per model ------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=2)
def _bundled_lookups(key: str):
    model, _ = state.loaded(state.bundled_entry(key))
    return _build_lookups(model)


def _build_lookups(model):
    from mnist_core import inspect
    from mnist_core.preprocess import to_model_input
    data = state.get_data()
    index = inspect.NeighbourIndex(model, to_model_input(data.x_train), data.y_train)
    every = len(data.x_test) // MAP_POINTS
    feature_map = inspect.FeatureMap(model, to_model_input(data.x_test[::every]))
    return index, feature_map, data.y_test[::every]


def lookups(entry: state.SessionModel):
    """(NeighbourIndex over the 60,000 training images, FeatureMap of the test set, its labels):
    once per bundled model per server, once per own model per session (released with it)."""
    if entry.kind == "bundled":
        return _bundled_lookups(entry.key)
    if entry.inside is None:
        model, _ = state.loaded(entry)
        entry.inside = _build_lookups(model)
    return entry.inside


# --- Drawing ---------------------------------------------------------------------------------------

def inside_ui(entry: state.SessionModel, model, image: np.ndarray, guess: int) -> None:
    st.subheader(t("inside.title"))
    st.caption(t("inside.caption"))
    layers_tab, evidence_tab, neighbours_tab, map_tab = st.tabs(
        [t("inside.tab.layers"), t("inside.tab.evidence"), t("inside.tab.neighbours"), t("inside.tab.map")])
    with layers_tab:
        layers_ui(model, image)
    with evidence_tab:
        evidence_ui(model, image, guess)
    if state.get_data() is None:
        neighbours_tab.info(t("inside.needs_data"))
        map_tab.info(t("inside.needs_data"))
        return
    with st.spinner(t("inside.indexing")):
        index, feature_map, map_labels = lookups(entry)
    with neighbours_tab:
        found, distances = index.nearest(image, k=10)
        data = state.get_data()
        charts.digit_row(data.x_train[found], [f"#{i}: {data.y_train[i]}" for i in found], scale=2)
        st.caption(t("inside.neighbours.caption"))
    with map_tab:
        here = feature_map.place(image)
        frame = pd.DataFrame({"x": feature_map.points[:, 0], "y": feature_map.points[:, 1],
                              "digit": map_labels.astype(str)})
        charts.scatter(frame, here=(float(here[0]), float(here[1])), key=f"map-{entry.key}")
        st.caption(t("inside.map.caption", count=len(frame)))


def layers_ui(model, image) -> None:
    from mnist_core import inspect
    for name, values in inspect.activations(model, image)[:-1]:      # the softmax is the bar chart
        if values.ndim == 3:                                          # convolution: one map a filter
            picture, what = _tiles(np.moveaxis(values, -1, 0)), t("inside.maps", count=values.shape[-1])
        elif values.ndim == 1:
            picture, what = _strip(values), t("inside.units", count=len(values),
                                              active=int((values > 0).sum()))
        else:
            continue
        scale = max(1, min(12, 320 // max(picture.shape)))
        st.image(_upscale((1 - picture) * 255, scale).astype(np.uint8), caption=f"{name} · {what}")
    filters = inspect.first_layer_filters(model)
    if filters is not None:
        st.image(_upscale((1 - _tiles(filters)) * 255, 8).astype(np.uint8),
                 caption=t("inside.filters", count=len(filters)))


def evidence_ui(model, image, guess: int) -> None:
    from mnist_core import inspect
    other = st.selectbox(t("inside.why_not"), [d for d in range(10) if d != guess], key="inside_why_not")
    columns = st.columns(4)
    for column, (caption, evidence) in zip(columns, [
            (t("inside.ig", digit=guess), inspect.integrated_gradients(model, image, target=guess)),
            (t("inside.ig", digit=other), inspect.integrated_gradients(model, image, target=other)),
            (t("inside.occlusion", digit=guess), inspect.occlusion(model, image, patch=4, target=guess))]):
        column.image(_upscale(evidence_image(image, evidence), 5), caption=caption, width=140)
    try:
        cam = inspect.grad_cam(model, image, target=guess)
        columns[3].image(_upscale(evidence_image(image, cam), 5), caption=t("inside.grad_cam"), width=140)
    except ValueError:
        columns[3].caption(t("inside.no_grad_cam"))
    st.caption(t("inside.evidence.caption"))
