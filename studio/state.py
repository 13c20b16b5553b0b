"""What each browser session owns, and the few things every session shares.

Shared (cached once per server process, read-only): the MNIST arrays and the bundled default model.
Per session (in st.session_state, never visible to another session): trained and uploaded models,
which one is active, and the training jobs. Nothing here imports TensorFlow until a model is needed.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, field

import streamlit as st
from streamlit.logger import get_logger

from mnist_core import storage
from mnist_core.data import MnistData, MnistDataError, load_mnist

from . import urls
from .i18n import t

# The models that ship with the app: the note's own network (what a fresh link starts with, so
# Train and Evaluate tell the note's story) and the best reader of drawings.
BUNDLED = {"tutorial": storage.NOTE_NETWORK, "best": storage.BEST_READER}
BEST_KEY = "best"          # the best reader of people's drawings (#17)
DEFAULT_KEY = "tutorial"
DATA_RETRY_SECONDS = 60
POLL_SECONDS = 0.5        # how often a page redraws a running job (at most ~4 chart updates/s)


# --- Shared: the dataset ---------------------------------------------------------------------------

_data_failure: tuple[float, str] | None = None
_data_origin: str | None = None      # set once the data has loaded, for the sidebar
_data_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _load_data() -> MnistData:
    return load_mnist()


def get_data() -> MnistData | None:
    """MNIST, or None when it can't be had (the reason is in data_problem())."""
    global _data_failure, _data_origin
    with _data_lock:
        if _data_failure and time.monotonic() - _data_failure[0] < DATA_RETRY_SECONDS:
            return None   # don't retry a failed download on every click
    try:
        with st.spinner(t("data.loading")):
            data = _load_data()
    except MnistDataError as exc:
        with _data_lock:
            _data_failure = (time.monotonic(), str(exc))
        return None
    with _data_lock:
        _data_failure, _data_origin = None, data.origin
    return data


def data_problem() -> str | None:
    return _data_failure[1] if _data_failure else None


def data_status() -> str:
    """Where the data came from, or why it is missing, without loading it: pages that need no
    data (Overview, Predict) must not pay for it, nor wait on a download attempt offline."""
    if _data_origin:
        return t(f"data.origin.{_data_origin}")
    if _data_failure:
        return t("data.missing_short")
    return t("data.not_loaded")


def require_data() -> MnistData:
    """The data, or a friendly explanation and the end of this page's run."""
    data = get_data()
    if data is None:
        st.error(t("data.missing_title"))
        st.markdown(t("data.missing_help"))
        with st.expander(t("data.details")):   # the library's own words, for whoever set it up
            st.code(data_problem() or "", language=None)
        st.stop()
    return data


# --- Shared: the bundled model -----------------------------------------------------------------

def best_reader():
    """(Keras model, Predictor) of the bundled best reader, loaded once per server."""
    return _bundled_model(BEST_KEY)


@st.cache_resource(show_spinner=False)
def _bundled_model(key: str):
    from mnist_core.predict import Predictor
    model, metadata = storage.load_model(BUNDLED[key])
    return model, Predictor(model, metadata.get("withhold_below"))


@st.cache_data(show_spinner=False)
def _bundled_metadata(key: str) -> dict:
    try:
        return storage.read_metadata(BUNDLED[key])
    except storage.ModelFileError:
        return {}


# --- Per session -------------------------------------------------------------------------------

MAX_MODELS = 4                 # a session's trained and uploaded models; the active one always stays
# A closed tab's models are released this long after it went away (a reconnect within it keeps all).
RELEASE_AFTER_SECONDS = float(os.environ.get("MNIST_STUDIO_RELEASE_AFTER_SECONDS", 60))
JANITOR_EVERY_SECONDS = 10


@dataclass
class SessionModel:
    """One model a session can use: the bundled one, a finished run, or an upload.

    The record is made once, when the model exists (a run makes it when it finishes); what it
    holds is released with `release()` when it is dropped or the session ends.
    """
    key: str
    name: str
    kind: str                   # "bundled", "run", "upload" or "tuned" (taught by corrections)
    metadata: dict = field(default_factory=dict)
    model: object = None
    predictor: object = None
    report: object = None       # evaluation on the test set, computed once
    file_bytes: bytes | None = None
    inside: object = None       # its neighbour index and feature map (studio.inside), built once

    @property
    def test_accuracy(self) -> float | None:
        if self.report is not None:
            return float(self.report.accuracy)
        value = self.metadata.get("test_accuracy")
        return float(value) if value is not None else None

    def release(self) -> None:
        self.model = self.predictor = self.report = self.file_bytes = self.inside = None


