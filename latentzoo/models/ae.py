"""The deterministic autoencoder and the denoising autoencoder.

- `AE` (Hinton & Salakhutdinov 2006): x -> z (B, latent_dim) -> x_hat; loss: the reconstruction
  term alone (MSE, or BCE with `recon="bce"`), summed per image. After training, a Gaussian is
  fitted to the training latents so that `sample` draws plausible codes. With `latent="grid"` the
  code is a grid of vectors (B, latent_dim, *code_grid) from the conv trunk: a fully convolutional
  autoencoder without a vector bottleneck (Masci et al. 2011, "Stacked Convolutional
  Auto-Encoders"), which fits no Gaussian and draws no samples. A grid latent may have a skip
  around it (`skip`): `residual`, the output is the input plus the decoder's output (residual
  learning, Zhang et al. 2017, "Beyond a Gaussian Denoiser": a DAE learns the noise to take away);
  `input`, a full-size block that sees the decoder's output and the input corrects the former (a
  skip connection around the bottleneck, as U-Net's at full size); `unet`, the input plus a
  correction from a small U-Net over the input and the decoder's output (latentzoo.nn.unet);
  `mask` (signals, sound), the input's short-time spectrum masked by a network that sees both
  spectra (latentzoo.nn.spectral). Either way a latent decodes only beside its input.
- `DAE` (Vincent et al. 2008): the same network, trained to map inputs corrupted by
  `cfg.model.noise` to the clean images; with `relative_loss`, each example's loss is divided by
  its input's mean squared error, so that the total is the mean error relative to the input's.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..config import AESettings, Config, DAESettings
from ..errors import ConfigError, LatentzooError
from ..noise import parse_noise
from ..sounds import noise_recordings
from .base import ModelOutput
from .vector import Unconditional, VectorAutoencoder

RELATIVE_FLOOR = 1e-4  # the input error under which a DAE's relative loss weighs no more


class AE(VectorAutoencoder):
    """Deterministic autoencoder: x -> z (B, latent_dim), or a grid (B, latent_dim, h, w), ->
    x_hat."""

    settings: AESettings
    latent_mean: torch.Tensor  # buffers: (L,), (L, L), ()
    latent_scale_tril: torch.Tensor
    latent_fitted: torch.Tensor

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        # A Gaussian fitted to the training latents after training, for `sample` (see
        # fit_latent_prior).
        L = self.settings.latent_dim
        self.register_buffer("latent_mean", torch.zeros(L))
        self.register_buffer("latent_scale_tril", torch.eye(L))
        self.register_buffer("latent_fitted", torch.tensor(False))
        if self.settings.skip in ("input", "unet", "mask"):
            self.fuse = self.data_kind.input_skip(self.cfg.data.shape, self.settings)

    def coders(self, cond: int) -> tuple[nn.Module, nn.Module]:
        if self.settings.latent == "vector":
            return super().coders(cond)
        kind, shape, d = self.data_kind, self.cfg.data.shape, self.settings.latent_dim
        return (
            Unconditional(kind.grid_encoder(shape, d, self.settings)),
            Unconditional(kind.grid_decoder(shape, d, self.settings)),
        )

    @property
    def fits_latent_gaussian(self) -> bool:  # type: ignore[override]
        """A vector latent has a Gaussian fitted to it after training; a grid has none."""
        return self.settings.latent == "vector"

    @property
    def can_sample(self) -> bool:
        return bool(self.latent_fitted)

    def corrupt_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        cond = self.condition(y, x.shape[0])
        x_in = self.corrupt_input(x)
        z = self.encoder(x_in, cond)  # (B, L) or (B, L, h, w)
        out = self.around(self.decoder(z, cond), x_in)  # (B, C, H, W)
        terms = self.reconstruction_terms(out, x)
        total = self.reconstruction_total(terms) * self.weights(x, x_in)  # (B,)
        return ModelOutput(self.output(out), z, terms, total.mean())

    def weights(self, x: torch.Tensor, x_in: torch.Tensor) -> torch.Tensor:
        """Each example's weight in the training loss (B,): 1 (a DAE may weigh by its input)."""
        return torch.ones(x.shape[0], device=x.device)

    def around(self, out: torch.Tensor, x_in: torch.Tensor) -> torch.Tensor:
        """The decoder's raw output (B, *shape) with the skip around the latent from the input."""
        if self.settings.skip == "residual":
            return out + x_in
        if self.settings.skip == "input":
            return out + self.fuse(torch.cat([out, x_in], 1))  # (B, 2C, ...) -> (B, C, ...)
        if self.settings.skip in ("unet", "mask"):
            return x_in + self.fuse(torch.cat([out, x_in], 1))
        return out

    @property
    def can_decode(self) -> bool:
        return self.settings.skip == "none"

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.can_decode:
            return super().reconstruct(x, y)
        return self.output(self.around(self.decoder(self.encoder(x)), x))  # (B, C, H, W)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if not self.can_decode:
            raise LatentzooError(
                f"an autoencoder with --skip {self.settings.skip} decodes a latent only beside its "
                "input: use reconstruct"
            )
        return super().decode(z, y)

    @torch.no_grad()
    def fit_latent_prior(self, z: torch.Tensor) -> None:
        """Fit N(mean, cov) to training latents z (N, L) so that `sample` draws plausible codes."""
        mean = z.mean(0)
        # one training image: the biased estimate (zero), so the jitter keeps the factorisation
        # possible
        cov = torch.cov(z.t(), correction=int(z.shape[0] > 1))
        eye = torch.eye(z.shape[1], device=z.device)
        jitter = 1e-5
        # fewer training examples than latent units, on a large scale: float32 needs more jitter
        tril, info = torch.linalg.cholesky_ex(cov + jitter * eye)
        while info.item() and jitter < 1e6 * max(1.0, float(cov.diagonal().max())):
            jitter *= 10
            tril, info = torch.linalg.cholesky_ex(cov + jitter * eye)
        self.latent_mean.copy_(mean)
        self.latent_scale_tril.copy_(tril)
        self.latent_fitted.fill_(True)

    def code_nll(self, z: torch.Tensor) -> torch.Tensor:
        """-log N(z; fitted mean, fitted covariance) + const per code (B,) for codes z (B, L): a
        Mahalanobis distance halved."""
        # (L, B)
        w = torch.linalg.solve_triangular(
            self.latent_scale_tril, (z - self.latent_mean).t(), upper=False
        )
        return 0.5 * w.pow(2).sum(0)

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
        if not self.fits_latent_gaussian:
            raise LatentzooError(
                "an autoencoder with a grid latent draws no samples (train with --latent vector)"
            )
        if not self.can_sample:
            raise LatentzooError(
                "this autoencoder has no fitted latent Gaussian yet (train it to the end first)"
            )
        eps = torch.randn(n, self.settings.latent_dim, generator=generator).to(self.device)
        z = self.latent_mean + temperature * eps @ self.latent_scale_tril.t()  # (n, L)
        return self.decode(z, y)


