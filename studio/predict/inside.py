"""Inside the network, for the image on the Predict page: every layer's activations, the evidence
for the answer (integrated gradients, Grad-CAM, occlusion), the nearest training images and the
image's place on a 2-D map of the test set. Computing is mnist_core.inspect; this module decides
what is kept (per model: the neighbour index and the map) and draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from studio.session import bundled, dataset
from studio.ui import charts
from studio.session.models import SessionModel, loaded, session_studio
from studio.ui.i18n import labels_in_this_language, t

MAP_POINTS = 2000      # test images on the map (all 10,000 would cost the browser, not the story)


def _strip(vector: np.ndarray, width: int = 32) -> np.ndarray:
    """A dense layer's units as a block of squares, `width` a row."""
    padded = np.zeros(-(-len(vector) // width) * width, np.float32)
    padded[:len(vector)] = charts.normalised(vector)
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


# --- What is kept per model ------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=2)
def bundled_lookups(key: str):
    """Once per server (the warm-up thread builds them at launch; it has no page, so no spinner)."""
    model, _ = bundled.model(key)
    return _build_lookups(model, dataset.load())


def _build_lookups(model, data):
    from mnist_core import inspect
    from mnist_core.preprocess import to_model_input
    index = inspect.NeighbourIndex(model, data.x_train, data.y_train)   # uint8: read in chunks
    every = len(data.x_test) // MAP_POINTS
    feature_map = inspect.FeatureMap(model, to_model_input(data.x_test[::every]))
    return index, feature_map, data.y_test[::every]


def lookups(entry: SessionModel):
    """(NeighbourIndex over the 60,000 training images, FeatureMap of the test set, its labels):
    once per bundled model per server, once per own model per session (released with it)."""
    if entry.kind == "bundled":
        return bundled_lookups(entry.key)
    if entry.inside is None:
        model, _ = loaded(entry)
        entry.inside = _build_lookups(model, dataset.get_data())
    return entry.inside


# --- Drawing ---------------------------------------------------------------------------------------

VIEWS = ("layers", "evidence", "neighbours", "map", "break")


def inside_ui(entry: SessionModel, image: np.ndarray, guess: int) -> None:
    """One view at a time, computed only when chosen (none at first): a drawing costs the views
    you look at, not all five (which matters when the server's cores are also training)."""
    st.header(t("inside.title"))
    st.caption(t("inside.caption"))
    view = st.segmented_control(t("inside.title"), VIEWS, key="inside_view", default=None,
                                label_visibility="collapsed",
                                format_func=labels_in_this_language("inside.tab.{}"))
    if view is None:
        st.caption(t("inside.pick"))
        return
    model, _ = loaded(entry)
    if view == "layers":
        layers_ui(model, image)
    elif view == "evidence":
        evidence_ui(model, image, guess)
    elif view == "break":
        break_ui(entry, model, image, guess)
    elif dataset.get_data() is None:
        st.info(t("inside.needs_data"))
    else:
        with st.spinner(t("inside.indexing")):
            index, feature_map, map_labels = lookups(entry)
        data = dataset.get_data()
        if view == "neighbours":
            found, distances = index.nearest(image, k=10)
            charts.digit_row(data.x_train[found], [f"#{i}: {data.y_train[i]}" for i in found],
                             [charts.digit_alt(data.y_train[i]) for i in found], scale=2)
            st.caption(t("inside.neighbours.caption"))
        else:
            map_ui(entry, model, image, feature_map, map_labels, data)


def map_ui(entry, model, image, feature_map, map_labels, data) -> None:
    """The test set's map with the image on it; a clicked point shows its test image."""
    here = feature_map.place(image)
    every = len(data.x_test) // MAP_POINTS
    frame = pd.DataFrame({"x": feature_map.points[:, 0], "y": feature_map.points[:, 1],
                          "digit": map_labels.astype(str),
                          "index": np.arange(len(map_labels)) * every})    # the test image's number
    left, right = st.columns([3, 1])
    with left:
        picked = charts.scatter(frame, here=(float(here[0]), float(here[1])), key=f"map-{entry.key}",
                                selectable=True)
        st.caption(t("inside.map.caption", count=len(frame)))
    with right:
        if picked is None:
            st.caption(t("inside.map.click"))
            return
        _, predictor = loaded(entry)
        reading = predictor.read(data.x_test[picked].astype(np.float32) / 255)
        st.image(charts.digit(data.x_test[picked], 4), width=112, alt=charts.digit_alt(data.y_test[picked], reading.digit),
                 caption=t("inside.map.picked", index=picked, label=int(data.y_test[picked]),
                           said=reading.digit if reading.digit is not None else "?"))
        st.button(t("inside.map.open"), key="map_open", icon=":material/open_in_new:",
                  on_click=open_test_image, args=(picked,))


def open_test_image(index: int) -> None:
    """Make Predict show test image `index` (its widgets take these values on their next run)."""
    st.session_state["predict_source"], st.session_state["predict_index"] = "test", int(index)
    st.session_state["inside_view"] = st.session_state.get("inside_view") or VIEWS[0]


# --- Break it ----------------------------------------------------------------------------------------

BREAK_SEED = 0     # which units a given share switches off: the same ones each time


def _reset_break() -> None:
    st.session_state["break_off"], st.session_state["break_noise"] = 0, 0.0


def break_ui(entry: SessionModel, model, image: np.ndarray, guess: int) -> None:
    """Switch off units or add noise in a copy of the model (this session's only) and see what
    the answer and the layers do; Reset gives the intact model back."""
    from mnist_core import inspect
    layers = inspect.breakable_layers(model)
    if not layers:
        st.info(t("inside.break.unavailable"))
        return
    st.caption(t("inside.break.caption"))
    units = dict(layers)
    pick, share_column, noise_column = st.columns(3)
    layer = pick.selectbox(t("inside.break.layer"), list(units), key="break_layer",
                           format_func=lambda name: t("inside.break.layer_option", name=name, units=units[name]))
    share = share_column.slider(t("inside.break.off"), 0, 100, 0, step=5, format="%d%%", key="break_off")
    noise = noise_column.slider(t("inside.break.noise"), 0.0, 1.0, 0.0, step=0.05, key="break_noise",
                                help=t("inside.break.noise.help"))
    st.button(t("inside.break.reset"), icon=":material/restart_alt:", on_click=_reset_break,
              disabled=share == 0 and noise == 0)
    if share == 0 and noise == 0:
        st.info(t("inside.break.intact"))
        return
    broken_model, predictor = _broken(entry, model, layer, share, noise)
    reading = predictor.read(image)
    before, after = st.columns(2)
    before.metric(t("inside.break.intact_says"), guess)
    after.metric(t("inside.break.broken_says"), reading.digit if reading.digit is not None else "?",
                 delta=None if reading.guess == guess else t("inside.break.changed"), delta_color="inverse")
    after.caption(t("predict.sure", p=f"{reading.confidence:.0%}"))
    charts.probabilities(reading.probabilities, reading.guess, height=180)
    with st.expander(t("inside.break.layers")):
        layers_ui(broken_model, image)


def _broken(entry, model, layer: str, share: int, noise: float):
    """The broken copy for these settings, kept in the session (one at a time, released with it)."""
    from mnist_core import inspect
    from mnist_core.predict import Predictor
    studio = session_studio()
    settings = (entry.key, layer, share, noise)
    if studio.broken is None or studio.broken[0] != settings:
        units = dict(inspect.breakable_layers(model))[layer]
        off = np.random.default_rng(BREAK_SEED).permutation(units)[:round(units * share / 100)]
        copy = inspect.broken(model, {layer: off.tolist()} if len(off) else None, noise=noise, seed=BREAK_SEED)
        studio.broken = (settings, copy, Predictor(copy, entry.metadata.get("withhold_below")))
    return studio.broken[1], studio.broken[2]


def layers_ui(model, image) -> None:
    from mnist_core import inspect
    for name, values in inspect.activations(model, image)[:-1]:      # the softmax is the bar chart
        if values.ndim == 3:                                          # convolution: one map a filter
            picture, what = charts.tiles(np.moveaxis(values, -1, 0)), t("inside.maps", count=values.shape[-1])
        elif values.ndim == 1:
            picture, what = _strip(values), t("inside.units", count=len(values),
                                              active=int((values > 0).sum()))
        else:
            continue
        scale = max(1, min(12, 320 // max(picture.shape)))
        st.image(charts.upscale((1 - picture) * 255, scale).astype(np.uint8), caption=f"{name} · {what}", alt=f"{name} · {what}")
    filters = inspect.first_layer_filters(model)
    if filters is not None:     # 5x5 kernels drawn large, a dense layer's 28x28 weights smaller
        tiles = charts.tiles(filters)
        st.image(charts.upscale((1 - tiles) * 255, max(1, min(8, 480 // max(tiles.shape)))).astype(np.uint8),
                 caption=t("inside.filters", count=len(filters)), alt=t("inside.filters", count=len(filters)))


def evidence_ui(model, image, guess: int) -> None:
    from mnist_core import inspect
    other = st.selectbox(t("inside.why_not"), [d for d in range(10) if d != guess], key="inside_why_not")
    columns = st.columns(4)
    for column, (caption, evidence) in zip(columns, [
            (t("inside.ig", digit=guess), inspect.integrated_gradients(model, image, target=guess)),
            (t("inside.ig", digit=other), inspect.integrated_gradients(model, image, target=other)),
            (t("inside.occlusion", digit=guess), inspect.occlusion(model, image, patch=4, target=guess))]):
        column.image(charts.upscale(evidence_image(image, evidence), 5), caption=caption, width=140, alt=caption)
    try:
        cam = inspect.grad_cam(model, image, target=guess)
        columns[3].image(charts.upscale(evidence_image(image, cam), 5), caption=t("inside.grad_cam"), width=140,
                           alt=t("inside.grad_cam"))
    except ValueError:
        columns[3].caption(t("inside.no_grad_cam"))
    st.caption(t("inside.evidence.caption"))
