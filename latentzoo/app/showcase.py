"""What the app shows, without the app: a few trained models put to work on one picture at a time.

`Showcase.load(runs)` loads runs or zoo names (latentzoo.runs.load) and sorts them by what they can
do: every model reconstructs; a denoiser (a model that learned a corruption) denoises, safeguarded
as `latentzoo denoise` does; the anomaly score is the ensemble of an AE and a VAE when the runs hold
both (`latentzoo score AE --with VAE`), else the first model's own, with the threshold that the
run's validation images calibrate; a model with codes and a prior shows its code grid and what the
codec spends; conditional models draw samples of a chosen label; models that decode a latent walk
between two pictures; a VAE with a 2-d latent maps its plane. Each method takes pictures as uint8
arrays (H, W) or (H, W, C) and gives uint8 pictures and plain numbers, so that latentzoo.app.ui
only lays them out, and the tests compare them with the library's own answers.

A drawn or uploaded picture is fitted to the models' shape as MNIST's digits were made (LeCun et
al. 1998): dark ink on a light ground is inverted, the ink's bounding box scaled to fit 20 of 28
pixels, and its centre of mass put at the centre. A colour model's picture is only resized.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .. import codec, jobs
from ..errors import ConfigError, DataError
from ..models import GUIDANCE
from ..runs import load, run_data
from ..viz.plots import PAD, grid
from ..viz.report import PLANE_N, plane_pictures, plane_points

MAX_PIXELS = 4096 * 4096  # a larger upload is refused before it is decoded
INK_BOX = 20 / 28  # MNIST's digits fit a 20x20 box in their 28x28 image
ZOOM = 4  # pictures are shown at four times the models' size, pixel for pixel
MAP_ZOOM = 2  # ... and the plane's map, of PLANE_N x PLANE_N pictures, at twice


def to_array(picture) -> np.ndarray:
    """A picture given as a PIL image or an array (H, W[, C]) as float (H, W, C) in [0, 1]; a
    transparent ground counts as white, as a drawing canvas shows it."""
    if isinstance(picture, Image.Image):
        if picture.width * picture.height > MAX_PIXELS:
            raise DataError(
                f"the picture is {picture.width}x{picture.height}: at most "
                f"{MAX_PIXELS:,} pixels, please"
            )
        picture = np.asarray(picture.convert("RGBA" if "A" in picture.mode else "RGB"))
    a = np.asarray(picture, dtype=np.float32)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or a.size == 0:
        raise DataError(f"not a picture: an array of shape {a.shape}")
    a = a / 255.0 if a.max() > 1.0 else a
    if a.shape[2] in (2, 4):  # grey or colour with alpha, over white
        alpha = a[..., -1:]
        a = a[..., :-1] * alpha + (1 - alpha)
    return a  # (H, W, C)


def read_upload(path: str) -> Image.Image:
    """An uploaded file as an image, or a DataError that says why not (before a huge one is
    decoded)."""
    try:
        with warnings.catch_warnings():  # the size is checked here, before decoding
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        if img.width * img.height > MAX_PIXELS:
            raise DataError(
                f"the picture is {img.width}x{img.height}: at most {MAX_PIXELS:,} pixels, please"
            )
        img.load()
    except (OSError, Image.DecompressionBombError, ValueError):
        raise DataError("the file is not an image that Pillow can read") from None
    return img


def as_digit(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A grey picture (H, W) in [0, 1] made like an MNIST digit of `size`: light ink on black, its
    bounding box fitted into the middle INK_BOX of the frame, centred by its mass."""
    if np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])) > 0.5:
        a = 1.0 - a  # dark ink on a light ground
    a = np.clip(a - np.median(a), 0, None)  # the ground at zero
    ink = np.argwhere(a > 0.1 * a.max()) if a.max() > 0 else np.empty((0, 2))
    if len(ink) == 0:
        return np.zeros(size, np.float32)
    (top, left), (bottom, right) = ink.min(0), ink.max(0) + 1
    box = a[top:bottom, left:right]
    scale = INK_BOX * min(size) / max(box.shape)
    h, w = max(1, round(box.shape[0] * scale)), max(1, round(box.shape[1] * scale))
    small = np.asarray(
        Image.fromarray(box / box.max()).resize((w, h), Image.Resampling.LANCZOS)
    ).clip(0, 1)
    out = np.zeros(size, np.float32)
    cy, cx = np.argwhere(small >= 0).T @ small.ravel() / max(small.sum(), 1e-6)
    top = int(np.clip(round(size[0] / 2 - cy), 0, size[0] - h))
    left = int(np.clip(round(size[1] / 2 - cx), 0, size[1] - w))
    out[top : top + h, left : left + w] = small
    return out