class Studio:
    """The session's models, the active one, and its training jobs (at most one running)."""

    def __init__(self):
        self.models: dict[str, SessionModel] = {}
        self.jobs: dict[str, object] = {}        # key -> TrainingJob, for its live charts
        self.active_key = DEFAULT_KEY
        self.notices: list[tuple[str, dict]] = []   # (catalogue key, values) to show once
        self.released = False
        # Teaching (studio.teach): the learner's corrections, (28x28 image, label), the model the
        # lessons start from, and what the last lesson did.
        self.corrections: list[tuple] = []
        self.lesson_base: SessionModel | None = None
        self.lesson: dict | None = None
        self.broken: tuple | None = None    # (settings, model, predictor) of the Inside view's "Break it"
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next_number(self) -> int:
        return next(self._counter)

    def add(self, entry: SessionModel, *, activate: bool = True) -> SessionModel:
        """Keep `entry` (and make it active); drop the oldest others beyond MAX_MODELS."""
        with self._lock:
            replaced = self.models.get(entry.key)
            if replaced is not None and replaced is not entry:
                replaced.release()
            self.models[entry.key] = entry
            if activate:
                self.active_key = entry.key
            while len(self.models) > MAX_MODELS:
                oldest = next(k for k in self.models if k != self.active_key)
                dropped = self.models.pop(oldest)
                dropped.release()
                self.jobs.pop(oldest, None)
                self.notices.append(("notice.dropped", {"name": dropped.name, "limit": MAX_MODELS}))
        return entry

    def run_finished(self, key: str, name: str):
        """The callback a TrainingJob calls with its TrainedRun: the run becomes the active model."""
        def hand_over(outcome) -> None:
            if self.released:
                return
            self.add(SessionModel(key, name, "run", outcome.metadata, model=outcome.model,
                                  report=outcome.report))
            self.notices.append(("notice.run_active", {"name": name}))
        return hand_over

    def running(self) -> list:
        return [job for job in self.jobs.values() if not job.done]

    def choices(self) -> list[SessionModel]:
        """Every model that can be made active, the bundled one first."""
        with self._lock:
            mine = list(self.models.values())
        return bundled_entries() + mine

    def active(self) -> SessionModel | None:
        entry = self.models.get(self.active_key)
        if entry is not None:
            return entry
        bundled = {entry.key: entry for entry in bundled_entries()}
        return bundled.get(self.active_key) or bundled.get(DEFAULT_KEY) or next(iter(bundled.values()), None)

    def take_notices(self) -> list[tuple[str, dict]]:
        with self._lock:
            notices, self.notices = self.notices, []
        return notices

    def release(self) -> None:
        """Give back everything: stop the jobs, drop the models (the session has ended)."""
        with self._lock:
            self.released = True
            for job in self.jobs.values():
                job.stop()
            for entry in self.models.values():
                entry.release()
            self.models.clear()
            self.jobs.clear()
            self.corrections, self.lesson_base, self.lesson, self.broken = [], None, None, None
            self.active_key = DEFAULT_KEY


def studio() -> Studio:
    current = st.session_state.get("studio")
    if current is None or current.released:
        current = st.session_state["studio"] = Studio()
        _watch_session(current)
    return current


def bundled_entry(key: str) -> SessionModel:
    return SessionModel(key, t(f"bundled.{key}"), "bundled", _bundled_metadata(key))


def bundled_entries() -> list[SessionModel]:
    return [bundled_entry(key) for key, path in BUNDLED.items() if path.exists()]


def choose_model_from_url(current: Studio) -> None:
    """`?model=tutorial`, `?model=best` or one of the session's own (`run-2`): a link chooses the
    model once; afterwards the address follows the session's choice."""
    wanted = st.query_params.get("model")
    if wanted and wanted != st.session_state.get("model_seen_in_url"):
        keys = {entry.key for entry in current.choices()}
        if wanted in keys:
            current.active_key = wanted
        else:
            urls.note(t("url.not_a_choice", name="model", value=urls.shown(wanted),
                        choices=", ".join(sorted(keys))))
    st.session_state["model_seen_in_url"] = current.active_key
    if current.active() is not None:
        urls.write(model=current.active().key)


