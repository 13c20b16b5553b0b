"""Downloads: figures for a teacher's slides (PNG and SVG, drawn on request), and a run as a
`.keras` file or a notebook."""

from __future__ import annotations

import streamlit as st

from studio.ui import figures
from studio.session.models import loaded
from studio.ui.i18n import t


def download_figure_ui(make_figure, name: str) -> None:
    """Two download buttons for the matplotlib figure `make_figure()` draws (only when asked)."""
    with st.popover(t("figure.download"), icon=":material/download:"):
        figure = make_figure()
        for kind in ("png", "svg"):
            st.download_button(kind.upper(), figures.as_file(figure, kind), file_name=f"{name}.{kind}",
                               mime="image/png" if kind == "png" else "image/svg+xml",
                               key=f"download-{name}-{kind}")


def run_download_ui(entry) -> None:
    """A run or upload as `.keras`, and a run of ours as the notebook of its Keras script."""
    from mnist_core.networks import presets
    from mnist_core import storage
    if entry.file_bytes is None:
        model, _ = loaded(entry)
        entry.file_bytes = storage.model_bytes(model, entry.metadata)
    left, right = st.columns(2)
    left.download_button(t("train.download"), entry.file_bytes, file_name=f"mnist-{entry.key}.keras",
                         mime="application/zip", icon=":material/download:")
    meta = entry.metadata
    if meta.get("arch") in presets.ARCHITECTURES:      # a run of ours (an upload has no recipe)
        from studio.train.notebook import notebook_bytes
        right.download_button(t("train.download_notebook"), notebook_bytes(
            entry.name, meta["arch"], meta.get("hparams", {}), epochs=meta["epochs"],
            batch_size=meta["batch_size"], validation_split=meta.get("validation_split", 0.0),
            seed=meta.get("seed")), file_name=f"mnist-{entry.key}.ipynb",
            mime="application/x-ipynb+json", icon=":material/description:")
