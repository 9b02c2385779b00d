"""The model zoo (latentzoo.zoo): every shipped model loads by name and measures on the first test
images what its zoo.json recorded; names work wherever a run folder does, a local folder wins, and
nothing is written into the installed package."""

import json
import math

import pytest
from conftest import needs_mnist

import latentzoo
from latentzoo import zoo
from latentzoo.cli import main
from latentzoo.errors import RunError
from latentzoo.eval import evaluate
from latentzoo.files import load_tensors
from latentzoo.models.prior import mean_bits
from latentzoo.runs import BEST, run_data
from latentzoo.training.prior import encode_all

NAMES = zoo.names()
SIZE_LIMIT = 16 * 2**20  # the budget for the whole zoo inside the package


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_zoo_ships_its_models_within_the_size_budget():
    assert {"mnist-ae", "mnist-dae", "mnist-vae", "mnist-cvae", "mnist-vqvae"} <= set(NAMES)
    assert sum(p.stat().st_size for p in zoo.ZOO.rglob("*") if p.is_file()) < SIZE_LIMIT
    for name in NAMES:
        rec = zoo.record(name)
        assert rec["name"] == name and rec["seed"] == 0 and rec["commands"]
        tensors, _ = load_tensors(zoo.ZOO / name / BEST)
        dtypes = {
            str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()
        }
        assert dtypes == {rec["dtype"]}, name  # zoo.json says how the weights are stored


@needs_mnist
@pytest.mark.parametrize("name", NAMES)
def test_each_zoo_model_measures_what_its_record_says(name):
    rec = zoo.record(name)
    model = latentzoo.load(name)
    assert model.cfg.kind == rec["kind"]
    test = run_data(model.cfg).test.subset(slice(0, rec["slice"]["first_test_images"]))
    got = evaluate(model, test)
    stored = rec["slice"]["stored"]
    assert got["psnr"] == pytest.approx(stored["psnr"], abs=0.01)
    if "elbo" in stored:
        assert got["elbo"] == pytest.approx(stored["elbo"], abs=0.05)
    if "prior_bits_per_code" in stored:
        codes, _ = encode_all(model, test)  # (N, 7, 7)
        bits = mean_bits(model.prior, codes, None) / codes[0].numel()
        assert bits == pytest.approx(stored["prior_bits_per_code"], abs=0.005)
    # the stored precision costs less than the promised 0.01 dB
    assert abs(stored["psnr"] - rec["slice"]["full_precision"]["psnr"]) < 0.01


def test_a_local_folder_of_the_same_name_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert zoo.locate("mnist-ae") == zoo.ZOO / "mnist-ae"
    (tmp_path / "mnist-ae").mkdir()
    assert zoo.locate("mnist-ae").resolve() == tmp_path / "mnist-ae"
    assert zoo.locate("not-a-model") == zoo.Path("not-a-model")
    with pytest.raises(RunError, match="no zoo model of that name"):
        latentzoo.load("not-a-model")


def test_commands_that_write_never_write_into_the_zoo(capsys, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in zoo.ZOO.rglob("*")}
    code, _, err = run_cli(capsys, "report", "mnist-ae")
    assert code == 2 and "--out" in err
    code, _, err = run_cli(capsys, "train-prior", "mnist-vqvae", "--epochs", "1")
    assert code == 2 and "zoo" in err and "--out" in err
    code, _, err = run_cli(capsys, "train", "ae", "--out", zoo.ZOO / "mnist-ae", "--epochs", "1")
    assert code != 0 and "zoo" in err
    assert {p: p.stat().st_mtime_ns for p in zoo.ZOO.rglob("*")} == before


@needs_mnist
def test_a_zoo_models_report_draws_its_pictures_outside_the_package(capsys, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in zoo.ZOO.rglob("*")}
    code, _, err = run_cli(capsys, "report", "mnist-vae", "--out", tmp_path / "vae.html")
    assert code == 0, err
    assert (tmp_path / "vae.html").read_text().count("<img") >= 4
    assert {p: p.stat().st_mtime_ns for p in zoo.ZOO.rglob("*")} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vae.html"]


def test_latentzoo_zoo_lists_every_model_with_its_metrics(capsys):
    code, out, _ = run_cli(capsys, "zoo")
    assert code == 0
    for name in NAMES:
        metrics = json.loads((zoo.ZOO / name / "metrics.json").read_text())
        line = next(ln for ln in out.splitlines() if ln.startswith(name))
        assert zoo.record(name)["about"] in line
        assert f"psnr {metrics['psnr']:.4g}" in out and math.isfinite(metrics["psnr"])


@needs_mnist
def test_zoo_names_work_in_the_jobs_without_training(capsys, tmp_path):
    """The issue's three commands: denoise, sample a digit, compress, each by a zoo name."""
    code, _, _ = run_cli(
        capsys, "sample", "mnist-vqvae", "--digit", "3", "-n", "4", "--out", tmp_path / "s.png"
    )
    assert code == 0 and (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    code, _, _ = run_cli(
        capsys,
        "compress",
        "mnist-vqvae",
        tmp_path / "s.png",
        "--out",
        tmp_path / "f.lzc",
        "--resize",
    )
    assert code == 0 and (tmp_path / "f.lzc").stat().st_size > 0
    code, _, _ = run_cli(
        capsys, "denoise", "mnist-dae", tmp_path / "s.png", "--out", tmp_path / "clean", "--resize"
    )
    assert code == 0 and (tmp_path / "clean" / "s.png").is_file()
    code, _, _ = run_cli(
        capsys,
        "decompress",
        tmp_path / "f.lzc",
        "--run",
        "mnist-vqvae",
        "--out",
        tmp_path / "back.npy",
    )
    assert code == 0
