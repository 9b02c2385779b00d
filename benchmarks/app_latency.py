"""Benchmark: how fast the app answers, and how long the zoo's jobs take as commands of their own.

    python benchmarks/app_latency.py [--threads 2] [--calls 20] [--repeats 5] [--name app-latency]

The app is served in this process with the zoo's models (latentzoo.app.serve, torch on `--threads`
threads) and driven through gradio_client as the page drives it: each endpoint is called once to
warm up, then `--calls` times on MNIST test digits. Recorded per endpoint: the median and the 90th
percentile of a call's wall time as the client sees it (the server's work, the HTTP round trips
and the PNG files included). Then the three jobs that a newcomer runs without training (`denoise
mnist-dae`, `sample mnist-vqvae --digit 3`, `compress mnist-vqvae`) run `--repeats` times each as
whole commands (start-up included) with OMP_NUM_THREADS set to `--threads`; their median. Written
to benchmarks/results/NAME.json and NAME.md. Needs MNIST ($LATENTZOO_DATA) and the app extra.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine  # noqa: E402
from PIL import Image  # noqa: E402
from results_file import save  # noqa: E402

from latentzoo import load_dataset  # noqa: E402
from latentzoo.app import Showcase, serve  # noqa: E402
from latentzoo.version import __version__  # noqa: E402
from latentzoo.zoo import names  # noqa: E402


def commit() -> str:
    out = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def timed(fn, calls: int) -> dict:
    fn()  # warm-up
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {
        "median_s": statistics.median(times),
        "p90_s": float(np.quantile(times, 0.9)),
        "calls": calls,
    }


def digit_files(folder: Path) -> tuple[Path, dict, dict]:
    """An MNIST test digit as a file, and two drawings of digits as the canvas sends them."""
    x = load_dataset("mnist").test.tensors(slice(0, 2))[0]
    pics = [(d[0].numpy() * 255).round().astype(np.uint8) for d in x]
    Image.fromarray(pics[0]).save(folder / "digit.png")
    drawings = []
    for i, p in enumerate(pics):
        rgba = np.stack([255 - p] * 3 + [p], -1)  # black ink on a transparent ground
        Image.fromarray(rgba).resize((280, 280)).save(folder / f"drawn{i}.png")
        drawings.append(folder / f"drawn{i}.png")
    return folder / "digit.png", *drawings


def endpoints(url: str, folder: Path, calls: int) -> dict:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    digit, a, b = digit_files(folder)

    def drawn(p):
        return {"background": None, "layers": [], "composite": handle_file(p)}

    asks = {
        "look (upload)": lambda: client.predict(
            None, handle_file(digit), "gaussian:0.5", 0, api_name="/look"
        ),
        "look (drawing)": lambda: client.predict(
            drawn(a), None, "gaussian:0.5", 0, api_name="/look"
        ),
        "sample (8 per model)": lambda: client.predict(3, 2.0, 1.0, 8, 0, api_name="/sample"),
        "walk (8 steps)": lambda: client.predict(drawn(a), drawn(b), 8, api_name="/walk"),
        "plane": lambda: client.predict(0.5, -0.5, api_name="/plane"),
    }
    return {name: timed(ask, calls) for name, ask in asks.items()}


def commands(folder: Path, threads: int, repeats: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    lz = [sys.executable, "-m", "latentzoo"]
    digit = str(folder / "digit.png")
    jobs = {
        "denoise mnist-dae IMG --out D": [*lz, "denoise", "mnist-dae", digit, "--out", "d"],
        "sample mnist-vqvae --digit 3 --out s.png": [
            *lz,
            "sample",
            "mnist-vqvae",
            "--digit",
            "3",
            "--out",
            "s.png",
        ],
        "compress mnist-vqvae IMG --out f.lzc": [
            *lz,
            "compress",
            "mnist-vqvae",
            digit,
            "--out",
            "f.lzc",
        ],
    }
    out = {}
    for name, cmd in jobs.items():
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run(cmd, cwd=folder, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        out[name] = {"median_s": statistics.median(times), "repeats": repeats}
    return out


def table(result: dict) -> str:
    rows = [
        f"# The app's answers and the zoo's commands ({result['machine']}, {result['threads']} "
        f"threads, commit {result['commit']})",
        "",
        f"`{result['command']}`",
        "",
        f"Loading the {len(result['models'])} zoo models and calibrating: "
        f"{result['load_and_calibrate_s']:.1f} s.",
        "",
        "| app endpoint | median s | 90th percentile s |",
        "|---|---|---|",
    ]
    for name, r in result["endpoints"].items():
        rows.append(f"| {name} | {r['median_s']:.3f} | {r['p90_s']:.3f} |")
    rows += ["", "| command (start-up included) | median s |", "|---|---|"]
    for name, r in result["commands"].items():
        rows.append(f"| `latentzoo {name}` | {r['median_s']:.2f} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--name", default="app-latency")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t = time.perf_counter()
    show = Showcase.load(names())
    start_s = time.perf_counter() - t
    page, url = serve(show, block=False)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            answered = endpoints(url, Path(tmp), a.calls)
        finally:
            page.close()
        ran = commands(Path(tmp), a.threads, a.repeats)
    result = {
        "command": " ".join(["python benchmarks/app_latency.py", *sys.argv[1:]]),
        "commit": commit(),
        "version": __version__,
        "machine": machine(),
        "threads": a.threads,
        "models": names(),
        "load_and_calibrate_s": start_s,
        "endpoints": answered,
        "commands": ran,
    }
    save(a.name, result, table(result))


if __name__ == "__main__":
    main()
