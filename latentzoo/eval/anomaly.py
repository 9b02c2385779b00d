"""Anomaly scores built from more than one model's view, chosen on validation data
(benchmarks/EXPERIMENTS.md, "Anomaly scores chosen on validation data").

- `code_nll`: how unlikely an AE's code is under the Gaussian fitted to its training codes
  (-log density up to a constant; a Mahalanobis distance halved); `codes_nll` for codes at hand.
- `ensemble_terms`: the three scores that the chosen ensemble takes: an AE's squared reconstruction
  error, its code's `code_nll`, and a VAE's negative ELBO (VAE.anomaly_score).
- `standardised_max`: each score less its mean over normal validation images, over its standard
  deviation there, and the largest of them per image: an image is anomalous when any one view finds
  it so. Each view alone fails somewhere (reconstruction error on smooth or simple images, the code
  density on blurred digits, the ELBO on pen strokes).
- `EnsembleScore(ae, vae, normal)`: that chosen score as one function of images, standardised on the
  given normal images; what `latentzoo score RUN --with RUN2` uses.
"""

from __future__ import annotations

import torch

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


@torch.no_grad()
def ensemble_terms(ae, vae, x: torch.Tensor, batch: int = 500) -> dict[str, torch.Tensor]:
    """The ensemble's three scores per image (N,), higher = more anomalous, on the CPU."""
    ae.eval()
    vae.eval()
    out: dict[str, list[torch.Tensor]] = {"ae recon": [], "ae code": [], "vae neg elbo": []}
    for i in range(0, len(x), batch):
        b = x[i : i + batch].to(ae.device)
        z = ae.encode(b)  # (B, L), once for both AE scores
        out["ae recon"].append((ae.decode(z) - b).pow(2).flatten(1).sum(1).cpu())
        out["ae code"].append(codes_nll(ae, z).cpu())
        out["vae neg elbo"].append(vae.anomaly_score(b.to(vae.device)).cpu())
    return {k: torch.cat(v).double() for k, v in out.items()}


def standardised_max(
    terms: dict[str, torch.Tensor], normal: dict[str, torch.Tensor]
) -> torch.Tensor:
    """max over the scores k of (terms[k] - mean(normal[k])) / std(normal[k]), per image (N,)."""
    z = [(terms[k] - normal[k].mean()) / (normal[k].std() + 1e-12) for k in terms]
    return torch.stack(z).amax(0)


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
    """The chosen anomaly score of an AE (or DAE) and a VAE trained on the same data:
    `standardised_max`
    of their `ensemble_terms`, standardised on `normal` images (N, C, H, W), e.g. validation images.
    Calling it on images (N, C, H, W) gives a score per image (N,), float64, in standard deviations
    above the normal images' mean of the view that finds the image most unusual."""

    def __init__(self, ae, vae, normal: torch.Tensor):
        self.ae, self.vae = ensemble_pair(ae, vae)
        if len(normal) < 2:
            raise ConfigError(
                f"the ensemble is standardised on the run's normal validation examples, and it has "
                f"{len(normal)}: train with a larger --val-fraction"
            )
        self.normal = ensemble_terms(ae, vae, normal)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return standardised_max(ensemble_terms(self.ae, self.vae, images), self.normal)
