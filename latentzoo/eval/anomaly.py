"""Anomaly scores built from more than one model's view, chosen on validation data
(benchmarks/EXPERIMENTS.md, "Anomaly scores chosen on validation data").

- `code_nll`: how unlikely an AE's code is under the Gaussian fitted to its training codes
  (-log density up to a constant; a Mahalanobis distance halved); `codes_nll` for codes at hand.
- `complexity_bits`: each example's PNG code length, the input complexity of Serra et al. (2020)
  (a general-purpose lossless compressor's measure of how simple an input is).
- `ensemble_terms`: the four scores that the chosen ensemble takes: an AE's squared reconstruction
  error, its code's `code_nll`, a VAE's negative ELBO (VAE.anomaly_score) and `complexity_bits`.
- `Mahalanobis`: the distance of those four from their mean over normal validation images, under
  their covariance there: an image is anomalous when any view, or the way the views go together,
  is unusual, in either direction, so an input too simple for its likelihood (Nalisnick et al.
  2019) is caught as well as one too complex. Each view alone fails somewhere (reconstruction error
  on smooth or simple images, the code density on blurred digits, the ELBO on pen strokes and on
  digits for a model of clothes).
- `Ensemble`: the chosen score, Fisher's method over four tail probabilities: the Mahalanobis
  distance's (a chi-squared tail) and each of the three model scores' own, standardised (a
  Gaussian upper tail). The distance whitens away the direction in which the model scores rise
  together, which is where most anomalies of a single class lie; the scores' own tails keep it,
  and let the one model that finds an image unlikely speak for itself.
- `EnsembleScore(ae, vae, normal)`: that chosen score as one function of examples, fitted on the
  given normal examples; what `latentzoo score RUN --with RUN2` uses.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from ..errors import ConfigError


@torch.no_grad()
def code_nll(ae, x: torch.Tensor) -> torch.Tensor:
    """-log N(encode(x); fitted mean, fitted covariance) + const per image (B,) for an AE or DAE."""
    return codes_nll(ae, ae.encode(x))


def codes_nll(ae, z: torch.Tensor) -> torch.Tensor:
    """`code_nll` of codes z (B, L) that the AE's encoder already gave."""
    if not ae.fits_latent_gaussian:
        raise ConfigError(
            "code_nll needs an autoencoder with a Gaussian fitted to its training codes (ae, dae)"
        )
    return ae.code_nll(z)