def loaded(entry: SessionModel):
    """(keras model, Predictor) for an entry, loading TensorFlow only now."""
    if entry.kind == "bundled":
        with st.spinner(t("model.loading")):
            return _bundled_model(entry.key)
    if entry.predictor is None:
        from mnist_core.predict import Predictor
        entry.predictor = Predictor(entry.model, entry.metadata.get("withhold_below"))
    return entry.model, entry.predictor


def report(entry: SessionModel, data: MnistData):
    """The test-set evaluation of a model: once per bundled model per server, once per own model."""
    if entry.kind == "bundled":
        return _bundled_report(entry.key)
    if entry.report is None:
        from mnist_core.evaluation import evaluate
        model, predictor = loaded(entry)
        entry.report = evaluate(model, data.x_test, data.y_test, predictor=predictor)
    return entry.report


@st.cache_resource(show_spinner=False)
def _bundled_report(key: str):
    from mnist_core.evaluation import evaluate
    model, predictor = loaded(bundled_entry(key))
    data = get_data()
    return evaluate(model, data.x_test, data.y_test, predictor=predictor)


# --- Sessions that end -----------------------------------------------------------------------------
# Streamlit keeps a closed tab's session_state for a while (for reconnects) and frees it lazily;
# a trained model and its TensorFlow functions are far too big to wait for that. A janitor thread
# releases each studio whose browser session has been gone for RELEASE_AFTER_SECONDS.

_log = get_logger(__name__)    # Streamlit's logger: shown at the server's log level (info)
_watched: dict[str, Studio] = {}
_watched_lock = threading.Lock()
_janitor: threading.Thread | None = None


def _session_id() -> str | None:
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None and Runtime.exists() else None


def _watch_session(current: Studio) -> None:
    global _janitor
    session_id = _session_id()
    if session_id is None:         # AppTest or a bare script: no server, no other sessions
        return
    with _watched_lock:
        _watched[session_id] = current
        if _janitor is None:
            _janitor = threading.Thread(target=_janitor_loop, name="mnist-session-janitor", daemon=True)
            _janitor.start()


def _janitor_loop() -> None:
    from streamlit.runtime import Runtime
    absent_since: dict[str, float] = {}
    while True:
        time.sleep(JANITOR_EVERY_SECONDS)
        if Runtime.exists():
            release_absent_sessions(Runtime.instance().is_active_session, absent_since)


def release_absent_sessions(is_active, absent_since: dict, now: float | None = None) -> int:
    """Release the studios of sessions absent for RELEASE_AFTER_SECONDS; how many were released."""
    now = time.monotonic() if now is None else now
    released = []
    with _watched_lock:
        for session_id, current in list(_watched.items()):
            if is_active(session_id):
                absent_since.pop(session_id, None)
            elif now - absent_since.setdefault(session_id, now) >= RELEASE_AFTER_SECONDS:
                released.append(_watched.pop(session_id))
                absent_since.pop(session_id, None)
    for current in released:
        current.release()
    if released:
        give_memory_back()
        _log.info("released the models of %d closed session(s); %d still open", len(released),
                  len(_watched))
    return len(released)


def give_memory_back() -> None:
    """Collect the released models' reference cycles and hand freed heap pages back to the OS."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc (macOS, Windows): the allocator keeps them
        pass


DISCONNECT_GRACE_SECONDS = 30


def session_alive_check(grace: float = DISCONNECT_GRACE_SECONDS):
    """A function that tells a training thread whether this browser session is still there.

    Streamlit drops a session from its active set the moment its websocket closes; a closed tab
    never comes back, but a network blip reconnects within seconds. So the session counts as gone
    only after `grace` seconds of continuous absence.
    """
    from streamlit.runtime import Runtime
    session_id = _session_id()
    if session_id is None:
        return None
    runtime = Runtime.instance()
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
    batches, epochs, validation = t("chart.series.batches"), t("chart.series.epochs"), t("chart.series.validation")
    batch_rows = [(b.epoch - 1 + b.step / b.steps, b.batch_loss, b.batch_accuracy, batches)
                  for b in snapshot.batches]
    epoch_rows = []
    for e in snapshot.epochs:
        epoch_rows.append((e.epoch, e.loss, e.accuracy, epochs))
        if e.val_loss is not None:
            epoch_rows.append((e.epoch, e.val_loss, e.val_accuracy, validation))
    return pd.DataFrame(batch_rows, columns=columns), pd.DataFrame(epoch_rows, columns=columns)
