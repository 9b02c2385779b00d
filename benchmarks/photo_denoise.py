"""Benchmark: the photo DAE on real photographs beside the noisy input and classical denoisers.

    python benchmarks/photo_denoise.py [--epochs 10] [--crop 256] [--name photo-denoise]
        [--variants 'default=;skip-input=--skip input'] [--scales 1] [--photos mate]
        [--self-ensemble 1]

Training photos (`--photos`, one or both sets): `mate`, the 12 nature photos of Debian's
`mate-backgrounds` (/usr/share/backgrounds/mate/nature/, colour, 1280x1024 to 2560x1920); `kde`,
the 11 photographs among Debian's `plasma-workspace-wallpapers` (KDE_PHOTOS, LGPLv3, each at its
largest size, 2560x1600; two are grey in colour files; the package's other wallpapers are drawn
or rendered). Each is fetched with `apt-get download` into ~/.cache/latentzoo. With `--scales 2,4`
the variants train instead on each photo shrunk by 2 and by 4 (Lanczos; written once as PNGs into
a folder beside them), whose detail per pixel is nearer a test photo's than a wallpaper's at full
size. Each variant is `latentzoo train dae --kind photo` with its options (an `--epochs` among
them overrides the script's), the variants side by side with the cores shared between them, into
benchmarks/runs/photo/NAME (photo-x2-x4/NAME for `--scales 2,4`, photo-kde-x2-x4/NAME with
`--photos mate,kde`), reused when it holds that finished run.
Test photos (none of them trained on): scikit-image's bundled photos,
public domain or CC0 by its documentation: colour astronaut, chelsea, coffee, rocket,
hubble_deep_field and retina; grey camera and coins (a colour model gets a grey photo as three equal
channels, and its output back as grey). Each is cut to its central CROP x CROP pixels (BM3D's time),
then corrupted at sigma 15, 25 and 50 (/255), by Poisson-Gaussian noise (poisson:0.01+gaussian:0.01)
and by JPEG at quality 10 and 30 (one draw per photo, seeded). Methods: the input; a 3x3 median; a
Gaussian blur of 1 pixel; non-local means (scikit-image, its noise level estimated); BM3D (`bm3d`,
the colour version for colour photos) given the true noise level (for Poisson-Gaussian noise and
JPEG, the RMS of the actual error); each DAE variant raw and as `latentzoo denoise` gives it (the
safeguard, with residuals of the run's validation patches), tiles blended as the command does, and
with `--self-ensemble N` (N > 1) also as `denoise --self-ensemble N` gives it (column "xN").
PSNR (dB) and SSIM per photo and their means; seconds per megapixel of each method on the full
astronaut (512x512 colour); the default's `latentzoo denoise` on a 4000x3000 photo and on a
1000x750 one, wall time and peak memory; crops side by side at sigma 25. Written to
benchmarks/results/NAME.json, NAME.md and NAME.png.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine  # noqa: E402
from packages import debian, ensure  # noqa: E402

from latentzoo import jobs  # noqa: E402
from latentzoo.bench.run import commit  # noqa: E402
from latentzoo.eval import psnr  # noqa: E402
from latentzoo.eval.downstream import classical_denoise  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.inputs import png_bytes, to_uint8  # noqa: E402
from latentzoo.noise import corrupt  # noqa: E402
from latentzoo.photos import as_channels, through_tiles  # noqa: E402
from latentzoo.runs import METRICS, load, run_data  # noqa: E402

COLOUR = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina")
GREY = ("camera", "coins")
NOISES = {
    "sigma 15": "gaussian:0.0588",
    "sigma 25": "gaussian:0.098",
    "sigma 50": "gaussian:0.1961",
    "Poisson-Gaussian": "poisson:0.01+gaussian:0.01",
    "JPEG 10": "jpeg:10",
    "JPEG 30": "jpeg:30",
}
SIGMA = {"sigma 15": 15 / 255, "sigma 25": 25 / 255, "sigma 50": 50 / 255}
CLASSICAL = {"median 3x3": "median", "blur": "gaussian", "non-local means": "nlm"}
CACHE = Path.home() / ".cache" / "latentzoo"
KDE_PHOTOS = (
    "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
    "Grey", "Kite", "OneStandsOut", "Path", "summer_1am",
)  # fmt: skip
LZ = str(Path(sys.executable).with_name("latentzoo"))


def fetched(package: str) -> Path:
    root = debian(package, CACHE / package.split("-")[0])
    if root is None:
        sys.exit(f"apt-get download {package} failed: the training photos are missing")
    return root


def training_photos(sets: list[str]) -> dict[str, Path]:
    """Name -> photo file, for each named set, in a fixed order."""
    photos = {}
    if "mate" in sets:
        nature = fetched("mate-backgrounds") / "usr/share/backgrounds/mate/nature"
        photos |= {p.stem: p for p in sorted(nature.iterdir())}
    if "kde" in sets:
        root = fetched("plasma-workspace-wallpapers") / "usr/share/wallpapers"
        photos |= {n: root / n / "contents/images/2560x1600.jpg" for n in KDE_PHOTOS}
    return photos


def shrunk(photos: dict[str, Path], sets: list[str], scales: list[int]) -> Path:
    """A folder of every photo shrunk by each factor of `scales`, made once (the mate folder
    itself when nothing is to be shrunk or added)."""
    if scales == [1] and sets == ["mate"]:
        return next(iter(photos.values())).parent
    from PIL import Image

    out = CACHE / "-".join(sets + [f"x{f}" for f in scales])
    if not (out / "done").is_file():
        out.mkdir(parents=True, exist_ok=True)
        for name, path in photos.items():
            image = Image.open(path).convert("RGB")
            for f in scales:
                small = image.resize(
                    (image.width // f, image.height // f), Image.Resampling.LANCZOS
                )
                small.save(out / f"{name}-{f}.png")
        (out / "done").write_text("")
    return out


def central_crop(arr: np.ndarray, crop: int) -> torch.Tensor:
    """An 8-bit image (H, W) or (H, W, C) -> its central crop x crop pixels (C, h, w) in [0, 1]."""
    x = torch.from_numpy(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1).copy())
    _, h, w = x.shape
    r, c = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    return x[:, r : r + crop, c : c + crop].float().div(255)


def test_photos(crop: int) -> dict[str, torch.Tensor]:
    """Name -> (C, H, W) in [0, 1], the central crop x crop pixels."""
    import skimage.data

    return {name: central_crop(getattr(skimage.data, name)(), crop) for name in COLOUR + GREY}


def train_variants(variants: dict[str, str], photos: Path, epochs: int, runs: Path, log) -> None:
    """Every variant that has no finished run, trained side by side, the machine's cores shared
    between them."""
    jobs_ = {}
    todo = [name for name in variants if not (runs / name / METRICS).is_file()]
    threads = max(1, (os.cpu_count() or 1) // max(1, len(todo)))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for name in todo:
        run, options = runs / name, variants[name]
        cmd = [LZ, "train", "dae", "--data", str(photos), "--kind", "photo"]
        cmd += ["--epochs", str(epochs), "--out", str(run), "--no-progress", *options.split()]
        cmd += ["--resume"] if (run / "last.safetensors").is_file() else []
        log(f"training {name}: {' '.join(cmd[2:])}")
        jobs_[name] = (subprocess.Popen(cmd, env=env), time.time())
    for name, (proc, start) in jobs_.items():
        if proc.wait():
            sys.exit(f"training {name} failed")
        log(f"trained {name} in {time.time() - start:.0f} s")


def dae(name: str, model, views: int) -> dict:
    """Column label -> noisy photo (C, H, W) -> output: the model's raw output, what `denoise`
    gives (safeguarded), and with `views` > 1 what `denoise --self-ensemble VIEWS` gives; each in
    the model's channels and back, tiles blended as the command does."""
    c = model.cfg.data.shape[0]
    val = run_data(model.cfg).val.tensors(slice(0, jobs.SAFEGUARD_N))

    def denoising(views: int):
        residuals = jobs.clean_residuals(model, *val, views=views)
        fn = lambda t: jobs.denoise(model, t, residuals=residuals, views=views)[1]  # noqa: E731
        return lambda noisy: as_channels(through_tiles(as_channels(noisy, c), fn), noisy.shape[0])

    def raw(noisy: torch.Tensor) -> torch.Tensor:
        out = through_tiles(as_channels(noisy, c), lambda t: jobs.reconstruct(model, t))
        return as_channels(out, noisy.shape[0])

    columns = {f"DAE {name}": denoising(1), f"DAE {name} raw": raw}
    return columns | ({f"DAE {name} x{views}": denoising(views)} if views > 1 else {})


