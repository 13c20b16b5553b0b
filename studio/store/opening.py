"""The run store, one per server process: opened at launch off the page threads (open_at_launch,
from the warm-up), tried again after a failure, and its janitor that sweeps out what is older than
the retention period. A visitor who arrives while it opens waits a moment for it (restoring), or is
told that it is opening: never that it is unavailable without a reason.

Without a store (a damaged file, an unreachable server), pages say why and everything else works.
"""

from __future__ import annotations

import threading
import time

from streamlit.logger import get_logger

from mnist_core import runstore
from mnist_core.runstore import StoreError, bounds

from studio.ui.i18n import t

RETRY_SECONDS = 30          # after the store failed to open, try again at most this often
_log = get_logger(__name__)

_store: runstore.RunStore | None = None
_failure: tuple[float, str] | None = None
_opening = False
_lock = threading.Lock()
_settled = threading.Event()      # set once an attempt to open has ended (opened or failed)


def open_at_launch() -> None:
    """Open the store on a thread of its own, now (the server's warm-up calls this)."""
    global _opening
    with _lock:
        if _store is not None or _opening or _failure is not None:
            return
        _opening = True
    threading.Thread(target=_open, name="mnist-store-open", daemon=True).start()


def get_store(wait: float = 0.0) -> runstore.RunStore | None:
    """The process's store, or None while it can't be opened (the reason: problem()).

    The first attempt is made at once, unless open_at_launch began it (then this waits up to
    `wait` seconds for it); after a failure, a retry at most every RETRY_SECONDS runs on a thread
    of its own, so no page waits for an unreachable server's connect timeout."""
    global _opening
    if _opening and wait > 0:
        _settled.wait(wait)
    with _lock:
        if _store is not None or _opening:
            return _store
        first = _failure is None
        if not first and time.monotonic() - _failure[0] < RETRY_SECONDS:
            return None
        _opening = True
    if first:
        _open()
    else:
        threading.Thread(target=_open, name="mnist-store-open", daemon=True).start()
    return _store


def _open() -> None:
    global _store, _failure, _opening
    try:
        store = runstore.open_store()
    except StoreError as exc:
        _log.warning("run store unavailable: %s", exc)
        with _lock:
            _failure, _opening = (time.monotonic(), reason(str(exc.values.get("detail", exc)))), False
        _settled.set()
        return
    with _lock:
        _store, _failure, _opening = store, None, False
    _settled.set()
    threading.Thread(target=_janitor, args=(store,), name="mnist-store-janitor", daemon=True).start()


def reason(detail: str) -> str:
    """Why the store failed, as a code: the driver's own words (English, perhaps a host and an
    address) go to the log, never to a page."""
    lowered = detail.lower()
    return "damaged" if any(word in lowered for word in ("not a database", "malformed", "corrupt")) else "unreachable"


def problem_key() -> str | None:
    """Why the store is not open, as a catalogue key (None while it is open)."""
    if _store is not None:
        return None
    return f"store.down.{_failure[1]}" if _failure else "store.down.opening"


def problem() -> str | None:
    """Why the store is not open, in the visitor's language (None while it is)."""
    key = problem_key()
    return t(key) if key else None


def unavailable_text() -> str:
    """What a page says when get_store() gave it nothing: still opening (runs will be saved), or
    unavailable with the reason; never an empty reason (the store may have opened meanwhile)."""
    key = problem_key() or "store.down.opening"
    return t("store.opening") if key == "store.down.opening" else t("store.unavailable", detail=t(key))


def _janitor(store: runstore.RunStore) -> None:
    """Remove what is older than the retention period, now and every SWEEP_EVERY_SECONDS."""
    while True:
        try:
            removed = store.sweep()
            if any(removed.values()):
                _log.info("run store janitor removed %s", removed)
        except StoreError as exc:
            _log.warning("run store janitor: %s", exc)
        time.sleep(bounds.SWEEP_EVERY_SECONDS)


def error_text(exc: StoreError) -> str:
    values = dict(exc.values)
    if "detail" in values:
        values["detail"] = t(f"store.down.{reason(str(values['detail']))}")
    return t(f"store.error.{exc.code}", **values)
