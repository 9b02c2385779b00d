"""Sources read lazily (latentzoo.lazy) against the same sources read into memory: the same splits,
fingerprint, images and batches for a seed, and the same trained weights; `auto` chooses by size."""

import numpy as np
import pytest
import torch

from latentzoo import examples, lazy
from latentzoo.config import make_config
from latentzoo.files import load_tensors
from latentzoo.kinds import data_kind
from latentzoo.sources import load_source
from latentzoo.training import train_model

quiet = dict(progress=False, log=lambda m: None)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("lazy")
    folder = examples.write_digit_folder(root / "digits", 120)
    images, _ = examples.digits_28(90)
    np.save(root / "digits.npy", images)
    return {"folder": folder, "npy": root / "digits.npy"}


@pytest.mark.parametrize("kind", ["folder", "npy"])
def test_lazy_and_in_memory_sources_agree(sources, kind):
    eager = load_source(sources[kind], split_seed=3)
    lazy_ = lazy.load_lazily(sources[kind], split_seed=3, workers=2)
    assert isinstance(lazy_.train, lazy.LazyImageSet) and lazy_.fingerprint == eager.fingerprint
    assert lazy_.classes == eager.classes
    for split in ("train", "val", "test"):
        a, b = getattr(eager, split), getattr(lazy_, split)
        assert len(a) == len(b) and a.shape == b.shape and torch.equal(a.labels, b.labels)
        assert all(torch.equal(u, v) for u, v in zip(a.tensors(), b.tensors()))
    draws = [
        list(s.train.batches(16, shuffle=True, generator=torch.Generator().manual_seed(5)))
        for s in (eager, lazy_)
    ]
    assert len(draws[0]) == len(draws[1])
    for (xa, ya), (xb, yb) in zip(*draws):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_a_run_trains_to_the_same_weights_from_a_lazy_source(sources, tmp_path):
    weights = []
    for load in ("memory", "lazy"):
        cfg = make_config(
            "ae",
            backbone="mlp",
            hidden=32,
            epochs=1,
            batch_size=16,
            source=str(sources["folder"]),
            load=load,
        )
        run = train_model(cfg, tmp_path / load, **quiet)
        weights.append(load_tensors(run / "model.safetensors")[0])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_auto_reads_lazily_what_would_fill_the_memory(sources, monkeypatch):
    cfg = make_config("ae", source=str(sources["npy"]))
    kind = data_kind("image")
    assert not isinstance(kind.read_source(cfg.data).train, lazy.LazyImageSet)
    monkeypatch.setattr(lazy, "LAZY_ABOVE", 1e-9)
    assert isinstance(kind.read_source(cfg.data).train, lazy.LazyImageSet)
