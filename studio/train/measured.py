"""What the presets reach, as the latest benchmark measured it, and when runs crossed 98/99/99.5 %.

The preset cards read docs/benchmarks.json (mnist_core.networks.presets.MEASURED, written by
bench/run.py, never typed); a finished run and the run history read the milestones its metadata
carries (mnist_core.runs.runspec.time_to).
"""

from __future__ import annotations

import statistics

import streamlit as st

from mnist_core.networks import presets
from studio.ui.i18n import t


@st.cache_data(show_spinner=False, ttl=600)
def _measured() -> dict:
    return presets.measured()


def measured_text(arch: str) -> str | None:
    """'Measured 2026-11-30 on 2 CPU cores, 3 seeds: 99.12 % (worst 99.02 %) after 13 s …', or None."""
    figures = _measured().get(arch)
    if not figures or not figures.get("test_accuracy"):
        return None
    accuracy, seconds = figures["test_accuracy"], figures["seconds"]
    text = t("presets.measured", when=figures["when"][:10], cores=figures.get("cpu_cores", "?"),
             seeds=len(accuracy), accuracy=f"{statistics.mean(accuracy):.2%}", worst=f"{min(accuracy):.2%}",
             seconds=f"{statistics.mean(seconds):.0f}")
    reached = [s for s in figures.get("time_to", {}).get("0.99", []) if s is not None]
    if reached:
        text += " " + t("presets.measured_99", seconds=f"{statistics.mean(reached):.0f}")
    return text


def milestone_columns(metadata: dict) -> dict:
    """{column title: seconds or None} for the run history: when validation first reached each."""
    return {t("presets.col_time_to", accuracy=f"{float(m):.1%}"): seconds
            for m, seconds in metadata.get("time_to", {}).items()}


def milestones_text(metadata: dict) -> str | None:
    """'Validation accuracy first reached 98.0 % after 4 s, 99.0 % after 9 s, 99.5 %: not reached.'"""
    crossed = metadata.get("time_to")
    if not crossed or not metadata.get("validation_split"):
        return None
    parts = [t("presets.reached", accuracy=f"{float(m):.1%}", seconds=f"{s:.0f}") if s is not None
             else t("presets.not_reached", accuracy=f"{float(m):.1%}") for m, s in crossed.items()]
    return t("presets.milestones", parts=", ".join(parts))
