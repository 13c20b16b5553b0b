"""Step 1: look at the data. Never imports TensorFlow."""

import numpy as np
import pandas as pd
import streamlit as st

from mnist_core.data import class_counts, describe, mean_images
from studio.ui import charts, figures, urls
from studio.session.dataset import get_data, require_data
from studio.train.downloads import download_figure_ui
from studio.ui.i18n import labels_in_this_language, t

SPLITS = ("train", "test")
GRID_SIZE = 40


def arrays(data, split):
    return (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)


@st.cache_data(show_spinner=False)
def digit_means(split: str) -> np.ndarray:
    images, labels = arrays(get_data(), split)
    return mean_images(images, labels)


def choose_image_ui(data):
    """The split and index of the image to show large; both live in the URL."""
    left, right, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    urls.seed_widget("explore_split", urls.read_choice("split", "test", SPLITS))
    with left:
        split = st.segmented_control(t("explore.split"), SPLITS, key="explore_split", required=True,
                                     format_func=labels_in_this_language("explore.split.{}"))
    images, labels = arrays(data, split)
    urls.seed_widget(f"explore_index_{split}", urls.read_int("index", 0, 0, len(images) - 1))
    index = right.number_input(t("explore.index", last=len(images) - 1), 0, len(images) - 1,
                               key=f"explore_index_{split}")
    urls.write(split=split, index=index)
    return split, int(index)


def one_image_ui(data, split, index):
    images, labels = arrays(data, split)
    image = images[index]
    left, right = st.columns([1, 2])
    with left:
        st.image(charts.digit(image, 8), width=224, alt=charts.digit_alt(labels[index]))
        st.markdown(f"`{split}_labels[{index}]` = **{labels[index]}**")
        st.caption(t("explore.image_facts", name=f"{split}_images[{index}]", dtype=image.dtype,
                     shape=image.shape, low=image.min(), high=image.max()))
    with right:
        view = st.segmented_control(t("explore.pixels_as"), ["heatmap", "table"], default="heatmap",
                                    key="explore_pixels", required=True,
                                    format_func=labels_in_this_language("explore.pixels.{}"))
        if view == "heatmap":
            charts.heatmap(image, row="row", column="column", value="pixel", scheme="greys",
                           annotate=False, height=330, reverse_colors=True, linear=True)
        else:
            st.dataframe(pd.DataFrame(image), height=330)


def grid_ui(data):
    split = st.session_state.get("explore_split", "test")
    images, labels = arrays(data, split)
    chosen = st.pills(t("explore.show_digits"), list(range(10)), selection_mode="multi", key="explore_filter")
    indices = np.flatnonzero(np.isin(labels, chosen)) if chosen else np.arange(len(labels))
    st.caption(t("explore.matches", count=f"{len(indices):,}", split=t(f"explore.split.{split}"),
                 shown=min(GRID_SIZE, len(indices))))
    shown = indices[:GRID_SIZE]
    charts.digit_row(images[shown], [f"#{i}: {labels[i]}" for i in shown], [charts.digit_alt(labels[i]) for i in shown],
                     scale=2)
    download_figure_ui(lambda: figures.sample_grid(images[shown], labels[shown],
                                                   t("figure.samples_title", split=t(f"explore.split.{split}"))),
                       f"mnist-{split}-samples")


def statistics_ui(data):
    counts = pd.DataFrame({"digit": np.tile(np.arange(10), 2),
                           "images": np.concatenate([class_counts(data.y_train), class_counts(data.y_test)]),
                           "split": [t("explore.split.train")] * 10 + [t("explore.split.test")] * 10})
    left, right = st.columns(2)
    with left:
        st.header(t("explore.counts"))
        charts.bar_chart(counts, x="digit", y="images", color="split")
    with right:
        st.header(t("explore.means"))
        split = st.session_state.get("explore_split", "test")
        charts.digit_row(digit_means(split) / 255.0, list(range(10)), [t("alt.mean", digit=d) for d in range(10)],
                         scale=2, width=44)
        st.caption(t("explore.means.caption", split=t(f"explore.split.{split}")))


def shapes_ui(data):
    st.header(t("explore.arrays"))
    shapes = describe(data)
    st.code("\n".join([
        f"train_images: {shapes['x_train']}", f"train_labels: {shapes['y_train']}",
        f"test_images:  {shapes['x_test']}", f"test_labels:  {shapes['y_test']}"]), language=None)
    st.markdown(t("explore.checks"))
    checks = [
        ("train_images.shape == (60000, 28, 28)", data.x_train.shape == (60000, 28, 28)),
        ("train_images.dtype == np.uint8", data.x_train.dtype == np.uint8),
        ("train_labels.shape == (60000,)", data.y_train.shape == (60000,)),
        ("test_images.shape == (10000, 28, 28)", data.x_test.shape == (10000, 28, 28)),
        ("test_labels.shape == (10000,)", data.y_test.shape == (10000,)),
        ("set(test_labels) == set(range(10))", set(np.unique(data.y_test)) == set(range(10))),
    ]
    st.code("\n".join(f"assert {text:<40} # {t('explore.passes') if ok else t('explore.fails')}"
                      for text, ok in checks),
            language="python")


def main():
    st.title(t("explore.title"))
    data = require_data()
    split, index = choose_image_ui(data)
    one_image_ui(data, split, index)
    st.header(t("explore.samples"))
    grid_ui(data)
    statistics_ui(data)
    shapes_ui(data)


main()
