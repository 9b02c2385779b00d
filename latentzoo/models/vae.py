"""The variational autoencoder and its class-conditional form.

- `VAE` (Kingma & Welling 2014): Gaussian q(z|x) with mean and log-variance heads,
  reparameterisation z = mu + eps * sigma; loss per image: reconstruction (BCE = Bernoulli decoder,
  or MSE) + beta * KL(q(z|x) || N(0, I)) (beta-VAE: Higgins et al. 2017), beta ramped up over
  `kl_warmup` epochs. `sample` draws z from N(0, I). With `iw_samples` K > 1 the loss per image is
  instead the negative importance-weighted bound -log (1/K) sum_k
  p(x, z_k) / q(z_k | x) of Burda et al. (2016, IWAE), in nats; the reported `recon` and `kl` terms
  are then those of the first of the K samples.
- `CVAE` (Sohn et al. 2015): encoder and decoder also see the one-hot digit label.
"""

from __future__ import annotations

import math

import torch

from ..config import Config, VAESettings
from .base import ModelOutput, gaussian_kl, log_likelihood, reconstruction_loss
from .vector import VectorAutoencoder

LOG_2PI = math.log(2 * math.pi)


def importance_log_weight(
    log_px: torch.Tensor, z: torch.Tensor, eps: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """log p(x|z) + log p(z) - log q(z|x) in nats for draws z = mu + eps * sigma, the latent units
    on the last axis (Burda et al. 2016): an importance weight of the IWAE bound and the IS-NLL."""
    log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
    log_qz = -0.5 * (eps.pow(2) + LOG_2PI + logvar).sum(-1)
    return log_px + log_pz - log_qz


class VAE(VectorAutoencoder):
    """Variational autoencoder; `sample` draws z from the prior N(0, I)."""

    settings: VAESettings

    has_elbo = True
    # buffers that files written before version 6 hold (an AE's latent Gaussian, never used here)
    legacy_keys = ("latent_mean", "latent_scale_tril", "latent_fitted")

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.kl_scale = 1.0  # warm-up factor in [0, 1], set by set_progress

    def encoder_out_dim(self) -> int:
        return 2 * self.settings.latent_dim  # mu and log-variance

    @property
    def has_plane(self) -> bool:
        return self.settings.latent_dim == 2

    def set_progress(self, epoch: float) -> None:
        w = self.settings.kl_warmup
        self.kl_scale = min(1.0, epoch / w) if w > 0 else 1.0

    def posterior(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x, self.condition(y, x.shape[0])).chunk(2, dim=1)  # (B, L) each
        return mu, logvar

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.posterior(x, y)[0]  # the posterior mean

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        cond = self.condition(y, x.shape[0])
        mu, logvar = self.encoder(x, cond).chunk(2, dim=1)  # (B, L) each
        eps = torch.randn_like(mu)
        z = mu + eps * (0.5 * logvar).exp()  # reparameterisation
        out = self.decoder(z, cond)  # (B, C, H, W)
        recon = reconstruction_loss(out, x, self.settings.recon)
        kl = gaussian_kl(mu, logvar)
        total = (recon + self.settings.kl_weight * self.kl_scale * kl).mean()
        extras = {"mu": mu, "logvar": logvar}
        if self.settings.iw_samples > 1:  # beta and the warm-up do not apply to the bound
            extras["iwae"] = self.iwae_bound(x, cond, mu, logvar, eps, out)
            total = -extras["iwae"].mean()
        return ModelOutput(self.output(out), z, {"recon": recon, "kl": kl}, total, extras=extras)

    def iwae_bound(self, x, cond, mu, logvar, eps0, out0) -> torch.Tensor:
        """The K-sample importance-weighted bound per image (B,) in nats (Burda et al. 2016); the
        first sample (noise eps0, decoder output out0) is the one the ELBO terms used."""
        k, (b, L) = self.settings.iw_samples, mu.shape
        eps = torch.cat([eps0[None], torch.randn(k - 1, b, L, device=mu.device)])  # (K, B, L)
        z = mu + eps * (0.5 * logvar).exp()  # (K, B, L)
        # ((K-1) B, C, H, W)
        rest = self.decoder(z[1:].flatten(0, 1), None if cond is None else cond.repeat(k - 1, 1))
        outs = torch.cat([out0, rest])  # (K B, C, H, W), sample-major
        log_px = log_likelihood(outs, x.repeat(k, *[1] * (x.dim() - 1)), self.settings.recon)
        log_px = log_px.view(k, b)
        log_w = importance_log_weight(log_px, z, eps, logvar)  # (K, B)
        return torch.logsumexp(log_w, 0) - math.log(k)  # (B,)

    def anomaly_score(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The negative ELBO per image (B,) in nats, its reconstruction term taken at the posterior
        mean (deterministic): reconstruction loss + KL(q(z|x) || N(0, I)), beta not applied."""
        cond = self.condition(y, x.shape[0])
        mu, logvar = self.encoder(x, cond).chunk(2, dim=1)  # (B, L) each
        return reconstruction_loss(self.decoder(mu, cond), x, self.settings.recon) + gaussian_kl(
            mu, logvar
        )

    @torch.no_grad()
    def log_weights(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None,
        k: int,
        generator: torch.Generator,
        chunk: int,
    ) -> torch.Tensor:
        """Importance log-weights log p(x|z_i) + log p(z_i) - log q(z_i|x) for one image x (1, C, H,
        W) and k draws z_i ~ q(z|x) (Burda et al. 2015), in nats, (k,), decoded `chunk` at a time;
        the decoder is Bernoulli."""
        mu, logvar = self.posterior(x, y)  # (1, L) each
        std = (0.5 * logvar).exp()
        out = []
        for start in range(0, k, chunk):
            m = min(chunk, k - start)
            eps = torch.randn(m, mu.shape[1], generator=generator).to(self.device)
            z = mu + eps * std  # (m, L)
            cond = self.condition(None if y is None else y.expand(m), m)
            log_px = log_likelihood(self.decoder(z, cond), x.expand(m, *x.shape[1:]), "bce")
            out.append(importance_log_weight(log_px, z, eps, logvar))  # (m,)
        return torch.cat(out)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        # (n, L)
        z = temperature * torch.randn(n, self.settings.latent_dim, generator=generator).to(
            self.device
        )
        return self.decode(z, y)


class CVAE(VAE):
    """Conditional VAE: encoder and decoder see the one-hot digit label; `sample(n, y=7)` draws
    7s."""

    conditional = True
    needs_labels = True
