"""Metrics as pure tensor functions, each with its unit in its docstring.

- Reconstruction: MSE per pixel, PSNR = 10 log10(1 / MSE) per image (images in [0, 1]), SSIM
  (Wang et al. 2004, by pytorch-msssim).
- Codes: the histogram of a code grid, codebook usage and perplexity exp(H), the uniform-code rate.
- Anomalies: AUROC (scikit-learn).
- Samples: the Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

EVAL_SEED = 1234  # fixes the noise and the random draws of every evaluation


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


def code_histogram(codes: torch.Tensor, n_codes: int) -> torch.Tensor:
    """How often each of `n_codes` codes occurs in `codes` (any shape), float64 (n_codes,)."""
    return torch.bincount(codes.reshape(-1).cpu(), minlength=n_codes).double()


def codebook_stats(counts: torch.Tensor) -> dict[str, float]:
    """Usage of a codebook from its histogram over a whole pass: codes used, fraction,
    perplexity."""
    p = counts.double() / counts.double().sum()
    nz = p[p > 0]
    entropy = float(-(nz * nz.log()).sum())
    used = int((counts > 0).sum())
    return {
        "codes_used": used,
        "codebook_usage": used / len(counts),
        "perplexity": math.exp(entropy),
    }


def uniform_bits_per_image(grid: tuple[int, int], n_codes: int) -> float:
    """Bits per image of a code grid when every code costs log2 K: H * W * log2 K."""
    return grid[0] * grid[1] * math.log2(n_codes)


def auroc(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
    """Area under the ROC curve of anomaly scores (higher = more anomalous), in [0, 1]."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(is_anomaly.cpu().numpy().astype(int), scores.double().cpu().numpy()))


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, F)."""
    from scipy import linalg

    a, b = feats_a.double().numpy(), feats_b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():  # singular product (e.g. identical samples): regularise
            eye = np.eye(cov_a.shape[0]) * 1e-6
            covmean = linalg.sqrtm((cov_a + eye) @ (cov_b + eye))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))
