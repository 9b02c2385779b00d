"""Train the model zoo on MNIST and copy it into the package (latentzoo/zoo/NAME).

    python scripts/train_zoo.py [--only mnist-ae,mnist-vae] [--work runs/zoo] [--slice 1000]
        [--resume]

Each model is trained afresh by the command line with its defaults and seed 0 into WORK/NAME, the
VQ-VAE's prior by `train-prior`; the run's config.json is copied beside its weights. These are
stored in half precision when that moves the test metrics on the first SLICE test images by less
than 0.01 dB of PSNR (and 0.01 nats of ELBO, 0.001 bits per code of the prior), else in full
precision; zoo.json records the commands, the commit, the machine, the dtype and the metrics on
that slice, which tests/test_zoo.py measures again. MNIST comes from $LATENTZOO_DATA,
../shared/data or the cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.eval import evaluate  # noqa: E402
from latentzoo.files import load_tensors, save_tensors, write_json  # noqa: E402
from latentzoo.models.prior import mean_bits  # noqa: E402
from latentzoo.runs import (  # noqa: E402
    BEST,
    CONFIG,
    METRICS,
    PRIOR_CONFIG,
    PRIOR_METRICS,
    PRIOR_WEIGHTS,
    load,
    run_data,
)
from latentzoo.training.prior import encode_all  # noqa: E402
from latentzoo.zoo import RECORD, ZOO  # noqa: E402

LZ = str(Path(sys.executable).with_name("latentzoo"))
# name -> (what it is for, the training command's arguments after `latentzoo train`)
MODELS = {
    "mnist-ae": ("features and reconstruction; anomaly scores (with mnist-vae)", ["ae"]),
    "mnist-dae": ("denoising digits and scans", ["dae"]),
    "mnist-vae": ("samples, latent walks, likelihoods; anomaly scores", ["vae"]),
    "mnist-cvae": ("samples of a chosen digit", ["cvae"]),
    "mnist-vae2d": (
        "the 2-d latent map (every point decodes to a digit)",
        ["vae", "--latent-dim", "2"],
    ),
    "mnist-vqvae": (
        "compression, code grids, samples of a chosen digit (with its prior)",
        ["vqvae"],
    ),
}
TOLERANCE = {"psnr": 0.01, "elbo": 0.01, "prior_bits_per_code": 0.001}


def commit() -> str:
    got = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=ROOT
    )
    return got.stdout.strip() or "unknown"


def train(name: str, work: Path, resume: bool, log) -> list[str]:
    """Train NAME into work/NAME (its prior too), afresh or, with `resume`, continuing where an
    interrupted run of this script stopped (the same run, resumed exactly); the commands."""
    run = work / name
    cmds = [[LZ, "train", *MODELS[name][1], "--seed", "0", "--out", str(run), "--no-progress"]]
    if name == "mnist-vqvae":
        cmds.append([LZ, "train-prior", str(run), "--no-progress"])
    for cmd in cmds:
        log(" ".join(cmd[1:]))
        again = ["--resume"] if resume else ["--overwrite"] if cmd[1] == "train" else []
        subprocess.run([*cmd, *again], check=True)
    return ["latentzoo " + " ".join(c[1:]).replace(str(work), "WORK") for c in cmds]


def slice_metrics(model, test, prior_codes: bool) -> dict[str, float]:
    got = evaluate(model, test)
    out = {k: float(got[k]) for k in ("psnr", "elbo") if k in got}
    if prior_codes:
        codes, _ = encode_all(model, test)  # (N, 7, 7)
        out["prior_bits_per_code"] = mean_bits(model.prior, codes, None) / codes[0].numel()
    return out


def halved(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}


def stored(name: str, run: Path, n: int, log) -> tuple[str, dict, dict]:
    """(dtype, slice metrics in full precision, in the dtype kept); weights written to the zoo."""
    model = load(run)
    test = run_data(model.cfg).test.subset(slice(0, n))
    has_prior = (run / PRIOR_WEIGHTS).is_file()
    full = slice_metrics(model, test, has_prior)
    dest = ZOO / name
    dest.mkdir(parents=True, exist_ok=True)
    for f in (CONFIG, METRICS, *((PRIOR_CONFIG, PRIOR_METRICS) if has_prior else ())):
        shutil.copyfile(run / f, dest / f)
    files = [BEST, *((PRIOR_WEIGHTS,) if has_prior else ())]
    for f in files:
        tensors, meta = load_tensors(run / f)
        save_tensors(dest / f, halved(tensors), meta)
    half = slice_metrics(load(dest), test, has_prior)
    moved = {k: abs(half[k] - full[k]) for k in full}
    log(f"{name}: full {full}, half {half}")
    if all(moved[k] < TOLERANCE[k] for k in moved):
        return "float16", full, half
    for f in files:
        shutil.copyfile(run / f, dest / f)
    return "float32", full, full


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(MODELS))
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "zoo")
    ap.add_argument("--slice", type=int, default=1000)
    ap.add_argument("--resume", action="store_true", help="continue the runs in WORK")
    a = ap.parse_args()
    log = lambda m: print(m, flush=True)  # noqa: E731
    for name in a.only.split(","):
        t = time.time()
        commands = train(name, a.work, a.resume, log)
        dtype, full, kept = stored(name, a.work / name, a.slice, log)
        record = {
            "name": name,
            "kind": MODELS[name][1][0],
            "about": MODELS[name][0],
            "commands": commands,
            "seed": 0,
            "commit": commit(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}",
            "dtype": dtype,
            "slice": {"first_test_images": a.slice, "full_precision": full, "stored": kept},
        }
        write_json(ZOO / name / RECORD, record)
        log(f"{name}: stored as {dtype} ({time.time() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
