"""Benchmark: a series of the UCR time-series anomaly archive, scored as `latentzoo score` scores a
long recording, beside the matrix profile's discords.

    python benchmarks/anomaly_archive.py [--window 64] [--train-hop 8] [--epochs 60]
        [--name anomaly-archive]

The data: series 135 of the UCR anomaly archive (Wu and Keogh 2021; InternalBleeding16, one
labelled anomaly), as aeon's wheel ships it (`aeon/datasets/data/KDD-TSAD_135/`): the wheel is
fetched into a cache and its two CSV files read from it, so aeon itself is not installed (it would
downgrade numpy). Its TRAIN file is the anomaly-free start of the series; its TEST file the whole
series with the anomaly labelled.

latentzoo: an AE and a VAE (the defaults for signals) trained on windows of TRAIN (`--window`, hop
`--train-hop`), then `latentzoo score RUN test.npy` (and the ensemble, `--with`), which
writes a score per sample and the flagged intervals at the run's 1% false-positive threshold. The
classical method: the matrix profile of the whole series (stumpy, installed when missing) with
subsequences of the same length; its discords taken in turn, each excluding a window either side.

The archive's rule: a detection is right when it falls within 100 samples of the labelled region.
Reported per method: whether its top detection (the flagged interval with the highest peak, or the
first discord) is right, the rank of the first right one, and how many intervals were flagged.
Written to benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine  # noqa: E402
from packages import ensure, wheel  # noqa: E402
from results_file import save  # noqa: E402

import latentzoo  # noqa: E402
from latentzoo.cli import main as cli  # noqa: E402
from latentzoo.config import make_config  # noqa: E402

SERIES = "aeon/datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_{}.csv"
TOLERANCE = 100  # the archive's: samples either side of the labelled region


def archive_series() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train values, test values, test labels 0/1) from aeon's wheel."""
    out = []
    with zipfile.ZipFile(wheel("aeon", "1.6.0")) as z:
        for split in ("TRAIN", "TEST"):
            rows = list(csv.DictReader(io.StringIO(z.read(SERIES.format(split)).decode())))
            out.append(np.array([[float(r["value"]), float(r["is_anomaly"])] for r in rows]))
    return out[0][:, 0], out[1][:, 0], out[1][:, 1].astype(int)


def right(start: int, end: int, region: tuple[int, int]) -> bool:
    """Whether the span [start, end) meets the labelled region widened by the tolerance."""
    return start < region[1] + TOLERANCE and end > region[0] - TOLERANCE


def ranked(spans: list[tuple[int, int]], region: tuple[int, int]) -> dict:
    """spans best first -> whether the first is right and the rank of the first right one."""
    rank = next((i + 1 for i, (a, b) in enumerate(spans) if right(a, b, region)), None)
    return {"top_right": rank == 1, "rank": rank, "detections": len(spans)}


def latentzoo_spans(args: list[str], out: Path) -> list[tuple[int, int]]:
    assert cli([*args, "--out", str(out)]) == 0
    with open(out.with_name(out.stem + ".intervals.csv")) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: -float(r["peak"]))
    return [(int(r["start"]), int(r["end"])) for r in rows]


def discords(x: np.ndarray, m: int, k: int = 20) -> list[tuple[int, int]]:
    """The k first discords of the matrix profile (stumpy), each excluding m samples either
    side."""
    import stumpy

    profile = stumpy.stump(x.astype(np.float64), m)[:, 0].astype(np.float64)
    profile[~np.isfinite(profile)] = -np.inf
    out = []
    for _ in range(k):
        i = int(np.argmax(profile))
        if profile[i] == -np.inf:
            break
        out.append((i, i + m))
        profile[max(0, i - m) : i + m] = -np.inf
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--train-hop", type=int, default=8)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--name", default="anomaly-archive")
    a = p.parse_args()
    ensure("stumpy", "stumpy")
    start = time.time()
    train, test, labels = archive_series()
    where = np.flatnonzero(labels)
    region = (int(where[0]), int(where[-1]) + 1)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "train.npy", train.astype(np.float32))
        np.save(tmp / "test.npy", test.astype(np.float32))
        runs = {}
        for kind in ("ae", "vae"):
            torch.manual_seed(0)
            cfg = make_config(
                kind,
                source=str(tmp / "train.npy"),
                window=a.window,
                hop=a.train_hop,
                epochs=a.epochs,
            )
            runs[kind] = latentzoo.train(
                cfg, tmp / kind, report=False, progress=False, log=lambda m: None
            )
        score = ["score", str(runs["ae"]), str(tmp / "test.npy")]
        for name, args in {
            "latentzoo AE": score,
            "latentzoo VAE": ["score", str(runs["vae"]), str(tmp / "test.npy")],
            "latentzoo AE + VAE ensemble": [*score, "--with", str(runs["vae"])],
        }.items():
            rows[name] = ranked(latentzoo_spans(args, tmp / "s.csv"), region)
            print(name, rows[name], flush=True)
        rows["matrix profile discords (stumpy)"] = ranked(discords(test, a.window), region)
        settings = {k: latentzoo.load(r).cfg.to_dict() for k, r in runs.items()}
    result = {
        "command": "python benchmarks/anomaly_archive.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "minutes": (time.time() - start) / 60,
        "series": "UCR anomaly archive 135, InternalBleeding16 (aeon 1.6.0's wheel)",
        "train_samples": len(train),
        "test_samples": len(test),
        "anomaly": region,
        "tolerance": TOLERANCE,
        "configs": settings,
        "rows": rows,
    }
    save(a.name, result, markdown(result))
    return 0


def markdown(result: dict) -> str:
    a, b = result["anomaly"]
    lines = [
        f"# {result['series']}: where the labelled anomaly ranks",
        "",
        f"Written by `{result['command']}` on {result['machine']} in {result['minutes']:.0f} min.",
        f"Trained on the first {result['train_samples']:,} samples (anomaly-free); scored on all "
        f"{result['test_samples']:,}. The anomaly: samples {a} to {b - 1}; a detection is right "
        f"within {result['tolerance']} samples of it.",
        "",
        "| method | top detection right | rank of the first right detection | detections |",
        "|---|---|---|---|",
    ]
    for name, r in result["rows"].items():
        rank = r["rank"] if r["rank"] is not None else "not found"
        lines.append(
            f"| {name} | {'yes' if r['top_right'] else 'no'} | {rank} | {r['detections']} |"
        )
    lines += [
        "",
        "Detections: latentzoo's flagged intervals ranked by their peak score; the discords' "
        "count is the number taken (20).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
