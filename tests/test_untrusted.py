"""Storage faults and untrusted files: a full or read-only disk mid-run, and damaged, foreign or
hostile run files. Each gets one line naming the file and the problem; nothing earlier is lost;
the command line, fuzzed with hostile option values, answers one line and exit 2 every time."""

import errno
import functools
import json
import math
import os
import shutil
from pathlib import Path

import pytest
import torch
from conftest import needs_mnist
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import latentzoo
from latentzoo import codec, files
from latentzoo.cli import build_parser, main
from latentzoo.config import field_type, kinds_with, make_config, option_fields
from latentzoo.errors import ConfigError, LatentzooError, RunError
from latentzoo.training import train_model

quiet = dict(progress=False, log=lambda m: None)


@needs_mnist
@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_mid_run_loses_nothing_written_before(
    err, small_splits, tmp_path, monkeypatch, capsys
):
    """Through the command line: exit 2 and one line with the system's error; epoch 1's files
    load."""
    run = tmp_path / "r"
    args = ["train", "ae", "--backbone", "mlp", "--epochs", "2", "--hidden", "32"]
    args += ["--limit", "512", "--no-progress", "--out", str(run)]
    real, calls = files.os.fsync, {"n": 0}

    def failing(fd):
        calls["n"] += 1
        # config.json, then epoch 1's model, last and history.csv: then the disk fails
        if calls["n"] > 4:
            raise OSError(err, "injected: " + errno.errorcode[err])
        return real(fd)

    monkeypatch.setattr(files.os, "fsync", failing)
    code, stderr = run_cli(args, capsys)
    monkeypatch.setattr(files.os, "fsync", real)
    lines = [line for line in stderr.splitlines() if line.startswith("latentzoo:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "injected: " + errno.errorcode[err] in lines[0], stderr
    # the earlier checkpoint still loads
    assert files.load_tensors(run / "last.safetensors")[1]["epoch"] == "1"
    assert latentzoo.load(run, "last").cfg.train.epochs == 2
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


@pytest.mark.cases(4)
@needs_mnist
def test_truncated_weights_and_weights_of_another_kind(tmp_path, good_run, trained):
    blob = (good_run / "model.safetensors").read_bytes()
    for cut in (len(blob) // 2, len(blob) - 1, 9):
        run = damaged(tmp_path / str(cut), good_run, "model.safetensors", blob[:cut])
        with pytest.raises(RunError, match="not a readable safetensors file") as e:
            latentzoo.load(run)
        assert str(run / "model.safetensors") in str(e.value)
    run = damaged(
        tmp_path / "other",
        good_run,
        "model.safetensors",
        (trained["vae-conv"] / "model.safetensors").read_bytes(),
    )
    with pytest.raises(RunError, match="does not fit its config") as e:
        latentzoo.load(run)
    assert "model.safetensors" in str(e.value)


@pytest.mark.cases(2)
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


@functools.cache
def subcommands() -> dict:
    return build_parser()._subparsers._group_actions[0].choices


def numeric_options():
    """(command, option) for every option of every subcommand that takes a number."""
    out = []
    for name, sub in subcommands().items():
        for a in sub._actions:
            if (
                a.option_strings
                and a.type is not None
                and getattr(a.type, "__name__", "") == "parse"
            ):
                out.append((name, a.option_strings[-1]))
    return out


def out_forms(command: str) -> list[str]:
    """Every kind of --out path that `command` accepts: each suffix, and a folder where it takes
    one."""
    outs = [a for a in subcommands()[command]._actions if "--out" in a.option_strings]
    if not outs:
        return ["o"]  # not written: the command takes no --out
    if outs[0].type is Path:  # a run folder (train, train-prior), report's page
        return ["x"] if command in ("train", "demo", "train-prior") else ["o.html"]
    return [f"o{s}" for s in outs[0].type.suffixes] + (["o"] if outs[0].type.folder else [])


def bounds_of(flag: str) -> dict[str, tuple[str, str, bool]]:
    """A settings option's bounds: side -> (the bound, a value just past it, whether the bound
    itself is refused), as text."""
    f = option_fields().get(flag.removeprefix("--").replace("-", "_"))
    out = {}
    for side, sign in (("low", -1), ("high", 1)):
        bound = f.metadata[side] if f is not None else None
        if bound is not None:
            step = 1 if field_type(f)[0] is int else max(abs(bound) * 1e-6, 1e-9)
            out[side] = (repr(bound), repr(bound + sign * step), f.metadata[f"open_{side}"])
    return out


def bound_texts(flag: str) -> list[str]:
    return [text for at, past, _ in bounds_of(flag).values() for text in (at, past)]


OPTIONS = numeric_options()
HOSTILE = st.sampled_from(
    ["nan", "inf", "-inf", "1e999", "-1", "-0.5", "abc", "", "0x1f", "1e5000", "٣", "--"]
) | st.text(st.characters(blacklist_categories=["Nd"]), min_size=1, max_size=6)
# values that may be right: boundaries, zero, digits, and huge finite numbers
PLAUSIBLE = (
    st.sampled_from(["0", "1", "2", "0.5", "1.0", "10000", "10001", "65537", "1e300", "9" * 30])
    | st.integers(-(10**25), 10**25).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
)


def finite_number(text: str) -> bool:
    try:
        return text.isascii() and math.isfinite(float(text))
    except ValueError:
        return False


@st.composite
def option_cases(draw):
    command, flag = draw(st.sampled_from(OPTIONS))
    value = draw(HOSTILE | PLAUSIBLE | st.sampled_from(bound_texts(flag) or ["0"]))
    return command, flag, value, draw(st.sampled_from(out_forms(command)))


def fuzz_args(tmp_path, command: str, out: str) -> list[str]:
    """`command` with everything it needs but data or a run: a value it accepts fails afterwards,
    for that reason alone."""
    nowhere = ["--data-dir", str(tmp_path / "no-data")]
    positional = {
        "train": ["ae", *nowhere],
        "demo": ["--device", "no-such-device"],
        "encode": [str(tmp_path / "run"), str(tmp_path / "in.png")],
        "score": [str(tmp_path / "run"), str(tmp_path / "in.png")],
    }.get(command, [str(tmp_path / "run")])
    takes_out = any("--out" in a.option_strings for a in subcommands()[command]._actions)
    extra = ["--noise", "gaussian:0.5"] if command == "denoise" else []
    return [command, *positional, *(["--out", str(tmp_path / out)] if takes_out else []), *extra]


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(option_cases())
def test_hostile_option_values_get_one_line_and_exit_2(tmp_path, capsys, case):
    """Each value is refused in one line naming its option, or accepted: then the command fails
    exactly as it does without the option (here: no data, no run). Non-numbers are refused."""
    command, flag, value, out = case
    args = fuzz_args(tmp_path, command, out)
    code, err = run_cli([*args, f"{flag}={value}"], capsys)
    assert_one_line(code, err, (command, flag, value))
    assert not (tmp_path / out).exists(), (command, flag, value)
    if flag in err or flag.lstrip("-").replace("-", "_") in err:
        return  # refused for it
    assert finite_number(value), (command, flag, value, err)
    if tuple(args) not in WITHOUT:
        WITHOUT[tuple(args)] = run_cli(args, capsys)
    assert WITHOUT[tuple(args)] == (code, err), (command, flag, value)


WITHOUT: dict[tuple, tuple] = {}  # a command's answer without the fuzzed option


# what an option needs beside it to mean something (a signal's or a photo's settings: their data)
NEEDS = {
    "downsample": ["--kind", "signal"],
    "hop": ["--kind", "signal", "--window", "100000000"],
    "skip_depth": ["--latent", "grid", "--recon", "mse", "--skip", "input"],
}


@pytest.mark.parametrize("flag", sorted({f for c, f in OPTIONS if c == "train" and bounds_of(f)}))
def test_each_bound_of_each_train_option_is_where_refusal_starts(flag, tmp_path, capsys):
    """A train option at its bound is accepted (unless the bound is open); just past it, it is
    refused naming the option."""
    name = flag.removeprefix("--").replace("-", "_")
    args = fuzz_args(tmp_path, "train", "x")
    args[1] = kinds_with(name)[0]  # a kind that has the setting
    group = option_fields()[name].metadata["group"]
    args += NEEDS.get(name, ["--kind", group] if group in ("signal", "photo") else [])
    baseline = run_cli(args, capsys)
    for at, past, open_ in bounds_of(flag).values():
        for value, refused in ((at, open_), (past, True)):
            code, err = run_cli([*args, f"{flag}={value}"], capsys)
            if refused:
                assert_one_line(code, err, (flag, value))
                assert name in err or flag in err, (flag, value, err)
            else:
                assert (code, err) == baseline, (flag, value, err)


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
    "latentzoo/nn/backbones1d.py": "ValueError",  # code_length; the signal kind checks first
    "latentzoo/loop/fit.py": "RuntimeError",  # data-parallel ranks that disagree
    "latentzoo/noise.py": "ValueError",  # a noise kind registered twice, by code
    "latentzoo/models/capabilities.py": "TypeError",  # a model class that breaks its promise
    "latentzoo/nn/quantizers/rvq.py": "ValueError",  # rows that are no codebooks; the codec checks
    "latentzoo/eval/anomaly.py": "ValueError",  # chi2_log_tail of an odd degree; the views are 4
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
    vae = build_model(make_config("vae", backbone="mlp", hidden=8))
    with pytest.raises(ConfigError, match="larger --val-fraction"):
        jobs.scorer(ae, vae, small_splits.val.subset(slice(0, 1)))
    with pytest.raises(ConfigError, match="fpr must be in"):
        jobs.calibrate(ae, small_splits.val, fpr=1.5)
    with pytest.raises(ConfigError, match="likelihoods need a VAE"):
        vae_likelihood(ae, small_splits.test, k=2, n_images=1)
    bench = Bench(tmp_path, quick=True, log=lambda m: None)
    (bench.runs / "ae").mkdir(parents=True)  # a folder that holds no finished run of this config
    with pytest.raises(RunError, match="holds no run of this config"):
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


# subcommand -> its arguments: {run} the run folder, {img} an input image, {lzc} a compressed file
RUN_COMMANDS = {
    "eval": ["{run}", "--samples", "0"],
    "report": ["{run}"],
    "train-prior": ["{run}", "--epochs", "1"],
    "sample": ["{run}", "--out", "{tmp}/s.png"],
    "interpolate": ["{run}", "--out", "{tmp}/i.png"],
    "reconstruct": ["{run}", "--out", "{tmp}/r.png"],
    "denoise": ["{run}", "--noise", "gaussian:0.5", "--out", "{tmp}/d.png"],
    "encode": ["{run}", "{img}", "--out", "{tmp}/f.npy"],
    "score": ["{run}", "{img}", "--out", "{tmp}/s.csv"],
    "compress": ["{run}", "{img}", "--out", "{tmp}/c.lzc"],
    "decompress": ["{lzc}", "--run", "{run}", "--out", "{tmp}/d.npy"],
    "app": ["{run}"],
}
OUT_COMMANDS = {  # subcommand -> (the --out name, its arguments)
    "sample": ("s.png", "{run}"),
    "interpolate": ("i.png", "{run}"),
    "reconstruct": ("r.png", "{run}"),
    "report": ("p.html", "{run}"),
    "denoise": ("d.png", "{run}", "--noise", "gaussian:0.5"),
    "encode": ("f.npy", "{run}", "{img}"),
    "score": ("s.csv", "{run}", "{img}"),
    "compress": ("c.lzc", "{run}", "{img}"),
    "decompress": ("d.npy", "{lzc}", "--run", "{run}"),
    "train": ("run",),
    "train-prior": ("prior", "{run}", "--epochs", "1"),
}
INPUT_COMMANDS = ("encode", "score", "reconstruct", "denoise", "compress")
CODEC_COMMANDS = ("compress", "decompress")  # these need a VQ-VAE with a prior


@pytest.fixture
def paths(tmp_path, img, trained, vq_run):
    """What the templates above name: a run of the kind the command needs, copied into tmp_path,
    an input image and a compressed file of that image."""

    def fill(command: str, args, run=None) -> list[str]:
        if run is None:
            source = vq_run if command in (*CODEC_COMMANDS, "train-prior") else trained["ae-mlp"]
            run = tmp_path / "run"
            if not run.exists():
                shutil.copytree(source, run)
        lzc = tmp_path / "in.lzc"
        if command == "decompress" and not lzc.exists():
            lzc.write_bytes(codec.compress(latentzoo.load(vq_run), torch.zeros(1, 1, 28, 28)))
        names = dict(tmp=tmp_path, img=img, lzc=lzc, run=run)
        return [a.format(**names) for a in args]

    return fill


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
def test_a_run_folder_that_is_not_there_gets_one_line(command, kind, tmp_path, paths, capsys):
    given = path_case(tmp_path, kind)
    code, err = run_cli([command, *paths(command, RUN_COMMANDS[command], run=given)], capsys)
    assert_one_line(code, err, (command, kind))
    assert given in err, (command, kind, err)  # it names the folder
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(".lock"))


@needs_mnist
@pytest.mark.parametrize("kind", ["under a file", "a folder", "too long a name"])
@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_an_output_that_cannot_be_written_gets_one_line_and_leaves_nothing(
    command, kind, tmp_path, paths, capsys
):
    name, *rest = OUT_COMMANDS[command]
    out = path_case(tmp_path, kind)
    makes_run = command in ("train", "train-prior")  # --out is a run folder
    out = out if makes_run or "." not in name else out + "." + name.split(".")[-1]
    if kind == "a folder" and not makes_run:
        os.makedirs(out, exist_ok=True)  # a folder where the output file should go
    if kind == "a folder" and makes_run:  # a folder that already holds a run
        shutil.copytree(paths("eval", ["{run}"])[0], out, dirs_exist_ok=True)
    if command == "train":
        args = ["train", "ae", "--backbone", "mlp", "--epochs", "1", "--limit", "64", "--out", out]
    else:
        args = [command, *paths(command, rest), "--out", out]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, err = run_cli(args, capsys)
    assert_one_line(code, err, (command, kind, out))
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    # nothing written, nothing half-written
    assert after == before, (command, kind, set(after) ^ set(before))


@needs_mnist
@pytest.mark.parametrize("kind", ["missing", "an empty folder", "a text file"])
@pytest.mark.parametrize("command", INPUT_COMMANDS)
def test_an_input_that_is_not_an_image_gets_one_line(command, kind, tmp_path, paths, capsys):
    if kind == "a text file":
        given = tmp_path / "notes.txt"
        given.write_text("not an image\n")
    else:
        given = path_case(tmp_path, kind)
    names = {"encode": "f.npy", "score": "s.csv", "compress": "c.lzc"}
    out = str(tmp_path / names.get(command, "results"))
    run = paths(command, ["{run}"])[0]
    code, err = run_cli([command, run, str(given), "--out", out], capsys)
    assert_one_line(code, err, (command, kind))
    assert str(given) in err and not os.path.exists(out)
