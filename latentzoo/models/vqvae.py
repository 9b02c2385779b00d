"""The vector-quantized VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning").

x (B, C, H, W) -> grid (B, D, H/4, W/4) (MNIST: 7 x 7) -> each vector snapped to a codebook (see
`latentzoo.nn.quantizers`) -> x_hat. Loss per image: reconstruction + codebook + beta * commitment
(beta = `cfg.model.commitment`, 0.25 in the paper), each summed over pixels or over the grid and D.
`encode` gives the integer code grid (B, H/4, W/4) and `decode` takes it back. A VQ-VAE draws new
images only with a prior over its codes: `VQVAEWithPrior` (latentzoo.models.pipeline) composes the
two.
"""

from __future__ import annotations

from typing import Any

import torch

from ..config import Config, VQVAESettings
from ..device import full_precision
from ..errors import LatentzooError
from ..kinds import data_kind
from ..nn.quantizers import FSQ, QuantizerOutput, ResidualVQ, VectorQuantizer
from .base import Autoencoder, ModelOutput, line


def make_quantizer(s: VQVAESettings, rows: int) -> VectorQuantizer | FSQ | ResidualVQ:
    """The quantizer the settings name, for code grids `rows` high."""
    if s.quantizer == "fsq":
        return FSQ(levels=s.levels, dim=s.code_dim)
    options: dict[str, Any] = dict(
        codebook_size=s.codebook_size,
        dim=s.code_dim,
        codebook_dim=s.codebook_dim,
        ema=s.ema,
        decay=s.ema_decay,
        kmeans_init=s.kmeans_init,
        restart_dead=s.restart_dead,
        dead_threshold=s.dead_threshold,
        cosine=s.cosine,
    )
    if s.quantizer == "rvq":
        return ResidualVQ(codebooks=s.codebooks, rows=rows, dropout=s.quantizer_dropout, **options)
    return VectorQuantizer(**options)


class VQVAE(Autoencoder):
    """VQ-VAE: x -> grid (B, D, H/4, W/4) -> nearest codes -> x_hat."""

    settings: VQVAESettings
    quantizer: VectorQuantizer | FSQ | ResidualVQ

    has_codes = True
    # The codebook term measures how well the codes fit the encoder, not the images, and rises late
    # in training, so the kept epoch is the one with the best validation reconstruction.
    select_by = "recon"

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        kind, shape = data_kind(cfg.data.data_kind), cfg.data.shape
        self.encoder = kind.grid_encoder(shape, self.settings.code_dim, self.settings)
        h, w = kind.code_grid(shape, self.settings)  # e.g. (H/4, W/4)
        self.quantizer = make_quantizer(self.settings, h)
        self.decoder = kind.grid_decoder(shape, self.settings.code_dim, self.settings)
        # a residual quantizer's codes: a grid per codebook, one under the other
        self.grid = (h * self.codebooks, w)
        self.n_codes = self.settings.n_codes

    @property
    def can_sample(self) -> bool:
        return False

    @property
    def codebooks(self) -> int:
        """Codebooks whose codes a position has (a residual quantizer's; else one)."""
        return self.settings.codebooks if self.settings.quantizer == "rvq" else 1

    def quantize(self, x: torch.Tensor) -> QuantizerOutput:
        """Images -> the quantizer's output: quantized grid (B, D, H/4, W/4) and codes (B, H/4,
        W/4). The quantizer runs in fp32 under bf16 autocast: distances and EMA updates in bf16 pick
        wrong codes."""
        z = self.encoder(x)  # (B, D, H/4, W/4)
        with full_precision(z):
            return self.quantizer(z.float())

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.quantize(x).indices  # (B, H/4, W/4) int64

    def decode(self, codes: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Integer codes (B, H/4, W/4), or an already quantized grid (B, D, H/4, W/4) -> images. A
        residual quantizer's codes may be those of its first codebooks only (B, q * H/4, W/4)."""
        grid = self.quantizer.lookup(codes) if codes.dtype in (torch.int64, torch.int32) else codes
        return self.output(self.decoder(grid))  # (B, C, H, W)

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.quantize(x).quantized)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.quantize(x).quantized.flatten(1)  # (B, D * H/4 * W/4)

    @torch.no_grad()
    def interpolate(
        self, xa: torch.Tensor, xb: torch.Tensor, steps: int = 10, y=None
    ) -> torch.Tensor:
        """Quantize and decode points between the encoder grids of xa and xb -> (B, steps, C, H,
        W)."""
        z = line(self.encoder(xa), self.encoder(xb), steps)  # (B * steps, D, H/4, W/4)
        return self.decode(self.quantizer(z).quantized).view(xa.shape[0], steps, *xa.shape[1:])

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> ModelOutput:
        q = self.quantize(x)  # quantized (B, D, H/4, W/4), indices (B, H/4, W/4)
        out = self.decoder(q.quantized)  # (B, C, H, W)
        losses = {**self.reconstruction_terms(out, x), **q.losses}
        total = (
            self.reconstruction_total(losses)
            + losses["codebook"]
            + self.settings.commitment * losses["commitment"]
        ).mean()
        return ModelOutput(self.output(out), q.quantized, losses, total, codes=q.indices)

    def sample(self, n: int, y=None, generator=None, temperature: float = 1.0) -> torch.Tensor:
        raise LatentzooError(
            "a VQ-VAE samples codes from a learned prior and this run has none yet: "
            "train one with `latentzoo train-prior RUN`"
        )
