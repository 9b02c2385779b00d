"""The rows of the bench's tables that more than one data set or model shares: each of the
ensemble's views beside the ensemble (`scored_views`), a foreign set's AUROC for each
(`foreign_rows`), a denoiser beside its input and two filters (`denoising_row`)."""

from __future__ import annotations

import torch

from ..eval import Ensemble, auroc, classical_denoise, ensemble_terms, psnr
from ..jobs import reconstruct
from .settings import MEMBERS


def scored_views(terms: dict[str, torch.Tensor], ensemble: torch.Tensor) -> dict:
    """Each member's score and the ensemble's, per image (N,), under the results' keys."""
    return {**{k: terms[t] for k, (t, _) in MEMBERS.items()}, "ensemble": ensemble}


def foreign_rows(ae, vae, normal_val, normal_test, sets: dict) -> dict[str, dict[str, float]]:
    """AUROC (%) of each set's images against `normal_test` for each of the ensemble's members and
    the ensemble fitted on `normal_val`."""
    fitted = Ensemble(ensemble_terms(ae, vae, normal_val))

    def views(x):  # each view alone, and the ensemble, per image (N,)
        t = ensemble_terms(ae, vae, x)
        return scored_views(t, fitted(t))

    normal, rows = views(normal_test), {}
    for name, fx in sets.items():
        is_foreign = torch.cat([torch.zeros(len(normal_test)), torch.ones(len(fx))]).bool()
        rows[name] = {
            k: 100 * auroc(torch.cat([normal[k], v]), is_foreign) for k, v in views(fx).items()
        }
    return rows


def denoising_row(dae, clean: torch.Tensor, noisy: torch.Tensor) -> dict[str, float]:
    """Mean PSNR (dB) against the clean images of the noisy input, the DAE's output and two
    filters."""
    return {
        "noisy": float(psnr(clean, noisy).mean()),
        "dae": float(psnr(clean, reconstruct(dae, noisy)).mean()),
        "median_3x3": float(psnr(clean, classical_denoise(noisy, "median")).mean()),
        "gaussian_blur": float(psnr(clean, classical_denoise(noisy, "gaussian")).mean()),
    }
