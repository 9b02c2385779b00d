"""The deterministic autoencoder and the denoising autoencoder.

- `AE` (Hinton & Salakhutdinov 2006): x -> z (B, latent_dim) -> x_hat; loss: the reconstruction
  term alone (MSE, or BCE with `recon="bce"`), summed per image. After training, a Gaussian is
  fitted to the training latents so that `sample` draws plausible codes.
- `DAE` (Vincent et al. 2008): the same network, trained to map inputs corrupted by `cfg.noise` to
  the clean images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import Config
from ..errors import ConfigError, LatentzooError
from ..nn.backbones import VectorDecoder, VectorEncoder
from ..noise import corrupt, parse_noise
from .base import (
    Autoencoder,
    ModelOutput,
    backbone_args,
    image_args,
    line,
    reconstruction_loss,
    to_image,
)


class AE(Autoencoder):
    """Deterministic autoencoder: x -> z (B, latent_dim) -> x_hat."""

    fits_latent_gaussian = True

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        cond = cfg.n_classes if self.needs_labels else 0
        args = dict(
            backbone=cfg.backbone,
            cond_dim=cond,
            hidden=cfg.hidden,
            hidden2=cfg.hidden2 or cfg.hidden // 2,
            **image_args(cfg),
            **backbone_args(cfg),
        )
        self.encoder = VectorEncoder(
            out_dim=self.encoder_out_dim(), in_channels=cfg.image_channels, **args
        )
        self.decoder = VectorDecoder(in_dim=cfg.latent_dim, out_channels=cfg.image_channels, **args)
        # A Gaussian fitted to the training latents after training, for `sample` (see
        # fit_latent_prior).
        L = cfg.latent_dim
        self.register_buffer("latent_mean", torch.zeros(L))
        self.register_buffer("latent_scale_tril", torch.eye(L))
        self.register_buffer("latent_fitted", torch.tensor(False))

    def encoder_out_dim(self) -> int:
        return self.cfg.latent_dim

    @property
    def can_sample(self) -> bool:
        return bool(self.latent_fitted)

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """One-hot labels (n, n_classes) for a model that needs them; one label serves a whole
        batch."""
        if not self.needs_labels:
            return None
        if y is None:
            raise LatentzooError(f"{self.cfg.model} is conditional: give digit labels")
        y = torch.as_tensor(y, device=self.device).long().reshape(-1)
        if y.numel() == 1:
            y = y.expand(n)  # one digit for the whole batch
        return F.one_hot(y, self.cfg.n_classes).float()  # (B, n_classes)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x, self.condition(y, x.shape[0]))  # (B, L)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # (B, C, H, W)
        return to_image(self.decoder(z, self.condition(y, z.shape[0])), self.cfg.recon)

    def corrupt_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.no_grad()
    def interpolate(
        self, xa: torch.Tensor, xb: torch.Tensor, steps: int = 10, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decode `steps` points on the line between the latents of xa and xb (B, C, H, W each)
        -> (B, steps, C, H, W). A model that needs labels decodes every point with the labels
        `y`."""
        z = line(self.encode(xa, y), self.encode(xb, y), steps)  # (B * steps, L)
        yy = (
            None
            if y is None
            else torch.as_tensor(y, device=self.device).reshape(-1).repeat_interleave(steps)
        )
        return self.decode(z, yy).view(xa.shape[0], steps, *xa.shape[1:])

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        cond = self.condition(y, x.shape[0])
        z = self.encoder(self.corrupt_input(x), cond)  # (B, L)
        out = self.decoder(z, cond)  # (B, C, H, W)
        recon = reconstruction_loss(out, x, self.cfg.recon)
        return ModelOutput(to_image(out, self.cfg.recon), z, {"recon": recon}, recon.mean())

    @torch.no_grad()
    def fit_latent_prior(self, z: torch.Tensor) -> None:
        """Fit N(mean, cov) to training latents z (N, L) so that `sample` draws plausible codes."""
        mean = z.mean(0)
        # one training image: the biased estimate (zero), so the jitter keeps the factorisation
        # possible
        cov = torch.cov(z.t(), correction=int(z.shape[0] > 1)) + 1e-5 * torch.eye(
            z.shape[1], device=z.device
        )
        self.latent_mean.copy_(mean)
        self.latent_scale_tril.copy_(torch.linalg.cholesky(cov))
        self.latent_fitted.fill_(True)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        """n new images (n, C, H, W): decode z drawn from the Gaussian fitted to training
        latents."""
        if not self.can_sample:
            raise LatentzooError(
                "this autoencoder has no fitted latent Gaussian yet (train it to the end first)"
            )
        eps = torch.randn(n, self.cfg.latent_dim, generator=generator).to(self.device)
        z = self.latent_mean + temperature * eps @ self.latent_scale_tril.t()  # (n, L)
        return self.decode(z, y)


class DAE(AE):
    """Denoising autoencoder: forward corrupts x by `cfg.noise` and reconstructs the clean x."""

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.noise = parse_noise(cfg.noise)
        if not self.noise:
            raise ConfigError("a dae needs a noise spec, e.g. --noise gaussian:0.5")

    def setting_groups(self) -> set[str]:
        return super().setting_groups() | {"noise"}

    def corrupt_input(self, x: torch.Tensor) -> torch.Tensor:
        return corrupt(x, self.noise)
