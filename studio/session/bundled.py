"""The models that ship with the app, loaded once per server process and shared read-only.

"tutorial" is the note's own network (what a fresh link starts with, so Train and Evaluate tell
the note's story); "best" is the best reader of drawings.
"""

from __future__ import annotations

import streamlit as st

from mnist_core import storage

from . import dataset

BUNDLED = {"tutorial": storage.NOTE_NETWORK, "best": storage.BEST_READER}
DEFAULT_KEY = "tutorial"   # Tutorial, Train and Evaluate on a fresh link: the note's story
BEST_KEY = "best"          # the best reader of people's drawings (#17)


def available() -> list[str]:
    return [key for key, path in BUNDLED.items() if path.exists()]


@st.cache_resource(show_spinner=False)
def model(key: str):
    """(keras model, Predictor), TensorFlow imported only now (the warm-up thread calls this too)."""
    from mnist_core.predict import Predictor
    keras_model, metadata = storage.load_model(BUNDLED[key])
    return keras_model, Predictor(keras_model, metadata.get("withhold_below"))


@st.cache_resource(show_spinner=False)
def pen():
    """The pen reader joined to the best reader's answers on drawings (#29), or None without its file."""
    from mnist_core.predict import pen_reader
    return pen_reader()


@st.cache_data(show_spinner=False)
def metadata(key: str) -> dict:
    try:
        return storage.read_metadata(BUNDLED[key])
    except storage.ModelFileError:
        return {}


@st.cache_resource(show_spinner=False)
def report(key: str):
    """Its evaluation on the test set, once per server."""
    from mnist_core.evaluation import evaluate
    keras_model, predictor = model(key)
    data = dataset.get_data()
    return evaluate(keras_model, data.x_test, data.y_test, predictor=predictor)
