"""latentzoo: the autoencoder family (AE, DAE, VAE, CVAE, VQ-VAE) on MNIST, as a library and a CLI.

    import latentzoo
    cfg = latentzoo.make_config("vae", epochs=10)
    run = latentzoo.train(cfg, "runs/vae")
    model = latentzoo.load(run)
"""

from .config import Config, make_config
from .data import load_dataset
from .errors import LatentzooError
from .models import AE, CVAE, DAE, VAE, VQVAE, ModelOutput, build_model
from .noise import corrupt, parse_noise
from .runs import load
from .training import train

__version__ = "0.1.0"
__all__ = ["Config", "make_config", "load_dataset", "LatentzooError", "AE", "DAE", "VAE", "CVAE", "VQVAE",
           "ModelOutput", "build_model", "corrupt", "parse_noise", "load", "train", "__version__"]
