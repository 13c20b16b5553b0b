"""A finished run written to the store, once, for the learner who trained it, by one writer.

A run's on_done is called once per learner after the training slot is released (a shared run:
once for each learner who watched it); it only hands the run to the session and queues it. The writer thread then serializes the model, checks
that the store could read it back (the upload loader's allow-list and budget, without building
it), and writes it: an unreachable PostgreSQL (5 s connect timeout) or a busy SQLite (30 s) never
holds the slot. After a write fails because the database is down, the breaker stays open for
BREAKER_SECONDS: runs finishing meanwhile are told at once that they are not saved, and why.
Who the learner is, and the visitor's language, are read on the script thread when the run starts;
a learner who pressed Forget me meanwhile is not brought back (identity.was_forgotten).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from streamlit.logger import get_logger

from mnist_core import runstore
from mnist_core.runstore import StoreError, bounds

from studio.session.models import Studio
from studio.ui.i18n import catalogue, language

from . import opening
from .identity import secret, was_forgotten

BREAKER_SECONDS = 30          # after the database was found down, writes wait this long to try again
QUEUE_LIMIT = 64              # runs waiting for the writer; beyond it a run is not saved, and says so
_log = get_logger(__name__)


@dataclass
class _Save:
    studio: Studio
    number: int
    key: str
    name: str
    secret: str
    language: str
    outcome: object

    def not_saved(self, detail: str) -> None:
        self.studio.notify("store.not_saved", name=self.name, detail=detail)


class Writer:
    """One thread that writes finished runs in the order they finished."""

    def __init__(self, get_store=lambda: opening.get_store(), clock=time.monotonic):
        self.get_store, self.clock = get_store, clock
        self.jobs: queue.Queue = queue.Queue(QUEUE_LIMIT)
        self.broken_until, self.broken_why = 0.0, "unreachable"
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, job: _Save) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="mnist-store-writer", daemon=True)
                self._thread.start()
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            job.not_saved(_translate(job, "store.busy"))

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                self.write(job)
            except Exception:    # noqa: BLE001 (the run itself is already in the session)
                _log.exception("a finished run could not be saved")
                job.not_saved(_translate(job, "store.down.internal"))
            finally:
                del job                # the run's model must not outlive its session here
                self.jobs.task_done()

    def write(self, job: _Save) -> None:
        studio, outcome = job.studio, job.outcome
        if studio.released or was_forgotten(job.secret):
            return
        if self.clock() < self.broken_until:
            job.not_saved(_translate(job, f"store.down.{self.broken_why}"))
            return
        store = self.get_store()
        if store is None:
            job.not_saved(_translate(job, opening.problem_key() or "store.down.unreachable"))
            return
        from mnist_core import storage
        payload = storage.model_bytes(outcome.model, outcome.metadata)
        try:
            storage.check_readable(payload)         # what the store could not give back is not kept
        except storage.ModelFileError as exc:
            job.not_saved(_translate(job, f"model_file.{exc.code}", **exc.values))
            return
        record = runstore.RunRecord.of(job.number, job.name, outcome.metadata, outcome.report,
                                       outcome.model.count_params(), payload)
        try:
            learner = store.learner(job.secret, create=not was_forgotten(job.secret))
            if learner is None or was_forgotten(job.secret):
                return
            _, dropped = store.save_run(learner, record)
        except StoreError as exc:
            if exc.code == "unavailable":
                self.broken_why = opening.reason(str(exc.values.get("detail", "")))
                self.broken_until = self.clock() + BREAKER_SECONDS
            values = dict(exc.values)
            if "detail" in values:
                values["detail"] = _translate(job, f"store.down.{opening.reason(str(values['detail']))}")
            job.not_saved(_translate(job, f"store.error.{exc.code}", **values))
            return
        self.broken_until = 0.0
        entry = studio.model(job.key)
        if entry is not None and entry.file_bytes is None:
            entry.file_bytes = payload              # the download button needs no second save
        studio.notify("store.saved", name=job.name, days=f"{bounds.RETENTION_DAYS:g}")
        if dropped:
            studio.notify("store.dropped", count=dropped, limit=bounds.MAX_RUNS_PER_LEARNER)


def _translate(job: _Save, key: str, **values) -> str:
    """`key` in the language of the learner who started the run (the writer has no session)."""
    text = catalogue(job.language).get(key) or catalogue("en")[key]
    return text.format(**values) if values else text


WRITER = Writer()


def saving(studio: Studio, number: int, key: str, name: str, hand_over):
    """Wrap a run's on_done: hand the run to the session, then queue it for the writer."""
    job = dict(studio=studio, number=number, key=key, name=name, secret=secret(), language=language())

    def done(outcome) -> None:
        hand_over(outcome)
        if not studio.released:
            WRITER.put(_Save(outcome=outcome, **job))
    return done
