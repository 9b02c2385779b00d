"""The settings of a VQ-VAE's code prior (latentzoo.models.prior): the transformer's size, label
dropout for classifier-free guidance, its own training, and what the VQ-VAE says (the codebook
size, the grid and the labels: filled in by `train_prior`, never options). Saved as
prior_config.json beside the VQ-VAE's config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import ConfigError
from .settings import Settings, setting


@dataclass(kw_only=True)
class PriorConfig(Settings):
    section: ClassVar[str] = "prior"

    n_codes: int = setting("K, from the VQ-VAE", default=512, low=1, high=1_048_576, cli=False)
    length: int = setting(
        "positions of the grid in raster order (MNIST: 7 x 7)",
        default=49,
        low=1,
        high=1_000_000,
        cli=False,
    )
    grid_width: int = setting("the grid's row length", default=7, low=1, high=100_000, cli=False)
    n_classes: int = setting(
        "label tokens 0..n_classes-1; token n_classes means 'no label' (0: unlabelled data)",
        default=10,
        low=0,
        high=100_000,
        cli=False,
    )
    d_model: int = setting("transformer width", default=128, low=1, high=8192)
    n_layers: int = setting("transformer blocks", default=4, low=1, high=256)
    n_heads: int = setting(
        "attention heads (--d-model must be a multiple)", default=4, low=1, high=256
    )
    dropout: float = setting(
        "dropout inside the transformer (0: the best validation epoch is kept instead)",
        default=0.0,
        low=0,
        high=1,
        open_high=True,
    )
    label_dropout: float = setting(
        "probability that a training label is replaced by 'no label' (for classifier-free "
        "guidance)",
        default=0.1,
        low=0,
        high=1,
    )
    epochs: int = setting("passes over the training codes", default=10, low=1, high=100_000)
    batch_size: int = setting("code grids per step", default=128, low=1, high=1_000_000)
    lr: float = setting(
        "peak of the warm-up and cosine schedule",
        default=1e-3,
        low=0,
        open_low=True,
        open_high=True,
    )
    seed: int = setting("fixes initialisation and data order", default=0, low=0, high=2**32 - 1)

    def check(self) -> None:
        if self.length % self.grid_width:
            raise ConfigError(
                f"prior length ({self.length}) must be a multiple of grid_width ({self.grid_width})"
            )
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"prior d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})"
            )
