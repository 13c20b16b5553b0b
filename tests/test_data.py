"""The loader, on the real files and on broken ones made here."""

import gzip
import http.server
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

from mnist_core import data as data_module
from mnist_core.data import MnistDataError, load_mnist, parse_idx

from .conftest import ROOT


def test_real_data_shapes_dtypes_and_known_facts(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.x_test.dtype == np.uint8
    assert mnist.y_test.shape == (10000,) and mnist.y_test.dtype == np.uint8
    assert mnist.y_test[0] == 7 and mnist.y_test[1] == 2 and mnist.y_train[0] == 5
    assert (mnist.y_test == 0).sum() == 980 and (mnist.y_test == 1).sum() == 1135
    assert "IDX files" in mnist.source and str(mnist.source)


def test_loaded_once_and_read_only(mnist, mnist_path):
    assert load_mnist(mnist_path) is mnist
    with pytest.raises(ValueError):
        mnist.x_train[0, 0, 0] = 1


def test_environment_variable_is_used(monkeypatch, mnist, mnist_path):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    assert load_mnist() is mnist


def test_keras_npz_layout(tmp_path, mnist):
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    loaded = load_mnist(npz)
    assert "Keras file" in loaded.source
    np.testing.assert_array_equal(loaded.x_test, mnist.x_test)
    np.testing.assert_array_equal(loaded.y_train, mnist.y_train)


def test_npz_with_wrong_arrays_is_refused(tmp_path):
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(MnistDataError, match="not a Keras mnist.npz"):
        load_mnist(npz)


def _copy_mnist(src, dst):
    dst.mkdir()
    for name in os.listdir(src):
        if name.endswith(".gz"):
            shutil.copy(src / name, dst / name)
    return dst


def test_uncompressed_idx_files_load(tmp_path, mnist_path, mnist):
    folder = tmp_path / "raw"
    folder.mkdir()
    for name in os.listdir(mnist_path):
        if name.endswith(".gz"):
            (folder / name[:-3]).write_bytes(gzip.decompress((mnist_path / name).read_bytes()))
    loaded = load_mnist(folder)
    np.testing.assert_array_equal(loaded.x_train, mnist.x_train)


def test_missing_file_says_what_to_do(tmp_path, mnist_path):
    folder = _copy_mnist(mnist_path, tmp_path / "m")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte.gz is missing.*MNIST_DATA"):
        load_mnist(folder)


def test_missing_folder(tmp_path):
    with pytest.raises(MnistDataError, match="does not exist.*MNIST_DATA"):
        load_mnist(tmp_path / "nowhere")


def test_truncated_gzip(tmp_path, mnist_path):
    folder = _copy_mnist(mnist_path, tmp_path / "m")
    target = folder / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:50000])
    with pytest.raises(MnistDataError, match="truncated"):
        load_mnist(folder)


def test_not_gzip_at_all(tmp_path, mnist_path):
    folder = _copy_mnist(mnist_path, tmp_path / "m")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"this is not gzip" * 100)
    with pytest.raises(MnistDataError, match="could not be read"):
        load_mnist(folder)