def ssim_of(x: torch.Tensor, y: torch.Tensor) -> float:
    from skimage.metrics import structural_similarity

    a, b = x.numpy().transpose(1, 2, 0), y.clamp(0, 1).numpy().transpose(1, 2, 0)
    return float(structural_similarity(a, b, channel_axis=-1, data_range=1.0))


def score(x, y) -> dict[str, float]:
    return {"psnr": float(psnr(x[None], y.clamp(0, 1)[None])[0]), "ssim": ssim_of(x, y)}


def methods_on(noisy, clean, sigma, models) -> dict[str, torch.Tensor]:
    out = {"input": noisy}
    for label, method in CLASSICAL.items():
        out[label] = classical_denoise(noisy[None], method)[0]
    out["BM3D (true sigma)"] = classical_denoise(noisy[None], "bm3d", sigma)[0]
    return out | {label: fn(noisy) for label, fn in models.items()}


def quality_table(photos, models, log):
    """{noise: {method: {photo: {psnr, ssim}}}} and the sigma-25 outputs of the first photo."""
    table: dict = {}
    shown = {}
    for noise, spec in NOISES.items():
        table[noise] = {}
        for i, (name, clean) in enumerate(photos.items()):
            g = torch.Generator().manual_seed(1000 + i)
            noisy = corrupt(clean[None], spec, g)[0]
            sigma = SIGMA.get(noise) or max(1e-3, float((noisy - clean).pow(2).mean().sqrt()))
            outs = methods_on(noisy, clean, sigma, models)
            for method, y in outs.items():
                table[noise].setdefault(method, {})[name] = score(clean, y)
            if noise == "sigma 25" and i == 0:
                shown = {"clean": clean, **outs}
            log(
                f"{noise} {name}: "
                + ", ".join(f"{m} {s[name]['psnr']:.2f}" for m, s in table[noise].items())
            )
    return table, shown


