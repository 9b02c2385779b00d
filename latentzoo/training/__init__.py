"""Training jobs on top of latentzoo.loop: `train_model` (a model of any kind into a run folder,
without pictures; `latentzoo.train` adds them) and `train_prior` (a VQ-VAE's code prior)."""

from .autoencoder import train_model, training_splits
from .prior import encode_all, load_coded, train_prior

__all__ = ["train_model", "training_splits", "train_prior", "encode_all", "load_coded"]