def test_wrong_magic(tmp_path, mnist_path):
    folder = _copy_mnist(mnist_path, tmp_path / "m")
    raw = bytearray(gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[3] = 0x02
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(MnistDataError, match="magic number"):
        load_mnist(folder)


def test_wrong_checksum(tmp_path, mnist_path):
    folder = _copy_mnist(mnist_path, tmp_path / "m")
    raw = bytearray(gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[100] = (raw[100] + 1) % 10   # still a valid label file, no longer MNIST's
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(MnistDataError, match="checksum"):
        load_mnist(folder)


def test_gzip_bomb_is_refused(tmp_path, mnist_path):
    folder = _copy_mnist(mnist_path, tmp_path / "m")
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "wb") as bomb:
        chunk = bytes(16 * 2**20)
        for _ in range(5):
            bomb.write(chunk)
    with pytest.raises(MnistDataError, match="MiB"):
        load_mnist(folder)


def _idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


def test_parse_idx_images_and_labels():
    images = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    parsed = parse_idx(_idx(0x803, (2, 28, 28), images.tobytes()))
    np.testing.assert_array_equal(parsed, images)
    labels = parse_idx(_idx(0x801, (3,), bytes([1, 2, 9])))
    np.testing.assert_array_equal(labels, [1, 2, 9])


@pytest.mark.parametrize("raw, message", [
    (b"\x00\x00", "not even a header"),
    (_idx(0x803, (2, 28, 28), bytes(28 * 28)), "truncated or corrupt"),
    (_idx(0x803, (1, 32, 32), bytes(32 * 32)), "28x28"),
    (_idx(0x801, (3,), bytes([1, 2, 10])), "labels above 9"),
    (_idx(0x0D03, (1,), bytes(1)), "magic number"),
    (_idx(0x801, (3,), bytes([1, 2, 3, 4])), "header promises"),
])
def test_parse_idx_refuses_bad_files(raw, message):
    with pytest.raises(MnistDataError, match=message):
        parse_idx(raw)


def test_parse_idx_checks_expected_count():
    with pytest.raises(MnistDataError, match="MNIST's holds 10000"):
        parse_idx(_idx(0x801, (3,), bytes([1, 2, 3])), expected_count=10000)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_with_nothing_local_explains(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))          # no ~/.keras cache
    monkeypatch.setenv("MNIST_STUDIO_DOWNLOAD_URL", f"http://127.0.0.1:{_free_port()}/mnist.npz")
    data_module._load_cached.cache_clear()
    with pytest.raises(MnistDataError, match="could not be downloaded.*MNIST_DATA"):
        load_mnist()


def test_download_with_wrong_content_is_refused_and_not_cached(monkeypatch, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "mnist.npz").write_bytes(b"not the dataset")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=tmp_path / "www", **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("MNIST_DATA", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("MNIST_STUDIO_DOWNLOAD_URL", f"http://127.0.0.1:{server.server_port}/mnist.npz")
        data_module._load_cached.cache_clear()
        with pytest.raises(MnistDataError, match="checksum"):
            load_mnist()
        assert not (tmp_path / ".keras" / "datasets" / "mnist.npz").exists()
    finally:
        server.shutdown()


def test_download_goes_to_keras_cache_and_is_read_from_there(monkeypatch, tmp_path, mnist):
    """The whole fallback path against a loopback server: download, cache, read back."""
    (tmp_path / "www").mkdir()
    npz = tmp_path / "www" / "mnist.npz"
    np.savez(npz, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    import hashlib
    monkeypatch.setattr(data_module, "KERAS_NPZ_SHA256", hashlib.sha256(npz.read_bytes()).hexdigest())
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=tmp_path / "www", **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("MNIST_DATA", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.setenv("MNIST_STUDIO_DOWNLOAD_URL", f"http://127.0.0.1:{server.server_port}/mnist.npz")
        data_module._load_cached.cache_clear()
        loaded = load_mnist()
        assert (tmp_path / "home" / ".keras" / "datasets" / "mnist.npz").is_file()
        assert loaded.y_test[0] == 7
    finally:
        server.shutdown()
    # Second time: from the cache, with the server gone.
    data_module._load_cached.cache_clear()
    assert load_mnist().source.startswith("Keras file")


def test_loading_data_does_not_import_tensorflow(mnist_path):
    code = ("import sys; from mnist_core.data import load_mnist; "
            f"load_mnist({str(mnist_path)!r}); assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_summaries(mnist):
    counts = data_module.class_counts(mnist.y_test)
    assert counts.sum() == 10000 and counts[0] == 980
    means = data_module.mean_images(mnist.x_test, mnist.y_test)
    np.testing.assert_allclose(means[7], mnist.x_test[mnist.y_test == 7].mean(axis=0), rtol=1e-5)
    assert data_module.describe(mnist)["x_train"] == "uint8 (60000, 28, 28)"
