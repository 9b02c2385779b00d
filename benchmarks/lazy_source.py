"""Data larger than memory: one training run on an image folder read into memory and the same run
read lazily (latentzoo.lazy), side by side, with the images per second, the peak memory of each
and whether the two runs trained on the same batches (the same weights, bit for bit).

    python benchmarks/lazy_source.py [--gigabytes 3] [--limit-gigabytes 2] [--out DIR]

It writes a folder of seeded colour PNGs (256x256, smooth random textures in class subfolders)
whose decoded pixels take `--gigabytes`, then runs `train_model` on it in a fresh process per path:
an mlp AE (hidden 16), one epoch, batch 32, `--load memory` and `--load lazy` (2 decoding worker
processes). The memory limit is the benchmark's own yardstick, not enforced (an address-space limit
breaks torch): a path is within it when the peak proportional set size of its process and its
workers together stays under it. Results go to benchmarks/results/lazy-source.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SIDE, CLASSES = 256, 4
RESULTS = ROOT / "benchmarks" / "results"


def texture(rng: np.random.Generator) -> np.ndarray:
    """(SIDE, SIDE, 3) uint8: a smooth random colour field (upsampled noise), PNG-compressible."""
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((SIDE, SIDE), Image.BILINEAR))


def write_folder(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for c in range(CLASSES):
        (folder / f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"class{i % CLASSES}" / f"{i:06d}.png"
        Image.fromarray(texture(rng)).save(path, compress_level=1)


def pss_bytes(pid: int) -> int:
    """The proportional set size of a process (shared pages split among their users), from /proc."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:  # the process has ended
        pass
    return 0


def descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *descendants(k)]
    return out


class PeakMemory(threading.Thread):
    """Samples the PSS of this process and its decoding workers every 50 ms; keeps the peak."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = 0, True

    def run(self):
        me = os.getpid()
        while self.running:
            self.peak = max(self.peak, sum(pss_bytes(p) for p in [me, *descendants(me)]))
            time.sleep(0.05)


def child(folder: str, load: str, out: str) -> None:
    """One run, in its own process; prints its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    import torch

    from latentzoo.config import make_config
    from latentzoo.training import train_model

    torch.set_num_threads(2)
    sampler = PeakMemory()
    sampler.start()
    t0 = time.time()
    settings = dict(backbone="mlp", hidden=16, epochs=1, batch_size=32, workers=2)
    cfg = make_config("ae", source=folder, load=load, **settings)
    run = train_model(cfg, out, progress=False, log=lambda m: None)
    sampler.running = False
    sampler.join()
    metrics = json.loads((run / "metrics.json").read_text())
    h = hashlib.sha256((run / "model.safetensors").read_bytes()).hexdigest()[:16]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    row = {
        "load": load,
        "wall_seconds": round(time.time() - t0, 1),
        "train_seconds": metrics["train_seconds"],
        "images_per_second": round(metrics["n_train"] / metrics["train_seconds"], 1),
        "n_train": metrics["n_train"],
        "peak_pss_gb": round(sampler.peak / 1e9, 3),
        "peak_rss_gb": round(rss / 1e9, 3),
        "weights_sha256": h,
    }
    print(json.dumps(row))


def markdown(res: dict) -> str:
    limit = res["limit_gb"]
    rows = [
        "# Data larger than memory: in-memory against lazy reading",
        "",
        f"Written by `{res['command']}`; commit {res['commit']}, {res['machine']}.",
        "",
        f"{res['images']:,} colour PNGs of {SIDE}x{SIDE} ({res['decoded_gb']:.2f} GB decoded, "
        f"{res['disk_gb']:.2f} GB on disk); an mlp AE (hidden 16), one epoch at batch 32 on "
        f"{res['rows'][0]['n_train']:,} training images. Peak memory: the largest proportional "
        "set size (/proc smaps_rollup, shared pages split) of the training process and its "
        f"decoding workers together, sampled every 50 ms; memory yardstick {limit:g} GB.",
        "",
        "| load | images/s (training) | wall s (load, fingerprint, train, test) | peak GB (PSS, "
        f"with workers) | peak GB (RSS, main process) | within {limit:g} GB | weights |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        rows.append(
            f"| {r['load']} | {r['images_per_second']} | {r['wall_seconds']} | "
            f"{r['peak_pss_gb']:.2f} | {r['peak_rss_gb']:.2f} | "
            f"{'yes' if r['peak_pss_gb'] <= limit else 'no'} | {r['weights_sha256']} |"
        )
    same = len({r["weights_sha256"] for r in res["rows"]}) == 1
    rows += ["", f"Same batches (identical weights): {'yes' if same else 'no'}."]
    return "\n".join(rows) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gigabytes", type=float, default=3.0)
    p.add_argument("--limit-gigabytes", type=float, default=2.0)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(*a.child)
        return 0
    n = int(a.gigabytes * 1e9 / (SIDE * SIDE * 3)) // CLASSES * CLASSES
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        t0 = time.time()
        write_folder(folder, n)
        print(f"wrote {n} images in {time.time() - t0:.0f} s", file=sys.stderr)
        disk = sum(f.stat().st_size for f in folder.rglob("*.png"))
        rows = []
        for load in ("memory", "lazy"):
            cmd = [sys.executable, __file__, "--child", str(folder), load, str(Path(tmp) / load)]
            env = {**os.environ, "OMP_NUM_THREADS": "2"}
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], file=sys.stderr)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    res = {
        "command": "python benchmarks/lazy_source.py " + " ".join(sys.argv[1:]),
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}",
        "images": n,
        "decoded_gb": n * SIDE * SIDE * 3 / 1e9,
        "disk_gb": disk / 1e9,
        "limit_gb": a.limit_gigabytes,
        "rows": rows,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "lazy-source.json").write_text(json.dumps(res, indent=1) + "\n")
    (a.out / "lazy-source.md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
