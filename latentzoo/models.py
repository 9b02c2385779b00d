"""The autoencoder family, all behind one interface and one output type.

- `AE`: deterministic autoencoder (Hinton & Salakhutdinov 2006), MSE reconstruction.
- `DAE`: an AE trained to map corrupted inputs to clean ones (Vincent et al. 2008).
- `VAE`: variational autoencoder (Kingma & Welling 2014): Gaussian q(z|x) with mean and
  log-variance heads, reparameterisation z = mu + eps * sigma, reconstruction (BCE = Bernoulli
  decoder, or MSE) plus beta-weighted KL to N(0, I) (beta-VAE: Higgins et al. 2017).
- `CVAE`: VAE conditioned on the digit label in encoder and decoder (Sohn et al. 2015).
- `VQVAE`: vector-quantized VAE (van den Oord et al. 2017): a 7x7 grid of D-dim vectors, each
  snapped to a codebook (see `latentzoo.quantizers`), codebook + beta * commitment loss.

Every model has `forward(x, y=None) -> ModelOutput`, `encode`, `decode`, `reconstruct`,
`features` and `sample`. Reductions: every loss term is summed over its elements for each image
(pixels for reconstruction, latent units for KL, grid and D for the VQ terms) and kept per image,
shape (B,); `ModelOutput.loss` is the weighted total averaged over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .errors import ConfigError, LatentzooError
from .networks import Decoder, Encoder, GridDecoder, GridEncoder
from .noise import corrupt, parse_noise
from .quantizers import make_quantizer


@dataclass
class ModelOutput:
    recon: torch.Tensor                    # (B, 1, 28, 28) reconstruction in [0, 1]
    latent: torch.Tensor                   # (B, L) code vector, or (B, D, 7, 7) quantized grid (VQ-VAE)
    losses: dict[str, torch.Tensor]        # named unweighted terms, each (B,): summed per image
    loss: torch.Tensor                     # scalar: weighted total, mean over the batch
    codes: torch.Tensor | None = None      # (B, 7, 7) int64 codes (VQ-VAE)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. 'mu', 'logvar' (VAE)

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


def to_image(out: torch.Tensor, kind: str) -> torch.Tensor:
    """Decoder output -> image in [0, 1]: sigmoid of the logits (bce), or clamped (mse)."""
    return torch.sigmoid(out) if kind == "bce" else out.clamp(0.0, 1.0)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per image (B,), summed over latent units, in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def line(za: torch.Tensor, zb: torch.Tensor, steps: int) -> torch.Tensor:
    """Points on the straight lines from za to zb (B, ...) -> (B * steps, ...), row-major by pair."""
    t = torch.linspace(0.0, 1.0, steps, device=za.device).view(1, steps, *([1] * (za.dim() - 1)))
    return (za.unsqueeze(1) * (1 - t) + zb.unsqueeze(1) * t).flatten(0, 1)  # (B * steps, ...)


class AE(nn.Module):
    """Deterministic autoencoder: x -> z (B, latent_dim) -> x_hat."""

    conditional = False

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        cond = cfg.n_classes if self.conditional else 0
        self.encoder = Encoder(cfg, self.encoder_out_dim(), cond)
        self.decoder = Decoder(cfg, cfg.latent_dim, cond)
        # A Gaussian fitted to the training latents after training, for `sample` (see fit_latent_prior).
        L = cfg.latent_dim
        self.register_buffer("latent_mean", torch.zeros(L))
        self.register_buffer("latent_scale_tril", torch.eye(L))
        self.register_buffer("latent_fitted", torch.tensor(False))

    def encoder_out_dim(self) -> int:
        return self.cfg.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _cond(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if not self.conditional:
            return None
        if y is None:
            raise LatentzooError(f"{self.cfg.model} is conditional: give digit labels")
        y = torch.as_tensor(y, device=self.device).long().reshape(-1)
        if y.numel() == 1:
            y = y.expand(n)  # one digit for the whole batch
        return F.one_hot(y, self.cfg.n_classes).float()  # (B, n_classes)

    def set_progress(self, epoch: float) -> None:
        """Called by the trainer before every step with the fractional epoch (KL warm-up)."""

    # --------------------------------------------------------------- the interface
    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x, self._cond(y, x.shape[0]))  # (B, L)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return to_image(self.decoder(z, self._cond(y, z.shape[0])), self.cfg.recon)  # (B, 1, 28, 28)

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, y), y)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Continuous features for downstream use (B, F): the code (VAE: the posterior mean)."""
        return self.encode(x, y).flatten(1)

    def corrupt_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.no_grad()
    def interpolate(self, xa: torch.Tensor, xb: torch.Tensor, steps: int = 10,
                    y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode `steps` points on the line between the latents of xa and xb (B, 1, 28, 28 each)
        -> (B, steps, 1, 28, 28). A CVAE decodes every point with the labels `y`."""
        z = line(self.encode(xa, y), self.encode(xb, y), steps)  # (B * steps, L)
        yy = None if y is None else torch.as_tensor(y, device=self.device).reshape(-1).repeat_interleave(steps)
        return self.decode(z, yy).view(xa.shape[0], steps, 1, 28, 28)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        cond = self._cond(y, x.shape[0])
        z = self.encoder(self.corrupt_input(x), cond)  # (B, L)
        out = self.decoder(z, cond)  # (B, 1, 28, 28)
        recon = reconstruction_loss(out, x, self.cfg.recon)
        return ModelOutput(to_image(out, self.cfg.recon), z, {"recon": recon}, recon.mean())

    @torch.no_grad()
    def fit_latent_prior(self, z: torch.Tensor) -> None:
        """Fit N(mean, cov) to training latents z (N, L) so that `sample` draws plausible codes."""
        mean = z.mean(0)
        cov = torch.cov(z.t()) + 1e-5 * torch.eye(z.shape[1], device=z.device)
        self.latent_mean.copy_(mean)
        self.latent_scale_tril.copy_(torch.linalg.cholesky(cov))
        self.latent_fitted.fill_(True)

    @torch.no_grad()
    def sample(self, n: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None,
               temperature: float = 1.0, guidance: float | None = None) -> torch.Tensor:
        """n new images (n, 1, 28, 28): decode z drawn from the Gaussian fitted to training latents.
        `guidance` belongs to the VQ-VAE's prior; other models refuse a value for it."""
        _no_guidance(guidance, self.cfg.model)
        if not bool(self.latent_fitted):
            raise LatentzooError("this autoencoder has no fitted latent Gaussian yet (train it to the end first)")
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

    def corrupt_input(self, x: torch.Tensor) -> torch.Tensor:
        return corrupt(x, self.noise)


class VAE(AE):
    """Variational autoencoder; `sample` draws z from the prior N(0, I)."""

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.kl_scale = 1.0  # warm-up factor in [0, 1], set by set_progress

    def encoder_out_dim(self) -> int:
        return 2 * self.cfg.latent_dim  # mu and log-variance

    def set_progress(self, epoch: float) -> None:
        w = self.cfg.kl_warmup
        self.kl_scale = min(1.0, epoch / w) if w > 0 else 1.0

    def posterior(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x, self._cond(y, x.shape[0])).chunk(2, dim=1)  # (B, L) each
        return mu, logvar

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.posterior(x, y)[0]  # the posterior mean

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        cond = self._cond(y, x.shape[0])
        mu, logvar = self.encoder(x, cond).chunk(2, dim=1)  # (B, L) each
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # reparameterisation
        out = self.decoder(z, cond)  # (B, 1, 28, 28)
        recon = reconstruction_loss(out, x, self.cfg.recon)
        kl = gaussian_kl(mu, logvar)
        total = (recon + self.cfg.beta * self.kl_scale * kl).mean()
        return ModelOutput(to_image(out, self.cfg.recon), z, {"recon": recon, "kl": kl}, total,
                           extras={"mu": mu, "logvar": logvar})

    @torch.no_grad()
    def sample(self, n: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None,
               temperature: float = 1.0, guidance: float | None = None) -> torch.Tensor:
        _no_guidance(guidance, self.cfg.model)
        z = temperature * torch.randn(n, self.cfg.latent_dim, generator=generator).to(self.device)  # (n, L)
        return self.decode(z, y)


class CVAE(VAE):
    """Conditional VAE: encoder and decoder see the one-hot digit label; `sample(n, y=7)` draws 7s."""

    conditional = True


class VQVAE(nn.Module):
    """VQ-VAE: x -> grid (B, D, 7, 7) -> nearest codes -> x_hat. `encode` gives the integer code
    grid (B, 7, 7) and `decode` takes it back; `sample` draws codes from the attached prior
    (see latentzoo.priors; `latentzoo.load` attaches the one saved in the run folder)."""

    # The kept checkpoint is the epoch with the lowest validation reconstruction: the codebook term
    # measures how well the codes fit the encoder, not the images, and rises late in training. Kept
    # by total loss, the batch-16 run kept epoch 7 (29.39 dB, vq-batch16.md); by reconstruction the
    # same run keeps epoch 10 (29.71 dB, vq-default-batch16.md).
    select_by = "recon"

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.encoder = GridEncoder(cfg, cfg.latent_dim)
        self.quantizer = make_quantizer(cfg)
        self.decoder = GridDecoder(cfg, cfg.latent_dim)
        self.__dict__["prior"] = None  # a latentzoo.priors.CodePrior, kept out of the VQ-VAE's weights

    def attach_prior(self, prior: nn.Module | None) -> None:
        self.__dict__["prior"] = prior

    @property
    def conditional(self) -> bool:
        """True when a label-conditioned prior is attached (sample(n, y=digit) then works)."""
        return self.prior is not None and self.prior.cfg.n_classes > 0

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def set_progress(self, epoch: float) -> None:
        pass

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.quantizer(self.encoder(x)).indices  # (B, 7, 7) int64

    def decode(self, codes: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Integer codes (B, 7, 7), or an already quantized grid (B, D, 7, 7) -> images."""
        grid = self.quantizer.lookup(codes) if codes.dtype in (torch.int64, torch.int32) else codes
        return to_image(self.decoder(grid), self.cfg.recon)  # (B, 1, 28, 28)

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.quantizer(self.encoder(x)).quantized)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.quantizer(self.encoder(x)).quantized.flatten(1)  # (B, D*49)

    @torch.no_grad()
    def interpolate(self, xa: torch.Tensor, xb: torch.Tensor, steps: int = 10, y=None) -> torch.Tensor:
        """Quantize and decode points between the encoder grids of xa and xb -> (B, steps, 1, 28, 28)."""
        z = line(self.encoder(xa), self.encoder(xb), steps)  # (B * steps, D, 7, 7)
        return self.decode(self.quantizer(z).quantized).view(xa.shape[0], steps, 1, 28, 28)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        q = self.quantizer(self.encoder(x))  # quantized (B, D, 7, 7), indices (B, 7, 7)
        out = self.decoder(q.quantized)  # (B, 1, 28, 28)
        recon = reconstruction_loss(out, x, self.cfg.recon)
        losses = {"recon": recon, **q.losses}
        total = (recon + losses["codebook"] + self.cfg.beta * losses["commitment"]).mean()
        return ModelOutput(to_image(out, self.cfg.recon), q.quantized, losses, total, codes=q.indices)

    @torch.no_grad()
    def sample(self, n: int, y=None, generator=None, temperature: float = 1.0,
               guidance: float | None = None) -> torch.Tensor:
        """n new images (n, 1, 28, 28) from codes drawn by the prior; y: a digit or n digits.
        guidance: classifier-free guidance for y (default latentzoo.priors.GUIDANCE; 1.0: none)."""
        if self.prior is None:
            raise LatentzooError("a VQ-VAE samples codes from a learned prior and this run has none yet: "
                                 "train one with `latentzoo train-prior RUN`")
        from .priors import GUIDANCE

        return self.decode(self.prior.sample(n, y, temperature, generator, GUIDANCE if guidance is None else guidance))


def _no_guidance(guidance: float | None, kind: str) -> None:
    if guidance is not None:
        raise ConfigError(f"guidance applies to a VQ-VAE's learned prior; a {kind} has none")


MODEL_CLASSES: dict[str, type[nn.Module]] = {"ae": AE, "dae": DAE, "vae": VAE, "cvae": CVAE, "vqvae": VQVAE}


def build_model(cfg: Config) -> nn.Module:
    cfg.validate()
    return MODEL_CLASSES[cfg.model](cfg)
