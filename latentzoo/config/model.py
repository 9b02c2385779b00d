"""The settings of each model kind: its network and its loss, one small class per kind (as pythae
does), each default in its class; the DAE's defaults on each kind of data in
latentzoo.config.dae_defaults.

- `ModelSettings`: what every kind has: the backbone (conv fields; the mlp's in
  `VectorSettings`), the activation and the reconstruction loss.
- `VectorSettings`: a latent vector's size and the mlp's widths, shared by the kinds below but the
  VQ-VAE.
- `AESettings` (ae: + a vector or a grid latent), `DAESettings` (dae: + the training
  corruption), `VAESettings` (vae: + the KL weight, warm-up and IWAE samples), `CVAESettings`
  (cvae), `VQVAESettings` (vqvae: the code
  vectors, the commitment weight and the quantizer; conv only).

A kind whose training differs from the shared training defaults says so in `train_defaults`.
`MODEL_SETTINGS` maps each kind's name to its class: the one list of model kinds.
Why each default is what it is: benchmarks/EXPERIMENTS.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import photo_noise, signal_noise  # noqa: F401  (register the noise kinds defaults name)
from ..errors import ConfigError
from ..noise import parse_noise
from .dae_defaults import DAE_NOISE, PHOTO_DAE, SIGNAL_DAE_NOISE, SOUND_DAE
from .settings import Settings, redefault, setting


@dataclass(kw_only=True)
class ModelSettings(Settings):
    section: ClassVar[str] = "model"
    train_defaults: ClassVar[dict[str, Any]] = {}  # training settings this kind changes
    # its own settings' and training settings' defaults on a kind of data other than images
    data_defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    backbone: str = setting(
        "mlp: pixels-512-256-latent; conv: H -> H/2 -> H/4 and back (28 -> 14 -> 7)",
        default="conv",
        choices=("mlp", "conv"),
    )
    channels: int = setting(
        "conv channels at H/2 (twice that at H/4)", default=32, low=1, high=4096, group="conv"
    )
    res_blocks: int = setting(
        "conv residual blocks at H/4 in encoder and decoder",
        default=1,
        low=0,
        high=64,
        group="conv",
    )
    fine_blocks: int = setting(
        "conv residual blocks at H/2, plus a 3x3 conv at full size, at each end",
        default=0,
        low=0,
        high=64,
        group="conv",
    )
    norm: str = setting(
        "normalisation inside conv residual blocks",
        default="none",
        choices=("none", "group"),
        group="conv",
    )
    act: str = setting(
        "activation of every hidden layer",
        default="relu",
        choices=("relu", "silu", "gelu", "tanh"),
    )
    recon: str = setting(
        "reconstruction loss, summed over pixels: mse, or bce (Bernoulli, images only)",
        default="mse",
        choices=("mse", "bce"),
    )
    spectral: float = setting(
        "signals and sound: weight of a multi-resolution spectral loss (Yamamoto et al. 2020; "
        "latentzoo.nn.spectral_loss) beside --recon; 0: none",
        default=0.0,
        low=0,
        open_high=True,
    )
    stoi: float = setting(
        "sound: weight of an intelligibility loss, one minus STOI's correlation of band envelopes "
        "(Taal et al. 2011; latentzoo.nn.stoi_loss) beside --recon; 0: none",
        default=0.0,
        low=0,
        open_high=True,
    )
    downsample: int = setting(
        "signals: strided stages of the conv backbone, each halving the length (0: as many as "
        "divide the length, at most 4)",
        default=0,
        low=0,
        high=16,
        group="conv",
    )

    def groups(self) -> set[str]:
        return {self.backbone}

    @property
    def fully_convolutional(self) -> bool:
        """Whether the model takes examples of any size (a code grid, no vector): photos."""
        return False

    def check(self) -> None:
        if self.fine_blocks and self.channels < 2:
            raise ConfigError("fine_blocks needs at least 2 channels (c/2 at full size)")


@dataclass(kw_only=True)
class VectorSettings(ModelSettings):
    latent_dim: int = setting(
        "latent size (with --latent grid: the size of each grid position's vector)",
        default=32,
        low=1,
        high=4096,
    )
    hidden: int = setting(
        "mlp first hidden layer's width (the second: --hidden2)",
        default=512,
        low=1,
        high=65536,
        group="mlp",
    )
    hidden2: int = setting(
        "mlp second hidden layer's width; 0: hidden/2 (Burda et al. 2016: --hidden 200 "
        "--hidden2 200)",
        default=0,
        low=0,
        high=65536,
        group="mlp",
    )


@dataclass(kw_only=True)
class AESettings(VectorSettings):
    latent: str = setting(
        "vector: one latent vector per example; grid: a vector per position of the conv "
        "backbone's grid (fully convolutional, for denoising; draws no samples)",
        default="vector",
        choices=("vector", "grid"),
    )
    skip: str = setting(
        "none: the output is the decoder's; residual: the input plus the decoder's output (the "
        "network learns the correction, Zhang et al. 2017); input: the decoder's output corrected "
        "by a full-size block that also sees the input (a skip connection around the "
        "bottleneck); unet: the input plus a correction from a U-Net over the input and the "
        "decoder's output, with skips at every scale (Ronneberger et al. 2015); mask (signals "
        "and sound): the input's short-time spectrum times a mask in [0, 1] computed from the "
        "input's and the decoder's spectra, with the input's phase. Each needs --latent grid and "
        "--recon mse",
        default="none",
        choices=("none", "residual", "input", "unet", "mask"),
    )
    skip_depth: int = setting(
        "hidden 3x3 convolutions of --skip input's full-size block, each --channels wide: 1 is a "
        "light correction, more a DnCNN-like noise estimator at full resolution (Zhang et al. "
        "2017) guided by the decoder's output",
        default=1,
        low=1,
        high=64,
    )
    data_defaults: ClassVar[dict[str, dict[str, Any]]] = {"photo": {"latent": "grid"}}

    @property
    def fully_convolutional(self) -> bool:
        return self.latent == "grid" and self.backbone == "conv"

    def check(self) -> None:
        super().check()
        if self.latent == "grid" and self.backbone != "conv":
            raise ConfigError("--latent grid needs --backbone conv (an mlp has no grid)")
        if self.skip != "none" and (self.latent != "grid" or self.recon != "mse"):
            raise ConfigError(f"--skip {self.skip} needs --latent grid and --recon mse")
        if self.skip_depth != 1 and self.skip != "input":
            raise ConfigError("--skip-depth sets the block of --skip input")


@dataclass(kw_only=True)
class DAESettings(AESettings):
    latent_dim: int = redefault(AESettings, "latent_dim", 128)
    noise: str = setting(
        "training corruption, e.g. gaussian:0.5, gaussian:0.3+mask:0.2 (both on every image) or "
        "gaussian:0.2|mask:0.4 (one of them per image)",
        default=DAE_NOISE,
    )
    relative_loss: bool = setting(
        "each example's loss over its input's mean squared error: light corruptions weigh as "
        "much as heavy ones",
        default=False,
    )
    noise_files: str | None = setting(
        "sound: a folder (or file) of your own noise recordings (WAV, FLAC, OGG) that the "
        "recorded:DB terms of --noise draw from, e.g. --noise 'recorded:0|recorded:10|white:5'",
        default=None,
    )
    data_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "signal": {"noise": SIGNAL_DAE_NOISE},
        "sound": SOUND_DAE,
        "photo": PHOTO_DAE,
    }

    def check(self) -> None:
        super().check()
        recorded = any(t.kind == "recorded" for chain in parse_noise(self.noise) for t in chain)
        if recorded and not self.noise_files:
            raise ConfigError("recorded:DB in --noise draws from noise recordings: --noise-files")
        if self.noise_files and not recorded:
            raise ConfigError(
                "--noise-files are drawn by recorded:DB terms in --noise, e.g. "
                "--noise 'recorded:0|recorded:10|white:5'"
            )


@dataclass(kw_only=True)
class VAESettings(VectorSettings):
    recon: str = redefault(ModelSettings, "recon", "bce")
    # a signal's values are not probabilities: a Gaussian decoder (squared error)
    data_defaults: ClassVar[dict[str, dict[str, Any]]] = {"signal": {"recon": "mse"}}
    kl_weight: float = setting(
        "weight of the KL term (beta-VAE: Higgins et al. 2017)", default=1.0, low=0, open_high=True
    )
    iw_samples: int = setting(
        "K > 1 trains the importance-weighted bound (IWAE, Burda et al. 2016) with K samples per "
        "example",
        default=1,
        low=1,
        high=5000,
    )
    kl_warmup: int = setting(
        "epochs over which the KL weight ramps from 0 to --kl-weight",
        default=0,
        low=0,
        high=100_000,
    )

    def check(self) -> None:
        super().check()
        if self.spectral or self.stoi:
            raise ConfigError(
                "--spectral and --stoi would change the ELBO's decoder term: AE, DAE or VQ-VAE"
            )


@dataclass(kw_only=True)
class CVAESettings(VAESettings):
    pass


@dataclass(kw_only=True)
class VQVAESettings(ModelSettings):
    """The VQ-VAE's values were each measured against the one before on full MNIST
    (benchmarks/EXPERIMENTS.md); van den Oord et al. (2017) use a commitment weight of 0.25."""

    train_defaults: ClassVar[dict[str, Any]] = dict(batch_size=16, adam_beta2=0.95, epochs=15)
    # a signal's backbone has no full-size blocks (latentzoo.nn.backbones1d)
    data_defaults: ClassVar[dict[str, dict[str, Any]]] = {"signal": {"fine_blocks": 0}}

    channels: int = redefault(ModelSettings, "channels", 64)
    res_blocks: int = redefault(ModelSettings, "res_blocks", 2)
    fine_blocks: int = redefault(ModelSettings, "fine_blocks", 1)
    norm: str = redefault(ModelSettings, "norm", "group")
    act: str = redefault(ModelSettings, "act", "gelu")
    code_dim: int = setting("size D of each code vector", default=16, low=1, high=4096)
    commitment: float = setting(
        "weight of the commitment loss", default=0.25, low=0, open_high=True
    )
    quantizer: str = setting(
        "vq (nearest codebook vector), fsq (finite scalar quantization) or rvq (residual: "
        "--codebooks vq codebooks in turn, each on what the ones before left, Zeghidour et al. "
        "2021)",
        default="vq",
        choices=("vq", "fsq", "rvq"),
    )
    codebooks: int = setting(
        "rvq: codebooks in turn; `compress --codebooks` or `--bitrate` may use fewer",
        default=8,
        low=1,
        high=64,
        group="rvq",
    )
    quantizer_dropout: bool = setting(
        "rvq: each training batch uses its first q codebooks, q drawn from 1 to --codebooks, so "
        "that fewer codebooks still decode (one model, several bitrates)",
        default=True,
        group="rvq",
    )
    codebook_size: int = setting("K codes", default=512, low=1, high=1_048_576, group="vq")
    ema: bool = setting("EMA codebook updates", default=True, group="vq")
    ema_decay: float = setting(
        "decay of the EMA codebook statistics",
        default=0.99,
        low=0,
        high=1,
        open_low=True,
        open_high=True,
        group="vq",
    )
    kmeans_init: bool = setting(
        "k-means init of the codebook from the first batch", default=True, group="vq"
    )
    restart_dead: bool = setting(
        "restart codes whose moving-average use falls below --dead-threshold",
        default=True,
        group="vq",
    )
    dead_threshold: float = setting(
        "a code is dead below this many assigned vectors per step (moving average); scale it "
        "with --batch-size",
        default=0.2,
        low=0,
        open_low=True,
        open_high=True,
        group="vq",
    )
    cosine: bool = setting("l2-normalised codes and inputs", default=False, group="vq")
    codebook_dim: int = setting(
        "look codes up in a projected space of this size (0: off)",
        default=0,
        low=0,
        high=4096,
        group="vq",
    )
    fsq_levels: str = setting(
        "FSQ levels per channel, e.g. 8,8,8 (K = product)", default="8,8,8", group="fsq"
    )

    def groups(self) -> set[str]:
        return {self.backbone, self.quantizer, *(("vq",) if self.quantizer == "rvq" else ())}

    @property
    def fully_convolutional(self) -> bool:
        return True

    @property
    def levels(self) -> list[int]:
        return [int(v) for v in self.fsq_levels.split(",")]

    @property
    def n_codes(self) -> int:
        """Number of distinct codes: K for vq and each codebook of rvq, the product of the levels
        for fsq."""
        return math.prod(self.levels) if self.quantizer == "fsq" else self.codebook_size

    def check(self) -> None:
        super().check()
        if self.backbone != "conv":
            raise ConfigError(
                f"a vqvae needs the conv backbone (its codes form a grid), not {self.backbone}"
            )
        try:
            levels = self.levels
        except ValueError:
            raise ConfigError(
                f"fsq_levels must be comma-separated integers, got '{self.fsq_levels}'"
            ) from None
        if not all(v >= 2 for v in levels) or math.prod(levels) > 1_048_576:
            raise ConfigError(
                "fsq levels must each be >= 2, with a product of at most 1,048,576, got "
                f"'{self.fsq_levels}'"
            )


MODEL_SETTINGS: dict[str, type[ModelSettings]] = {
    "ae": AESettings,
    "dae": DAESettings,
    "vae": VAESettings,
    "cvae": CVAESettings,
    "vqvae": VQVAESettings,
}
MODELS = tuple(MODEL_SETTINGS)
