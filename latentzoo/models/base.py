"""The one interface and the one output type of every model, and the loss terms they share.

Every model is an `Autoencoder`: `forward(x, y=None) -> ModelOutput`, `encode`, `decode`,
`reconstruct`, `features`, `interpolate` and `sample`. Callers ask a model what it can do through
its declared capabilities (`can_sample`, `conditional`, `needs_labels`, `has_codes`, `has_elbo`,
`guided`, `noise`, `fits_latent_gaussian`, `can_decode`, `select_by`) instead of checking its
name; what each flag promises is written down as a protocol in latentzoo.models.capabilities.

Reductions: every loss term is summed over its elements for each image (pixels for
reconstruction, latent units for KL, grid and D for the VQ terms) and kept per image, shape (B,);
`ModelOutput.loss` is the weighted total averaged over the batch. Each model's docstring states its
weights."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config, ModelSettings
from ..kinds import data_kind
from ..nn.spectral_loss import SpectralLoss
from ..nn.stoi_loss import StoiLoss
from ..noise import Noise


@dataclass
class ModelOutput:
    # (B, C, H, W) the reconstruction in [0, 1]; MNIST (B, 1, 28, 28). (losses["recon"] is its loss)
    x_hat: torch.Tensor
    # (B, L) code vector, or (B, D, H/4, W/4) quantized grid (VQ-VAE)
    latent: torch.Tensor
    losses: dict[str, torch.Tensor]  # named unweighted terms, each (B,): summed per image
    loss: torch.Tensor  # scalar: weighted total, mean over the batch
    codes: torch.Tensor | None = None  # (B, H/4, W/4) int64 codes (VQ-VAE)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. 'mu', 'logvar' (VAE)

    @property
    def recon(self) -> torch.Tensor:
        """The name of versions before 0.2 for `x_hat`."""
        warnings.warn("ModelOutput.recon is now x_hat", DeprecationWarning, stacklevel=2)
        return self.x_hat

    def mean_losses(self) -> dict[str, float]:
        out = {k: float(v.detach().mean()) for k, v in self.losses.items()}
        out["loss"] = float(self.loss.detach())
        return out


def reconstruction_loss(out: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-image reconstruction loss (B,), summed over pixels, of the decoder output `out`.

    bce: `out` are Bernoulli logits; the loss is the negative log-likelihood in nats (targets in
    [0, 1]). mse: `out` is the image itself (a linear output: a sigmoid there saturates and can
    stall training); the loss is the squared error."""
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(out, target, reduction="none")
    else:
        per_pixel = (out - target).pow(2)
    return per_pixel.flatten(1).sum(1)  # (B,)


