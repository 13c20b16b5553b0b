"""What the run store holds and costs (issue #20): a class of learners at the bound, on both back ends.

    python bench/store_capacity.py [--learners 30] [--runs 20]

Fills a fresh SQLite file and a throw-away PostgreSQL cluster (tests/pgcluster.py) with `learners`
learners at the per-learner bound of runs, alternating the two bundled models' files (the tutorial's
dense network and the best CNN, as a finished run stores them), publishes one run each to a class,
and prints rows, bytes on disk and the median time of the operations the pages use.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mnist_core.runstore import RunRecord, RunStore, bounds, database_url, new_secret  # noqa: E402
from tests.pgcluster import Cluster  # noqa: E402

MODELS = {"dense": ROOT / "models" / "tutorial.keras", "cnn_best": ROOT / "models" / "default.keras"}


def record(number: int) -> RunRecord:
    arch = "dense" if number % 2 else "cnn_best"
    history = {"accuracy": [0.9 + i / 100 for i in range(5)], "loss": [0.3 - i / 50 for i in range(5)]}
    confusion = [[980 if i == j else 2 for j in range(10)] for i in range(10)]
    return RunRecord(number, f"run {number} · {arch}", arch, 407_050, 0.98, 15.0,
                     {"metadata": {"arch": arch, "history": history}, "confusion": confusion,
                      "per_digit": {"recall": [0.98] * 10}}, MODELS[arch].read_bytes())


def median_ms(work, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(store: RunStore, learners: int, runs: int, size_on_disk) -> dict:
    save_times, ids = [], []
    code, _key = store.create_class(None, "Capacity")
    for _ in range(learners):
        learner = store.learner(new_secret())
        for number in range(1, runs + 1):
            started = time.perf_counter()
            run_id, _ = store.save_run(learner, record(number))
            save_times.append((time.perf_counter() - started) * 1000)
        store.publish(learner, run_id, code, f"Learner {learner}")
        ids.append((learner, run_id))
    learner, run_id = ids[0]
    store.run_model(learner, run_id)         # TensorFlow imported before timing the loader
    return {"counts": store.counts(), "disk": size_on_disk(), "save": statistics.median(save_times),
            "list": median_ms(lambda: store.runs(learner)), "board": median_ms(lambda: store.board(code)),
            "load": median_ms(lambda: store.run_model(learner, run_id), repeat=5),
            "sweep": median_ms(store.sweep, repeat=3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--runs", type=int, default=bounds.MAX_RUNS_PER_LEARNER)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.sqlite3"
        store = RunStore(f"sqlite:///{path}")
        results["SQLite"] = measure(store, args.learners, args.runs, lambda: sum(
            p.stat().st_size for p in Path(folder).glob("store.sqlite3*")))
        store.close()
    with Cluster() as cluster:
        store = RunStore(database_url({"DATABASE_URL": cluster.new_database()}, Path(".")))
        import sqlalchemy as sa

        def pg_size():
            with store.engine.connect() as connection:
                return connection.execute(sa.select(sa.func.pg_database_size(sa.func.current_database()))).scalar()
        results["PostgreSQL 15"] = measure(store, args.learners, args.runs, pg_size)
        store.close()
    print(f"Run store capacity: {args.learners} learners x {args.runs} runs (dense and best CNN files "
          f"alternating), one class with one run each\n")
    print("| back end | rows: learners / runs / classes / entries | model bytes | on disk | per run on disk "
          "| save a run | list a learner's runs | board of the class | a model back through the loader "
          "| janitor sweep |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        c = r["counts"]
        print(f"| {name} | {c['learners']} / {c['runs']:,} / {c['classes']} / {c['entries']} "
              f"| {c['model_bytes'] / 2**20:,.0f} MiB | {r['disk'] / 2**20:,.0f} MiB "
              f"| {r['disk'] / c['runs'] / 2**20:.2f} MiB | {r['save']:.1f} ms | {r['list']:.1f} ms "
              f"| {r['board']:.1f} ms | {r['load']:.0f} ms | {r['sweep']:.1f} ms |")


if __name__ == "__main__":
    main()
