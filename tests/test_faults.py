"""Faults done on purpose: training processes killed at seeded random moments and resumed, two
writers in one run folder, hostile numbers on the command line, and files that must never be
executed. The kills and signals land at chosen points (latentzoo.loop.signals.fault_point), so every
case runs in every run; docs/reliability.md lists them."""

import ast
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, needs_mnist
from hypothesis import given, settings
from hypothesis import strategies as st

from latentzoo.cli import main
from latentzoo.data import parse_idx
from latentzoo.errors import ConfigError, DataError
from latentzoo.files import load_tensors
from latentzoo.loop.signals import FAULT_ENV
from latentzoo.noise import NOISE_KINDS, Corruption, format_noise, parse_noise
from latentzoo.runs import LAST

TRAIN = [
    "train",
    "ae",
    "--backbone",
    "mlp",
    "--hidden",
    "64",
    "--epochs",
    "3",
    "--limit",
    "3000",
    "--no-progress",
    # 24 steps an epoch: most kills land between mid-epoch checkpoints
    "--checkpoint-every",
    "5",
]


def default_signals() -> None:
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)


def start(args, fault: str | None = None, **kw) -> subprocess.Popen:
    """`latentzoo ARGS` in a process of its own; `fault` ("SIGNAL@POINT") makes it signal itself
    at that point of training (latentzoo.loop.signals.fault_point)."""
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    # a shell's background job starts with SIGINT ignored; a user's terminal does not
    kw.setdefault("preexec_fn", default_signals)
    return subprocess.Popen(
        [sys.executable, "-m", "latentzoo", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env if fault is None else {**env, FAULT_ENV: fault},
        **kw,
    )


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run (its last.safetensors) that every interrupted one must end as."""
    run = tmp_path_factory.mktemp("straight") / "run"
    assert run_fresh([*TRAIN, "--out", str(run)]) == 0
    return load_tensors(run / LAST)[0]


def run_fresh(args: list[str]) -> int:
    """`latentzoo ARGS` in a fresh process, as each interrupted part runs: every part of a
    comparison then computes in the same process state."""
    proc = start(args)
    proc.communicate(timeout=300)
    return proc.returncode


def same_weights(run: Path, straight: dict) -> bool:
    a, meta = load_tensors(run / LAST)
    return (
        meta["epoch"] == "3"
        and a.keys() == straight.keys()
        and all(torch.equal(a[k], straight[k]) for k in a)
    )


# where a kill lands (TRAIN checkpoints every 5 of its 24 steps an epoch) -> what it left behind
KILL_POINTS = {
    "epoch 1, step 3": None,  # before the first checkpoint: no last.safetensors
    "epoch 2, step 8": ("2", "5"),  # mid-epoch: epoch 2's checkpoint after step 5 (its index 1)
    "end of epoch 1": ("1", None),  # between epochs: epoch 1's end-of-epoch checkpoint
    "report": ("3", None),  # after training, while the report is drawn
}


@needs_mnist
@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_at_each_point_of_a_run_then_resume_ends_as_an_uninterrupted_run(
    point, tmp_path, straight
):
    run = tmp_path / "killed"
    proc = start([*TRAIN, "--out", str(run)], fault=f"KILL@{point}")
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, point
    for f in run.glob("*.safetensors"):  # whatever the kill left under its own name is whole
        load_tensors(f)
    left = KILL_POINTS[point]
    if left is None:
        assert not (run / LAST).exists()
    else:
        meta = load_tensors(run / LAST)[1]
        epoch = str(int(left[0]) - 1) if left[1] else left[0]  # a mid-epoch one: the epoch before
        assert (meta["epoch"], meta.get("step")) == (epoch, left[1]), meta
    if point == "report":  # drawn after training let go of the folder
        assert not (run / "report.html").exists() and not (run / ".lock").exists()
    else:
        assert (run / ".lock").exists()  # left by the killed process, taken over below
    assert run_fresh([*TRAIN, "--out", str(run), "--resume"]) == 0
    assert same_weights(run, straight) and (run / "report.html").exists()
    assert not (run / ".lock").exists()


@needs_mnist
@pytest.mark.parametrize("name, code", [("TERM", 143), ("INT", 130)])
def test_sigterm_and_ctrl_c_finish_the_step_write_a_checkpoint_and_say_how_to_resume(
    name, code, tmp_path, straight
):
    """SIGTERM, or SIGINT as Ctrl-C sends it, inside epoch 2 through the command line: exit 143 or
    130, one line naming where it stopped, a checkpoint at that step; resuming gives the
    uninterrupted weights."""
    run = tmp_path / "stopped"
    proc = start([*TRAIN, "--out", str(run)], fault=f"{name}@epoch 2, step 7")
    _, err = proc.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.startswith("latentzoo:")]
    assert proc.returncode == code and len(lines) == 1, err
    assert f"stopped by SIG{name} at epoch 2, step 7; checkpoint written to" in lines[0], err
    assert "continue with --resume" in lines[0] and "Traceback" not in err
    meta = load_tensors(run / LAST)[1]
    assert (meta["epoch"], meta["step"]) == ("1", "7") and not (run / ".lock").exists()
    assert run_fresh([*TRAIN, "--out", str(run), "--resume"]) == 0
    assert same_weights(run, straight)


@needs_mnist
def test_a_run_killed_before_its_first_checkpoint_is_no_dead_end(tmp_path, capsys):
    run = tmp_path / "early"
    proc = start([*TRAIN, "--out", str(run)], fault="KILL@epoch 1, step 3")
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL and not (run / LAST).exists()
    assert main([*TRAIN, "--out", str(run)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*TRAIN, "--out", str(run), "--resume"]) == 0  # starts again
    assert main([*TRAIN, "--out", str(run), "--overwrite", "--epochs", "1"]) == 0
    assert load_tensors(run / LAST)[1]["epoch"] == "1"


@pytest.mark.cases(4)
@needs_mnist
def test_one_writer_per_run_folder_through_the_commands(tmp_path, capsys):
    """A second `train`, `train --resume` or `train-prior` in a folder held by a live process: one
    line naming its process id, exit 2, the folder untouched; a lock left by a killed holder is
    taken over by the next `train --resume`."""
    run = tmp_path / "run"
    vq = [*TRAIN[:2], "--epochs", "1", "--limit", "256", "--no-progress"]
    vq[1] = "vqvae"
    assert main([*vq, "--channels", "8", "--codebook-size", "16", "--out", str(run)]) == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from latentzoo.runs import run_lock\n"
            "with run_lock(sys.argv[1]):\n print('held', flush=True); time.sleep(60)",
            str(run),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir() if p.name != ".lock"}
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (
            [*vq, "--out", str(run), "--overwrite"],
            [*vq, "--out", str(run), "--resume", "--epochs", "2"],
            ["train-prior", str(run), "--epochs", "1", "--no-progress"],
        ):
            capsys.readouterr()
            assert main(args) == 2, args
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and f"being written by process {holder.pid}" in err
        after = {p.name: p.stat().st_mtime_ns for p in run.iterdir() if p.name != ".lock"}
        assert after == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # left behind by the killed holder
    assert (run / ".lock").read_text().strip() == str(holder.pid)
    assert main([*vq, "--out", str(run), "--resume", "--epochs", "2"]) == 0  # taken over
    assert not (run / ".lock").exists()
    assert load_tensors(run / LAST)[1]["epoch"] == "2"


@pytest.mark.parametrize(
    "args, words",
    [
        (["sample", "RUN", "-n", "99999999999", "--out", "s.png"], "must be 1 to 10,000"),
        (["sample", "RUN", "--temperature", "nan", "--out", "s.png"], "not a finite number"),
        (["train", "ae", "--out", "x", "--lr", "inf"], "not a finite number"),
        (
            ["train", "ae", "--out", "x", "--batch-size", "-3"],
            "batch_size must be in [1, 1,000,000]",
        ),
        (["train", "ae", "--out", "x", "--resume", "--overwrite"], "choose one"),
    ],
)
def test_hostile_numbers_get_one_line_and_exit_2(args, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


# a term as a user may spell it: any registered kind, any case, dashes or underscores, spaces
TERM = st.tuples(
    st.sampled_from(sorted(NOISE_KINDS)),
    st.sampled_from(["0", "1", "0.5", "1.5", "-0.1", "1e-9", "2", "1e300", "-60", "-61", "-5"])
    | st.floats(-70, 3, allow_nan=False).map(repr),
    st.sampled_from(["{k}:{v}", " {k} : {v} ", "{K}:{v}", "{d}:{v}"]),
)
SPEC = st.lists(st.lists(TERM, min_size=1, max_size=3), min_size=1, max_size=3)


def spelled(chains) -> str:
    return "|".join(
        "+".join(form.format(k=k, v=v, K=k.upper(), d=k.replace("_", "-")) for k, v, form in chain)
        for chain in chains
    )


@settings(max_examples=1000, deadline=None, derandomize=True)  # the same cases in every run
@given(SPEC)
def test_a_noise_spec_of_known_terms_parses_to_its_terms_exactly_when_each_level_fits(chains):
    """Specs made of registered kinds: each parses to its own terms when every level is a finite
    number at least the kind's lowest (0, or -60 dB), at most its highest (a JPEG quality: 100),
    and at most 1 for a probability; else a one-line ConfigError."""
    spec = spelled(chains)
    fits = all(
        NOISE_KINDS[k].low <= float(v) < float("inf")
        and float(v) <= NOISE_KINDS[k].high
        and not (NOISE_KINDS[k].probability and float(v) > 1)
        for chain in chains
        for k, v, _ in chain
    )
    if not fits:
        with pytest.raises(ConfigError, match="bad noise spec") as e:
            parse_noise(spec)
        assert "\n" not in str(e.value)
        return
    want = tuple(tuple(Corruption(k, float(v)) for k, v, _ in chain) for chain in chains)
    assert parse_noise(spec) == want and parse_noise(format_noise(want)) == want


@settings(max_examples=1000, deadline=None, derandomize=True)  # the same cases in every run
@given(
    st.text(max_size=40)
    | st.builds(lambda c, i, t: spelled(c)[:i] + t, SPEC, st.integers(0, 40), st.text(max_size=3))
)
def test_any_noise_spec_parses_or_is_a_config_error(spec):
    """Any text, and valid specs cut short or with text added: a spec that parses gives terms of
    registered kinds that format back to a spec parsing the same; anything else is one line."""
    try:
        noise = parse_noise(spec)
    except ConfigError as e:
        assert "\n" not in str(e)
    else:
        assert all(
            t.kind in NOISE_KINDS and t.level >= NOISE_KINDS[t.kind].low
            for chain in noise
            for t in chain
        )
        assert parse_noise(format_noise(noise)) == noise


@settings(max_examples=1000, deadline=None, derandomize=True)  # the same cases in every run
@given(
    st.binary(max_size=64)
    | st.builds(
        lambda tail: bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + tail, st.binary(max_size=12)
    )
)
def test_random_bytes_never_crash_the_idx_reader(raw):
    try:
        arr = parse_idx(raw)
    except DataError as e:
        assert "\n" not in str(e)
    else:
        assert arr.size == len(raw) - 4 - 4 * arr.ndim


# the names spelt in pieces, so that a grep of the project for unsafe loading finds none here
UNSAFE_MODULES = {"pickle", "dill", "cloudpickle"}
UNSAFE_CALLS = {"eval", "exec", "torch.load", "pickle.load", "pickle.loads"}


def test_nothing_in_the_package_runs_code_from_a_file():
    found = []
    for path in (ROOT / "latentzoo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + (
                    [node.module] if getattr(node, "module", None) else []
                )
                found += [
                    f"{path.name}: import {n}" for n in names if n.split(".")[0] in UNSAFE_MODULES
                ]
            elif isinstance(node, ast.Call):
                f = node.func
                name = (
                    f.id
                    if isinstance(f, ast.Name)
                    else f"{getattr(f.value, 'id', '')}.{f.attr}"
                    if isinstance(f, ast.Attribute)
                    else ""
                )
                if name in UNSAFE_CALLS:
                    safe = name == "torch.load" and any(
                        k.arg == "weights_only" and getattr(k.value, "value", None) is True
                        for k in node.keywords
                    )
                    if not safe:
                        found.append(f"{path.name}:{node.lineno}: {name}")
    assert not found, found


def test_a_signal_inside_an_epoch_resumes_exactly_from_that_step(tmp_path):
    """The loop on a toy problem: SIGTERM at a chosen step writes a mid-epoch checkpoint (with the
    random state the rest of the epoch draws from) and stops; resuming gives the uninterrupted
    weights."""
    from latentzoo import loop
    from latentzoo.errors import Interrupted

    data = torch.randn(96, 4, generator=torch.Generator().manual_seed(0))

    def run(folder, signal_at=None, resume=False):
        loop.init_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        count = {"n": 0}

        def step(x, _epoch):
            count["n"] += 1
            if count["n"] == signal_at:
                os.kill(os.getpid(), signal.SIGTERM)
            # draws from the global generator, as the DAE and VAE do
            noisy = x + 0.1 * torch.randn_like(x)
            loss = (model(noisy) - x.sum(1, keepdim=True)).pow(2).mean()
            return loss, {"loss": float(loss.detach())}, len(x)

        files = loop.Files(
            folder / "best.safetensors", folder / "last.safetensors", folder / "history.csv"
        )
        loop.fit(
            model,
            opt,
            epochs=3,
            steps=6,
            seed=0,
            files=files,
            resume=resume,
            select_by="loss",
            batches=lambda order: (data[i] for i in torch.randperm(96, generator=order).split(16)),
            step=step,
            validate=lambda: {
                "loss": float((model(data) - data.sum(1, keepdim=True)).pow(2).mean().detach())
            },
            log=lambda m: None,
            progress=False,
        )
        return model.state_dict()

    before = signal.getsignal(signal.SIGTERM)
    straight = run(tmp_path / "a")
    with pytest.raises(
        Interrupted, match="stopped by SIGTERM at epoch 2, step 3; checkpoint written"
    ) as e:
        run(tmp_path / "b", signal_at=9)
    assert e.value.exit_code == 143
    assert load_tensors(tmp_path / "b" / "last.safetensors")[1]["step"] == "3"
    resumed = run(tmp_path / "b", resume=True)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    assert signal.getsignal(signal.SIGTERM) is before  # the usual handler is back
