"""Benchmark: time to quality with each library's own defaults, latentzoo against pythae 0.1.2.

- pythae: its default model and trainer (`benchmarks/speed_worker.py pythae KIND --defaults`, in the
  virtual environment that benchmarks/speed.py makes): latent size 10, its one-layer MLP encoder and
  decoder, Adam at 1e-4, batch 64, 100 epochs on the same training images. Its test MSE per pixel
  after the run is the target.
- latentzoo: `latentzoo train KIND` with every default, on the same splits. After every epoch the
  test MSE and PSNR (means over the 10,000 test images) of the weights at that moment are measured
  (that time is not counted); the figure is the training wall time (steps and validation) until the
  test MSE is at or below pythae's, and for the VQ-VAE until 34 dB (which comes later). A run stops
  once its target is met.

    python benchmarks/time_to_quality.py [--kinds ae vae vqvae] [--side both|pythae|latentzoo]
    [--threads 2]

Parts can run separately (each merges its rows into the results file; latentzoo's AE and VAE need
pythae's row of the same kind first, for the target). Writes
benchmarks/results/time-to-quality.{json,md}."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from speed import PYTHAE, pythae_python  # noqa: E402

from latentzoo.config import make_config  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval.metrics import mse_per_pixel, psnr  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.jobs import reconstruct  # noqa: E402
from latentzoo.training import train_model  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "time-to-quality"
TARGET_PSNR = 34.0  # the VQ-VAE's headline figure is 34.29 dB after its 15 default epochs


def run_pythae(kind: str, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        subprocess.run(
            [
                str(pythae_python()),
                str(ROOT / "benchmarks" / "speed_worker.py"),
                "pythae",
                kind,
                "--defaults",
                "--out",
                str(out),
            ],
            check=True,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)},
        )
        return json.loads(out.read_text())


def run_latentzoo(kind: str, target_mse: float | None, splits) -> dict:
    """latentzoo's default run of `kind`, stopped once its test MSE is at most `target_mse` (the
    VQ-VAE: once it reaches 34 dB, which it does later; `target_mse` may then be None), with the
    curve."""
    cfg = make_config(kind)
    test_x, _ = splits.test.tensors()
    curve, clock = [], [0.0]

    @torch.no_grad()
    def after_epoch(model, row) -> bool:
        clock[0] += float(row["seconds"])
        x_hat = reconstruct(model, test_x)
        mse, db = float(mse_per_pixel(test_x, x_hat).mean()), float(psnr(test_x, x_hat).mean())
        curve.append(
            {
                "epoch": row["epoch"],
                "seconds": round(clock[0], 1),
                "test_mse_per_pixel": mse,
                "psnr": db,
            }
        )
        print(
            f"latentzoo {kind} epoch {row['epoch']}: {clock[0]:.0f} "
            f"s, test MSE {mse:.5f}, {db:.2f} dB",
            flush=True,
        )
        return db >= TARGET_PSNR if kind == "vqvae" else mse <= target_mse

    with tempfile.TemporaryDirectory() as tmp:
        train_model(
            cfg,
            Path(tmp) / "run",
            splits=splits,
            progress=False,
            log=lambda m: None,
            after_epoch=after_epoch,
        )
    return {
        "kind": kind,
        "epochs_default": cfg.train.epochs,
        "batch_size": cfg.train.batch_size,
        "curve": curve,
    }


def first_reaching(curve: list[dict], ok) -> dict | None:
    """The first epoch of a latentzoo curve that meets `ok`, or None."""
    return next((c for c in curve if ok(c)), None)


def report(res: dict) -> str:
    L = [
        "# Time to quality with each library's own defaults",
        "",
        f"{res['machine']}, {res['cpus']} cpus, torch {res['torch']}, {PYTHAE}; each part at "
        f"{res['threads']} thread(s), one job per core. Written by "
        + ", then ".join(
            f"`{c}`" for c in res.get("commands", ["python benchmarks/time_to_quality.py"])
        )
        + ".",
        "",
        "pythae: its default model (latent 10, one-layer MLP encoder "
        "and decoder) and trainer (Adam 1e-4, batch "
        "64, 100 epochs). latentzoo: `latentzoo train KIND`. Test "
        "MSE per pixel and PSNR on the 10,000 test "
        "images; latentzoo's time is its training time (steps and "
        "validation) until the epoch whose weights "
        "reach the target.",
        "",
        "| kind | pythae: wall s, test MSE | latentzoo: s to that MSE "
        "(epoch) | ratio | latentzoo: last epoch run, "
        "test MSE, PSNR | VQ-VAE: s to 34 dB (epoch) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, r in res["kinds"].items():
        p, z = r.get("pythae"), r.get("latentzoo")
        ptxt = "not run" if not p else f"{p['seconds']:.0f}, {p['test_mse_per_pixel']:.5f}"
        if not z:
            L.append(f"| {kind} | {ptxt} | not run | | | |")
            continue
        goal = p["test_mse_per_pixel"] if p else None
        hit = (
            first_reaching(z["curve"], lambda c, g=goal: c["test_mse_per_pixel"] <= g)
            if p
            else None
        )
        reached = (
            ""
            if not p
            else ("not reached" if hit is None else f"{hit['seconds']:.0f} ({hit['epoch']})")
        )
        ratio = "" if hit is None else f"{p['seconds'] / hit['seconds']:.1f}x"
        last = z["curve"][-1]
        db = first_reaching(z["curve"], lambda c: c["psnr"] >= TARGET_PSNR)
        to_db = (
            ""
            if kind != "vqvae"
            else ("not reached" if db is None else f"{db['seconds']:.0f} ({db['epoch']})")
        )
        L.append(
            f"| {kind} | {ptxt} | {reached} | {ratio} | {last['epoch']} of {z['epochs_default']}, "
            f"{last['test_mse_per_pixel']:.5f}, {last['psnr']:.2f} dB | {to_db} |"
        )
    return "\n".join(L) + "\n"


def save(kind: str, row: dict, meta: dict) -> dict:
    """Merge one kind's rows into the results file (re-read first: another part may have run beside
    this one) and rewrite both files."""
    path = RESULTS.with_suffix(".json")
    res = json.loads(path.read_text()) if path.exists() else {"kinds": {}}
    res.update(meta)
    res["kinds"].setdefault(kind, {}).update(row)
    command = " ".join(["python", "benchmarks/time_to_quality.py", *sys.argv[1:]])
    res["commands"] = [*[c for c in res.get("commands", []) if c != command], command]
    write_json(path, res)
    atomic_write(RESULTS.with_suffix(".md"), report(res))
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--kinds", nargs="+", choices=("ae", "vae", "vqvae"), default=["ae", "vae", "vqvae"]
    )
    ap.add_argument("--side", choices=("both", "pythae", "latentzoo"), default="both")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    meta = dict(
        machine=platform.processor() or platform.machine(),
        cpus=os.cpu_count(),
        torch=torch.__version__,
        threads=a.threads,
    )
    splits = load_dataset("mnist")
    res = {}
    for kind in a.kinds:
        if a.side in ("both", "pythae"):
            res = save(kind, {"pythae": run_pythae(kind, a.threads)}, meta)
        if a.side in ("both", "latentzoo"):
            path = RESULTS.with_suffix(".json")
            pythae = (
                json.loads(path.read_text())["kinds"].get(kind, {}).get("pythae")
                if path.exists()
                else None
            )
            if pythae is None and kind != "vqvae":
                ap.error(f"run pythae's {kind} first (--side pythae): its test MSE is the target")
            target = None if pythae is None else pythae["test_mse_per_pixel"]
            res = save(kind, {"latentzoo": run_latentzoo(kind, target, splits)}, meta)
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
