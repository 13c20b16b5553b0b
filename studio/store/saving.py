"""A finished run written to the store, once, for the learner who trained it."""

from __future__ import annotations

from streamlit.logger import get_logger

from mnist_core import runstore
from mnist_core.runstore import StoreError, bounds

from studio.session.models import Studio

from .identity import secret
from .opening import error_text, get_store, problem

_log = get_logger(__name__)


def saving(studio: Studio, number: int, key: str, name: str, hand_over):
    """Wrap a run's on_done: hand the run to the session first, then write it to the store once
    (on the training thread). Who the learner is, is read now, on the script thread."""
    browser_secret = secret()

    def done(outcome) -> None:
        hand_over(outcome)
        if studio.released:
            return
        store = get_store()
        if store is None:
            studio.notify("store.not_saved", name=name, detail=problem() or "")
            return
        try:
            from mnist_core import storage
            payload = storage.model_bytes(outcome.model, outcome.metadata)
            record = runstore.RunRecord.of(number, name, outcome.metadata, outcome.report,
                                           outcome.model.count_params(), payload)
            learner = store.learner(browser_secret, create=True)
            _, dropped = store.save_run(learner, record)
        except StoreError as exc:
            studio.notify("store.not_saved", name=name, detail=error_text(exc))
            return
        except Exception:    # noqa: BLE001 (on the training thread: the run itself is already handed over)
            _log.exception("a finished run could not be saved")
            studio.notify("store.not_saved", name=name, detail="")
            return
        entry = studio.model(key)
        if entry is not None and entry.file_bytes is None:
            entry.file_bytes = payload              # the download button needs no second save
        studio.notify("store.saved", name=name, days=f"{bounds.RETENTION_DAYS:g}")
        if dropped:
            studio.notify("store.dropped", count=dropped, limit=bounds.MAX_RUNS_PER_LEARNER)
    return done
