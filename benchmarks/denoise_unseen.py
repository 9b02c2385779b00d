"""Benchmark: denoising autoencoders on corruptions they never saw, against the input and classical
filters.

    python benchmarks/denoise_unseen.py [--variants NAME=OPTIONS;...] [--n 2000] [--name
    denoise-unseen]

Each variant is a DAE trained with `latentzoo train dae` and the given options (default: the DAE's
old default, gaussian:0.5 with a 32-d latent; its mixture of the three training noises at several
strengths with a 32-d latent; the DAE's defaults, that mixture with a 128-d latent), into
benchmarks/runs/denoise/NAME (reused when it already holds that finished run). Each is
run on the first N test digits under the corruptions of latentzoo.eval.corruptions, none of them a
training kind or strength, under the structured and light ones of
latentzoo.eval.structured_corruptions, and under the old default's training kinds (SEEN, for
reference); beside it the corrupted input itself, a 3x3 median filter and a Gaussian blur (sigma 1
pixel). Each variant also appears safeguarded (latentzoo.jobs.safeguard: each output blended back
towards its input, by the residuals it leaves on the first N validation digits) at the quantiles
QS; the quantile is chosen on the next N validation digits, corrupted alike.
PSNR is the mean per-image PSNR against the clean digits, in dB. Written to
benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.config import DAE_NOISE, make_config  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval import (  # noqa: E402
    classical_denoise,
    psnr,
    structured_corruptions,
    unseen_corruptions,
)
from latentzoo.files import atomic_write, read_json, write_json  # noqa: E402
from latentzoo.jobs import clean_residuals, reconstruct, safeguard  # noqa: E402
from latentzoo.noise import corrupt  # noqa: E402
from latentzoo.runs import METRICS, load, read_config  # noqa: E402
from latentzoo.training import train_model  # noqa: E402

VARIANTS = (
    f"gaussian-0.5=noise=gaussian:0.5,latent_dim=32;mixture-latent32=noise={DAE_NOISE},latent_dim=32;"
    "default="
)  # the DAE's defaults before and after this study, and the step between them
SEEN = ("gaussian:0.5", "mask:0.5", "salt_pepper:0.2")
CLEAN = "clean (the ceiling)"
QS = (0.9, 0.95, 0.99, 1.0)  # the safeguard's quantiles measured


def variant_run(name: str, options: str, runs: Path, log) -> Path:
    kw = {}
    for item in filter(None, options.split(",")):
        k, _, v = item.partition("=")
        kw[k] = int(v) if v.isdigit() else v
    cfg = make_config("dae", **kw)
    run = runs / name
    if not ((run / METRICS).is_file() and read_config(run) == cfg):
        log(f"training {name}: {options or 'the defaults'}")
        train_model(cfg, run, overwrite=run.exists(), progress=False, log=log)
    return run


def psnr_table(x, models, residuals, g, log) -> dict[str, dict[str, float]]:
    """Mean PSNR per corruption and method on clean images x, corrupted with draws from g."""
    cases = {
        CLEAN: x,
        **{f"{s} (seen by default)": corrupt(x, s, g) for s in SEEN},
        **unseen_corruptions(x, g),
        **structured_corruptions(x, g),
    }
    table = {}
    for case, noisy in cases.items():
        noisy = noisy.clamp(0, 1)
        row = {
            "input": float(psnr(x, noisy).mean()),
            "median 3x3": float(psnr(x, classical_denoise(noisy, "median")).mean()),
            "blur": float(psnr(x, classical_denoise(noisy, "gaussian")).mean()),
        }
        for name, m in models.items():
            out = reconstruct(m, noisy)
            row[name] = float(psnr(x, out).mean())
            for q in QS:
                safe = safeguard(noisy, out, residuals[name], q)
                row[f"{name} safeguarded q={q}"] = float(psnr(x, safe).mean())
        table[case] = row
        log(f"{case}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    return table


def choose_q(table: dict[str, dict[str, float]], name: str) -> float:
    """The lowest quantile whose safeguarded outputs are at or above the input on every
    corruption of `table` (the highest when none is)."""
    fine = [
        q
        for q in QS
        if all(r[f"{name} safeguarded q={q}"] >= r["input"] for c, r in table.items() if c != CLEAN)
    ]
    return min(fine) if fine else max(QS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default=VARIANTS)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--name", default="denoise-unseen")
    a = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t0 = time.time()
    variants = dict(v.split("=", 1) for v in a.variants.split(";"))
    runs = {
        name: variant_run(name, opts, ROOT / "benchmarks" / "runs" / "denoise", log)
        for name, opts in variants.items()
    }
    models = {name: load(run) for name, run in runs.items()}
    trained = {name: read_json(run / METRICS)["train_seconds"] for name, run in runs.items()}
    splits = load_dataset("mnist")
    x, _ = splits.test.tensors(slice(0, a.n))
    val, _ = splits.val.tensors(slice(0, 2 * a.n))
    residuals = {name: clean_residuals(m, val[: a.n]) for name, m in models.items()}
    # the safeguard's quantile chosen on the other validation digits: the lowest that keeps every
    # corruption at or above its input
    checked = psnr_table(val[a.n :], models, residuals, torch.Generator().manual_seed(1), log)
    chosen = {name: choose_q(checked, name) for name in models}
    table = psnr_table(x, models, residuals, torch.Generator().manual_seed(0), log)
    unseen_rows = [r for c, r in table.items() if c != CLEAN and "seen by default" not in c]
    verdict = {
        name: all(r[name] > max(r["input"], r["median 3x3"], r["blur"]) for r in unseen_rows)
        for name in models
    }
    kept = {  # per column: at or above the input on every corruption
        c: all(r[c] >= r["input"] for k, r in table.items() if k != CLEAN)
        for c in table[CLEAN]
        if c != "input"
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    command = f"python benchmarks/denoise_unseen.py --n {a.n}" + (
        "" if a.variants == VARIANTS else f" --variants '{a.variants}'"
    )
    out = ROOT / "benchmarks" / "results"
    write_json(
        out / f"{a.name}.json",
        {
            "command": command,
            "commit": commit,
            "n": a.n,
            "variants": variants,
            "seconds": round(time.time() - t0, 1),
            "psnr": table,
            "beats_input_median_blur_on_every_unseen": verdict,
            "clean_residual_mean": {k: float(r.mean()) for k, r in residuals.items()},
            "safeguard_q_chosen_on_validation": chosen,
            "validation_psnr": checked,
            "never_below_the_input": kept,
        },
    )
    cols = [c for c in table[CLEAN]]
    lines = [
        f"# Denoising corruptions the DAEs never saw ({a.n:,} MNIST test digits, PSNR in dB)",
        "",
        f"`{command}` (commit {commit}, {round(time.time() - t0)} s, "
        "reused runs' training not counted). Variants "
        f"(options of `latentzoo train dae`, each run's training seconds from its metrics.json): "
        + "; ".join(f"{k}: `{v or 'defaults'}` ({trained[k]:.0f} s)" for k, v in variants.items())
        + ".",
        "",
        "| corruption | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for case, row in table.items():
        # a clean input is no rival
        shown = {c: v for c, v in row.items() if not (c == "input" and case == CLEAN)}
        best = max(shown, key=shown.get)
        lines.append(
            f"| {case} | "
            + " | ".join(
                "-" if c not in shown else f"**{row[c]:.2f}**" if c == best else f"{row[c]:.2f}"
                for c in cols
            )
            + " |"
        )
    lines += [
        "",
        "Better than the input, the median filter and the blur on every unseen corruption: "
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in verdict.items())
        + ". Never below the input on any corruption: "
        + ", ".join(f"{c} {'yes' if v else 'no'}" for c, v in kept.items())
        + f". The safeguard's quantile chosen on {a.n:,} other validation digits (the lowest that"
        " keeps every corruption there at or above its input): "
        + ", ".join(f"{k} q={q}" for k, q in chosen.items())
        + ".",
    ]
    atomic_write(out / f"{a.name}.md", "\n".join(lines) + "\n")
    log("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