def log_likelihood(out: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """log p(target | decoder output) per example (B,) in nats: the Bernoulli's (bce), or for mse
    the Gaussian's of variance 1/2, whose negative is the squared error plus a constant."""
    values = target[0].numel()
    constant = 0.5 * math.log(math.pi) * values if kind == "mse" else 0.0
    return -reconstruction_loss(out, target, kind) - constant


def to_output(out: torch.Tensor, kind: str, bounded: bool = True) -> torch.Tensor:
    """Decoder output -> an example: the sigmoid of the logits (bce), else the output itself,
    clamped to [0, 1] when the kind of data is `bounded` (images)."""
    if kind == "bce":
        return torch.sigmoid(out)
    return out.clamp(0.0, 1.0) if bounded else out


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per image (B,), summed over latent units, in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def line(za: torch.Tensor, zb: torch.Tensor, steps: int) -> torch.Tensor:
    """Points on the straight lines from za to zb (B, ...) -> (B * steps, ...), row-major by
    pair."""
    t = torch.linspace(0.0, 1.0, steps, device=za.device).view(1, steps, *([1] * (za.dim() - 1)))
    return (za.unsqueeze(1) * (1 - t) + zb.unsqueeze(1) * t).flatten(0, 1)  # (B * steps, ...)


class Autoencoder(nn.Module):
    """The interface every model kind implements; the class attributes declare what it can do."""

    conditional = False  # encode/decode/sample take digit labels y
    needs_labels = False  # ... and cannot work without them (CVAE)
    # encode gives integer code grids (B, H/4, W/4), decode takes them (VQ-VAE)
    has_codes = False
    has_elbo = False  # forward's losses hold 'recon' and 'kl' of an ELBO (VAE, CVAE)
    guided = False  # sample takes guidance= (a VQ-VAE composed with its prior)
    # latentzoo.codec can compress its images (a VQ-VAE with its prior)
    can_compress = False
    # after training, a Gaussian is fitted to the training latents (AE, DAE)
    fits_latent_gaussian = False
    noise: Noise = ()  # the corruption it learned to remove (DAE)
    select_by = "loss"  # the validation term that picks the kept epoch

    legacy_keys: tuple[str, ...] = ()  # weights of older files that this kind no longer has
    settings: ModelSettings  # cfg.model, typed as this kind's settings class

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.settings = cfg.model
        self.data_kind = data_kind(cfg.data.data_kind)
        if self.settings.spectral:
            self.spectral_loss = SpectralLoss(cfg.data.shape[-1])
        if self.settings.stoi:
            self.stoi_loss = StoiLoss(cfg.data.rate, cfg.data.shape[-1])

    def reconstruction_terms(self, out: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The reconstruction loss of the decoder output `out` per example (B,), and beside it
        with `spectral` the multi-resolution spectral loss (latentzoo.nn.spectral_loss), with
        `stoi` the intelligibility loss (latentzoo.nn.stoi_loss)."""
        terms = {"recon": reconstruction_loss(out, x, self.settings.recon)}
        if self.settings.spectral:
            terms["spectral"] = self.spectral_loss(out, x)
        if self.settings.stoi:
            terms["stoi"] = self.stoi_loss(out, x)
        return terms

    def reconstruction_total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted sum of `reconstruction_terms` per example (B,)."""
        weights = {"spectral": self.settings.spectral, "stoi": self.settings.stoi}
        return terms["recon"] + sum(w * terms[k] for k, w in weights.items() if k in terms)

    def corrupt(
        self, x: torch.Tensor, spec: str | Noise, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Examples corrupted by a noise spec as this model's data takes it (its kind's `corrupt`):
        clipped to [0, 1] for images, at the run's sample rate for signals, with its noise
        recordings for sound; a ConfigError for a kind of noise that is not for its data."""
        self.data_kind.check_noise(spec)
        rate = self.cfg.data.rate
        return self.data_kind.corrupt(x, spec, generator, rate, self.recordings())

    def recordings(self) -> tuple[torch.Tensor, ...]:
        """The noise recordings its noise specs may draw from (a DAE's `noise_files`)."""
        return ()

    def prepare(self) -> None:
        """Read what training needs beside the data (a DAE's noise recordings), so that a bad
        file stops training before the run folder is written."""
        self.recordings()

    def output(self, out: torch.Tensor) -> torch.Tensor:
        """The decoder's raw output as examples (see `to_output`)."""
        return to_output(out, self.settings.recon, self.data_kind.bounded)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """torch's, less the `legacy_keys` that an older file holds."""
        kept = {k: v for k, v in state_dict.items() if k not in self.legacy_keys}
        return super().load_state_dict(kept, strict=strict, assign=assign)

    @property
    def can_sample(self) -> bool:
        """Whether `sample` can draw images now (an AE only once its latent Gaussian is fitted)."""
        return True

    @property
    def can_decode(self) -> bool:
        """Whether `decode` (and so `interpolate`) works from a latent alone; an autoencoder
        with a skip around its latent decodes only beside its input."""
        return True

    @property
    def has_plane(self) -> bool:
        """Whether the latent is a plane under a standard Gaussian prior, which a map of decoded
        points shows whole (a VAE with a 2-d latent)."""
        return False

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def set_progress(self, epoch: float) -> None:
        """Called by the trainer before every step with the fractional epoch (KL warm-up)."""

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The deterministic reconstruction (B, C, H, W) in [0, 1]."""
        return self.decode(self.encode(x, y), y)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Continuous features for downstream use (B, F)."""
        return self.encode(x, y).flatten(1)

    def anomaly_score(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Per-image anomaly score (B,), higher = less like the training images: the squared error
        of the deterministic reconstruction, summed over pixels."""
        return (self.reconstruct(x, y) - x).pow(2).flatten(1).sum(1)

    def interpolate(
        self, xa: torch.Tensor, xb: torch.Tensor, steps: int = 10, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        raise NotImplementedError

    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        raise NotImplementedError
