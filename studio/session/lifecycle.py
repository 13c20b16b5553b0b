"""Sessions that end: their studios are released, by one watcher for the whole server.

Streamlit keeps a closed tab's session_state for a while (for reconnects) and frees it lazily; a
trained model and its TensorFlow functions are far too big to wait for that. A janitor thread
checks every ABSENCE_CHECK_SECONDS which browser sessions are connected, and releases the studio
of each one that has been gone for RELEASE_AFTER_SECONDS: its models are dropped and its runs
stopped (a queued run leaves the queue). A network blip that reconnects within that time keeps all.
This is the only absence timer: training jobs have no watcher of their own.
"""

from __future__ import annotations

import os
import threading
import time

from streamlit.logger import get_logger

from studio.server.runtime import give_memory_back

RELEASE_AFTER_SECONDS = float(os.environ.get("MNIST_STUDIO_RELEASE_AFTER_SECONDS", 60))
ABSENCE_CHECK_SECONDS = 10        # how often the session janitor looks for closed tabs

_log = get_logger(__name__)    # Streamlit's logger: shown at the server's log level (info)
_watched: dict[str, object] = {}       # session id -> its Studio
_watched_lock = threading.Lock()
_janitor: threading.Thread | None = None


def _session_id() -> str | None:
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None and Runtime.exists() else None


def watch(studio) -> None:
    """Release `studio` once this page's browser session has gone (no-op without a server)."""
    global _janitor
    session_id = _session_id()
    if session_id is None:         # AppTest or a bare script: no server, no other sessions
        return
    with _watched_lock:
        _watched[session_id] = studio
        if _janitor is None:
            _janitor = threading.Thread(target=_janitor_loop, name="mnist-session-janitor", daemon=True)
            _janitor.start()


def _janitor_loop() -> None:
    from streamlit.runtime import Runtime
    absent_since: dict[str, float] = {}
    while True:
        time.sleep(ABSENCE_CHECK_SECONDS)
        if Runtime.exists():
            release_absent_sessions(Runtime.instance().is_active_session, absent_since)


def release_absent_sessions(is_active, absent_since: dict, now: float | None = None) -> int:
    """Release the studios of sessions absent for RELEASE_AFTER_SECONDS; how many were released."""
    now = time.monotonic() if now is None else now
    released = []
    with _watched_lock:
        for session_id, studio in list(_watched.items()):
            if is_active(session_id):
                absent_since.pop(session_id, None)
            elif now - absent_since.setdefault(session_id, now) >= RELEASE_AFTER_SECONDS:
                released.append(_watched.pop(session_id))
                absent_since.pop(session_id, None)
        still_open = len(_watched)
    for studio in released:
        studio.release()
    if released:
        give_memory_back()
        _log.info("released the models of %d closed session(s); %d still open", len(released), still_open)
    return len(released)
