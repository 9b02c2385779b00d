"""Shared fixtures: MNIST from ../shared/data (or $LATENTZOO_DATA), a small subset, the model kinds
under test and one trained run of each (trained once per test process and shared by its tests:
once in all, or once in each pytest-xdist worker under -n N)."""

import os
import shutil
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
if not os.environ.get("LATENTZOO_DATA") and (SHARED / "mnist").is_dir():
    os.environ["LATENTZOO_DATA"] = str(SHARED)

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one core per pytest-xdist worker (-n N), for torch and for the processes a test starts
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
else:
    torch.set_num_threads(min(2, torch.get_num_threads()))

# Every model kind, and the quantizer variants, each a name -> make_config arguments.
KINDS = {
    "ae-conv": dict(model="ae"),
    "ae-mlp": dict(model="ae", backbone="mlp"),
    "dae-conv": dict(model="dae", noise="gaussian:0.3+mask:0.2"),
    "vae-conv": dict(model="vae"),
    "vae-mlp-mse": dict(model="vae", backbone="mlp", recon="mse"),
    "cvae-mlp": dict(model="cvae", backbone="mlp"),
    "vqvae": dict(model="vqvae"),
    "vqvae-coarse": dict(model="vqvae", fine_blocks=0),
    "vqvae-textbook": dict(model="vqvae", ema=False, kmeans_init=False, restart_dead=False),
    "vqvae-cosine-proj": dict(model="vqvae", cosine=True, codebook_dim=4),
    "vqvae-fsq": dict(model="vqvae", quantizer="fsq", fsq_levels="8,5,5"),
    "vqvae-rvq": dict(model="vqvae", quantizer="rvq", codebooks=2, codebook_size=64),
}
ONE_PER_MODEL = ["ae-mlp", "dae-conv", "vae-conv", "cvae-mlp", "vqvae"]


def kind_config(name, **extra):
    from latentzoo.config import make_config

    kw = dict(KINDS[name])
    return make_config(kw.pop("model"), **kw, **extra)


def cli(capsys, *args) -> tuple[int, str]:
    """`latentzoo ARGS` in this process: its exit status (argparse's too) and what it wrote to
    stderr."""
    from latentzoo.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse mistakes
        code = e.code
    return code, capsys.readouterr().err


def mnist_dir() -> Path | None:
    from latentzoo.data import _mnist_paths

    env = os.environ.get("LATENTZOO_DATA")
    return Path(env) if env and _mnist_paths(Path(env)) else None


needs_mnist = pytest.mark.skipif(
    mnist_dir() is None,
    reason="MNIST not found: set LATENTZOO_DATA or put ../shared/data beside the project",
)


@pytest.fixture(scope="session")
def small_splits():
    """A small MNIST subset: 512 train, 256 val, 256 test images."""
    if mnist_dir() is None:
        pytest.skip("MNIST not found: set LATENTZOO_DATA or put ../shared/data beside the project")
    from latentzoo.data import Splits, load_dataset

    s = load_dataset("mnist")
    return Splits(
        "mnist",
        s.train.subset(slice(0, 512)),
        s.val.subset(slice(0, 256)),
        s.test.subset(slice(0, 256)),
    )


class TrainedRuns:
    """One run folder per kind in KINDS (1 epoch on small_splits), trained on first use."""

    def __init__(self, root: Path, splits):
        self.root, self.splits, self.done = root, splits, {}

    def __getitem__(self, name: str) -> Path:
        if name not in self.done:
            from latentzoo.training import train_model

            cfg = kind_config(name, epochs=1, batch_size=64, lr=2e-3)
            self.done[name] = train_model(
                cfg, self.root / name, splits=self.splits, progress=False, log=lambda m: None
            )
        return self.done[name]


@pytest.fixture(scope="session")
def trained(tmp_path_factory, small_splits):
    return TrainedRuns(tmp_path_factory.mktemp("trained"), small_splits)


def tiny_prior(model, seed=0):
    """An untrained prior over `model`'s codes, small enough to run in a test."""
    from latentzoo.models import CodePrior, PriorConfig

    torch.manual_seed(seed)
    cfg = PriorConfig(n_codes=model.n_codes, d_model=16, n_layers=1, n_heads=2)
    return CodePrior(cfg).eval()


@pytest.fixture(scope="session")
def vq_run(trained, tmp_path_factory):
    """The trained VQ-VAE of the suite with a small (untrained) prior saved beside it."""
    import shutil

    from latentzoo import files
    from latentzoo.runs import load

    run = shutil.copytree(trained["vqvae"], tmp_path_factory.mktemp("codec") / "vq")
    prior = tiny_prior(load(run))
    files.save_tensors(run / "prior.safetensors", prior.state_dict())
    files.write_json(run / "prior_config.json", prior.cfg.to_dict())
    return run


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Never touch the user's real cache folder."""
    monkeypatch.setenv("LATENTZOO_CACHE", str(tmp_path / "cache"))


def readme_cli_lines() -> list[str]:
    """The commands of the documented command-line example (the first bash block of
    docs/command-line.md)."""
    import re
    import shlex

    block = re.search(r"```bash\n(.*?)```", (ROOT / "docs" / "command-line.md").read_text(), re.S)
    return [line for line in block.group(1).splitlines() if shlex.split(line, comments=True)]


@pytest.fixture(scope="session")
def readme_cli(tmp_path_factory):
    """The documented command-line example run as written, in a fresh folder: (folder, [(line,
    exit status)])."""
    if mnist_dir() is None:
        pytest.skip("MNIST not found")
    import shlex

    from latentzoo.cli import main

    root = tmp_path_factory.mktemp("readme")
    here, results = os.getcwd(), []
    os.chdir(root)
    try:
        for line in readme_cli_lines():
            args = shlex.split(line, comments=True)
            assert args[0] == "latentzoo", line
            results.append((line, main(args[1:])))
    finally:
        os.chdir(here)
    return root, results


CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="Chromium not installed (Debian: apt-get install chromium chromium-driver); the "
    "browser check is skipped",
)


def headless_chromium(profile: Path, size: str = "1300,1800"):
    """A headless Chromium (selenium) with its own profile, a window of `size` pixels, and no
    traffic of its own."""
    pytest.importorskip(
        "selenium", reason="selenium is in the test extras: pip install -e '.[test]'"
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={size}",
    ):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)
