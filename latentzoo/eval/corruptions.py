"""Corruptions that no DAE trains on, for measuring denoisers on what they never saw.

`unseen_corruptions(x, generator)` gives eight corrupted copies of images (B, 1, H, W) in [0, 1]:
speckle, uniform noise, shot noise, white stripes, JPEG artefacts, Gaussian noise stronger than any
training strength, pepper-only dots, and blur with a little noise. None is a term of latentzoo.noise
(gaussian, mask, salt_pepper) at a training strength: a denoiser that does well here generalises
rather than inverting its own corruption. `structured_corruptions(x, generator)` adds structured
ones (a grey square, white lines, a text overlay, JPEG at qualities 30, 50 and 75) and light ones
(gaussian 0.02 and 0.05), where a denoiser must not make its input worse. Strengths are fixed; the
draws come from `generator`.
"""

from __future__ import annotations

import io

import numpy as np
import torch


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Grey images (B, 1, H, W) in [0, 1] saved and read back as JPEG at `quality` (Pillow)."""
    from PIL import Image

    def round_trip(picture, _):
        buf = io.BytesIO()
        picture.save(buf, format="JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue())).convert("L")

    return per_picture(x, round_trip)


def per_picture(x: torch.Tensor, fn) -> torch.Tensor:
    """Grey images x (B, 1, H, W) in [0, 1], each as an 8-bit Pillow picture through
    `fn(picture, index) -> picture`, and back."""
    from PIL import Image

    pixels = (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    out = [np.asarray(fn(Image.fromarray(img), i)) for i, img in enumerate(pixels)]
    return torch.from_numpy(np.stack(out)).float().div(255)[:, None]


def unseen_corruptions(x: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Eight corrupted copies of grey images x (B, 1, H, W) in [0, 1], by name, each clipped to [0,
    1]."""
    from scipy import ndimage

    x = x.cpu()
    n = lambda: torch.randn(x.shape, generator=generator)  # noqa: E731
    u = lambda: torch.rand(x.shape, generator=generator)  # noqa: E731
    # (B, 1, H, 1) white rows
    rows = torch.rand(x.shape[0], 1, x.shape[2], 1, generator=generator) < 0.12
    blurred = torch.from_numpy(ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, 0.8, 0.8))).float()
    out = {
        "speckle 0.6 (x times 1 + 0.6 N)": x * (1 + 0.6 * n()),
        "uniform 0.4 (x + U(-0.4, 0.4))": x + 0.8 * (u() - 0.5),
        "shot noise (Poisson, 8 counts at white)": torch.poisson(x * 8, generator=generator) / 8,
        "stripes (12% of rows white)": torch.where(rows, torch.ones_like(x), x),
        "JPEG quality 10": jpeg(x, 10),
        "gaussian 0.8 (stronger than trained)": x + 0.8 * n(),
        "pepper 0.3 (black dots only)": torch.where(u() < 0.3, torch.zeros_like(x), x),
        "blur 0.8 + gaussian 0.1": blurred + 0.1 * n(),
    }
    return {k: v.clamp(0, 1) for k, v in out.items()}


def structured_corruptions(x: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Structured and light corruptions of grey images x (B, 1, H, W) in [0, 1], by name, each
    clipped to [0, 1]: a grey square, white lines, a white text overlay, JPEG at three more
    qualities, and faint gaussian noise."""
    x = x.cpu()
    b, _, h, w = x.shape
    pick = lambda hi: torch.randint(0, hi, (b,), generator=generator).tolist()  # noqa: E731
    square = x.clone()
    for i, (r, c) in enumerate(zip(pick(h - 8), pick(w - 8))):
        square[i, :, r : r + 9, c : c + 9] = 0.5
    ends = torch.randint(0, min(h, w), (b, 2, 4), generator=generator).tolist()
    texts = [f"{a}{c}" for a, c in zip(pick(100), pick(10))]
    lines = draw(x, lambda d, i: [d.line(e, fill=255) for e in ends[i]])
    text = draw(
        x, lambda d, i: d.text((ends[i][0][0] // 2, ends[i][0][1] // 2), texts[i], fill=255)
    )
    out = {
        "occlusion (a 9x9 grey square)": square,
        "two white lines": lines,
        "text overlay (white)": text,
        **{f"JPEG quality {q}": jpeg(x, q) for q in (30, 50, 75)},
        "gaussian 0.02 (light)": x + 0.02 * torch.randn(x.shape, generator=generator),
        "gaussian 0.05 (light)": x + 0.05 * torch.randn(x.shape, generator=generator),
    }
    return {k: v.clamp(0, 1) for k, v in out.items()}


def draw(x: torch.Tensor, paint) -> torch.Tensor:
    """Grey images x (B, 1, H, W) with `paint(ImageDraw, index)` applied to each."""
    from PIL import ImageDraw

    def painted(picture, i):
        paint(ImageDraw.Draw(picture), i)
        return picture

    return per_picture(x, painted)
