"""Training jobs on top of latentzoo.loop: `train` (any model kind) and `train_prior` (a VQ-VAE's
code prior)."""

from .autoencoder import train, training_splits
from .prior import encode_all, train_prior

__all__ = ["train", "training_splits", "train_prior", "encode_all"]
