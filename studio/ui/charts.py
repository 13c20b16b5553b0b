"""One way to draw each kind of chart, used on every page.

Lines (training curves), bars (counts, probabilities), heatmaps (pixels, confusion matrix) are
Altair charts in the app's colours; digits are upscaled pixel images.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from .i18n import t

ACCENT = "#4f46e5"
MUTED = "#c7d2fe"


# Every field a chart shows is titled in the visitor's language: "chart.<field>" in the catalogues.
FIELDS = ("epoch", "loss", "accuracy", "value", "true", "predicted", "images", "row", "column", "pixel",
          "digit", "probability", "split", "run")


def title(field: str) -> str:
    return t(f"chart.{field}") if field in FIELDS else field


MAX_LINE_POINTS = 300   # per series: enough for a smooth curve, cheap to send twice a second


def line_chart(frame: pd.DataFrame, *, x: str, y: str, color: str | None = None,
               points: pd.DataFrame | None = None, y_title: str | None = None, height: int = 260,
               key: str | None = None):
    """Curves over steps or epochs; optional `points` (same columns) are drawn as dots on top.

    Written as a plain Vega-Lite spec rather than through Altair: the Train page redraws these
    charts twice a second while a model trains, and Altair's chart building cost ~100 ms of the
    GIL each time, taken from the training thread.
    """
    def values(data: pd.DataFrame) -> list:
        if color and len(data):
            data = pd.concat([_thin(group) for _, group in data.groupby(color, sort=False)])
        else:
            data = _thin(data)
        return data.to_dict("records")

    encoding = {"x": {"field": x, "type": "quantitative", "title": title(x)},
                "y": {"field": y, "type": "quantitative", "title": title(y_title or y),
                      "scale": {"zero": False}},
                "tooltip": [{"field": c, "title": title(c)} for c in frame.columns]}
    if color:
        encoding["color"] = {"field": color, "type": "nominal", "title": None,
                             "legend": {"orient": "bottom"}}
    layers = [{"data": {"values": values(frame)}, "mark": {"type": "line", "strokeWidth": 2},
               "encoding": encoding}]
    if points is not None and len(points):
        layers.append({"data": {"values": points.to_dict("records")},
                       "mark": {"type": "point", "filled": True, "size": 70}, "encoding": encoding})
    st.vega_lite_chart({"height": height, "layer": layers}, width="stretch", key=key)


def _thin(data: pd.DataFrame) -> pd.DataFrame:
    step = max(1, -(-len(data) // MAX_LINE_POINTS))
    return data.iloc[::step] if step > 1 else data


def bar_chart(frame: pd.DataFrame, *, x: str, y: str, highlight: str | None = None,
              color: str | None = None, height: int = 220, y_format: str | None = None):
    """Bars; `highlight` names a boolean column whose True bars get the accent colour."""
    if color:
        fill = alt.Color(color, title=None, legend=alt.Legend(orient="bottom"))
        offset = {"xOffset": alt.XOffset(color)}
    elif highlight:
        fill = alt.condition(alt.datum[highlight], alt.value(ACCENT), alt.value(MUTED))
        offset = {}
    else:
        fill, offset = alt.value(ACCENT), {}
    axis = alt.Axis(format=y_format) if y_format else alt.Axis()
    chart = alt.Chart(frame).mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3).encode(
        x=alt.X(f"{x}:O", title=title(x), axis=alt.Axis(labelAngle=0)),
        y=alt.Y(y, title=title(y), axis=axis), color=fill,
        tooltip=[alt.Tooltip(c, title=title(c)) for c in frame.columns], **offset)
    st.altair_chart(chart.properties(height=height), width="stretch")


def probabilities(values, guess: int, *, height: int = 200, key: str | None = None):
    """A model's ten probabilities as bars, its guess in the accent colour.

    A plain Vega-Lite spec, not Altair: Predict draws this on every drawing, and building it
    through Altair cost ~20 ms of server CPU each time (bench/run.py --only cpu).
    """
    rows = [{"digit": digit, "probability": float(p), "top": digit == guess} for digit, p in enumerate(values)]
    tooltip = [{"field": "digit", "title": title("digit")},
               {"field": "probability", "title": title("probability"), "format": ".1%"}]
    # The rows sit in the layer, not at the top: Streamlit turns top-level data into an Arrow table
    # (a data frame per drawing); inline rows travel in the JSON spec as they are.
    bars = {"data": {"values": rows},
            "mark": {"type": "bar", "cornerRadiusTopLeft": 3, "cornerRadiusTopRight": 3},
            "encoding": {"x": {"field": "digit", "type": "ordinal", "title": title("digit"),
                               "axis": {"labelAngle": 0}},
                         "y": {"field": "probability", "type": "quantitative", "title": title("probability"),
                               "axis": {"format": "%"}, "scale": {"domain": [0, 1]}},
                         "color": {"condition": {"test": "datum.top", "value": ACCENT}, "value": MUTED},
                         "tooltip": tooltip}}
    spec = {"height": height, "layer": [bars]}
    st.vega_lite_chart(spec, width="stretch", key=key)


def heatmap(matrix: np.ndarray, *, row: str, column: str, value: str, scheme: str = "purples",
            annotate: bool = True, height: int = 380, key: str | None = None,
            selectable: bool = False, reverse_colors: bool = False, linear: bool = False,
            row_labels: list[str] | None = None):
    """A matrix as coloured cells. With `selectable`, clicking a cell returns {row: r, column: c}.
    `row_labels` names the rows (e.g. runs on a class board) instead of numbering them."""
    rows, cols = np.indices(matrix.shape)
    frame = pd.DataFrame({row: rows.ravel(), column: cols.ravel(), value: matrix.ravel()})
    if row_labels is not None:
        frame[row] = [row_labels[i] for i in frame[row]]
    selection = alt.selection_point(fields=[row, column], name="cell", empty=False) if selectable else None
    base = alt.Chart(frame).encode(
        x=alt.X(f"{column}:O", title=title(column), axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y(f"{row}:O", title=title(row), sort=row_labels))
    scale = alt.Scale(scheme=scheme, type="linear" if linear else "sqrt", reverse=reverse_colors)
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, legend=None),
        tooltip=[alt.Tooltip(f, title=title(f)) for f in (row, column, value)])
    if selection is not None:
        cells = cells.add_params(selection).encode(
            stroke=alt.condition(selection, alt.value(ACCENT), alt.value(None)),
            strokeWidth=alt.value(3))
    layers = [cells]
    if annotate:
        # NaN cells (a digit nobody drew) stay empty; a NaN threshold would break the chart's expression.
        threshold = float(np.nanquantile(matrix, 0.9)) if np.isfinite(matrix).any() else 0
        layers.append(base.mark_text(fontSize=11).encode(
            text=alt.Text(f"{value}:Q"),
            color=alt.condition(alt.datum[value] > threshold, alt.value("white"), alt.value("#1e1b4b"))))
    chart = alt.layer(*layers).properties(height=height)
    if selectable:
        event = st.altair_chart(chart, width="stretch", key=key, on_select="rerun",
                                selection_mode="cell")
        picked = (event.selection.get("cell") or []) if event else []
        return picked[0] if picked else None
    st.altair_chart(chart, width="stretch", key=key)
    return None


def scatter(frame: pd.DataFrame, *, here: tuple[float, float] | None = None, key: str | None = None,
            height: int = 380, selectable: bool = False) -> int | None:
    """Points (columns x, y, digit, index) coloured by digit, and a star where `here` is. With
    `selectable`, returns the `index` of a point the visitor clicked, else None."""
    dots = {"data": {"values": frame.to_dict("records")}, "mark": {"type": "circle", "size": 18, "opacity": 0.6},
            "encoding": {"x": {"field": "x", "type": "quantitative", "axis": None},
                         "y": {"field": "y", "type": "quantitative", "axis": None},
                         "color": {"field": "digit", "type": "nominal", "title": title("digit"),
                                   "scale": {"scheme": "tableau10"}},
                         "tooltip": [{"field": "digit", "title": title("digit")}]}}
    layers = [dots]
    if here is not None:
        layers.append({"data": {"values": [{"x": here[0], "y": here[1]}]},
                       "mark": {"type": "point", "shape": "diamond", "size": 400, "filled": True,
                                "color": "#111827", "stroke": "white", "strokeWidth": 2},
                       "encoding": {"x": {"field": "x", "type": "quantitative"},
                                    "y": {"field": "y", "type": "quantitative"}}})
    spec = {"height": height, "layer": layers}
    if not selectable:
        st.vega_lite_chart(spec, width="stretch", key=key)
        return None
    dots["mark"]["cursor"] = "pointer"
    dots["params"] = [{"name": "picked", "select": {"type": "point", "fields": ["index"]}}]
    event = st.vega_lite_chart(spec, width="stretch", key=key, on_select="rerun", selection_mode="picked")
    picked = (event or {}).get("selection", {}).get("picked") or []
    return int(picked[0]["index"]) if picked and "index" in picked[0] else None


def digit(image: np.ndarray, scale: int = 8) -> np.ndarray:
    """A digit (float 0..1 or uint8) upscaled with hard pixel edges, as uint8 for st.image."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def digit_alt(label, said=None) -> str:
    """What a picture of a digit says to a screen reader: which digit, and what the model read."""
    return t("alt.digit", digit=label) if said is None else t("alt.digit_read", digit=label, said=said)


def digit_row(images, captions, alts, *, scale: int = 3, width: int | None = None):
    """Several digits side by side, each with a caption and its alternative text (digit_alt)."""
    if len(images) == 0:
        st.caption(t("charts.no_images"))
        return
    st.image([digit(image, scale) for image in images], caption=[str(c) for c in captions],
             width=width or 28 * scale, alt=list(alts))


def normalised(array: np.ndarray) -> np.ndarray:
    low, high = float(array.min()), float(array.max())
    return (array - low) / (high - low) if high > low else np.zeros_like(array, dtype=np.float32)


def tiles(maps: np.ndarray, columns: int = 8, gap: int = 1) -> np.ndarray:
    """(n, h, w) maps, each scaled to 0..1, in one grid image."""
    count, height, width = maps.shape
    rows = -(-count // columns)
    grid = np.ones((rows * (height + gap), columns * (width + gap)), np.float32)
    for index, feature in enumerate(maps):
        row, column = divmod(index, columns)
        grid[row * (height + gap):row * (height + gap) + height,
             column * (width + gap):column * (width + gap) + width] = normalised(feature)
    return grid


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