class DAE(AE):
    """Denoising autoencoder: forward corrupts x by `self.settings.noise` and reconstructs the clean
    x."""

    settings: DAESettings

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.noise = parse_noise(self.settings.noise)
        if not self.noise:
            raise ConfigError("a dae needs a noise spec, e.g. --noise gaussian:0.5")
        if self.settings.noise_files and not self.data_kind.heard:
            raise ConfigError("--noise-files are sound recordings: train on audio files")
        self.data_kind.check_noise(self.noise)
        self.noise_recordings: tuple[torch.Tensor, ...] | None = None  # read when first drawn

    def recordings(self) -> tuple[torch.Tensor, ...]:
        if not self.settings.noise_files:
            return ()
        if self.noise_recordings is None:
            self.noise_recordings = noise_recordings(
                Path(self.settings.noise_files), self.cfg.data.rate
            )
        return self.noise_recordings

    def corrupt_input(self, x: torch.Tensor) -> torch.Tensor:
        return self.corrupt(x, self.noise)

    def weights(self, x: torch.Tensor, x_in: torch.Tensor) -> torch.Tensor:
        """With `relative_loss`, 1 over the input's mean squared error (floored at RELATIVE_FLOOR),
        so that the loss is the output's error relative to the input's."""
        if not self.settings.relative_loss:
            return super().weights(x, x_in)
        return 1 / (x_in - x).detach().pow(2).flatten(1).mean(1).clamp(min=RELATIVE_FLOOR)
