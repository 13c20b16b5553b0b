"""The session's models: the bundled ones, its finished runs, uploads and taught copies; which one
is active; and its training jobs. Kept in st.session_state, never visible to another session.

Threads. The page's script thread owns the models: it alone adds, activates and evicts them, so a
model the page is drawing with is never dropped under it. A training thread that finishes only
queues its run (`run_finished`); the next script run applies the queue before any page takes a
model (`settle`, called once at the top of streamlit_app.py). The janitor thread may `release()`
a studio whose browser has gone; every method that touches the models, jobs, queue or notices
holds the studio's lock, so a run handed over after the release is dropped, not kept in a studio
nobody will free.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st

from mnist_core.data import MnistData

from . import bundled, lifecycle
from studio.ui import urls
from studio.ui.i18n import t

MAX_MODELS = 4          # a session's trained and uploaded models; the active one always stays


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
    inside: object = None       # its neighbour index and feature map (studio.predict.inside), built once

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
        self.active_key = bundled.DEFAULT_KEY
        self.released = False
        self.released_count = 0                  # models and runs given back by release()
        # Teaching (studio.predict.teach): the learner's corrections, (28x28 image, label), the model the
        # lessons start from, and what the last lesson did.
        self.corrections: list[tuple] = []
        self.lesson_base: SessionModel | None = None
        self.lesson: dict | None = None
        self.broken: tuple | None = None    # (settings, model, predictor) of the Inside view's "Break it"
        self._jobs: dict[str, object] = {}       # key -> TrainingJob, for its live charts
        self._arrivals: list[tuple] = []         # (key, name, TrainedRun) from training threads
        self._notices: list[tuple[str, dict]] = []   # (catalogue key, values) to show once
        self._last_number = 0                    # runs and uploads are numbered 1, 2, ... per session
        self._lock = threading.Lock()

    def next_number(self) -> int:
        with self._lock:
            self._last_number += 1
            return self._last_number

    def continue_numbers_after(self, number: int) -> None:
        """New runs continue the count of runs restored from the store (never reusing a number)."""
        with self._lock:
            self._last_number = max(self._last_number, number)

    # --- the page thread -------------------------------------------------------------------------

    def add(self, entry: SessionModel, *, activate: bool = True) -> SessionModel:
        """Keep `entry` (and make it active); drop the oldest others beyond MAX_MODELS."""
        with self._lock:
            self._add(entry, activate)
        return entry

    def _add(self, entry: SessionModel, activate: bool) -> None:
        if self.released:
            entry.release()
            return
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
            self._jobs.pop(oldest, None)
            self._notices.append(("notice.dropped", {"name": dropped.name, "limit": MAX_MODELS}))

    def settle(self) -> None:
        """Apply the runs that finished since the page last ran: each becomes the active model."""
        with self._lock:
            arrivals, self._arrivals = self._arrivals, []
            for key, name, outcome in arrivals:
                self._add(SessionModel(key, name, "run", outcome.metadata, model=outcome.model,
                                       report=outcome.report), activate=True)
                self._notices.append(("notice.run_active", {"name": name}))

    def model(self, key: str) -> SessionModel | None:
        with self._lock:
            return self.models.get(key)

    def arriving(self, key: str) -> bool:
        """Whether run `key` has finished and waits for the next script run to apply it."""
        with self._lock:
            return any(arrived == key for arrived, _, _ in self._arrivals)

    def add_job(self, key: str, job) -> None:
        with self._lock:
            if self.released:
                job.stop()
            else:
                self._jobs[key] = job

    def job(self, key: str):
        with self._lock:
            return self._jobs.get(key)

    @property
    def jobs(self) -> dict:
        """A copy: the page thread and the janitor change the jobs, so no one iterates the original."""
        with self._lock:
            return dict(self._jobs)

    def running(self) -> list:
        with self._lock:
            jobs = list(self._jobs.values())
        return [job for job in jobs if not job.done]

    def choices(self) -> list[SessionModel]:
        """Every model that can be made active, the bundled one first."""
        with self._lock:
            mine = list(self.models.values())
        return bundled_entries() + mine

    def active(self) -> SessionModel | None:
        with self._lock:
            entry = self.models.get(self.active_key)
        if entry is not None:
            return entry
        shipped = {entry.key: entry for entry in bundled_entries()}
        return shipped.get(self.active_key) or shipped.get(bundled.DEFAULT_KEY) or next(iter(shipped.values()), None)

    def notify(self, key: str, **values) -> None:
        with self._lock:
            self._notices.append((key, values))

    def take_notices(self) -> list[tuple[str, dict]]:
        with self._lock:
            notices, self._notices = self._notices, []
        return notices

    # --- other threads ---------------------------------------------------------------------------

    def run_finished(self, key: str, name: str):
        """The callback a TrainingJob calls, on its own thread, with its TrainedRun."""
        def hand_over(outcome) -> None:
            with self._lock:
                if not self.released:
                    self._arrivals.append((key, name, outcome))
        return hand_over

    def release(self) -> None:
        """Give back everything: stop the jobs, drop the models (the session has ended)."""
        with self._lock:
            self.released = True
            running = [job for job in self._jobs.values() if not job.done]
            self.released_count = len(self.models) + len(self._arrivals) + len(running)
            for job in self._jobs.values():
                job.stop()
            for entry in self.models.values():
                entry.release()
            self.models.clear()
            self._jobs.clear()
            self._arrivals.clear()
            self.corrections, self.lesson_base, self.lesson, self.broken = [], None, None, None
            self.active_key = bundled.DEFAULT_KEY


def session_studio() -> Studio:
    """This session's studio. A session whose studio was released while it was away (its tab
    closed, then came back) starts afresh and is told so."""
    current = st.session_state.get("studio")
    if current is None or current.released:
        fresh = st.session_state["studio"] = Studio()
        if current is not None and current.released_count:
            fresh.notify("notice.released", count=current.released_count,
                         minutes=f"{lifecycle.RELEASE_AFTER_SECONDS / 60:g}")
        lifecycle.watch(fresh)
        current = fresh
    return current


def bundled_entry(key: str) -> SessionModel:
    return SessionModel(key, t(f"bundled.{key}"), "bundled", bundled.metadata(key))


def bundled_entries() -> list[SessionModel]:
    return [bundled_entry(key) for key in bundled.available()]


def loaded(entry: SessionModel):
    """(keras model, Predictor) for an entry, loading TensorFlow only now."""
    if entry.kind == "bundled":
        with st.spinner(t("model.loading")):
            return bundled.model(entry.key)
    model = entry.model
    if model is None:           # released by the janitor while this (closed) tab's page still ran
        st.stop()
    if entry.predictor is None:
        from mnist_core.predict import Predictor
        entry.predictor = Predictor(model, entry.metadata.get("withhold_below"))
    return model, entry.predictor


def evaluation_report(entry: SessionModel, data: MnistData):
    """The test-set evaluation of a model: once per bundled model per server, once per own model."""
    if entry.kind == "bundled":
        return bundled.report(entry.key)
    if entry.report is None:
        from mnist_core.evaluation import evaluate
        model, predictor = loaded(entry)
        entry.report = evaluate(model, data.x_test, data.y_test, predictor=predictor)
    return entry.report


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
