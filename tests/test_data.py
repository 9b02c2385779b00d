"""The IDX reader, the MNIST lookup order, the verified downloader, and the data sets."""

import gzip
import hashlib
import http.server
import shutil
import struct
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import mnist_dir, needs_mnist

from latentzoo import data
from latentzoo.errors import DataError


def idx_bytes(arr: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 8, arr.ndim])
        + struct.pack(">" + "I" * arr.ndim, *arr.shape)
        + arr.astype(np.uint8).tobytes()
    )


def test_parse_idx_round_trip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(data.parse_idx(idx_bytes(arr)), arr)
    p = tmp_path / "x.gz"
    p.write_bytes(gzip.compress(idx_bytes(arr)))
    assert np.array_equal(data.read_idx(p), arr)


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda b: b[:-5], "truncated IDX file"),
        (lambda b: b[:6], "truncated IDX header"),
        (lambda b: b"\x01\x02" + b[2:], "not an IDX file"),
        (lambda b: b[:2] + b"\x0d" + b[3:], "data type 0x0d"),
        (lambda b: b + b"xx", "unexpected bytes"),
        (lambda b: b[:2], "only 2 bytes"),
    ],
)
def test_bad_idx_files_name_the_file_and_the_problem(tmp_path, mutate, words):
    p = tmp_path / "bad-idx3-ubyte"
    p.write_bytes(mutate(idx_bytes(np.zeros((3, 28, 28), np.uint8))))
    with pytest.raises(DataError) as e:
        data.read_idx(p)
    assert words in str(e.value) and str(p) in str(e.value)


def test_corrupted_gzip_and_wrong_kind(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((5,), np.uint8)))
    p = tmp_path / "labels.gz"
    p.write_bytes(good[:-12])  # cut the gzip stream
    with pytest.raises(DataError, match="corrupted gzip"):
        data.read_idx(p)
    p.write_bytes(good)
    with pytest.raises(DataError, match=r"expected an image file"):
        data.read_idx(p, (0, 28, 28))


def fake_mnist(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, (fname, _, shape) in data.MNIST_FILES.items():
        n = 20 if "train" in key else 10
        arr = np.zeros((n, 28, 28) if len(shape) == 3 else (n,), np.uint8)
        (folder / fname).write_bytes(gzip.compress(idx_bytes(arr)))


def test_lookup_order(tmp_path, monkeypatch):
    explicit, env, cache = tmp_path / "explicit", tmp_path / "env", tmp_path / "cache"
    for f in (explicit, env / "mnist", cache / "mnist"):
        fake_mnist(f)
    monkeypatch.setenv("LATENTZOO_CACHE", str(cache))
    monkeypatch.setenv("LATENTZOO_DATA", str(env))
    assert data.find_mnist(explicit)["train_images"].parent == explicit
    assert data.find_mnist()["train_images"].parent == env / "mnist"
    monkeypatch.delenv("LATENTZOO_DATA")
    assert data.find_mnist()["train_images"].parent == cache / "mnist"
    with pytest.raises(DataError, match="no MNIST files in"):
        data.find_mnist(tmp_path / "nowhere")
    monkeypatch.setenv("LATENTZOO_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="LATENTZOO_DATA="):
        data.find_mnist()


def test_not_found_without_download_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("LATENTZOO_DATA", raising=False)
    with pytest.raises(DataError, match="--dataset digits"):
        data.find_mnist(download=False)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two local mirrors on 127.0.0.1: /good/ serves the real files, /bad/ a corrupted copy."""
    src = mnist_dir()
    if src is None:
        pytest.skip("MNIST not found")
    root = tmp_path_factory.mktemp("www")
    good, bad = root / "good", root / "bad"
    good.mkdir(parents=True)
    bad.mkdir()
    for fname, _, _ in data.MNIST_FILES.values():
        real = data._mnist_paths(src)
        path = [p for p in real.values() if p.name.startswith(fname[:-3])][0]
        shutil.copy(path, good / fname)
        payload = bytearray(gzip.decompress(path.read_bytes()))
        payload[-1] ^= 0xFF  # one flipped byte: still a valid IDX file, but the wrong contents
        (bad / fname).write_bytes(gzip.compress(bytes(payload)))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@needs_mnist
def test_download_verifies_and_falls_back(server, tmp_path):
    dest = tmp_path / "dl"
    paths = data.download_mnist(dest, [server + "/bad/", server + "/good/"], quiet=True)
    for key, (_name, sha, _) in data.MNIST_FILES.items():
        assert hashlib.sha256(gzip.decompress(paths[key].read_bytes())).hexdigest() == sha
    assert not list(dest.glob("*.tmp"))


@needs_mnist
def test_download_rejects_checksum_mismatch(server, tmp_path, monkeypatch):
    monkeypatch.delenv("LATENTZOO_DATA", raising=False)
    monkeypatch.setenv("LATENTZOO_MNIST_MIRRORS", server + "/bad/")
    with pytest.raises(DataError, match="checksum mismatch"):
        data.find_mnist()
    assert not any((tmp_path / "cache").rglob("*ubyte*"))  # nothing unverified was kept


@needs_mnist
def test_download_through_lookup_fills_the_cache(server, tmp_path, monkeypatch):
    monkeypatch.delenv("LATENTZOO_DATA", raising=False)
    monkeypatch.setenv("LATENTZOO_MNIST_MIRRORS", server + "/good/")
    paths = data.find_mnist()
    assert paths["test_labels"].parent == tmp_path / "cache" / "mnist"


@needs_mnist
def test_mnist_splits():
    from latentzoo.config import make_config
    from latentzoo.training import training_splits

    full = data.load_dataset("mnist")
    assert (len(full.train), len(full.val), len(full.test)) == (55000, 5000, 10000)
    # a run's limit keeps the first N training images
    s = training_splits(make_config("ae", limit=1000), full)
    assert (len(s.train), len(s.val), len(s.test)) == (1000, 5000, 10000)
    assert torch.equal(s.train.images, full.train.images[:1000])
    x, y = s.test.tensors(slice(0, 4))
    assert x.shape == (4, 1, 28, 28) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert s.train.images.dtype == torch.uint8
    counts = torch.bincount(s.test.labels, minlength=10).tolist()
    assert counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    a = torch.cat(
        [
            b
            for b, _ in s.train.batches(
                100, shuffle=True, generator=torch.Generator().manual_seed(1)
            )
        ]
    )
    b = torch.cat(
        [
            b
            for b, _ in s.train.batches(
                100, shuffle=True, generator=torch.Generator().manual_seed(1)
            )
        ]
    )
    assert torch.equal(a, b) and not torch.equal(a, s.train.tensors()[0])


def test_digits_dataset_needs_no_download():
    s = data.load_dataset("digits")
    assert (len(s.train), len(s.val), len(s.test)) == (1350, 150, 297)
    assert s.train.images.shape[1:] == (1, 28, 28)
    # framed like MNIST
    assert s.train.images[:, :, :4].max() == 0 and s.train.images[:, :, 24:].max() == 0
    assert set(s.train.labels.tolist()) == set(range(10))
    with pytest.raises(DataError, match="unknown dataset"):
        data.load_dataset("cifar")
