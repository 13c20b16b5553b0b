"""`--only memory`: memory that comes back after sessions train, draw, look inside and leave
(bench/memory.py drives the server and the browsers)."""

from __future__ import annotations

from bench.table import collector


def bench_memory():
    row, rows = collector()
    print("memory that comes back", flush=True)
    from bench import memory
    readings, idle = memory.measure(6)
    growth = readings[-1] - readings[0]
    row(f"Memory comes back: 6 sessions each train one dense epoch, draw on Predict, open every "
        f"Inside view and Break it, and close "
        f"(target: within +{memory.TARGET_MIB} MiB of the server after the first)",
        f"+{growth:.0f} MiB ({readings[0]:.0f} → {readings[-1]:.0f} MiB)",
        f"after each session: {', '.join(f'{r:.0f}' for r in readings)} MiB; idle before any: "
        f"{idle:.0f} MiB", growth <= memory.TARGET_MIB)
    return rows
