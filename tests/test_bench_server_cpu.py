"""The per-drawing server CPU benchmark (bench/server_cpu.py) runs and reports: its structure, not
its figures (the target lives in the benchmark, never in a timed test)."""

import math

from bench import server_cpu

def test_the_cpu_benchmark_runs_and_reports(mnist_path):
    result = server_cpu.measure(count=4, idle_s=1.0, mnist=mnist_path, profile_count=2, warm=False)
    assert result["missing"] == 0 and result["wrong"] == 0        # every drawing was answered, rightly
    for key in ("fragment_ms", "whole_ms", "idle_rate"):
        assert math.isfinite(result[key]), key
    assert result["fragment_ms"] > 0 and result["whole_ms"] > 0   # a drawing costs the server something
    lines = server_cpu.report(result)
    assert any("reruns Predict's fragment" in line and "target <= 20 ms" in line for line in lines)
    assert any("drawing_ui" in line for line in result["profile"])   # the profile names the page's work
