"""Make Streamlit's script runner safe for models that live longer than one rerun.

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


def keep_keras_state_across_reruns() -> None:
    from streamlit.runtime.scriptrunner import script_runner
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError("Streamlit's script runner changed: review studio/runtime.py before "
                           "upgrading Streamlit (training on a thread depends on it).")
    current = script_runner._clean_problem_modules
    if current is not _clean_without_keras:
        _clean_without_keras.streamlit_original = current
        script_runner._clean_problem_modules = _clean_without_keras
