"""The rows of the bench's tables that more than one data set or model shares: each of the
ensemble's views beside the ensemble (`scored_views`), a foreign set's AUROC for each
(`foreign_rows`), a denoiser beside its input and two filters (`denoising_row`), a likelihood row
measured once per run (`run_likelihood`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ..eval import (
    EVAL_SEED,
    Ensemble,
    auroc,
    classical_denoise,
    ensemble_terms,
    psnr,
    vae_likelihood,
)
from ..files import read_json, write_json
from ..jobs import reconstruct
from ..runs import LIKELIHOOD, read_metrics, weights_digest
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


def run_likelihood(run: Path, model, test, k: int, n_images: int | None) -> dict[str, Any]:
    """`vae_likelihood` of a run's kept weights on the first `n_images` test images (None: all),
    with the run's training time. Measured once: the figures are kept in the run folder's
    likelihood.json under the weights' SHA-256, k, the number of images and the seed, and read back
    while all four match (k=5000 on 10,000 images through a conv decoder takes over an hour on a
    laptop's CPU)."""
    n = len(test) if n_images is None else min(n_images, len(test))
    key = f"sha256={weights_digest(run)} k={k} images={n} seed={EVAL_SEED}"
    path = run / LIKELIHOOD
    kept = read_json(path) if path.is_file() else {}
    if key not in kept:
        t0 = time.time()
        figures = vae_likelihood(model, test, k=k, n_images=n)
        kept[key] = {**figures, "eval_seconds": round(time.time() - t0, 1)}
        write_json(path, kept)
    return {**kept[key], "train_seconds": read_metrics(run)["train_seconds"]}
