"""Benchmark: how fast `latentzoo score` and `reconstruct` go through a long recording, and whether
their peak memory grows with its length.

    python benchmarks/signal_scale.py [--sizes 100000,1000000,10000000] [--window 128]
        [--threads 2] [--backbone conv|mlp] [--channels C] [--name signal-scale]

A default AE (`latentzoo train ae --data train.npy --window W`, its hop half a window; or with
the `--backbone` and `--channels` given) is trained
on a generated recording of 200,000 samples (sines and noise; the speed does not depend on what
the samples hold). Then each job runs as a command of its own on generated recordings of each
size (one channel, float32 `.npy`, and a CSV at the smallest size above 100,000 samples), with
OMP_NUM_THREADS set to `--threads`. Recorded per run: wall time of the whole command (start-up,
loading the run and calibrating included), samples per second, and the peak resident memory of
the process. The marginal rate between the smallest and the largest recording leaves the fixed
costs out. Written to benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from machine import machine  # noqa: E402
from results_file import save  # noqa: E402

import latentzoo  # noqa: E402
from latentzoo.config import make_config  # noqa: E402

# runs a command, then prints its wall time, its peak resident memory (KiB) and its exit status
MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
    "r.returncode)"
)


def recording(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    x = np.sin(2 * np.pi * t / 300) + 0.5 * np.sin(2 * np.pi * t / 47)
    return (x + 0.1 * rng.standard_normal(n)).astype(np.float32)


def measure(args: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "latentzoo", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    seconds, kib, code = float(out[0]), int(out[1]), int(out[2])
    if code != 0:
        raise SystemExit(f"latentzoo {' '.join(args)} failed ({code})")
    return {"seconds": seconds, "peak_mib": kib / 1024}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100000,1000000,10000000")
    p.add_argument("--window", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--backbone", choices=("conv", "mlp"), help="the AE's (default: its default)")
    p.add_argument("--channels", type=int, help="the conv backbone's (default: its default)")
    p.add_argument("--name", default="signal-scale")
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    start = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "train.npy", recording(200_000, 0))
        chosen = {k: v for k, v in (("backbone", a.backbone), ("channels", a.channels)) if v}
        cfg = make_config("ae", source=str(tmp / "train.npy"), window=a.window, epochs=3, **chosen)
        run = latentzoo.train(cfg, tmp / "run", report=False, progress=False, log=lambda m: None)
        settings = latentzoo.load(run).cfg.to_dict()
        table_size = next(n for n in sizes if n > 100_000)
        for n in sizes:
            x = recording(n, n)
            np.save(tmp / "long.npy", x)
            files = [("npy", tmp / "long.npy")]
            if n == table_size:
                (tmp / "long.csv").write_text("".join(f"{v:.6g}\n" for v in x.tolist()))
                files.append(("csv", tmp / "long.csv"))
            for fmt, path in files:
                for job in ("score", "reconstruct"):
                    out = tmp / ("s.csv" if job == "score" else "r")
                    got = measure([job, str(run), str(path), "--out", str(out)], a.threads)
                    rows.append({"job": job, "format": fmt, "samples": n, **got})
                    rows[-1]["samples_per_second"] = n / got["seconds"]
                    print(rows[-1], flush=True)
    result = {
        "command": "python benchmarks/signal_scale.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "threads": a.threads,
        "minutes": (time.time() - start) / 60,
        "ae_config": settings,
        "chosen": chosen,
        "rows": rows,
        "marginal_samples_per_second": marginal(rows),
    }
    save(a.name, result, markdown(result))
    return 0


def marginal(rows: list[dict]) -> dict[str, float]:
    """Per job: samples per second between the smallest and the largest .npy recording."""
    out = {}
    for job in dict.fromkeys(r["job"] for r in rows):
        runs = sorted(
            (r["samples"], r["seconds"]) for r in rows if r["job"] == job and r["format"] == "npy"
        )
        (n0, t0), (n1, t1) = runs[0], runs[-1]
        out[job] = (n1 - n0) / (t1 - t0)
    return out


def markdown(result: dict) -> str:
    cfg, model = result["ae_config"]["data"], result["ae_config"]["model"]
    chosen = result.get("chosen")
    which = (f"The AE with {chosen}" if chosen else "The default AE") + f" ({model['backbone']}"
    which += f", channels {model['channels']})" if model["backbone"] == "conv" else ")"
    lines = [
        "# A long recording through `score` and `reconstruct`: time and peak memory",
        "",
        f"Written by `{result['command']}` on {result['machine']} in {result['minutes']:.0f} min,",
        f"OMP_NUM_THREADS={result['threads']}. {which} on windows of {cfg['window']} "
        "samples, its hop half a window. Wall time of the whole command (start-up included).",
        "",
        "| job | file | samples | seconds | samples/s | peak memory (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['job']} | {r['format']} | {r['samples']:,} | {r['seconds']:.1f} | "
            f"{r['samples_per_second']:,.0f} | {r['peak_mib']:.0f} |"
        )
    lines += ["", "Marginal rate between the smallest and the largest `.npy` recording:", ""]
    for job, rate in result["marginal_samples_per_second"].items():
        lines.append(f"- {job}: {rate:,.0f} samples/s")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
