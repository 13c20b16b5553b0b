"""`--only cpu`: #19's server CPU per drawing on Predict, through Streamlit's protocol, and where it
goes (bench/server_cpu.py measures)."""

from __future__ import annotations

from bench.sections import data_dir
from bench.table import collector


def bench_cpu():
    """#19: the server's CPU per drawing on Predict, through Streamlit's protocol, and where it goes."""
    row, rows = collector()
    print("server CPU per drawing", flush=True)
    from bench import server_cpu
    result = server_cpu.measure(60, 10.0, data_dir())
    print("\n".join(server_cpu.report(result)), flush=True)
    row(f"Server CPU per drawing on Predict: {result['drawings']} drawings through Streamlit's protocol, "
        f"each rerunning Predict's fragment, idle subtracted (target ≤ {server_cpu.TARGET_MS:g} ms)",
        f"{result['fragment_ms']:.1f} ms", f"the same drawings rerunning the whole app: {result['whole_ms']:.1f} ms",
        result["fragment_ms"] <= server_cpu.TARGET_MS and not result["missing"])
    row("Where a drawing's server CPU goes (cProfile over every thread, the app's functions)",
        "; ".join(" ".join(line.split()) for line in result["profile"][2:6]),
        "own time, the top four (the full list is printed above the table)", None)
    return rows
