"""Benchmark: latentzoo's VQ-VAE codec against AVIF, WebP, JPEG and JPEG 2000 on MNIST test digits.

    python benchmarks/codec.py RUN [RUN ...] [--n 10000] [--per-file-n 1000] [--name codec]

Each RUN is an operating point: a VQ-VAE run folder with a prior (`latentzoo train vqvae` then
`latentzoo train-prior`). Measured in one invocation on one machine, written to
benchmarks/results/NAME.json and NAME.md with a rate-distortion plot (NAME-rd.png) and the same
digits decoded by each format at about our size (NAME-digits.png):
- ours: each run's config.json and prior_config.json as they are, and its model's fingerprint;
  one file holding the first N test digits (bytes with the header / N), and one file per digit
  on the first PER_FILE_N; the prior's cross-entropy beside the file's bits; PSNR and SSIM of the
  decoded uint8 images; compress and decompress throughput;
- the classical codecs in Pillow at qualities that bracket our PSNRs: all N digits tiled into one
  image and compressed once (headers shared), and each of the first PER_FILE_N digits as its own
  file;
- per operating point, the best classical codec's bytes at our PSNR (linear in log-bytes between its
  two bracketing qualities) and how many times larger that is than our file.
PSNR is the mean of per-digit PSNR against the original uint8 digits, in dB.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine  # noqa: E402
from PIL import Image  # noqa: E402

from latentzoo import codec  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval.metrics import psnr, ssim  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.runs import CONFIG, PRIOR_CONFIG, load  # noqa: E402
from latentzoo.viz.plots import grid, save_png  # noqa: E402

QUALITIES = {
    "AVIF": [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90],
    "WebP": [0, 1, 5, 10, 20, 40, 60, 80, 95],
    "JPEG": [1, 5, 10, 20, 40, 60, 80, 95],
    "JPEG 2000": [400, 200, 100, 50, 25, 12, 6, 3],  # compression ratios
}
SIDE = 100  # tiled: SIDE x SIDE digits per image


def save(img: Image.Image, fmt: str, q: int) -> bytes:
    buf = io.BytesIO()
    if fmt == "AVIF":
        img.save(buf, format="AVIF", quality=q)
    elif fmt == "WebP":
        img.save(buf, format="WEBP", quality=q, method=6)
    elif fmt == "JPEG":
        img.save(buf, format="JPEG", quality=q)
    else:
        img.save(
            buf, format="JPEG2000", quality_mode="rates", quality_layers=[q], irreversible=True
        )
    return buf.getvalue()


def load_bytes(data: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(data)).convert("L"), dtype=np.uint8)


def quality(original: np.ndarray, decoded: np.ndarray) -> tuple[float, float]:
    """Mean per-digit PSNR (dB) and SSIM of uint8 digits (N, 28, 28)."""
    a = torch.from_numpy(original).float().div(255)[:, None]
    b = torch.from_numpy(decoded).float().div(255)[:, None]
    return float(psnr(a, b).mean()), float(ssim(a, b).mean())


def tile(digits: np.ndarray) -> np.ndarray:
    n = len(digits)
    rows = math.ceil(n / SIDE)
    canvas = np.zeros((rows * 28, SIDE * 28), dtype=np.uint8)
    for i, d in enumerate(digits):
        r, c = divmod(i, SIDE)
        canvas[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28] = d
    return canvas


def untile(canvas: np.ndarray, n: int) -> np.ndarray:
    return np.stack(
        [
            canvas[(i // SIDE) * 28 : (i // SIDE + 1) * 28, (i % SIDE) * 28 : (i % SIDE + 1) * 28]
            for i in range(n)
        ]
    )


def classical(digits: np.ndarray, per_file_n: int, log) -> dict:
    out = {}
    tiled = Image.fromarray(tile(digits))
    for fmt, qualities in QUALITIES.items():
        rows = []
        for q in qualities:
            blob = save(tiled, fmt, q)
            p, s = quality(digits, untile(load_bytes(blob), len(digits)))
            singles = [save(Image.fromarray(d), fmt, q) for d in digits[:per_file_n]]
            sp, ss = quality(digits[:per_file_n], np.stack([load_bytes(b) for b in singles]))
            rows.append(
                {
                    "quality": q,
                    "tiled_bytes_per_digit": len(blob) / len(digits),
                    "tiled_psnr": p,
                    "tiled_ssim": s,
                    "file_bytes_per_digit": float(np.mean([len(b) for b in singles])),
                    "file_psnr": sp,
                    "file_ssim": ss,
                }
            )
            log(
                f"{fmt} q{q}: tiled {rows[-1]['tiled_bytes_per_digit']:.1f} "
                f"B at {p:.2f} dB; one file per digit "
                f"{rows[-1]['file_bytes_per_digit']:.1f} B at {sp:.2f} dB"
            )
        out[fmt] = rows
    return out


def bytes_at(rows: list[dict], target: float, kind: str) -> float | None:
    """A codec's bytes per digit at PSNR `target`: linear in log-bytes between the bracketing
    qualities."""
    pts = sorted((r[f"{kind}_psnr"], r[f"{kind}_bytes_per_digit"]) for r in rows)
    for (p0, b0), (p1, b1) in zip(pts, pts[1:]):
        if p0 <= target <= p1 and p1 > p0:
            t = (target - p0) / (p1 - p0)
            return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))
    return None


def ours(run: Path, digits: np.ndarray, per_file_n: int, log) -> dict:
    model = load(run)
    x = torch.from_numpy(digits).float().div(255)[:, None]
    t0 = time.perf_counter()
    codes = codec.encode_images(model, x)
    blob = codec.compress_codes(model, codes)
    t_enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    decoded = codec.decompress(model, blob)
    t_dec = time.perf_counter() - t0
    assert torch.equal(decoded, model.decode(codes)), "the round trip must be exact"
    dec8 = (decoded.clamp(0, 1) * 255).round().to(torch.uint8)[:, 0].numpy()
    p, s = quality(digits, dec8)
    singles = [len(codec.compress_codes(model, codes[i : i + 1])) for i in range(per_file_n)]
    sp, ss = quality(digits[:per_file_n], dec8[:per_file_n])
    res = {
        "run": str(run),
        # what was measured: the run's settings and its prior's, as their files hold them
        "config": json.loads((run / CONFIG).read_text()),
        "prior_config": json.loads((run / PRIOR_CONFIG).read_text()),
        "model_fingerprint": codec.fingerprint(model).hex(),
        "bytes_per_digit": len(blob) / len(digits),
        "bits_per_digit": 8 * len(blob) / len(digits),
        "cross_entropy_bits_per_digit": codec.cross_entropy_bits(model, codes),
        "psnr": p,
        "ssim": s,
        "file_bytes_per_digit": float(np.mean(singles)),
        "file_psnr": sp,
        "file_ssim": ss,
        "compress_images_per_s": len(digits) / t_enc,
        "decompress_images_per_s": len(digits) / t_dec,
        "codebook_size": model.n_codes,
        "grid": list(model.grid),
        "_decoded": dec8,
    }
    log(
        f"ours {run}: {res['bytes_per_digit']:.1f} B per digit "
        f"({res['bits_per_digit']:.1f} bits; cross-entropy "
        f"{res['cross_entropy_bits_per_digit']:.1f}) at {p:.2f} dB; one file "
        f"per digit {res['file_bytes_per_digit']:.1f} B"
    )
    return res


def picture(path: Path, digits: np.ndarray, points: list[dict], table: dict) -> None:
    """Row 1 the originals; then each operating point, and each classical codec (tiled) at the
    quality whose size is nearest to the first operating point's."""
    n, rows = 12, [digits[:12]]
    target = points[0]["bytes_per_digit"]
    for pt in points:
        rows.append(pt["_decoded"][:n])
    small = Image.fromarray(tile(digits[:n]))
    for fmt, qrows in table.items():
        q = min(qrows, key=lambda r: abs(r["tiled_bytes_per_digit"] - target))["quality"]
        rows.append(untile(load_bytes(save(small, fmt, q)), n))
    x = torch.from_numpy(np.concatenate(rows)).float().div(255)[:, None]
    save_png(path, grid(x, n), scale=3)


