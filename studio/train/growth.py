"""Watching a network form, epoch by epoch (the Train page): the first layer's filters and a map of
a few test images after each epoch, as the training job reports them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from studio.ui import charts
from studio.ui.i18n import t

GROWTH_POINTS = 300     # test images on the training map: enough to see clusters form, cheap per epoch


def growth_ui(snapshot, labels: np.ndarray) -> None:
    """The first layer's filters and the map of GROWTH_POINTS test images after the latest epoch."""
    grown = next((p.growth for p in reversed(snapshot.epochs) if p.growth is not None), None)
    if grown is None:
        return
    filters, points = grown
    epoch = next(p.epoch for p in reversed(snapshot.epochs) if p.growth is not None)
    st.markdown("**" + t("train.growth", epoch=epoch) + "**")
    left, right = st.columns(2)
    if filters is not None:
        scale = max(1, min(8, 320 // max(charts.tiles(filters).shape)))
        left.image(charts.upscale((1 - charts.tiles(filters)) * 255, scale).astype(np.uint8),
                   caption=t("train.growth.filters", count=len(filters)),
                   alt=t("train.growth.filters", count=len(filters)))
    with right:
        frame = pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "digit": labels[:len(points)].astype(str)})
        charts.scatter(frame, height=260)
        st.caption(t("train.growth.map", count=len(points)))
