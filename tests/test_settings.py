"""Bad settings stop the server at launch, naming the setting (issue #25): a retention of 0 days
or less made the first sweep delete every saved run, `nan` broke every sidebar, and 0 stored runs
deleted each run as it was saved. Before this, the server started with each of them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.server import free_port

from .conftest import ROOT

BAD = [("MNIST_STUDIO_RETENTION_DAYS", "0"), ("MNIST_STUDIO_RETENTION_DAYS", "-3"),
       ("MNIST_STUDIO_RETENTION_DAYS", "nan"), ("MNIST_STUDIO_RETENTION_DAYS", "soon"),
       ("MNIST_STUDIO_MAX_STORED_RUNS", "0"), ("MNIST_STUDIO_MAX_STORED_RUNS", "2.5")]


@pytest.mark.parametrize("name, value", BAD)
def test_a_bad_setting_stops_studio_serve_and_names_it(name, value, tmp_path):
    env = dict(os.environ, **{name: value}, MNIST_STUDIO_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "studio.serve", "--server.headless=true",
                             f"--server.port={free_port()}", "--server.address=127.0.0.1"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"{name}={value!r}" in result.stderr and "cannot start" in result.stderr, result.stderr[-2000:]


def test_good_settings_are_read():
    code = "from mnist_core.runstore import bounds; print(bounds.RETENTION_DAYS, bounds.MAX_RUNS_PER_LEARNER)"
    env = dict(os.environ, MNIST_STUDIO_RETENTION_DAYS="7.5", MNIST_STUDIO_MAX_STORED_RUNS="3")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split() == ["7.5", "3"]