def fit(picture, shape: tuple[int, ...]) -> torch.Tensor:
    """A picture as one example (1, C, H, W) in [0, 1] of a model's `shape`: a grey model's picture
    made like a digit (`as_digit`), unless it has that size already; a colour one's resized."""
    a = to_array(picture)
    c, h, w = shape
    if c == 1:
        grey = a.mean(2)
        x = grey if grey.shape == (h, w) else as_digit(grey, (h, w))
        return torch.from_numpy(np.ascontiguousarray(x, np.float32)).view(1, 1, h, w)
    rgb = a if a.shape[2] == 3 else np.repeat(a, 3, axis=2)
    img = Image.fromarray((rgb * 255).round().astype(np.uint8)).resize(
        (w, h), Image.Resampling.LANCZOS
    )
    return torch.from_numpy(np.asarray(img, np.float32) / 255).permute(2, 0, 1)[None]


def shown(images: torch.Tensor, nrow: int | None = None, zoom: int = ZOOM) -> np.ndarray:
    """Examples (N, C, H, W) in [0, 1] as one uint8 picture, `zoom` times larger, `nrow` per row
    (latentzoo.viz.plots.grid)."""
    pic = grid(images.cpu(), nrow or len(images))
    return pic.repeat(zoom, 0).repeat(zoom, 1)


