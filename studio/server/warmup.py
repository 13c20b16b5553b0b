"""Warm start: when the server starts, a background thread does what the first visitors would
otherwise wait for: import TensorFlow, read MNIST, load the bundled models and trace their
predictors, and build their neighbour indexes for the Inside view. Pages still work while it
runs (they compute what they need, once, through the same caches).

TensorFlow and Keras are imported once per process, by one thread: `import_keras()`. Two threads
importing them at once deadlock inside TensorFlow's import graph (`_DeadlockError` on one thread,
half-initialised modules on the other, and "Registering two gradient" on every later import: Train
broken until a restart). So the warm-up imports through it first, and a page that uses models
waits in it (streamlit_app.py) before any of its own imports.
"""

from __future__ import annotations

import os
import threading
import time

from streamlit.logger import get_logger

_log = get_logger(__name__)
_started = threading.Event()
done = threading.Event()      # set when everything is warm (for the bench and the tests)
_importing = threading.Lock()


def import_keras() -> None:
    """Import TensorFlow and Keras in this process, or wait while another thread does."""
    with _importing:
        import keras  # noqa: F401   (imports TensorFlow, its backend)
        import tensorflow  # noqa: F401


def settings_or_stop(at_launch: bool = False) -> None:
    """Stop the server, naming the setting, when the environment sets one out of range (a
    retention of 0 days would make the first sweep delete every saved run)."""
    try:
        from mnist_core.runstore import bounds  # noqa: F401   (reads and checks the settings)
    except ValueError as exc:
        message = f"MNIST Studio cannot start: {exc}"
        _log.error(message)
        if at_launch:
            raise SystemExit(message) from None
        import signal
        os.kill(os.getpid(), signal.SIGTERM)      # `streamlit run`: the server shuts down
        raise SystemExit(message) from None


def start_once(at_launch: bool = False) -> None:
    """Start the warm-up thread, once per server process: at launch (studio/serve.py), or else at
    the first visit to a server started with plain `streamlit run` (never in AppTest)."""
    from streamlit import config
    from streamlit.runtime import Runtime
    if _started.is_set() or os.environ.get("MNIST_STUDIO_WARM_START") == "0":
        return
    if not at_launch and (not Runtime.exists() or config.get_option("global.appTest")):
        return
    _started.set()
    from studio.store import opening
    opening.open_at_launch()      # off the page threads: a visitor never waits for its connect timeout
    threading.Thread(target=_warm, name="mnist-warm-up", daemon=True).start()


def _warm() -> None:
    started = time.perf_counter()
    try:
        import_keras()                 # before anything below imports it on this thread
        from studio.session import bundled, dataset
        from studio.predict import inside
        dataset.load()
        import numpy as np
        for key in bundled.available():
            _, predictor = bundled.model(key)
            predictor.predict_proba(np.zeros((1, 28, 28), np.float32))   # traced once, now
        if bundled.pen() is not None:
            bundled.pen().predict_proba([np.array([[0.0, 0.0], [1.0, 1.0]])])
        _log.info("warm-up: data and bundled models ready after %.1f s", time.perf_counter() - started)
        for key in bundled.available():      # the Inside view's indexes, the slow part
            inside.bundled_lookups(key)
        _log.info("warm-up: neighbour indexes ready after %.1f s", time.perf_counter() - started)
        from mnist_core.runs import corrections
        corrections.warm_up()          # the pen digits "Wrong? Teach it" replays and measures on
    except Exception as exc:        # a missing dataset offline: the pages explain it themselves
        # Whatever failed here, the pages still serve: each computes what it needs itself.
        _log.warning("warm-up stopped: %s: %s", type(exc).__name__, exc)
    finally:
        done.set()
