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

from ..measures import mse_per_pixel, psnr, ssim  # noqa: F401 (re-exported)

EVAL_SEED = 1234  # fixes the noise and the random draws of every evaluation


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
