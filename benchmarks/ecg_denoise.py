"""Benchmark: ECG denoising on MIT-BIH record 208, the DAE beside classical filters, in one run.

    python benchmarks/ecg_denoise.py [--epochs 200] [--window 256] [--name ecg-denoise]

The data: the 5-minute excerpt of MIT-BIH Arrhythmia Database record 208 (360 Hz, one lead, with
premature ventricular beats) that scipy's wheels up to 1.13 ship as `scipy/misc/ecg.dat` (the data
of `scipy.misc.electrocardiogram`): the wheel is fetched into a cache and the file read from it;
the installed scipy is left alone. The first 70% of the time trains, the last 30% tests.

The noise, added to the test part (latentzoo.signal_noise, the kinds of the MIT-BIH Noise Stress
Test Database): baseline wander, muscle-like noise (20 Hz up) and 60 Hz mains hum with harmonics,
each at -5, 0 and 5 dB SNR. The denoisers, each on the whole noisy test recording:
- latentzoo's DAEs, each with the conv backbone: a vector latent and a grid latent (`--latent`),
  trained on windows of the training part with
  those three kinds at SNRs drawn from -10 to 10 dB (it is never told which kind or level), run as
  `latentzoo denoise` runs it: windows every half window, put back together by overlap-add;
- a band-pass filter, 0.5 to 40 Hz (4th-order Butterworth, forward and backward: scipy);
- wavelet denoising: db4, 6 levels, soft universal threshold from the finest level's median
  absolute deviation, the approximation below 0.5 Hz removed (PyWavelets, installed when missing);
- median baseline removal: the baseline as medians over 200 ms then 600 ms (de Chazal et al. 2004),
  subtracted.
Measures: output SNR (dB, the clean signal's power about its mean over the error's) and PRD (%,
about the mean), over the whole test part. Written to benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
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
from latentzoo.measures import prd, snr  # noqa: E402
from latentzoo.noise import corrupt  # noqa: E402

RATE = 360.0
KINDS = ("wander", "muscle", "hum60")
LEVELS = (-5, 0, 5)


def mitbih_208() -> np.ndarray:
    """(108000,) millivolts: scipy.misc.electrocardiogram's data, from a scipy 1.13 wheel."""
    with zipfile.ZipFile(wheel("scipy", "1.13.1")) as z:
        raw = np.load(io.BytesIO(z.read("scipy/misc/ecg.dat")))["ecg"].astype(np.int64)
    return (raw - 1024) / 200.0  # as scipy.misc.electrocardiogram scales it


def band_pass(x: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(4, (0.5, 40.0), btype="band", fs=RATE, output="sos"), x)


def wavelet(x: np.ndarray) -> np.ndarray:
    import pywt

    coeffs = pywt.wavedec(x, "db4", level=6)
    sigma = np.median(np.abs(coeffs[-1])) / 0.6745
    t = sigma * np.sqrt(2 * np.log(len(x)))
    kept = [np.zeros_like(coeffs[0])] + [pywt.threshold(c, t, "soft") for c in coeffs[1:]]
    return pywt.waverec(kept, "db4")[: len(x)]


def median_baseline(x: np.ndarray) -> np.ndarray:
    from scipy.signal import medfilt

    width = lambda seconds: int(seconds * RATE) // 2 * 2 + 1  # noqa: E731  (odd)
    return x - medfilt(medfilt(x, width(0.2)), width(0.6))


def measures(clean: np.ndarray, out: np.ndarray) -> dict[str, float]:
    c, o = (torch.tensor(np.array(v, dtype=np.float64))[None, None] for v in (clean, out))
    return {"snr": float(snr(c, o)), "prd": float(prd(c, o))}


def train_dae(train_csv: Path, run: Path, window: int, epochs: int, latent: str) -> Path:
    spec = "|".join(f"{k}:{db}" for k in KINDS for db in (-10, -5, 0, 5, 10))
    cfg = make_config(
        "dae",
        source=str(train_csv),
        window=window,
        hop=window // 8,
        rate=RATE,
        noise=spec,
        epochs=epochs,
        latent=latent,
    )
    return latentzoo.train(cfg, run, report=False, progress=False, log=lambda m: None)


def val_losses(run: Path) -> list[float]:
    """The validation loss after each epoch, from the run's history.csv."""
    rows = (run / "history.csv").read_text().split()
    column = rows[0].split(",").index("val_loss")
    return [round(float(r.split(",")[column]), 3) for r in rows[1:]]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--name", default="ecg-denoise")
    a = p.parse_args()
    ensure("PyWavelets", "pywt")
    start = time.time()
    ecg = mitbih_208()
    cut = int(0.7 * len(ecg))
    train, test = ecg[:cut], ecg[cut:]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "train.npy", train.astype(np.float32))
        runs = {
            f"latentzoo DAE ({latent})": train_dae(
                tmp / "train.npy", tmp / latent, a.window, a.epochs, latent
            )
            for latent in ("vector", "grid")
        }
        gen = torch.Generator().manual_seed(0)
        clean = torch.from_numpy(test)[None, None]  # (1, 1, T)
        for kind in KINDS:
            for db in LEVELS:
                noisy = corrupt(clean, f"{kind}:{db}", gen, clip=False, rate=RATE)[0, 0].numpy()
                np.save(tmp / "noisy.npy", noisy.astype(np.float32))
                outputs = {"noisy input": noisy}
                for method, run in runs.items():
                    out = ["--out", str(tmp / "o")]
                    assert cli(["denoise", str(run), str(tmp / "noisy.npy"), *out]) == 0
                    outputs[method] = np.load(tmp / "o" / "noisy.npy")
                outputs |= {
                    "band-pass 0.5-40 Hz": band_pass(noisy),
                    "wavelet (db4, soft)": wavelet(noisy),
                    "median baseline removal": median_baseline(noisy),
                }
                for method, out in outputs.items():
                    rows.append(
                        {"noise": kind, "input_snr": db, "method": method, **measures(test, out)}
                    )
                print(kind, db, {r["method"]: round(r["snr"], 2) for r in rows[-6:]}, flush=True)
        settings = {m: latentzoo.load(run).cfg.to_dict() for m, run in runs.items()}
        curves = {m: val_losses(run) for m, run in runs.items()}
    result = {
        "command": "python benchmarks/ecg_denoise.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "minutes": (time.time() - start) / 60,
        "dae_configs": settings,
        "dae_val_loss_per_epoch": curves,
        "rows": rows,
    }
    save(a.name, result, markdown(result))
    return 0


def markdown(result: dict) -> str:
    methods = list(dict.fromkeys(r["method"] for r in result["rows"]))
    lines = [
        "# ECG denoising: MIT-BIH record 208 (last 30%), noise added at a given SNR",
        "",
        f"Written by `{result['command']}` on {result['machine']} in {result['minutes']:.0f} min.",
        "Output SNR in dB (PRD in % in brackets); the best denoiser of each row in bold.",
        "",
        "| noise | input SNR | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    keys = dict.fromkeys((r["noise"], r["input_snr"]) for r in result["rows"])
    for noise, db in keys:
        row = {
            r["method"]: r for r in result["rows"] if (r["noise"], r["input_snr"]) == (noise, db)
        }
        best = max(v["snr"] for k, v in row.items() if k != "noisy input")
        cells = []
        for m in methods:
            text = f"{row[m]['snr']:.2f} ({row[m]['prd']:.1f})"
            cells.append(f"**{text}**" if m != "noisy input" and row[m]["snr"] == best else text)
        lines.append(f"| {noise} | {db} dB | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