def speeds(photo: torch.Tensor, models) -> dict[str, float]:
    """Seconds per megapixel of each method on one full photo (C, H, W) at sigma 25."""
    noisy = corrupt(photo[None], "gaussian:0.098", torch.Generator().manual_seed(0))[0]
    mp = photo.shape[1] * photo.shape[2] / 1e6
    out = {}
    for label, method in {**CLASSICAL, "BM3D (true sigma)": "bm3d"}.items():
        t = time.perf_counter()
        classical_denoise(noisy[None], method, 25 / 255)
        out[label] = (time.perf_counter() - t) / mp
    for label, fn in models.items():
        t = time.perf_counter()
        fn(noisy)
        out[label] = (time.perf_counter() - t) / mp
    return out


def large_photo(run: Path, work: Path, size: tuple[int, int]) -> dict[str, float]:
    """`latentzoo denoise` on a size[1] x size[0] photo (the astronaut, resized): wall time and the
    child's peak memory (the run's clean residuals measured and kept beforehand)."""
    import skimage.data
    from PIL import Image

    work.mkdir(parents=True, exist_ok=True)
    path = work / f"photo-{size[0]}x{size[1]}.png"
    Image.fromarray(skimage.data.astronaut()).resize(size, Image.BICUBIC).save(path)
    code = (
        "import resource, subprocess, sys, time; t = time.time(); "
        f"subprocess.run([{LZ!r}, 'denoise', {str(run)!r}, {str(path)!r}, '--out', "
        f"{str(work / 'out')!r}], check=True); "
        "print(time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall, rss = got.stdout.split()[-2:]
    return {"seconds": round(float(wall), 1), "peak_mib": round(int(rss) / 1024)}


def crops_picture(shown: dict[str, torch.Tensor], path: Path, side: int = 128) -> list[str]:
    """The top-left side x side pixels of each output, side by side, as one PNG; the labels."""
    row = torch.cat([y.clamp(0, 1)[:, :side, :side] for y in shown.values()], 2)  # (C, s, n*s)
    atomic_write(path, png_bytes(to_uint8(row[None])[0]))
    return list(shown)


def mean_of(per_photo: dict[str, dict[str, float]], key: str) -> float:
    return float(np.mean([v[key] for v in per_photo.values()]))


def markdown(result: dict) -> str:
    lines = [f"# {result['name']}", "", f"Command: `{result['command']}`", ""]
    done = f"Commit {result.get('commit', 'not recorded')}. Machine: {result['machine']}."
    lines += [f"{done} Training: {result['training']}", ""]
    for key, unit in (("psnr", "PSNR (dB)"), ("ssim", "SSIM")):
        methods = list(next(iter(result["table"].values())))
        lines += [f"## Mean {unit} over the {len(result['photos'])} test photos", ""]
        lines += ["| noise | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
        for noise, by_method in result["table"].items():
            cells = [f"{mean_of(by_method[m], key):.{2 if key == 'psnr' else 3}f}" for m in methods]
            lines.append(f"| {noise} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## PSNR (dB) per photo", ""]
    for noise, by_method in result["table"].items():
        methods = list(by_method)
        lines += [f"### {noise}", "", "| photo | " + " | ".join(methods) + " |"]
        lines.append("|---" * (len(methods) + 1) + "|")
        for photo in result["photos"]:
            cells = [f"{by_method[m][photo]['psnr']:.2f}" for m in methods]
            lines.append(f"| {photo} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Seconds per megapixel (astronaut, 512x512 colour, sigma 25, 2 threads)", ""]
    lines += [f"- {k}: {v:.2f}" for k, v in result["seconds_per_megapixel"].items()]
    lines += ["", "## `latentzoo denoise` on large photos (default variant)", ""]
    lines += [
        f"- {k}: {v['seconds']} s, peak {v['peak_mib']} MiB" for k, v in result["large"].items()
    ]
    lines += ["", f"Crops at sigma 25 ({result['crops']}): " + ", ".join(result["crop_order"]), ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--variants", default="default=;skip-input=--skip input")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--name", default="photo-denoise")
    ap.add_argument("--scales", default="1", help="train on the photos shrunk by these factors")
    ap.add_argument("--photos", default="mate", help="training sets: mate, kde or mate,kde")
    ap.add_argument("--self-ensemble", type=int, default=1, help="also each DAE over N views")
    a = ap.parse_args()
    ensure("scikit-image", "skimage")
    ensure("bm3d", "bm3d")
    log = lambda m: print(m, flush=True)  # noqa: E731
    variants = dict(v.split("=", 1) for v in a.variants.split(";") if v)
    scales = [int(f) for f in a.scales.split(",")]
    sets = [p for p in ("mate", "kde") if p in a.photos.split(",")]
    if not sets or len(sets) != len(a.photos.split(",")):
        ap.error(f"--photos takes mate, kde or mate,kde, not {a.photos!r}")
    tag = "".join(f"-{p}" for p in sets if p != "mate")
    tag += "" if scales == [1] else "-" + "-".join(f"x{f}" for f in scales)
    runs = ROOT / "benchmarks" / "runs" / f"photo{tag}"
    t0 = time.time()
    folder = shrunk(training_photos(sets), sets, scales)
    train_variants(variants, folder, a.epochs, runs, log)
    torch.set_num_threads(2)
    models, trained = {}, {}
    for name in variants:
        models |= dae(name, load(runs / name), a.self_ensemble)
        trained[name] = (runs / name / "history.csv").read_text().splitlines()[-1]
    photos = test_photos(a.crop)
    table, shown = quality_table(photos, models, log)
    results = ROOT / "benchmarks" / "results"
    order = crops_picture(shown, results / f"{a.name}.png")
    full = test_photos(4096)["astronaut"]
    first = runs / next(iter(variants))
    work = runs / "large"
    large_photo(first, work, (64, 64))  # the first `denoise` measures and keeps clean residuals
    result = {
        "name": a.name,
        "command": "python benchmarks/photo_denoise.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "commit": commit(),
        "training": f"{a.epochs} epochs per variant (unless its options say), on the photos "
        f"shrunk by {a.scales} ({folder}); last history rows: {trained}",
        "variants": variants,
        "self_ensemble": a.self_ensemble,
        "photos": list(photos),
        "crop": a.crop,
        "table": table,
        "seconds_per_megapixel": speeds(full, models),
        "large": {
            "1000x750": large_photo(first, work, (1000, 750)),
            "4000x3000": large_photo(first, work, (4000, 3000)),
        },
        "crops": f"{a.name}.png",
        "crop_order": order,
        "seconds": round(time.time() - t0),
    }
    write_json(results / f"{a.name}.json", result)
    atomic_write(results / f"{a.name}.md", markdown(result).encode())
    log(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
