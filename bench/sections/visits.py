"""`--only visits`: #19's first visits in Chromium against a bare Streamlit page, same run
(bench/first_visit.py measures)."""

from __future__ import annotations

from bench.sections import data_dir
from bench.table import collector


def bench_visits(repeats=5):
    """#19: first visits in Chromium against a bare Streamlit page, same run."""
    row, rows = collector()
    print("first visits", flush=True)
    from bench import first_visit
    medians = first_visit.measure(repeats, data_dir())
    print("\n".join(first_visit.report(medians, repeats)), flush=True)
    bare = medians["bare page"]
    for name in first_visit.PAGES:
        ratio = medians[name] / bare
        row(f"First visit to {name}: navigation → its title, Chromium, cold cache, median of {repeats} "
            f"(target ≤ {first_visit.TARGET_RATIO:g}× a bare page)", f"{medians[name]:.2f} s",
            f"bare one-line page: {bare:.2f} s → **{ratio:.2f}×**", ratio <= first_visit.TARGET_RATIO)
    return rows
