"""The command line: the whole path on the documented example's runs, and every user mistake as
one line + exit 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import needs_mnist

from latentzoo.cli import main
from latentzoo.data import load_dataset
from latentzoo.eval import psnr
from latentzoo.jobs import kept, safeguard


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(capsys, *args, code=2):
    try:
        got = main([str(a) for a in args])
    except SystemExit as e:  # argparse mistakes
        got = e.code
    err = capsys.readouterr().err
    assert got == code, err
    assert err.count("\n") == 1 and err.startswith("latentzoo: error:"), err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def trained(readme_cli):
    """The runs that the command-line page's example made (an mlp AE, a VAE, a DAE, an mlp CVAE and
    a VQ-VAE with 64 codes and a prior), each trained for 1 epoch on 2,000 images."""
    return readme_cli[0] / "runs"


@needs_mnist
def test_eval_json_and_pictures(trained, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "eval", trained / "vq", "--json", "--samples", "0")
    m = json.loads(out)
    assert code == 0 and m["model"] == "vqvae" and m["n_images"] == 10000
    assert 0 < m["codebook_usage"] <= 1 and 1 <= m["perplexity"] <= 64 and m["psnr"] > 5
    _, out, _ = run_cli(
        capsys, "eval", trained / "vq", "--json", "--samples", "0", "--checkpoint", "last"
    )
    last = json.loads(out)
    assert last["checkpoint"] == "last" and m["checkpoint"] == "best" and last["psnr"] > 5
    _, out, _ = run_cli(capsys, "eval", trained / "dae", "--json", "--samples", "0")
    m = json.loads(out)
    assert m["psnr_denoised"] > m["psnr_noisy"] and m["mse_per_image"] == pytest.approx(
        784 * m["mse_per_pixel"]
    )
    _, out, _ = run_cli(capsys, "eval", trained / "cvae", "--json", "--samples", "0")
    assert json.loads(out)["elbo"] < 0
    for args in (
        ["reconstruct", trained / "ae", "--out", tmp_path / "r.png"],
        ["sample", trained / "ae", "-n", "16", "--out", tmp_path / "s.png"],
        ["sample", trained / "cvae", "--digit", "3", "--out", tmp_path / "c.png"],
        ["denoise", trained / "dae", "--noise", "gaussian:0.4", "--out", tmp_path / "d.png"],
        ["interpolate", trained / "vq", "--out", tmp_path / "i.png", "--pairs", "2"],
    ):
        assert run_cli(capsys, *args)[0] == 0
        png = args[args.index("--out") + 1]
        assert png.read_bytes()[:4] == b"\x89PNG"
    from PIL import Image

    # 3 rows
    assert Image.open(tmp_path / "d.png").size[1] > Image.open(tmp_path / "d.png").size[0] / 8 * 2


def test_the_safeguard_blends_by_the_wiener_weight_known_answers():
    """Clean residuals of mean 1 (quantile 1 at q=1): an input 2 away from its output in every value
    has a mean squared residual of 4, an input error of 4 - 1 = 3 and the weight 3 / (3 + 1); one
    that the model changes no more than clean examples comes back unchanged."""
    residuals = torch.ones(10)
    noisy, out = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 2.0)
    out[1] = 0.5  # a residual of 0.25, below the clean ones'
    got = safeguard(noisy, out, residuals, q=1.0)
    assert torch.allclose(got[0], torch.full((1, 2, 2), 1.5))
    assert torch.equal(got[1], noisy[1])


def test_the_per_input_safeguard_takes_the_outputs_error_from_a_second_pass_known_answers():
    """Clean residuals of mean 1 and a margin of 1.5: an output that the model changes by 1 in
    every value on a second pass is expected to be 1 + 1 = 2 off, the threshold is 3, an input 2
    away from its output has an input error of 4 - 3 = 1 and the weight 1 / (1 + 2); an output the
    model leaves as it is: 1 off, a threshold of 1.5, the weight 2.5 / 3.5."""
    residuals = torch.ones(10)
    noisy, out = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 2.0)
    again = out.clone()
    again[0] += 1
    got = safeguard(noisy, out, residuals, again=again, margin=1.5)
    assert torch.allclose(got[0], torch.full((1, 2, 2), 2 / 3))
    assert torch.allclose(got[1], torch.full((1, 2, 2), 2 * 2.5 / 3.5))
    again[1] += 3  # a model that would change this output a lot: the input comes back
    assert torch.equal(safeguard(noisy, out, residuals, again=again, margin=1.5)[1], noisy[1])


def test_keeping_a_fraction_of_the_input_mixes_it_back_known_answers():
    noisy, out = torch.zeros(1, 1, 2), torch.full((1, 1, 2), 4.0)
    assert torch.equal(kept(noisy, out, 0.25), torch.full((1, 1, 2), 3.0))
    assert kept(noisy, out, 0.0) is out


@needs_mnist
def test_denoise_safeguards_clean_inputs_unless_told_not_to(trained, capsys, tmp_path):
    """Clean test digits through `denoise`: the safeguarded outputs are closer to them than the
    model's raw outputs (`--no-safeguard`), which the example's short-trained DAE blurs."""
    x, _ = load_dataset("mnist").test.tensors(slice(0, 200))
    np.save(tmp_path / "clean.npy", (x[:, 0] * 255).round().byte().numpy())
    for out, extra in (("safe", []), ("raw", ["--no-safeguard"])):
        args = ["denoise", trained / "dae", tmp_path / "clean.npy", "--out", tmp_path / out]
        assert run_cli(capsys, *args, *extra)[0] == 0
    got = {
        k: torch.from_numpy(np.load(tmp_path / k / "clean.npy")).float()[:, None] / 255
        for k in ("safe", "raw")
    }
    safe, raw = (float(psnr(x, got[k]).mean()) for k in ("safe", "raw"))
    assert safe > raw + 3, (safe, raw)


@needs_mnist
def test_user_mistakes(trained, capsys, tmp_path):
    assert "invalid choice" in one_line_error(capsys, "train", "gan", "--out", tmp_path / "x")
    assert "unknown kind" in one_line_error(
        capsys, "train", "dae", "--out", tmp_path / "x", "--noise", "blur:2"
    )
    assert "no run folder" in one_line_error(capsys, "eval", tmp_path / "missing")
    assert "not a whole number" in one_line_error(
        capsys, "train", "ae", "--out", tmp_path / "x", "--epochs", "ten"
    )
    assert "must be 1 to" in one_line_error(
        capsys, "sample", trained / "ae", "-n", "0", "--out", tmp_path / "s.png"
    )
    assert "positive" in one_line_error(
        capsys, "train", "ae", "--out", tmp_path / "x", "--lr", "-1"
    )
    assert ".png" in one_line_error(capsys, "sample", trained / "ae", "--out", tmp_path / "s.jpg")
    import shutil

    shutil.copytree(
        trained / "vq", tmp_path / "vq-no-prior", ignore=shutil.ignore_patterns("prior*")
    )
    assert "learned prior" in one_line_error(
        capsys, "sample", tmp_path / "vq-no-prior", "--out", tmp_path / "s.png"
    )
    assert "conditional" in one_line_error(
        capsys, "sample", trained / "ae", "--digit", "3", "--out", tmp_path / "s.png"
    )
    assert "guidance applies" in one_line_error(
        capsys, "sample", trained / "ae", "--guidance", "2", "--out", tmp_path / "s.png"
    )
    assert "already holds a run" in one_line_error(
        capsys, "train", "ae", "--out", trained / "ae", "--epochs", "1"
    )
    assert "differs" in one_line_error(
        capsys, "train", "ae", "--out", trained / "ae", "--resume", "--lr", "0.1"
    )
    assert "no MNIST files" in one_line_error(
        capsys, "train", "ae", "--out", tmp_path / "x", "--data-dir", tmp_path
    )
    assert "needs the conv backbone" in one_line_error(
        capsys, "train", "vqvae", "--out", tmp_path / "x", "--backbone", "mlp"
    )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    assert "unreadable config" in one_line_error(capsys, "eval", tmp_path / "broken")
    assert not (tmp_path / "x").exists()
    shutil.copytree(
        trained / "ae", tmp_path / "no-last", ignore=shutil.ignore_patterns("last.safetensors")
    )
    assert "last.safetensors is missing" in one_line_error(
        capsys, "eval", tmp_path / "no-last", "--checkpoint", "last"
    )


@needs_mnist
def test_resume_extends_a_run(trained, capsys, tmp_path):
    import shutil

    run = tmp_path / "ae"
    shutil.copytree(trained / "ae", run)
    assert (
        main(["train", "ae", "--out", str(run), "--resume", "--epochs", "3", "--no-progress"]) == 0
    )
    assert (run / "history.csv").read_text().count("\n") == 4  # header + 3 epochs


def test_module_entry_point_and_help():
    res = subprocess.run(
        [sys.executable, "-m", "latentzoo", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "train" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "latentzoo", "train"], capture_output=True, text=True
    )
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_demo_falls_back_to_digits_when_mnist_is_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTZOO_DATA", str(tmp_path / "no-mnist-here"))
    code, out, err = run_cli(capsys, "demo", "--out", tmp_path / "demo", "--epochs", "1")
    assert code == 0, err
    assert "notice: MNIST is not available" in err and "bundled 8x8 digits" in err
    assert {"reconstructions.png", "samples.png", "interpolation.png"} <= {
        p.name for p in (tmp_path / "demo").iterdir()
    }
    code, _, _ = run_cli(capsys, "demo", "--out", tmp_path / "demo", "--epochs", "1")
    assert code == 0 and (tmp_path / "demo-2").is_dir()  # an earlier demo is never overwritten


def test_python_and_the_command_line_leave_the_same_run_folder(tmp_path, capsys):
    """`latentzoo.train` and `latentzoo train` write the same files: config, weights, history,
    metrics, pictures and the report; the config and the weights are identical."""
    import latentzoo
    from latentzoo.files import load_tensors

    settings = dict(backbone="mlp", hidden=32, latent_dim=2, epochs=1, dataset="digits")
    cli = tmp_path / "cli"
    args = ["train", "vae", "--out", cli, "--dataset", "digits", "--backbone", "mlp"]
    assert run_cli(capsys, *args, "--hidden", 32, "--latent-dim", 2, "--epochs", 1)[0] == 0
    py = latentzoo.train(latentzoo.make_config("vae", **settings), tmp_path / "py", progress=False)
    names = sorted(p.name for p in cli.iterdir())
    assert names == sorted(p.name for p in py.iterdir())
    assert {"config.json", "model.safetensors", "metrics.json", "report.html"} <= set(names)
    assert len([n for n in names if n.endswith(".png")]) >= 3
    assert json.loads((cli / "config.json").read_text()) == json.loads(
        (py / "config.json").read_text()
    )
    a, b = (load_tensors(r / "model.safetensors")[0] for r in (cli, py))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


SMALL_AE = ["train", "ae", "--backbone", "mlp", "--hidden", "32", "--limit", "256"]
SMALL_AE += ["--batch-size", "64", "--no-progress"]  # 4 steps an epoch


def last_lr(run) -> float:
    from latentzoo.files import load_tensors

    return json.loads(load_tensors(run / "last.safetensors")[1]["param_groups"])[0]["lr"]


@needs_mnist
def test_resume_with_more_epochs_stretches_the_cosine_schedule_over_them(tmp_path, capsys):
    """docs/command-line.md: `--resume --epochs N` extends a finished run, the cosine schedule
    stretched over the N epochs (else epochs 2 and 3 would run at a learning rate of 0)."""
    from latentzoo.files import load_tensors
    from latentzoo.loop import cosine_lr

    run, cosine = tmp_path / "run", ["--lr-schedule", "cosine", "--lr", "0.01"]
    assert run_cli(capsys, *SMALL_AE, *cosine, "--epochs", "1", "--out", run)[0] == 0
    assert last_lr(run) == pytest.approx(cosine_lr(0.01, 3, 4))  # the last of 4 steps
    first = load_tensors(run / "last.safetensors")[0]
    assert run_cli(capsys, *SMALL_AE, *cosine, "--epochs", "3", "--out", run, "--resume")[0] == 0
    assert last_lr(run) == pytest.approx(cosine_lr(0.01, 11, 12))  # the last of 12
    after = load_tensors(run / "last.safetensors")[0]
    assert not torch.equal(first["model.encoder.head.weight"], after["model.encoder.head.weight"])


@needs_mnist
def test_a_nan_loss_exits_1_with_one_line_and_no_weights(tmp_path, capsys, monkeypatch):
    from latentzoo.models import base

    real, calls = base.reconstruction_loss, {"n": 0}

    def poisoned(out, target, kind):
        calls["n"] += 1
        return real(out, target, kind) * (float("nan") if calls["n"] == 3 else 1.0)

    monkeypatch.setattr(base, "reconstruction_loss", poisoned)
    err = one_line_error(capsys, *SMALL_AE, "--out", tmp_path / "r", code=1)
    assert "loss became nan at epoch 1, step 3" in err
    assert not list((tmp_path / "r").glob("*.safetensors"))


SMALL_VQ = ["train", "vqvae", "--channels", "8", "--codebook-size", "16", "--limit", "256"]
SMALL_VQ += ["--epochs", "1", "--no-progress"]
SMALL_PRIOR = ["--epochs", "2", "--d-model", "16", "--n-layers", "1", "--n-heads", "2"]
SMALL_PRIOR += ["--batch-size", "32", "--no-progress"]  # 8 steps an epoch


@needs_mnist
def test_train_prior_resumes_exactly_after_a_signal_and_a_kill(tmp_path, capsys):
    """docs/command-line.md: `train-prior --resume` and `--checkpoint-every` do for a prior what
    they do for a model: a prior stopped by SIGTERM mid-epoch, or killed after a mid-epoch
    checkpoint, ends, once resumed, with the weights of one never stopped."""
    import shutil

    from test_faults import start

    from latentzoo.files import load_tensors

    assert run_cli(capsys, *SMALL_VQ, "--out", tmp_path / "vq")[0] == 0
    runs = {n: shutil.copytree(tmp_path / "vq", tmp_path / n) for n in ("straight", "term", "kill")}
    prior = [*SMALL_PRIOR, "--checkpoint-every", "3"]
    assert run_cli(capsys, "train-prior", runs["straight"], *prior)[0] == 0
    for name, fault, code, step in (
        ("term", "TERM@prior epoch 2, step 5", 143, "5"),  # checkpoint at the signal
        ("kill", "KILL@prior epoch 2, step 5", -9, "3"),  # the last one due, after step 3
    ):
        proc = start(["train-prior", str(runs[name]), *prior], fault=fault)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == code, err
        meta = load_tensors(runs[name] / "prior_last.safetensors")[1]
        assert (meta["epoch"], meta["step"]) == ("1", step)
        assert run_cli(capsys, "train-prior", runs[name], *prior, "--resume")[0] == 0
        a = load_tensors(runs[name] / "prior_last.safetensors")[0]
        b = load_tensors(runs["straight"] / "prior_last.safetensors")[0]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
