"""Looking at a model: its layers as a table (like model.summary()) and as a graph."""

from __future__ import annotations

import keras


def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape, parameter count (like model.summary())."""
    return [{"layer": layer.name, "type": type(layer).__name__,
             "output shape": str(tuple(layer.output.shape)),
             "parameters": int(layer.count_params())}
            for layer in model.layers]


def graph_dot(model: keras.Model) -> str:
    """The model as a Graphviz DOT graph, drawn by the browser (no Graphviz binary needed)."""
    lines = ['digraph model {', '  rankdir=TB; node [shape=box, style="rounded,filled", '
             'fillcolor="#eef2ff", color="#4f46e5", fontname="Helvetica"];',
             f'  input [label="input\\n{tuple(model.input_shape[1:])}", fillcolor="#f1f5f9"];']
    previous = "input"
    for index, layer in enumerate(model.layers):
        label = f"{type(layer).__name__}\\n{tuple(layer.output.shape[1:])}"
        if layer.count_params():
            label += f"\\n{layer.count_params():,} params"
        lines.append(f'  l{index} [label="{label}"];')
        lines.append(f"  {previous} -> l{index};")
        previous = f"l{index}"
    lines.append("}")
    return "\n".join(lines)
