"""Quantizers for the VQ-VAE: one output type, one family per file.

- `vq.VectorQuantizer`: nearest-neighbour codebook lookup (van den Oord et al. 2017, "Neural
  Discrete Representation Learning"), with EMA updates, k-means init, dead-code restarts, cosine
  codes and a low-dimensional lookup space as options.
- `rvq.ResidualVQ`: several vector quantizers in turn, each on the residual of the ones before
  (Zeghidour et al. 2021, SoundStream), with quantizer dropout; its codes are a grid per codebook.
- `fsq.FSQ`: finite scalar quantization (Mentzer et al. 2023, "Finite Scalar Quantization: VQ-VAE
  Made Simple"), an implicit codebook with no codebook loss.

Each takes a grid (B, D, H, W) and returns a `QuantizerOutput`; each maps integer codes back with
`lookup(indices)`."""

from .fsq import FSQ
from .output import QuantizerOutput
from .rvq import ResidualVQ
from .vq import VectorQuantizer

__all__ = ["FSQ", "QuantizerOutput", "ResidualVQ", "VectorQuantizer"]
