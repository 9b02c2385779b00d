"""Storage faults and untrusted files: a full or read-only disk mid-run, and damaged, foreign or
hostile run files. Each gets one line naming the file and the problem; nothing earlier is lost;
the command line, fuzzed with hostile option values, answers one line and exit 2 every time."""

import errno
import json
import os
import shutil

import pytest
import torch
from conftest import needs_mnist
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import latentzoo
from latentzoo import files
from latentzoo.cli import build_parser, main
from latentzoo.config import make_config
from latentzoo.errors import ConfigError, LatentzooError, RunError
from latentzoo.training import train_model

quiet = dict(progress=False, log=lambda m: None)


@needs_mnist
@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_mid_run_loses_nothing_written_before(
    err, small_splits, tmp_path, monkeypatch, capsys
):
    run = tmp_path / "r"
    cfg = make_config("ae", backbone="mlp", epochs=2, hidden=32)
    real, calls = files.os.fsync, {"n": 0}

    def failing(fd):
        calls["n"] += 1
        # config.json, then epoch 1's model, last and history.csv: then the disk fails
        if calls["n"] > 4:
            raise OSError(err, "injected: " + errno.errorcode[err])
        return real(fd)

    monkeypatch.setattr(files.os, "fsync", failing)
    with pytest.raises(OSError):
        train_model(cfg, run, splits=small_splits, **quiet)
    monkeypatch.setattr(files.os, "fsync", real)
    # the earlier checkpoint still loads
    assert files.load_tensors(run / "last.safetensors")[1]["epoch"] == "1"
    assert latentzoo.load(run, "last").cfg == cfg
    # no half-written file, no stale lock
    assert not list(run.glob(".*.tmp")) and not (run / ".lock").exists()


@pytest.fixture(scope="module")
def good_run(trained):
    return trained["ae-mlp"]


