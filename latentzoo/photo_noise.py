"""Noise kinds for photographs (B, C, H, W) in [0, 1], registered in latentzoo.noise's spec syntax
and combined with '+' and '|' as the other kinds are:

  poisson:A     a camera's shot noise: Gaussian noise of variance A times the value, the normal
                approximation of Poisson counts with 1/A photons at white (Foi et al. 2008, the
                signal-dependent part of Poisson-Gaussian noise; add its read noise with
                `+gaussian:B`)
  jpeg:Q        saved and read back as a JPEG at quality Q (1 to 100, Pillow's encoder)

A level of gaussian noise is a fraction of the range: sigma 25/255 is `gaussian:0.098`.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from .noise import NoiseKind, register_noise

PHOTO_NOISES = ("poisson", "jpeg")


def _poisson(out, level, generator, shape, medium):
    spread = (out.clamp(min=0) * level).sqrt()
    return out + spread * torch.randn(shape, generator=generator).to(out.device)


def jpeg_round_trip(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Images (B, C, H, W) in [0, 1], grey or colour, saved and read back as JPEG at `quality`."""
    pixels = (x.detach().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    out = []
    for img in pixels:  # (C, H, W)
        picture = Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0))
        buf = io.BytesIO()
        picture.save(buf, format="JPEG", quality=quality)
        back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert(picture.mode))
        out.append(back[None] if back.ndim == 2 else back.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(out)).to(x.device, x.dtype).div(255)  # (B, C, H, W)


def _jpeg(out, level, generator, shape, medium):
    return jpeg_round_trip(out, int(round(level)))


for _kind in (
    NoiseKind("poisson", _poisson, False, "shot noise: Gaussian of variance A times the value"),
    NoiseKind("jpeg", _jpeg, False, "saved and read back as a JPEG at quality Q", 1.0, 100.0),
):
    register_noise(_kind)
