"""The server process, set up for models: keep Keras across reruns, and a heap that shrinks.

Heap: glibc gives each new thread that allocates its own malloc arena (up to 8 per core), and
TensorFlow's thread pools plus one thread per training run spread a run's tensors over many of
them; freed memory then stays in those arenas. Measured here, a plain loop that trains the dense
network for one epoch and drops it grew the process by ~55 MiB a run for five runs with the
default, and by ~6 MiB a run with two arenas, at the same training speed. `limit_heap_arenas`
sets that limit (M_ARENA_MAX) for every arena created after it; MALLOC_ARENA_MAX=2 in the
environment does the same from the start.

Keras:
After every script run, fragment reruns included, Streamlit calls `keras.backend.clear_session()`
(streamlit/runtime/scriptrunner/script_runner.py, `_clean_problem_modules`). That rebinds Keras'
global state for every thread, clears TensorFlow's kernel cache and runs a full garbage
collection: with a training job building and fitting a model on its own thread, and the Train page
polling twice a second, it broke layer naming mid-build ("Name 'dense' is already the name of a
layer") and slowed training to a crawl. MNIST Studio keeps its models on purpose (in the session or
the shared cache), so there is nothing per-rerun to clear: keep Streamlit's other clean-up and skip
the Keras part.
"""

from __future__ import annotations

import sys


def _clean_without_keras() -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


_clean_without_keras.keeps_keras = True


M_ARENA_MAX = -8    # glibc's mallopt parameter number


def limit_heap_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (True if set; elsewhere, e.g. macOS or musl, nothing to do)."""
    import ctypes
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def give_memory_back() -> None:
    """Collect released models' reference cycles and hand freed heap pages back to the OS."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc (macOS, Windows): the allocator keeps them
        pass


def keep_keras_state_across_reruns() -> None:
    from streamlit.runtime.scriptrunner import script_runner
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError("Streamlit's script runner changed: review studio/server/runtime.py before "
                           "upgrading Streamlit (training on a thread depends on it).")
    current = script_runner._clean_problem_modules
    if current is not _clean_without_keras:
        _clean_without_keras.streamlit_original = current
        script_runner._clean_problem_modules = _clean_without_keras
