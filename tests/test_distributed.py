"""Data-parallel training: two CPU processes launched by torchrun (gloo) against one process."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from latentzoo import examples
from latentzoo.files import load_tensors

# a constant learning rate: a finished 1-epoch run continued to 2 epochs is then the 2-epoch run
ARGS = [
    "train",
    "vqvae",
    "--epochs",
    "2",
    "--batch-size",
    "32",
    "--channels",
    "8",
    "--codebook-size",
    "32",
    "--lr-schedule",
    "constant",
    "--no-progress",
]


def launch(args, cwd, ranks=2):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={ranks}",
        "-m",
        "latentzoo",
    ]
    res = subprocess.run(
        [*cmd, *args] if ranks > 1 else [sys.executable, "-m", "latentzoo", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    x, y = examples.digits_28(300)
    np.savez(root / "d.npz", images=x, labels=y)
    return root


def weights(path):
    return load_tensors(path / "model.safetensors")[0]


def test_two_processes_train_the_weights_of_one_and_resume(digits):
    data = ["--data", str(digits / "d.npz")]
    two = launch([*ARGS, *data, "--out", "two"], digits)
    assert two.stdout.count("run written to") == 1  # rank 0 alone reports
    launch([*ARGS, *data, "--out", "one"], digits, ranks=1)
    a, b = weights(digits / "two"), weights(digits / "one")
    # float sums in another order flip a few code assignments, which moves the codebook's counts
    # a little; a wrong averaging or an unshared statistic moves every tensor by its own size
    for k in a:
        if a[k].is_floating_point():
            x, y = a[k].double(), b[k].double()
            gap = float((x - y).norm() / y.norm().clamp_min(1e-12))
            assert gap <= 0.1, (k, gap)
    # one epoch, then continued to two, still on two processes: exactly the 2-epoch run
    launch([*ARGS[:2], "--epochs", "1", *ARGS[4:], *data, "--out", "resumed"], digits)
    launch([*ARGS, *data, "--out", "resumed", "--resume"], digits)
    c = weights(digits / "resumed")
    assert all(torch.equal(a[k], c[k]) for k in a)
    assert (digits / "two" / "metrics.json").is_file() and not list((digits / "two").glob("*.tmp"))