def complexity_bits(x: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Each example's PNG code length in bits (N,), float64: its values mapped from `value_range`
    to 8 bits and laid out as a grey picture, a row per channel and image row ((N, C, H, W) ->
    C * H rows of W; signals (N, C, T) -> C rows of T)."""
    lo, hi = value_range
    levels = ((x.cpu().double() - lo) / max(hi - lo, 1e-12)).clamp(0, 1).mul(255).round()
    pictures = levels.to(torch.uint8).reshape(len(x), -1, x.shape[-1]).numpy()
    return torch.tensor([8.0 * len(png(p)) for p in pictures], dtype=torch.float64)


def png(picture: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@torch.no_grad()
def ensemble_terms(
    ae, vae, x: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0), batch: int = 500
) -> dict[str, torch.Tensor]:
    """The ensemble's four scores per example (N,), higher = more complex or unusual, on the CPU;
    `value_range` maps values to 8 bits for `complexity_bits`."""
    ae.eval()
    vae.eval()
    out: dict[str, list[torch.Tensor]] = {"ae recon": [], "ae code": [], "vae neg elbo": []}
    for i in range(0, len(x), batch):
        b = x[i : i + batch].to(ae.device)
        z = ae.encode(b)  # (B, L), once for both AE scores
        out["ae recon"].append((ae.decode(z) - b).pow(2).flatten(1).sum(1).cpu())
        out["ae code"].append(codes_nll(ae, z).cpu())
        out["vae neg elbo"].append(vae.anomaly_score(b.to(vae.device)).cpu())
    terms = {k: torch.cat(v).double() for k, v in out.items()}
    return {**terms, "complexity bits": complexity_bits(x, value_range)}


class Mahalanobis:
    """The squared Mahalanobis distance of score vectors from their mean over `normal` scores
    (a dict of (N,) tensors, N >= 2), under their covariance there: each score standardised on
    the normal ones, their correlation shrunk towards the identity by the Ledoit-Wolf estimate, so
    that a few normal examples still give an invertible matrix."""

    def __init__(self, normal: dict[str, torch.Tensor]):
        from sklearn.covariance import LedoitWolf

        self.keys = list(normal)
        v = torch.stack([normal[k].double() for k in self.keys], 1)  # (N, K)
        self.mean, self.std = v.mean(0), v.std(0).clamp(min=1e-12)
        cov = torch.from_numpy(LedoitWolf().fit(((v - self.mean) / self.std).numpy()).covariance_)
        # a view constant over the normal examples leaves the matrix singular without a ridge
        self.inverse = torch.linalg.inv(cov + 1e-6 * torch.eye(len(self.keys), dtype=cov.dtype))

    def __call__(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        v = torch.stack([terms[k].double() for k in self.keys], 1)  # (N, K)
        d = (v - self.mean) / self.std
        return ((d @ self.inverse) * d).sum(1)


def chi2_log_tail(x: torch.Tensor, k: int) -> torch.Tensor:
    """log P(chi-squared with k degrees of freedom > x), k even, exact and finite for any x >= 0:
    the tail is exp(-x/2) times the first k/2 terms of exp(x/2)'s series."""
    if k % 2:
        raise ValueError(f"chi2_log_tail takes an even number of degrees of freedom, not {k}")
    half = x.double().clamp(min=0) / 2
    j = torch.arange(k // 2, dtype=torch.float64)
    terms = j * torch.log(half[:, None].clamp(min=1e-300)) - torch.lgamma(j + 1)  # (N, k/2)
    terms[:, 0] = 0.0  # (x/2)^0 / 0! = 1, also at x = 0
    return torch.logsumexp(terms, 1) - half


MODEL_SCORES = ("ae recon", "ae code", "vae neg elbo")  # higher = worse for each model


class Ensemble:
    """The chosen score of `ensemble_terms`, fitted on `normal` terms (N >= 2 each): -log of the
    product of tail probabilities on the normal examples (Fisher's method), that of the
    `Mahalanobis` distance of all the terms (chi-squared with as many degrees of freedom as terms)
    and the Gaussian upper tail of each standardised MODEL_SCORE. Higher = more anomalous."""

    def __init__(self, normal: dict[str, torch.Tensor]):
        self.distance = Mahalanobis(normal)
        v = torch.stack([normal[k].double() for k in MODEL_SCORES])  # (3, N)
        self.mean, self.std = v.mean(1, keepdim=True), v.std(1, keepdim=True).clamp(min=1e-12)

    def __call__(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        v = torch.stack([terms[k].double() for k in MODEL_SCORES])  # (3, N)
        own = torch.special.log_ndtr(-(v - self.mean) / self.std).sum(0)  # (N,)
        pattern = chi2_log_tail(self.distance(terms), len(self.distance.keys))
        return -(pattern + own)


def ensemble_pair(a, b) -> tuple:
    """(ae, vae): two models ordered for the ensemble, an AE or DAE (with its fitted code Gaussian)
    and a VAE that needs no labels, in either order; any other pair is a ConfigError."""
    ae, vae = (a, b) if a.fits_latent_gaussian else (b, a)
    if not (ae.fits_latent_gaussian and vae.has_elbo) or vae.needs_labels or ae.needs_labels:
        raise ConfigError(
            f"the ensemble takes an AE (or DAE) and a VAE; got a {a.cfg.kind} and a {b.cfg.kind}"
        )
    return ae, vae


class EnsembleScore:
    """The chosen anomaly score of an AE (or DAE) and a VAE trained on the same data: the
    `Ensemble` of their `ensemble_terms`, fitted on `normal` examples (e.g. validation
    examples), whose range of values also fixes `complexity_bits`' 8 bits. Calling it on examples
    gives a score per example (N,), float64."""

    def __init__(self, ae, vae, normal: torch.Tensor):
        self.ae, self.vae = ensemble_pair(ae, vae)
        if len(normal) < 2:
            raise ConfigError(
                f"the ensemble is fitted on the run's normal validation examples, and it has "
                f"{len(normal)}: train with a larger --val-fraction"
            )
        self.value_range = (float(normal.min()), float(normal.max()))
        self.fit = Ensemble(ensemble_terms(self.ae, self.vae, normal, self.value_range))

    def __call__(self, examples: torch.Tensor) -> torch.Tensor:
        return self.fit(ensemble_terms(self.ae, self.vae, examples, self.value_range))
