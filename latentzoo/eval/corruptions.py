"""Corruptions that no DAE trains on, for measuring denoisers on what they never saw.

`unseen_corruptions(x, generator)` gives eight corrupted copies of images (B, 1, H, W) in [0, 1]:
speckle, uniform noise, shot noise, white stripes, JPEG artefacts, Gaussian noise stronger than any
training strength, pepper-only dots, and blur with a little noise. None is a term of latentzoo.noise
(gaussian, mask, salt_pepper) at a training strength: a denoiser that does well here generalises
rather than inverting its own corruption. Strengths are fixed; the draws come from `generator`.
"""

from __future__ import annotations

import io

import numpy as np
import torch


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Grey images (B, 1, H, W) in [0, 1] saved and read back as JPEG at `quality` (Pillow)."""
    from PIL import Image

    out = []
    for img in (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy():
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=quality)
        out.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L")))
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
