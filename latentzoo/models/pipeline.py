"""A VQ-VAE composed with the prior over its codes: the VQ-VAE's interface, plus sampling.

`sample` draws code grids from the prior (with classifier-free guidance for an asked digit) and
decodes them with the VQ-VAE. Asked for no digit, a prior trained with labels draws a label per
sample uniformly and then the codes given it, unguided: ancestral sampling of sum_y p(y) p(codes |
y). Its "no label" token, trained on a tenth of the batches, gives far worse digits (MNIST-FID 85.7
against 9.2: benchmarks/results/unconditional-samples.md). The two keep their own weights and files
(model.safetensors, prior.safetensors); `latentzoo.load` composes them when a run folder holds a
prior."""

from __future__ import annotations

import torch

from .base import Autoencoder, ModelOutput
from .prior import GUIDANCE, CodePrior
from .vqvae import VQVAE


class VQVAEWithPrior(Autoencoder):
    has_codes = True
    guided = True
    can_compress = True  # latentzoo.codec codes its grids with the prior's probabilities
    select_by = VQVAE.select_by

    def __init__(self, vqvae: VQVAE, prior: CodePrior):
        super().__init__(vqvae.cfg)
        self.vqvae, self.prior = vqvae, prior
        self.grid, self.n_codes = vqvae.grid, vqvae.n_codes  # (H/4, W/4), K
        self.codebooks = vqvae.codebooks

    @property  # the prior decides, once loaded
    def conditional(self) -> bool:  # type: ignore[override]
        """True when the prior was trained with labels (sample(n, y=digit) then works)."""
        return self.prior.cfg.n_classes > 0

    def quantize(self, x: torch.Tensor):
        return self.vqvae.quantize(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        return self.vqvae(x, y)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.vqvae.encode(x)

    def decode(self, codes: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.vqvae.decode(codes)

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.vqvae.reconstruct(x)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.vqvae.features(x)

    def anomaly_score(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.vqvae.anomaly_score(x)

    def interpolate(
        self, xa: torch.Tensor, xb: torch.Tensor, steps: int = 10, y=None
    ) -> torch.Tensor:
        return self.vqvae.interpolate(xa, xb, steps)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y=None,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        guidance: float = GUIDANCE,
    ) -> torch.Tensor:
        """n new images (n, C, H, W) from codes drawn by the prior; y: a label, n labels, or None (a
        uniformly drawn label per sample, unguided, when the prior has labels). guidance:
        classifier-free guidance for an asked y (1.0: none)."""
        if y is None and self.conditional:
            y, guidance = torch.randint(0, self.prior.cfg.n_classes, (n,), generator=generator), 1.0
        return self.vqvae.decode(self.prior.sample(n, y, temperature, generator, guidance))