@dataclass
class Showcase:
    """Named models (run folders or zoo names) and what the app needs beside them."""

    models: dict[str, torch.nn.Module]
    shape: tuple[int, ...]
    n_classes: int
    score: Callable[[torch.Tensor], torch.Tensor] | None = None  # (N, C, H, W) -> (N,)
    score_name: str = ""
    threshold: float = float("nan")
    fpr: float = jobs.DEFAULT_FPR
    residuals: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        runs: list[str],
        device: str | None = None,
        fpr: float = jobs.DEFAULT_FPR,
        data_dir=None,
    ):
        """The runs' models (run folders or zoo names) as a calibrated showcase (`of`)."""
        return cls.of({str(r): load(r, device=device) for r in runs}, fpr, data_dir)

    @classmethod
    def of(cls, models: dict, fpr: float = jobs.DEFAULT_FPR, data_dir=None):
        """Models of pictures of one shape, by name, calibrated on their data's validation images
        (found as the jobs find them, `data_dir` first); a ConfigError for other models."""
        first_name, first = next(iter(models.items()))
        for name, m in models.items():
            if not m.data_kind.drawn:
                raise ConfigError(
                    f"{name}: the app shows models of whole pictures; this one is of "
                    f"{m.data_kind.examples}"
                )
            if m.cfg.data.shape != first.cfg.data.shape:
                raise ConfigError(
                    f"{name} takes {m.data_kind.describe(m.cfg.data.shape)} examples and "
                    f"{first_name} {first.data_kind.describe(first.cfg.data.shape)}: the app "
                    "shows models of one shape"
                )
        show = cls(models, tuple(first.cfg.data.shape), first.cfg.data.n_classes, fpr=fpr)
        show.calibrate(data_dir)
        return show

    def calibrate(self, data_dir=None) -> None:
        """The anomaly score and its threshold, and the denoisers' clean residuals, from the
        validation images of the runs' data."""
        first = next(iter(self.models.values()))
        val = run_data(first.cfg, data_dir).val
        pair = next(self.pairs(), None)
        if pair is not None:
            self.score = jobs.scorer(*pair, val)
            self.score_name = f"ensemble of {self.name_of(pair[0])} and {self.name_of(pair[1])}"
        else:
            name, model = next(iter(self.models.items()))
            self.score, self.score_name = jobs.scorer(model), f"{name}'s own"
        self.threshold = jobs.calibrate(first, val, self.fpr, score=self.score)
        clean = val.tensors(slice(0, jobs.SAFEGUARD_N))
        self.residuals = {n: jobs.clean_residuals(m, *clean) for n, m in self.denoisers().items()}

    def name_of(self, model) -> str:
        return next(n for n, m in self.models.items() if m is model)

    def pairs(self):
        """The (AE, VAE) pairs that the ensemble score takes, in the order of the runs."""
        for a in self.models.values():
            for b in self.models.values():
                if a.fits_latent_gaussian and b.has_elbo and not b.needs_labels:
                    yield a, b

    def where(self, test) -> dict[str, torch.nn.Module]:
        return {n: m for n, m in self.models.items() if test(m)}

    def denoisers(self):
        return self.where(lambda m: bool(m.noise))

    def samplers(self):
        return self.where(lambda m: m.conditional and m.can_sample)

    def walkers(self):
        return self.where(lambda m: m.can_decode and not m.needs_labels)

    def planes(self):
        return self.where(lambda m: m.has_plane)

    def coders(self):
        return self.where(lambda m: m.can_compress)

    def example(self, picture) -> torch.Tensor:
        return fit(picture, self.shape)

    @torch.no_grad()
    def reconstructions(self, x: torch.Tensor) -> dict[str, np.ndarray]:
        return {n: shown(jobs.reconstruct(m, x)) for n, m in self.models.items()}

    @torch.no_grad()
    def denoise(
        self, x: torch.Tensor, noise: str, seed: int = 0
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each denoiser's pair: the example, corrupted by `noise` (when given), and denoised."""
        rows = {}
        for n, m in self.denoisers().items():
            noisy, clean = jobs.denoise(
                m, x, noise=noise or None, seed=seed, residuals=self.residuals[n]
            )
            rows[n] = shown(noisy), shown(clean)
        return rows

    @torch.no_grad()
    def anomaly(self, x: torch.Tensor) -> dict[str, float | bool | str]:
        assert self.score is not None, "calibrate first"
        s = float(self.score(x)[0])
        return {
            "score": s,
            "threshold": self.threshold,
            "flagged": s > self.threshold,
            "fpr": self.fpr,
            "by": self.score_name,
        }

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> dict[str, tuple[np.ndarray, int]]:
        """Each coder's code grid (h, w) of the example and the bytes of its compressed file."""
        return {
            n: (codec.encode_images(m, x)[0].numpy(), len(codec.compress(m, x)))
            for n, m in self.coders().items()
        }

    @torch.no_grad()
    def samples(
        self,
        label: int,
        n: int = 8,
        guidance: float = GUIDANCE,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> dict[str, np.ndarray]:
        if not 0 <= label < self.n_classes:
            raise DataError(f"label {label}: the models' data has labels 0 to {self.n_classes - 1}")
        out = {}
        for name, m in self.samplers().items():
            gen = torch.Generator().manual_seed(seed)
            extra = {"guidance": guidance} if m.guided else {}
            y = torch.full((n,), label)
            out[name] = shown(m.sample(n, y=y, generator=gen, temperature=temperature, **extra))
        return out

    @torch.no_grad()
    def walks(self, xa: torch.Tensor, xb: torch.Tensor, steps: int = 8) -> dict[str, np.ndarray]:
        return {
            n: shown(m.interpolate(xa.to(m.device), xb.to(m.device), steps)[0])
            for n, m in self.walkers().items()
        }

    def plane_map(self, name: str) -> np.ndarray:
        pictures = plane_pictures(self.planes()[name], plane_points())
        return shown(pictures, nrow=PLANE_N, zoom=MAP_ZOOM)

    def plane_point(self, name: str, z1: float, z2: float) -> np.ndarray:
        return shown(plane_pictures(self.planes()[name], torch.tensor([[z1, z2]])))

    def point_at(self, row: int, col: int) -> tuple[float, float]:
        """The point z of the plane map's picture (`plane_map`) at pixel (row, col)."""
        h, w = self.shape[1:]

        def cell(pixel: int, size: int) -> int:  # grid() leaves PAD before and after each picture
            return min(max((pixel // MAP_ZOOM - PAD) // (size + PAD), 0), PLANE_N - 1)

        i, j = cell(row, h), cell(col, w)
        z = plane_points()[i * PLANE_N + j]
        return float(z[0]), float(z[1])
