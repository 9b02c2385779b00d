"""The autoencoder family behind one interface (`base.Autoencoder`) and one output type
(`ModelOutput`).

- `ae`: AE and DAE; `vae`: VAE and CVAE; `vqvae`: the VQ-VAE; `prior`: the transformer prior over
  a VQ-VAE's codes; `pipeline`: a VQ-VAE composed with its prior; `registry`: kind name -> class.
"""

from .ae import AE, DAE
from .base import Autoencoder, ModelOutput
from .pipeline import VQVAEWithPrior
from .prior import GUIDANCE, CodePrior, PriorConfig, mean_bits
from .registry import MODEL_CLASSES, build_model, check_config, model_class
from .vae import CVAE, VAE
from .vqvae import VQVAE

__all__ = [
    "AE",
    "DAE",
    "VAE",
    "CVAE",
    "VQVAE",
    "VQVAEWithPrior",
    "Autoencoder",
    "ModelOutput",
    "CodePrior",
    "PriorConfig",
    "GUIDANCE",
    "mean_bits",
    "MODEL_CLASSES",
    "build_model",
    "check_config",
    "model_class",
]
