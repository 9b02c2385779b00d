"""Study: how the safeguard estimates the photo DAE's error, chosen on held-out photos and checked
on the test photos.

    python benchmarks/photo_safeguard.py [RUN [NAME]] [--self-ensemble 1]
    # RUN: photo-kde-x2-x4/unet-grey under benchmarks/runs; NAME: photo-safeguard

Rules (latentzoo.jobs.safeguard): the clean residuals' mean as every output's error and their q
quantile as the threshold ("population q"); per input, the change the model makes to its own
output plus the mean clean residual, with the threshold `margin` times that ("per input m"); the
second pass's change alone, with the threshold k times it ("second pass k"); and what `denoise`
gives: per input with the default margin, except on a decoded JPEG of a quality the model learned
(DataKind.recognised), where it keeps the output moved into the input's quantisation cells.
Clean residuals from the run's first 1,000 validation patches. Held-out photos: eight images that
scikit-image ships beside the test photos (none of them a test photo), central 256 crops; the test
photos as photo_denoise.py crops them. Each noise kind of photo_denoise.py, lighter ones (gaussian
0.02, JPEG 40, 50, 75 and 90) and a noisy photo saved as a JPEG (sigma 15, then quality 30 or 90),
one draw per photo; a grey photo as three equal channels, its noise the same in each. The rule
chosen: of those that keep every held-out photo at or above its input on every kind, the one with
the highest mean gain on the held-out photos over the benchmark's kinds that `denoise` leaves to
the safeguard (its noise, not its JPEG). With `--self-ensemble N`, every output (the clean
residuals', the first pass's and the second's) is the model's mean over N views, as `denoise
--self-ensemble N` makes it. Per rule and kind, the mean gain in PSNR over the input (dB) / the
worst photo's. Written to benchmarks/results/NAME.txt.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from photo_denoise import NOISES, central_crop, test_photos  # noqa: E402

from latentzoo import jobs  # noqa: E402
from latentzoo.eval import psnr  # noqa: E402
from latentzoo.files import atomic_write  # noqa: E402
from latentzoo.noise import corrupt  # noqa: E402
from latentzoo.runs import load, run_data  # noqa: E402

LIGHT = {
    "gaussian 0.02": "gaussian:0.02",
    "JPEG 40": "jpeg:40",
    "JPEG 50": "jpeg:50",
    "JPEG 75": "jpeg:75",
    "JPEG 90": "jpeg:90",
}
# noise baked into a JPEG: a camera's noisy photo saved at a quality the model learned, and lighter
NOISY_JPEG = {
    "sigma 15, JPEG 30": "gaussian:0.0588+jpeg:30",
    "sigma 15, JPEG 90": "gaussian:0.0588+jpeg:90",
}
KINDS = {**NOISES, **LIGHT, **NOISY_JPEG}
# the benchmark's kinds that `denoise` leaves to the safeguard (it recognises JPEG 10 and 30)
DECIDED = ("sigma 15", "sigma 25", "sigma 50", "Poisson-Gaussian")
HELD_OUT = ("moon", "grass", "gravel", "brick", "page", "cell", "immunohistochemistry")
RUN = ROOT / "benchmarks/runs/photo-kde-x2-x4/unet-grey"


def held_out_photos(crop: int = 256) -> dict[str, torch.Tensor]:
    """Name -> (C, H, W) in [0, 1]: the central crop, its sides cut to multiples of 4."""
    import skimage.data

    arrays = {n: getattr(skimage.data, n)() for n in HELD_OUT}
    arrays["motorcycle_left"] = skimage.data.stereo_motorcycle()[0]
    crops = {name: central_crop(arr, crop) for name, arr in arrays.items()}
    return {name: x[:, : x.shape[1] // 4 * 4, : x.shape[2] // 4 * 4] for name, x in crops.items()}


def rules(model, noisy, out, again, res, views) -> dict[str, torch.Tensor]:
    """Rule name -> the safeguarded outputs (N, C, H, W)."""
    got = {"raw": out, "denoise": jobs.guarded(model, noisy, out, res, views=views)}
    for q in (0.5, 0.9, 1.0):
        got[f"population q{q}"] = jobs.safeguard(noisy, out, res, q)
    for m in (1.0, 1.5, 2.0, 3.0):
        got[f"per input m{m}"] = jobs.safeguard(noisy, out, res, again=again, margin=m)
    residual = (noisy - out).pow(2).flatten(1).mean(1)
    second = (again - out).pow(2).flatten(1).mean(1)
    for k in (1.0, 2.0, 3.0, 5.0):
        input_error = (residual - k * second).clamp(min=0)
        w = (input_error / (input_error + second + 1e-12)).view(-1, 1, 1, 1)
        got[f"second pass k{k}"] = w * out + (1 - w) * noisy
    return got


def gains(model, photos, res, spec, views) -> dict[str, list[float]]:
    """Rule -> the gain over the input of each photo."""
    per: dict[str, list[float]] = {}
    for i, clean in enumerate(photos.values()):
        noisy = corrupt(clean[None], spec, torch.Generator().manual_seed(1000 + i))
        c, noisy = clean[None].expand(-1, 3, -1, -1), noisy.expand(-1, 3, -1, -1)  # (1, 3, H, W)
        out = jobs.reconstruct(model, noisy, views=views)
        again = jobs.reconstruct(model, out, views=views)
        for rule, y in rules(model, noisy, out, again, res, views).items():
            per.setdefault(rule, []).append(float(psnr(c, y.clamp(0, 1)) - psnr(c, noisy)))
    return per


def table(model, photos, res, say, views) -> dict[str, dict[str, list[float]]]:
    """Kind -> rule -> per-photo gains, each kind's row said."""
    out = {}
    for kind, spec in KINDS.items():
        out[kind] = gains(model, photos, res, spec, views)
        say(kind)
        for rule, v in out[kind].items():
            say(f"  {rule:18s} {sum(v) / len(v):+.2f} / {min(v):+.2f}")
    return out


def chosen(held: dict[str, dict[str, list[float]]]) -> str:
    safe = [r for r in held[next(iter(held))] if all(min(g[r]) >= 0 for g in held.values())]
    if not safe:
        return "none (each rule leaves a held-out photo below its input on some kind)"
    mean = {r: sum(sum(held[k][r]) / len(held[k][r]) for k in DECIDED) / len(DECIDED) for r in safe}
    return max(mean, key=mean.__getitem__)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", nargs="?", default=str(RUN))
    ap.add_argument("name", nargs="?", default="photo-safeguard")
    ap.add_argument("--self-ensemble", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(2)
    lines = ["python benchmarks/photo_safeguard.py " + " ".join(sys.argv[1:])]

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    model, views = load(a.run), a.self_ensemble
    val = run_data(model.cfg).val.tensors(slice(0, 1000))[0]
    res = jobs.clean_residuals(model, val, views=views)
    say("held-out photos: " + ", ".join(held_out_photos()))
    held = table(model, held_out_photos(), res, say, views)
    say(f"chosen on the held-out photos: {chosen(held)}")
    say("test photos: " + ", ".join(test_photos(256)))
    table(model, test_photos(256), res, say, views)
    atomic_write(ROOT / f"benchmarks/results/{a.name}.txt", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
