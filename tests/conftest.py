"""Shared fixtures: MNIST from ../shared/data (or $LATENTZOO_DATA), small subsets, temp runs."""

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
if not os.environ.get("LATENTZOO_DATA") and (SHARED / "mnist").is_dir():
    os.environ["LATENTZOO_DATA"] = str(SHARED)

torch.set_num_threads(min(2, torch.get_num_threads()))


def mnist_dir() -> Path | None:
    from latentzoo.data import _mnist_paths

    env = os.environ.get("LATENTZOO_DATA")
    return Path(env) if env and _mnist_paths(Path(env)) else None


needs_mnist = pytest.mark.skipif(mnist_dir() is None, reason="MNIST not found: set LATENTZOO_DATA or put "
                                                              "../shared/data beside the project")


@pytest.fixture(scope="session")
def small_splits():
    """A small MNIST subset: 512 train, 256 val, 256 test images."""
    if mnist_dir() is None:
        pytest.skip("MNIST not found: set LATENTZOO_DATA or put ../shared/data beside the project")
    from latentzoo.data import Splits, load_dataset

    s = load_dataset("mnist")
    return Splits("mnist", s.train.subset(slice(0, 512)), s.val.subset(slice(0, 256)), s.test.subset(slice(0, 256)))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Never touch the user's real cache folder."""
    monkeypatch.setenv("LATENTZOO_CACHE", str(tmp_path / "cache"))