def damaged(tmp_path, good_run, name, data):
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    (run / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return run


@needs_mnist
@pytest.mark.parametrize(
    "name, data, words",
    [
        ("model.safetensors", b"", "not a readable safetensors file"),
        (
            "model.safetensors",
            b"\x08\x00\x00\x00\x00\x00\x00\x00{}",
            "not a readable safetensors file",
        ),
        ("config.json", "", "unreadable config"),
        ("config.json", '{"model": "ae", "flavour": 3}', "unknown config keys: flavour"),
        ("config.json", '{"model": "ae", "epochs": "ten"}', "epochs must be int"),
        ("config.json", '{"model": "ae", "lr": NaN}', "lr must be a finite number"),
        ("config.json", '{"model": "ae", "latent_dim": 100000000000}', "latent_dim must be in"),
        ("config.json", "[1, 2]", "a config must be a JSON object"),
        ("metrics.json", "{", "metrics.json: unreadable JSON"),
    ],
)
def test_damaged_files_get_one_line_naming_the_file(name, data, words, tmp_path, good_run, capsys):
    run = damaged(tmp_path, good_run, name, data)
    assert (
        main(
            ["eval", str(run), "--samples", "0"] if name != "metrics.json" else ["report", str(run)]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and name in err, err


@needs_mnist
def test_truncated_weights_and_weights_of_another_kind(tmp_path, good_run, trained):
    blob = (good_run / "model.safetensors").read_bytes()
    for cut in (len(blob) // 2, len(blob) - 1, 9):
        run = damaged(tmp_path / str(cut), good_run, "model.safetensors", blob[:cut])
        with pytest.raises(RunError, match="not a readable safetensors file"):
            latentzoo.load(run)
    run = damaged(
        tmp_path / "other",
        good_run,
        "model.safetensors",
        (trained["vae-conv"] / "model.safetensors").read_bytes(),
    )
    with pytest.raises(RunError, match="does not fit its config"):
        latentzoo.load(run)


@needs_mnist
def test_a_damaged_history_and_a_prior_from_another_vqvae(tmp_path, trained, small_splits):
    run = damaged(tmp_path, trained["ae-mlp"], "history.csv", "epoch,seconds\none,1\n")
    cfg = latentzoo.load(run).cfg
    cfg.train.epochs = 2
    with pytest.raises(RunError, match="history.csv: damaged table"):
        train_model(cfg, run, resume=True, splits=small_splits, **quiet)
    from latentzoo.models import CodePrior, PriorConfig

    vq = tmp_path / "vq"
    shutil.copytree(trained["vqvae"], vq)
    foreign = PriorConfig(n_codes=7, d_model=16, n_layers=1, n_heads=2)
    files.save_tensors(vq / "prior.safetensors", CodePrior(foreign).state_dict())
    files.write_json(vq / "prior_config.json", foreign.to_dict())
    with pytest.raises(RunError, match="belongs to another VQ-VAE"):
        latentzoo.load(vq)


def numeric_options():
    """(command, option) for every option of every subcommand that takes a number."""
    out = []
    for name, sub in build_parser()._subparsers._group_actions[0].choices.items():
        for a in sub._actions:
            if (
                a.option_strings
                and a.type is not None
                and getattr(a.type, "__name__", "") == "parse"
            ):
                out.append((name, a.option_strings[-1]))
    return out


OPTIONS = numeric_options()
HOSTILE = st.sampled_from(
    ["nan", "inf", "-inf", "1e999", "-1", "-0.5", "abc", "", "0x1f", "1e5000", "٣", "--"]
) | st.text(st.characters(blacklist_categories=["Nd"]), min_size=1, max_size=6)


@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(OPTIONS), HOSTILE)
def test_hostile_option_values_get_one_line_and_exit_2(tmp_path, capsys, option, value):
    command, flag = option
    # no data where a command would look for it: a value taken by mistake fails fast, naming no
    # option
    nowhere = ["--data-dir", str(tmp_path / "no-data")]
    positional = {
        "train": ["ae", "--out", str(tmp_path / "x"), *nowhere],
        "demo": ["--out", str(tmp_path / "x")],
        "encode": [str(tmp_path / "run"), str(tmp_path / "in.png")],
        "score": [str(tmp_path / "run"), str(tmp_path / "in.png")],
    }.get(command, [str(tmp_path / "run")])
    out = (
        ["--out", str(tmp_path / {"encode": "f.npy", "score": "s.csv"}.get(command, "o.png"))]
        if command in ("sample", "reconstruct", "denoise", "interpolate", "encode", "score")
        else []
    )
    extra = ["--noise", "gaussian:0.5"] if command == "denoise" else []
    try:
        code = main([command, *positional, *out, *extra, f"{flag}={value}"])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert (
        code == 2
        and err.count("\n") == 1
        and err.startswith("latentzoo: error:")
        and "Traceback" not in err
    ), (command, flag, value, err)
    # refused for it
    assert flag in err or flag.lstrip("-").replace("-", "_") in err, (command, flag, value, err)
    assert not (tmp_path / "x").exists()


def test_the_fuzzed_options_cover_every_subcommand_that_takes_numbers():
    commands = {c for c, _ in OPTIONS}
    assert {
        "train",
        "train-prior",
        "eval",
        "sample",
        "reconstruct",
        "denoise",
        "interpolate",
        "demo",
        "score",
    } <= commands
    assert len(OPTIONS) >= 25


@needs_mnist
def test_the_same_command_gives_the_same_metrics_twice(tmp_path):
    args = [
        "train",
        "vae",
        "--backbone",
        "mlp",
        "--hidden",
        "32",
        "--epochs",
        "1",
        "--limit",
        "500",
        "--no-progress",
    ]
    assert (
        main([*args, "--out", str(tmp_path / "a")]) == 0
        and main([*args, "--out", str(tmp_path / "b")]) == 0
    )
    a, b = (json.loads((tmp_path / r / "metrics.json").read_text()) for r in "ab")
    for m in (a, b):
        m.pop("train_seconds")
    assert a == b and torch.equal(
        *(
            files.load_tensors(tmp_path / r / "model.safetensors")[0]["encoder.head.weight"]
            for r in "ab"
        )
    )


def test_a_user_error_is_a_latentzoo_error():
    assert issubclass(RunError, LatentzooError) and RunError.exit_code == 2


# the built-in exceptions the package may raise: programming errors no user input reaches
INTERNAL_RAISES = {
    "latentzoo/nn/backbones.py": "ValueError",  # grid_size; the image kind checks shapes first
    "latentzoo/loop/fit.py": "RuntimeError",  # data-parallel ranks that disagree
    "latentzoo/noise.py": "ValueError",  # a noise kind registered twice, by code
    "latentzoo/models/capabilities.py": "TypeError",  # a model class that breaks its promise
}


def test_the_package_raises_its_own_errors_for_what_users_can_fix():
    """Every `raise` of a built-in exception in the package is one of the few internal ones
    above; everything else raises a LatentzooError (one line, exit 2 from the command line)."""
    import ast

    from conftest import ROOT

    found = {}
    for path in sorted((ROOT / "latentzoo").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", "")
                if name in {"ValueError", "RuntimeError", "TypeError", "KeyError", "Exception"}:
                    found.setdefault(str(path.relative_to(ROOT)), set()).add(name)
    assert found == {k: {v} for k, v in INTERNAL_RAISES.items()}


def test_conditions_users_can_fix_are_latentzoo_errors(small_splits, tmp_path):
    """The bench's clash with another run, the ensemble's pairing and calibration, and a
    likelihood of a model without one: each a LatentzooError (exit 2 from the command line)."""
    from latentzoo import jobs
    from latentzoo.bench import Bench
    from latentzoo.eval import vae_likelihood
    from latentzoo.models import build_model

    ae = build_model(make_config("ae", backbone="mlp", hidden=8))
    with pytest.raises(ConfigError, match="the ensemble takes an AE"):
        jobs.scorer(ae, ae, small_splits.val)
    with pytest.raises(ConfigError, match="fpr must be in"):
        jobs.calibrate(ae, small_splits.val, fpr=1.5)
    with pytest.raises(ConfigError, match="likelihoods need a VAE"):
        vae_likelihood(ae, small_splits.test, k=2, n_images=1)
    bench = Bench(tmp_path, quick=True, log=lambda m: None)
    (bench.runs / "ae").mkdir(parents=True)  # a folder that holds no finished run of this config
    with pytest.raises(RunError, match="different or unfinished run"):
        bench.model("ae", "ae")


@needs_mnist
def test_resuming_from_a_checkpoint_of_another_model_is_one_line(tmp_path, trained, small_splits):
    run = damaged(
        tmp_path,
        trained["ae-mlp"],
        "last.safetensors",
        (trained["vae-conv"] / "last.safetensors").read_bytes(),
    )
    cfg = latentzoo.load(run).cfg
    cfg.train.epochs = 2
    with pytest.raises(
        RunError, match="last.safetensors: not a checkpoint this run can resume from"
    ):
        train_model(cfg, run, resume=True, splits=small_splits, **quiet)


RUN_COMMANDS = {  # subcommand -> its arguments after RUN (an --out that is fine)
    "eval": ["--samples", "0"],
    "report": [],
    "train-prior": ["--epochs", "1"],
    "sample": ["--out", "{tmp}/s.png"],
    "interpolate": ["--out", "{tmp}/i.png"],
    "reconstruct": ["--out", "{tmp}/r.png"],
    "denoise": ["--noise", "gaussian:0.5", "--out", "{tmp}/d.png"],
    "encode": ["{img}", "--out", "{tmp}/f.npy"],
    "score": ["{img}", "--out", "{tmp}/s.csv"],
}
OUT_COMMANDS = {  # subcommand -> (its arguments with RUN, the --out name)
    "sample": ("s.png",),
    "interpolate": ("i.png",),
    "reconstruct": ("r.png",),
    "report": ("p.html",),
    "denoise": ("d.png", "--noise", "gaussian:0.5"),
    "encode": ("f.npy", "{img}"),
    "score": ("s.csv", "{img}"),
    "train": ("run",),
}
INPUT_COMMANDS = ("encode", "score", "reconstruct", "denoise")


def path_case(tmp_path, kind: str) -> str:
    """A path that is wrong in the way `kind` says, made under tmp_path."""
    (tmp_path / "blocker").write_text("a file where a folder should be\n")
    if kind == "missing":
        return str(tmp_path / "no" / "such")
    if kind == "a file":
        return str(tmp_path / "blocker")
    if kind == "an empty folder":
        (tmp_path / "empty").mkdir(exist_ok=True)
        return str(tmp_path / "empty")
    if kind == "under a file":
        return str(tmp_path / "blocker" / "inside")
    if kind == "a folder":
        (tmp_path / "taken").mkdir(exist_ok=True)
        return str(tmp_path / "taken")
    if kind == "too long a name":
        return str(tmp_path / ("x" * 300))
    raise ValueError(kind)


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


@pytest.fixture
def img(tmp_path):
    """A 28x28 grey PNG, an input that every job accepts."""
    Image.new("L", (28, 28)).save(tmp_path / "in.png")
    return tmp_path / "in.png"


def assert_one_line(code, err, case):
    assert (
        code == 2
        and err.count("\n") == 1
        and err.startswith("latentzoo: error:")
        and "Traceback" not in err
    ), (case, code, err)


@needs_mnist
@pytest.mark.parametrize("kind", ["missing", "a file", "an empty folder"])
@pytest.mark.parametrize("command", sorted(RUN_COMMANDS))
def test_a_run_folder_that_is_not_there_gets_one_line(
    command, kind, tmp_path, img, trained, capsys
):
    rest = [a.format(tmp=tmp_path, img=img) for a in RUN_COMMANDS[command]]
    code, err = run_cli([command, path_case(tmp_path, kind), *rest], capsys)
    assert_one_line(code, err, (command, kind))
    assert "run" in err or "latentzoo" in err
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(".lock"))


@needs_mnist
@pytest.mark.parametrize("kind", ["under a file", "a folder", "too long a name"])
@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_an_output_that_cannot_be_written_gets_one_line_and_leaves_nothing(
    command, kind, tmp_path, img, trained, capsys
):
    name, *rest = OUT_COMMANDS[command]
    out = path_case(tmp_path, kind)
    out = (
        out
        if kind == "a folder" and command == "train"
        else (out + "." + name.split(".")[-1] if "." in name else out)
    )
    if kind == "a folder" and command != "train":
        os.makedirs(out, exist_ok=True)  # a folder where the output file should go
    run = shutil.copytree(trained["ae-mlp"], tmp_path / "run")
    if command == "train":
        if kind == "a folder":  # a folder that already holds a run
            shutil.copytree(run, out, dirs_exist_ok=True)
        args = ["train", "ae", "--backbone", "mlp", "--epochs", "1", "--limit", "64", "--out", out]
    else:
        args = [command, str(run), *[a.format(img=img) for a in rest], "--out", out]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, err = run_cli(args, capsys)
    assert_one_line(code, err, (command, kind, out))
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    # nothing written, nothing half-written
    assert after == before, (command, kind, set(after) ^ set(before))


@needs_mnist
@pytest.mark.parametrize("kind", ["missing", "an empty folder", "a text file"])
@pytest.mark.parametrize("command", INPUT_COMMANDS)
def test_an_input_that_is_not_an_image_gets_one_line(command, kind, tmp_path, trained, capsys):
    if kind == "a text file":
        given = tmp_path / "notes.txt"
        given.write_text("not an image\n")
    else:
        given = path_case(tmp_path, kind)
    out = str(
        tmp_path
        / ("f.npy" if command == "encode" else "s.csv" if command == "score" else "results")
    )
    code, err = run_cli([command, str(trained["ae-mlp"]), str(given), "--out", out], capsys)
    assert_one_line(code, err, (command, kind))
    assert str(given) in err and not os.path.exists(out)
