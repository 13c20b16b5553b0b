"""The take-home notebook: generated from the run's settings, executed in a real Jupyter kernel."""

import json

import nbformat
import pytest

from .conftest import ROOT
from .test_app import open_page, start_tiny_run, wait_for

ZH = json.loads((ROOT / "studio" / "ui" / "locales" / "zh.json").read_text("utf-8"))

# The notebook loads MNIST with keras.datasets, as a learner at home does. Offline here, a first
# cell (added by the test only) makes load_data read the same files from MNIST_DATA.
OFFLINE_DATA = """
import keras
from mnist_core.data import load_mnist
_data = load_mnist()
keras.datasets.mnist.load_data = lambda: ((_data.x_train, _data.y_train), (_data.x_test, _data.y_test))
"""


@pytest.fixture(autouse=True)
def _data_env(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))


def test_notebook_runs_in_a_kernel_and_reproduces_the_run(mnist_path):
    pytest.importorskip("nbclient")
    from nbclient import NotebookClient

    from studio.train.notebook import notebook_bytes
    payload = notebook_bytes("run 1 · dense", "dense", {"hidden_units": 64}, epochs=1, batch_size=128,
                             validation_split=0.1, seed=3)
    notebook = nbformat.reads(payload.decode(), as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].cell_type == "markdown" and "seed 3" in notebook.cells[0].source
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "keras.utils.set_random_seed(3)" in code and "layers.Dense(64" in code
    assert "epochs=1, batch_size=128, validation_split=0.1" in code
    notebook.cells.insert(0, nbformat.v4.new_code_cell(OFFLINE_DATA))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = "\n".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                        for out in cell.get("outputs", []))
    assert "test accuracy: 0.9" in outputs
    assert "test image 1 is a 2 - the label says 2" in outputs


def test_notebook_headings_follow_the_language():
    from studio.ui import i18n
    from studio.train.notebook import notebook_bytes
    import streamlit as st
    st.session_state[i18n.STATE_KEY] = "zh"
    try:
        notebook = nbformat.reads(notebook_bytes("x", "cnn_best", {}, epochs=15, batch_size=128,
                                                 validation_split=0.0, seed=0).decode(), as_version=4)
    finally:
        st.session_state[i18n.STATE_KEY] = "en"
    headings = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    assert "## " + ZH["notebook.fit"] in headings and "## " + ZH["notebook.network"] in headings
    assert any("CosineDecay" in c.source for c in notebook.cells if c.cell_type == "code")


def test_a_finished_run_offers_its_notebook():
    at = open_page("train")
    start_tiny_run(at)
    assert wait_for(at, lambda a: any("finished" in s.value for s in a.success))
    buttons = {b.label for b in at.get("download_button")}
    assert "Download as a notebook (.ipynb)" in buttons and "Download this model (.keras)" in buttons
