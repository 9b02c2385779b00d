"""Per-example quality of a reconstruction, as pure tensor functions with their units: mean squared
error, PSNR and SSIM (Wang et al. 2004, by pytorch-msssim). A kind of data names those that fit it
(latentzoo.kinds); latentzoo.eval.metrics has the rest of the metrics."""

from __future__ import annotations

import torch


def mse_per_pixel(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image (B,), averaged over pixels."""
    return (x - x_hat).pow(2).flatten(1).mean(1)


def psnr(x: torch.Tensor, x_hat: torch.Tensor, max_val: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image (B,) in dB; identical images are capped at 100 dB."""
    mse = mse_per_pixel(x, x_hat).clamp(min=max_val**2 * 1e-10)
    return 10.0 * torch.log10(max_val**2 / mse)


def ssim(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image (B,) (Wang et al. 2004), by pytorch-msssim: 11x11 Gaussian
    window (sigma 1.5), data range 1; 1 is identical."""
    from pytorch_msssim import ssim as _ssim

    return _ssim(x.float(), x_hat.float().clamp(0, 1), data_range=1.0, size_average=False)
