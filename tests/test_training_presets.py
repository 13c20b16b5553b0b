"""The presets' recipes, when a run first reaches 98/99/99.5 %, and the Train page's preset cards
reading what the latest benchmark measured."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_core.networks import presets
from mnist_core.runs import runspec
from mnist_core.runs.runspec import RunSpec

ROOT = Path(__file__).resolve().parents[1]


def test_time_to_is_the_first_epoch_end_at_or_past_each_milestone():
    crossed = runspec.time_to([0.975, 0.9801, 0.9899, 0.9952, 0.99], [4.0, 8.04, 12.0, 16.0, 20.0])
    assert crossed == {"0.98": 8.0, "0.99": 16.0, "0.995": 16.0}
    assert runspec.time_to([0.9, 0.95], [1.0, 2.0]) == {"0.98": None, "0.99": None, "0.995": None}
    assert runspec.time_to([], []) == {"0.98": None, "0.99": None, "0.995": None}


def test_the_tutorial_recipe_has_one_home():
    """RunSpec() is the tutorial's run: the note's network, 5 epochs of 128, nothing held out."""
    spec, tutorial = RunSpec(), presets.TUTORIAL
    assert (spec.arch, spec.epochs, spec.batch_size, spec.validation_split) == \
        (tutorial.name, tutorial.epochs, tutorial.batch_size, tutorial.validation_split) == ("dense", 5, 128, 0.0)
    assert RunSpec.preset("dense") == spec
    fast = RunSpec.preset("cnn_fast", seed=4, epochs=1)
    assert fast.epochs == 1 and fast.batch_size == presets.ARCHITECTURES["cnn_fast"].batch_size
    assert fast.validation_split == presets.PRESET_VALIDATION and fast.seed == 4


def test_a_finished_run_carries_its_milestones(small_mnist):
    """The metadata's milestones are read from the run's own validation history and epoch times."""
    from mnist_core import training
    trained = training.run(RunSpec("cnn_fast", {"filters": 4, "hidden_units": 8}, epochs=3, batch_size=100,
                                   validation_split=0.2, seed=1), small_mnist)
    meta, seconds = trained.metadata, trained.result.epoch_seconds
    assert len(seconds) == 3 and seconds == sorted(seconds) and seconds[-1] <= trained.result.seconds
    assert meta["epoch_seconds"] == [round(s, 1) for s in seconds]
    val = meta["history"]["val_accuracy"]
    for milestone, when in meta["time_to"].items():
        reached = [s for v, s in zip(val, seconds) if v >= float(milestone)]
        assert when == (round(reached[0], 1) if reached else None)


def test_preset_cards_read_the_latest_benchmark(tmp_path, monkeypatch):
    """bench/run.py records each preset's seeds; the Train page's card reads them, never typed."""
    from bench.table import record_measured
    from studio.train import measured as cards
    measured = tmp_path / "benchmarks.json"
    monkeypatch.setattr(presets, "MEASURED", measured)
    cards._measured.clear()
    assert cards.measured_text("cnn_fast") is None          # no benchmark yet: no figures at all
    record_measured("cnn_fast", figures={"seeds": [1, 2, 3], "test_accuracy": [0.9915, 0.9931, 0.9924],
                                         "seconds": [12.0, 13.0, 14.0],
                                         "time_to": {"0.98": [5.0, 6.0, 7.0], "0.99": [11.0, None, 13.0]}})
    record_measured("cnn_best", figures={"seeds": [1], "test_accuracy": [0.9966],
                                         "seconds": [560.0], "time_to": {"0.99": [100.0]}})
    assert set(json.loads(measured.read_text())) == {"cnn_fast", "cnn_best"}   # one run adds, keeps others
    cards._measured.clear()
    text = cards.measured_text("cnn_fast")
    assert "99.23%" in text and "99.15%" in text and "13 s" in text and "12 s" in text   # mean 12 of 11, 13
    assert "3 seeds" in text
    assert cards.measured_text("dense") is None
    measured.write_text("{not json")
    cards._measured.clear()
    assert cards.measured_text("cnn_fast") is None


def test_the_bench_records_the_cards_without_streamlit_or_tensorflow(tmp_path):
    """bench/run.py, its sections and the cards' JSON writer import neither (#27): writing a file
    needs no Streamlit, and a section imports TensorFlow only when it measures."""
    code = ("import sys; import bench.run; from bench import table; "
            f"table.record_measured('dense', {{'seeds': [1]}}, path=__import__('pathlib').Path({str(tmp_path / 'b.json')!r})); "
            "print(sorted(m for m in ('streamlit', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]" and "dense" in json.loads((tmp_path / "b.json").read_text())


@pytest.mark.parametrize("metadata, expected", [
    ({"validation_split": 0.05, "time_to": {"0.98": 4.0, "0.99": 9.2, "0.995": None}},
     ["98.0% after 4 s", "99.0% after 9 s", "99.5% not reached"]),
    ({"validation_split": 0.0, "time_to": {"0.98": None}}, None),
    ({}, None),
])
def test_a_finished_run_says_when_it_crossed(metadata, expected):
    from studio.train import measured as cards
    text = cards.milestones_text(metadata)
    if expected is None:
        assert text is None
    else:
        assert all(part in text for part in expected)
        assert list(cards.milestone_columns(metadata).values()) == list(metadata["time_to"].values())
