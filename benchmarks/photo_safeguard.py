"""Study: the safeguard's quantile q for the photo DAE, chosen on validation patches and checked
on the test photos.

    python benchmarks/photo_safeguard.py [RUN [NAME]]  # RUN: photo-kde-x2-x4/unet-grey under
                                                       # benchmarks/runs; NAME: photo-safeguard

Clean residuals from the run's first 1,000 validation patches; each noise kind of photo_denoise.py
plus gaussian 0.02 and JPEG 50 and 75 on the next 1,000 validation patches, and on the eight test
crops (one draw per photo, as photo_denoise.py draws them; a grey photo as three equal channels,
its noise the same in each).
Per q: the mean gain in PSNR over the input (dB) and, on the photos, the worst photo's gain.
Written to benchmarks/results/NAME.txt.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from photo_denoise import NOISES, test_photos  # noqa: E402

from latentzoo import jobs  # noqa: E402
from latentzoo.eval import psnr  # noqa: E402
from latentzoo.noise import corrupt  # noqa: E402
from latentzoo.photos import through_tiles  # noqa: E402
from latentzoo.runs import load, run_data  # noqa: E402

KINDS = {**NOISES, "gaussian 0.02": "gaussian:0.02", "JPEG 50": "jpeg:50", "JPEG 75": "jpeg:75"}
Q = (0.5, 0.8, 0.9, 0.95, 0.99, 1.0)
RUN = ROOT / "benchmarks/runs/photo-kde-x2-x4/unet-grey"


def gain(clean: torch.Tensor, out: torch.Tensor, noisy: torch.Tensor) -> float:
    return float((psnr(clean, out.clamp(0, 1)) - psnr(clean, noisy)).mean())


def on_validation(model, res, vx, say) -> None:
    say("validation patches (second 1000), residuals from the first 1000: gain over the input")
    for name, spec in KINDS.items():
        noisy = corrupt(vx, spec, torch.Generator().manual_seed(7))
        raw = jobs.reconstruct(model, noisy)
        row = " ".join(
            f"q{q}:{gain(vx, jobs.safeguard(noisy, raw, res, q), noisy):+.2f}" for q in Q
        )
        say(f"{name} raw {gain(vx, raw, noisy):+.2f} {row}")


def on_photos(model, res, say) -> None:
    say("test photos: mean gain over the input / the worst photo's")
    for name, spec in KINDS.items():
        per: dict[float, list[float]] = {q: [] for q in Q}
        for i, clean in enumerate(test_photos(256).values()):
            # a grey photo as three equal channels, its noise the same in each, as photo_denoise.py
            noisy = corrupt(clean[None], spec, torch.Generator().manual_seed(1000 + i))[0]
            c, noisy = clean.expand(3, -1, -1), noisy.expand(3, -1, -1)  # (3, H, W)
            for q in Q:
                safe = through_tiles(
                    noisy, lambda t, q=q: jobs.safeguard(t, jobs.reconstruct(model, t), res, q)
                )
                per[q].append(gain(c[None], safe[None], noisy[None]))
        row = " ".join(f"q{q}:{sum(v) / len(v):+.2f}/{min(v):+.2f}" for q, v in per.items())
        say(f"{name} {row}")


def main() -> int:
    torch.set_num_threads(1)
    run = sys.argv[1] if len(sys.argv) > 1 else str(RUN)
    name = sys.argv[2] if len(sys.argv) > 2 else "photo-safeguard"
    lines = [f"python benchmarks/photo_safeguard.py {run} {name}"]

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    model = load(run)
    val = run_data(model.cfg).val.tensors(slice(0, 2000))[0]
    res = jobs.clean_residuals(model, val[:1000])
    on_validation(model, res, val[1000:2000], say)
    on_photos(model, res, say)
    (ROOT / f"benchmarks/results/{name}.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
