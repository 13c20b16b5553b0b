"""What each browser session owns, and the few things every session shares.

Shared (cached once per server process, read-only): the MNIST arrays and the bundled default model.
Per session (in st.session_state, never visible to another session): trained and uploaded models,
which one is active, and the training jobs. Nothing here imports TensorFlow until a model is needed.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from mnist_core import storage
from mnist_core.data import MnistData, MnistDataError, load_mnist

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_PATH = ROOT / "models" / "default.keras"
DEFAULT_KEY = "default"
DATA_RETRY_SECONDS = 60
POLL_SECONDS = 0.5        # how often a page redraws a running job (at most ~4 chart updates/s)


# --- Shared: the dataset ---------------------------------------------------------------------------

_data_failure: tuple[float, str] | None = None
_data_source: str | None = None      # set once the data has loaded, for the sidebar
_data_lock = threading.Lock()


@st.cache_resource(show_spinner="Loading MNIST (once per server)…")
def _load_data() -> MnistData:
    return load_mnist()


def get_data() -> MnistData | None:
    """MNIST, or None when it can't be had (the reason is in data_problem())."""
    global _data_failure, _data_source
    with _data_lock:
        if _data_failure and time.monotonic() - _data_failure[0] < DATA_RETRY_SECONDS:
            return None   # don't retry a failed download on every click
    try:
        data = _load_data()
    except MnistDataError as exc:
        with _data_lock:
            _data_failure = (time.monotonic(), str(exc))
        return None
    with _data_lock:
        _data_failure, _data_source = None, data.source
    return data


def data_problem() -> str | None:
    return _data_failure[1] if _data_failure else None


def data_status() -> str:
    """Where the data came from, or why it is missing, without loading it: pages that need no
    data (Overview, Predict) must not pay for it, nor wait on a download attempt offline."""
    if _data_source:
        return _data_source
    if _data_failure:
        return "MNIST is not available: set `MNIST_DATA` to a folder with the four files."
    return "MNIST loads when a page needs it (`MNIST_DATA`, the Keras cache, or a download)."


def require_data() -> MnistData:
    """The data, or a friendly explanation and the end of this page's run."""
    data = get_data()
    if data is None:
        st.error("**MNIST is not available.** " + (data_problem() or ""))
        st.markdown("To use local files, start the app with the `MNIST_DATA` environment variable "
                    "pointing at a folder with the four MNIST files, e.g.\n\n"
                    "```bash\nMNIST_DATA=/path/to/mnist streamlit run streamlit_app.py\n```\n\n"
                    "The **Predict** page still works with the bundled model.")
        st.stop()
    return data


# --- Shared: the bundled model -----------------------------------------------------------------

@st.cache_resource(show_spinner="Loading the default model…")
def _default_model():
    from mnist_core.predict import Predictor
    model, _ = storage.load_model(DEFAULT_MODEL_PATH)
    return model, Predictor(model)


@st.cache_data(show_spinner=False)
def _default_metadata() -> dict:
    try:
        return storage.read_metadata(DEFAULT_MODEL_PATH)
    except storage.ModelFileError:
        return {}


# --- Per session -------------------------------------------------------------------------------

@dataclass
class SessionModel:
    """A model this session can use: the bundled one, a trained run, or an upload."""
    key: str
    name: str
    source: str
    metadata: dict = field(default_factory=dict)
    job: object = None          # the TrainingJob, for runs trained here
    model: object = None
    predictor: object = None
    report: object = None       # evaluation on the test set, computed once
    file_bytes: bytes | None = None

    @property
    def test_accuracy(self) -> float | None:
        value = self.metadata.get("test_accuracy")
        return float(value) if value is not None else None

    def ready(self) -> bool:
        return self.job is None or self.job.done and self.job.model is not None


class Studio:
    """The session's models, the active one, and its training jobs."""

    def __init__(self):
        self.models: dict[str, SessionModel] = {}
        self.active_key = DEFAULT_KEY
        self._counter = itertools.count(1)

    def next_number(self) -> int:
        return next(self._counter)

    def add(self, entry: SessionModel) -> SessionModel:
        self.models[entry.key] = entry
        return entry

    def runs(self) -> list[SessionModel]:
        return [m for m in self.models.values() if m.job is not None]

    def running(self) -> list[SessionModel]:
        return [m for m in self.runs() if not m.job.done]

    def choices(self) -> list[SessionModel]:
        """Every model that can be made active, the bundled one first."""
        usable = [m for m in self.models.values() if m.ready()]
        return ([default_entry()] if DEFAULT_MODEL_PATH.exists() else []) + usable

    def active(self) -> SessionModel | None:
        entry = self.models.get(self.active_key)
        if entry is not None and entry.ready():
            return entry
        return default_entry() if DEFAULT_MODEL_PATH.exists() else None


def studio() -> Studio:
    if "studio" not in st.session_state:
        st.session_state["studio"] = Studio()
    return st.session_state["studio"]


def default_entry() -> SessionModel:
    metadata = _default_metadata()
    return SessionModel(DEFAULT_KEY, metadata.get("name", "Default model"), "bundled with the app",
                        metadata)


def loaded(entry: SessionModel):
    """(keras model, Predictor) for an entry, loading TensorFlow only now."""
    if entry.key == DEFAULT_KEY:
        return _default_model()
    if entry.predictor is None:
        from mnist_core.predict import Predictor
        entry.model = entry.model or entry.job.model
        entry.predictor = Predictor(entry.model)
    return entry.model, entry.predictor


DISCONNECT_GRACE_SECONDS = 30


def session_alive_check(grace: float = DISCONNECT_GRACE_SECONDS):
    """A function that tells a training thread whether this browser session is still there.

    Streamlit drops a session from its active set the moment its websocket closes; a closed tab
    never comes back, but a network blip reconnects within seconds. So the session counts as gone
    only after `grace` seconds of continuous absence.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    absent_since = []

    def alive() -> bool:
        if runtime.is_active_session(session_id):
            absent_since.clear()
            return True
        if not absent_since:
            absent_since.append(time.monotonic())
        return time.monotonic() - absent_since[0] < grace

    return alive


def curves(snapshot):
    """A run's per-batch lines and per-epoch points, against (fractional) epochs, for the charts."""
    import pandas as pd
    columns = ["epoch", "loss", "accuracy", "series"]
    batch_rows = [(b.epoch - 1 + b.step / b.steps, b.batch_loss, b.batch_accuracy, "training (batches)")
                  for b in snapshot.batches]
    epoch_rows = []
    for e in snapshot.epochs:
        epoch_rows.append((e.epoch, e.loss, e.accuracy, "training (epoch)"))
        if e.val_loss is not None:
            epoch_rows.append((e.epoch, e.val_loss, e.val_accuracy, "validation (epoch)"))
    return pd.DataFrame(batch_rows, columns=columns), pd.DataFrame(epoch_rows, columns=columns)