def rd_plot(path: Path, points: list[dict], table: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, kind, title in (
        (axes[0], "tiled", "one tiled image"),
        (axes[1], "file", "one file per digit"),
    ):
        for fmt, rows in table.items():
            ax.plot(
                [r[f"{kind}_bytes_per_digit"] for r in rows],
                [r[f"{kind}_psnr"] for r in rows],
                "o-",
                ms=3,
                label=fmt,
            )
        key = "bytes_per_digit" if kind == "tiled" else "file_bytes_per_digit"
        ax.plot(
            [p[key] for p in points],
            [p["psnr" if kind == "tiled" else "file_psnr"] for p in points],
            "k*",
            ms=12,
            label="latentzoo",
        )
        ax.set_xscale("log")
        ax.set_xlabel("bytes per digit")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write(path, buf.getvalue())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--per-file-n", type=int, default=1000)
    ap.add_argument("--name", default="codec")
    a = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    torch.set_num_threads(min(2, torch.get_num_threads()))
    test = load_dataset("mnist").test
    digits = test.images[: a.n, 0].numpy()
    t0 = time.time()
    points = [ours(r, digits, a.per_file_n, log) for r in a.runs]
    table = classical(digits, a.per_file_n, log)
    for p in points:
        for kind, key in (("tiled", "bytes_per_digit"), ("file", "file_bytes_per_digit")):
            at = {fmt: bytes_at(rows, p["psnr"], kind) for fmt, rows in table.items()}
            known = {f: b for f, b in at.items() if b is not None}
            best = min(known, key=known.get) if known else None
            p[f"{kind}_classical_at_our_psnr"] = at
            p[f"{kind}_best_classical"] = best
            p[f"{kind}_times_smaller"] = known[best] / p[key] if best else None
    out = ROOT / "benchmarks" / "results"
    picture(out / f"{a.name}-digits.png", digits, points, table)
    rd_plot(out / f"{a.name}-rd.png", points, table)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    info = {
        "n": a.n,
        "per_file_n": a.per_file_n,
        "machine": machine(),
        "torch": torch.__version__,
        "pillow": Image.__version__,
        "commit": commit,
        "seconds": round(time.time() - t0, 1),
        "command": "python benchmarks/codec.py "
        + " ".join(map(str, a.runs))
        + f" --n {a.n} --per-file-n {a.per_file_n}",
    }
    for p in points:
        p.pop("_decoded")
    write_json(out / f"{a.name}.json", {"info": info, "ours": points, "classical": table})
    lines = [
        f"# Codec: latentzoo against the classical codecs ({a.n:,} MNIST test digits)",
        "",
        f"`{info['command']}` (commit {commit}, torch {info['torch']}, Pillow {info['pillow']}, "
        f"{info['seconds']} s). Bytes per digit include every "
        "header; PSNR is the mean per-digit PSNR.",
        "",
        "| operating point | bytes/digit | bits/digit (prior's cross-entropy) | "
        "PSNR | SSIM | best classical at that PSNR, tiled | "
        "times smaller | one file per digit: ours | best classical | "
        "times smaller | compress / decompress (img/s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        tb, fb = p["tiled_best_classical"], p["file_best_classical"]
        lines.append(
            f"| {Path(p['run']).name} | {p['bytes_per_digit']:.1f} | {p['bits_per_digit']:.1f} "
            f"({p['cross_entropy_bits_per_digit']:.1f}) | {p['psnr']:.2f} | {p['ssim']:.4f} | "
            + (
                f"{tb} {p['tiled_classical_at_our_psnr'][tb]:.1f} B | "
                f"{p['tiled_times_smaller']:.2f} |"
                if tb
                else "none reaches it | |"
            )
            + f" {p['file_bytes_per_digit']:.1f} B at {p['file_psnr']:.2f} dB | "
            + (
                f"{fb} {p['file_classical_at_our_psnr'][fb]:.1f} B | "
                f"{p['file_times_smaller']:.2f} |"
                if fb
                else "none reaches it | |"
            )
            + f" {p['compress_images_per_s']:.0f} / {p['decompress_images_per_s']:.0f} |"
        )
    lines += [
        "",
        "Classical codecs (tiled: one image of all digits; file: each digit alone):",
        "",
        "| codec | quality | tiled B/digit | tiled PSNR | file B/digit | file PSNR |",
        "|---|---|---|---|---|---|",
    ]
    for fmt, rows in table.items():
        for r in rows:
            lines.append(
                f"| {fmt} | {r['quality']} | "
                f"{r['tiled_bytes_per_digit']:.1f} | {r['tiled_psnr']:.2f} | "
                f"{r['file_bytes_per_digit']:.1f} | {r['file_psnr']:.2f} |"
            )
    lines += [
        "",
        f"![rate-distortion]({a.name}-rd.png)",
        "",
        "The first 12 test digits: the originals, then each operating point, then "
        + ", ".join(table)
        + " (tiled) at the quality whose size is nearest the first operating point's:",
        "",
        f"![digits]({a.name}-digits.png)",
        "",
    ]
    atomic_write(out / f"{a.name}.md", "\n".join(lines))
    log(f"wrote {out / (a.name + '.json')} and {a.name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
