"""Per-example quality of a reconstruction, as pure tensor functions with their units: mean squared
error, PSNR and SSIM (Wang et al. 2004, by pytorch-msssim) for images; SNR and PRD for signals. A
kind of data names those that fit it
(latentzoo.kinds); latentzoo.eval.metrics has the rest of the metrics."""

from __future__ import annotations

import torch


def mse_per_pixel(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean squared error per example (B,), averaged over its values (pixels, samples)."""
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


def signal_power(x: torch.Tensor) -> torch.Tensor:
    """Power of each example (B,) about its channels' means: the sum of squared deviations."""
    return (x - x.mean(-1, keepdim=True)).pow(2).flatten(1).sum(1)


def snr(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio per example (B,) in dB: the clean signal's power about its mean over
    the error's; identical signals are capped at 100 dB."""
    err = (x - x_hat).pow(2).flatten(1).sum(1)
    ratio = signal_power(x).clamp(min=1e-20) / err.clamp(min=1e-20)
    return (10.0 * torch.log10(ratio)).clamp(max=100.0)


def prd(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Percent root-mean-square difference per example (B,), the ECG compression measure, of the
    signal about its mean (PRDN): 100 * sqrt(error's sum of squares / signal's)."""
    err = (x - x_hat).pow(2).flatten(1).sum(1)
    return 100.0 * (err / signal_power(x).clamp(min=1e-20)).sqrt()
