"""The model registry: the one place that maps a model kind's name to its class.

`build_model(cfg)` checks the config against what the kind accepts and builds it; everything else
asks the built model what it can do."""

from __future__ import annotations

from ..config import MODELS, Config
from ..errors import ConfigError
from ..kinds import data_kind
from .ae import AE, DAE
from .base import Autoencoder
from .capabilities import check_capabilities
from .vae import CVAE, VAE
from .vqvae import VQVAE

MODEL_CLASSES: dict[str, type[Autoencoder]] = {
    "ae": AE,
    "dae": DAE,
    "vae": VAE,
    "cvae": CVAE,
    "vqvae": VQVAE,
}
assert tuple(MODEL_CLASSES) == MODELS, "config.MODELS and the registry must name the same kinds"


def model_class(kind: str) -> type[Autoencoder]:
    if kind not in MODEL_CLASSES:
        raise ConfigError(f"unknown model '{kind}' (choose {', '.join(MODEL_CLASSES)})")
    return MODEL_CLASSES[kind]


def check_config(cfg: Config) -> None:
    """Validate `cfg` and what its kind needs of it (a VQ-VAE's latent is a grid: conv only)."""
    cfg.validate()
    data_kind(cfg.data.data_kind).check(cfg)
    data_kind(cfg.data.data_kind).check_views(cfg.train.views)
    cls = model_class(cfg.kind)
    if cls.needs_labels and cfg.data.n_classes == 0:
        raise ConfigError(
            f"a {cfg.kind} is conditioned on labels, and the images of {cfg.data.source} have none "
            "(give each class its own subfolder, or labels in the .npz)"
        )


def build_model(cfg: Config) -> Autoencoder:
    check_config(cfg)
    model = MODEL_CLASSES[cfg.kind](cfg)
    check_capabilities(model)
    return model
