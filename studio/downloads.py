"""Figures for a teacher's slides: one PNG and one SVG button under a chart, drawn on request."""

from __future__ import annotations

import streamlit as st

from . import figures
from .i18n import t


def download_figure_ui(make_figure, name: str) -> None:
    """Two download buttons for the matplotlib figure `make_figure()` draws (only when asked)."""
    with st.popover(t("figure.download"), icon=":material/download:"):
        figure = make_figure()
        for kind in ("png", "svg"):
            st.download_button(kind.upper(), figures.as_file(figure, kind), file_name=f"{name}.{kind}",
                               mime="image/png" if kind == "png" else "image/svg+xml",
                               key=f"download-{name}-{kind}")
