"""What the autoencoders with a continuous latent share (AE, DAE, VAE, CVAE): an encoder to a
vector and a decoder back (mlp or conv, built by the run's kind of data, latentzoo.kinds), labels
as one-hot conditions for a model that needs them, decoding and straight-line interpolation between
latents. An AE may swap the vector for a grid of vectors (`coders`, `Unconditional`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config, VectorSettings
from ..errors import LatentzooError
from .base import Autoencoder, line


class VectorAutoencoder(Autoencoder):
    """x -> encoder -> (B, encoder_out_dim) ... z (B, latent_dim) -> decoder -> x_hat."""

    settings: VectorSettings

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        cond = cfg.data.n_classes if self.needs_labels else 0
        self.encoder, self.decoder = self.coders(cond)

    def coders(self, cond: int) -> tuple[nn.Module, nn.Module]:
        """The encoder to (B, encoder_out_dim) and the decoder from (B, latent_dim), each taking a
        condition of `cond` numbers (0: none)."""
        kind, shape = self.data_kind, self.cfg.data.shape
        return (
            kind.vector_encoder(shape, self.encoder_out_dim(), cond, self.settings),
            kind.vector_decoder(shape, self.settings.latent_dim, cond, self.settings),
        )

    def encoder_out_dim(self) -> int:
        return self.settings.latent_dim

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """One-hot labels (n, n_classes) for a model that needs them; one label serves a whole
        batch."""
        if not self.needs_labels:
            return None
        if y is None:
            raise LatentzooError(f"{self.cfg.kind} is conditional: give digit labels")
        y = torch.as_tensor(y, device=self.device).long().reshape(-1)
        if y.numel() == 1:
            y = y.expand(n)  # one digit for the whole batch
        return F.one_hot(y, self.cfg.data.n_classes).float()  # (B, n_classes)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x, self.condition(y, x.shape[0]))  # (B, L)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # (B, C, H, W)
        return self.output(self.decoder(z, self.condition(y, z.shape[0])))

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


class Unconditional(nn.Module):
    """A grid encoder or decoder called as the vector ones are, `(x, cond)`, for a model that
    takes no condition (`cond` is None)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x)
