"""What refusing a hostile model file costs the server: the files of issue #18, and memory measured.

    python bench/hostile_models.py          # builds the files, refuses each, prints a table

Each file passed every check the loader had before the cost budget (mnist_core/modelfile/cost.py):
a Dense layer of 64,000 units whose weights don't match (Keras built it before failing: +607 MiB),
ZeroPadding2D(300) before a global pooling (3 GiB when evaluated in chunks of 2,048), a 143 MiB
config.json of zeros in a 143 KiB zip (10.6 s and 595 MiB to parse), and a deep stack of
zero-weight convolutions (minutes of a shared inference slot). Each is now refused; this measures
how much the refusing process's resident memory grows while it refuses (its peak, VmHWM, reset
just before the call), in a fresh process that has already loaded a real model once, so the
one-time cost of importing Keras is not counted. tests/test_upload_budget.py holds the same
files to < 50 MiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MIB = 50
DEEP_STACK = 40          # 3x3 convolutions of 32 filters: 0.37 M parameters, 0.22 G multiply-adds an image


def build(workdir: Path) -> dict[str, Path]:
    """The hostile files of issue #18, by name (each made the way the issue describes)."""
    import keras
    import numpy as np
    layers = keras.layers
    workdir.mkdir(parents=True, exist_ok=True)
    files = {}

    small = keras.Sequential([keras.Input((784,)), layers.Dense(16, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    files["Dense(units=64000), weights of 16"] = _rewrite_config(
        _saved(small, workdir / "wide.keras"),
        lambda config: config["config"]["layers"][1]["config"].update(units=64000))

    padded = keras.Sequential([keras.Input((28, 28, 1)), layers.ZeroPadding2D(300),
                               layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    files["ZeroPadding2D(300) -> GlobalAveragePooling2D -> Dense"] = _saved(padded, workdir / "padded.keras")

    zeros = workdir / "zeros-config.keras"           # 143 MiB of "0" compress to ~143 KiB
    with zipfile.ZipFile(_saved(small, workdir / "base.keras")) as base, \
            zipfile.ZipFile(zeros, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in base.namelist():
            archive.writestr(name, b"0" * (143 * 2**20) if name == "config.json" else base.read(name))
    files["143 MiB config.json of zeros in a 143 KiB zip"] = zeros

    deep = keras.Sequential([keras.Input((28, 28, 1))] +
                            [layers.Conv2D(32, 3, padding="same", activation="relu") for _ in range(DEEP_STACK)] +
                            [layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    deep.set_weights([np.zeros_like(w) for w in deep.get_weights()])
    files[f"{DEEP_STACK} zero-weight Conv2D(32, 3) layers"] = _saved(deep, workdir / "deep.keras")
    return files


def _saved(model, path: Path) -> Path:
    model.save(path)
    return path


def _rewrite_config(path: Path, change) -> Path:
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    change(config)
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return path


# The measuring child: load a real model once (imports and Keras' first build), then per file:
# reset the peak, refuse it, read the peak.
CHILD = r"""
import json, sys, time
from pathlib import Path
from mnist_core import storage

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(l.split()[1]) / 1024 for l in lines if l.startswith(field + ":"))

storage.load_model(Path("models/tutorial.keras"))
results = []
for path in sys.argv[1:]:
    payload = Path(path).read_bytes()
    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")                       # VmHWM := VmRSS
    started = time.perf_counter()
    try:
        storage.load_upload(payload)
        code, values = None, {}
    except storage.ModelFileError as exc:
        code, values = exc.code, exc.values
    results.append({"path": path, "code": code, "values": values, "seconds": time.perf_counter() - started,
                    "rss_before": before, "peak_growth": status("VmHWM") - before})
print(json.dumps(results))
"""


def refusal_memory(paths: list[Path]) -> list[dict]:
    """Per file: its refusal code and values, seconds, and the peak RSS growth (MiB) refusing it."""
    output = subprocess.run([sys.executable, "-c", CHILD, *map(str, paths)], cwd=ROOT, check=True,
                            capture_output=True, text=True, timeout=600).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    import tempfile
    with tempfile.TemporaryDirectory() as workdir:
        files = build(Path(workdir))
        results = refusal_memory(list(files.values()))
        print("\n| hostile file | size | refused as | time | peak RSS growth (target < 50 MiB) | verdict |")
        print("| --- | --- | --- | --- | --- | --- |")
        worst = 0.0
        for (name, path), result in zip(files.items(), results):
            worst = max(worst, result["peak_growth"])
            ok = result["code"] is not None and result["peak_growth"] < TARGET_MIB
            print(f"| {name} | {path.stat().st_size / 1024:.0f} KiB | {result['code']} | "
                  f"{result['seconds'] * 1000:.0f} ms | +{result['peak_growth']:.1f} MiB "
                  f"(from {result['rss_before']:.0f} MiB) | {'met' if ok else '**not met**'} |")
    return 0 if worst < TARGET_MIB and all(r["code"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
