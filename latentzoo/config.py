"""The one flat configuration of a run, its defaults per model kind, and its file versions.

Defaults have one home: `DEFAULTS` (shared by every model kind) and `MODEL_DEFAULTS` (what a kind
changes). `make_config(kind, **overrides)` merges them; `Config` itself has no defaults, so a
Config always says every value that was used. Each field carries its help text and bounds in its
metadata: the command line's options and `validate` are generated from them.

Saved as `config.json` in every run folder with a `config_version`. Older files lack fields that
were added later; `migrate` fills them with the values that code used then (`V1_VALUES` for version
1, `V2_VALUES` for version 2: every run then was 1 x 28 x 28 MNIST or digits; `V3_VALUES` for
version 3: every run trained in fp32; `V4_VALUES` for version 4: every mlp's second layer was
hidden/2), so old run folders keep loading. The image shape fields are not options: `train` takes
them from the data. Why each default is what it is: benchmarks/EXPERIMENTS.md."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .data import DATASETS
from .device import PRECISIONS
from .errors import ConfigError
from .noise import parse_noise

CONFIG_VERSION = 5
MODELS = ("ae", "dae", "vae", "cvae", "vqvae")


def setting(
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
    cli: bool = True,
    group: str | None = None,
) -> Any:
    """A Config field: help text, allowed choices or bounds, whether it is a `train` option, and the
    group of models it applies to (see `Config.applies`)."""
    return field(
        metadata=dict(
            help=help,
            choices=choices,
            low=low,
            high=high,
            open_low=open_low,
            open_high=open_high,
            cli=cli,
            group=group,
        )
    )


@dataclass(kw_only=True)
class Config:
    config_version: int = setting("version of this file's layout", cli=False)
    # --- model
    model: str = setting("model kind", choices=MODELS, cli=False)
    backbone: str = setting(
        "mlp: pixels-512-256-latent; conv: H -> H/2 -> H/4 and back (28 -> 14 -> 7)",
        choices=("mlp", "conv"),
    )
    latent_dim: int = setting("latent size (VQ-VAE: size D of each code vector)", low=1, high=4096)
    hidden: int = setting(
        "mlp first hidden layer's width (the second: --hidden2)", low=1, high=65536, group="mlp"
    )
    hidden2: int = setting(
        "mlp second hidden layer's width; 0: hidden/2 (Burda et al. 2016: --hidden 200 "
        "--hidden2 200)",
        low=0,
        high=65536,
        group="mlp",
    )
    channels: int = setting(
        "conv channels at H/2 (twice that at H/4)", low=1, high=4096, group="conv"
    )
    res_blocks: int = setting(
        "conv residual blocks at H/4 in encoder and decoder", low=0, high=64, group="conv"
    )
    fine_blocks: int = setting(
        "conv residual blocks at H/2, plus a 3x3 conv at full size, at each end",
        low=0,
        high=64,
        group="conv",
    )
    norm: str = setting(
        "normalisation inside conv residual blocks", choices=("none", "group"), group="conv"
    )
    act: str = setting("activation of every hidden layer", choices=("relu", "silu", "gelu", "tanh"))
    recon: str = setting(
        "reconstruction loss, summed over pixels: mse, or bce (Bernoulli)", choices=("mse", "bce")
    )
    beta: float = setting(
        "VAE: KL weight; VQ-VAE: commitment weight", low=0, open_high=True, group="beta"
    )
    iw_samples: int = setting(
        "VAE: K > 1 trains the importance-weighted bound (IWAE, Burda et al. 2016) with K "
        "samples per image (needs --recon bce)",
        low=1,
        high=5000,
        group="elbo",
    )
    kl_warmup: int = setting(
        "VAE: epochs over which the KL weight ramps from 0 to beta",
        low=0,
        high=100_000,
        group="elbo",
    )
    noise: str = setting(
        "DAE: training corruption, e.g. gaussian:0.5, gaussian:0.3+mask:0.2 (both on every "
        "image) or gaussian:0.2|mask:0.4 (one of them per image)",
        group="noise",
    )
    n_classes: int = setting(
        "number of labels in the data, 0 for none (the CVAE is conditioned on them)",
        low=0,
        high=100_000,
        cli=False,
    )
    # --- quantizer (VQ-VAE)
    quantizer: str = setting(
        "VQ-VAE: vq (nearest codebook vector) or fsq (finite scalar quantization)",
        choices=("vq", "fsq"),
        group="codes",
    )
    codebook_size: int = setting("VQ-VAE: K codes", low=1, high=1_048_576, group="vq")
    ema: bool = setting("EMA codebook updates", group="vq")
    ema_decay: float = setting(
        "decay of the EMA codebook statistics",
        low=0,
        high=1,
        open_low=True,
        open_high=True,
        group="vq",
    )
    kmeans_init: bool = setting("k-means init of the codebook from the first batch", group="vq")
    restart_dead: bool = setting(
        "restart codes whose moving-average use falls below --dead-threshold", group="vq"
    )
    dead_threshold: float = setting(
        "a code is dead below this many assigned vectors per step (moving average); "
        "scale it with --batch-size",
        low=0,
        open_low=True,
        open_high=True,
        group="vq",
    )
    cosine: bool = setting("l2-normalised codes and inputs", group="vq")
    codebook_dim: int = setting(
        "look codes up in a projected space of this size (0: off)", low=0, high=4096, group="vq"
    )
    fsq_levels: str = setting("FSQ levels per channel, e.g. 8,8,8 (K = product)", group="fsq")
    # --- training
    dataset: str = setting("data set (files: the images of --data)", choices=(*DATASETS, "files"))
    data: str | None = setting(
        "your own images: a folder of image files (labels from subfolder names), a folder "
        "of IDX files in MNIST's layout, or a .npy/.npz array",
        group="files",
    )
    data_hash: str | None = setting(
        "SHA-256 of the --data images and labels as loaded", cli=False, group="files"
    )
    image_size: str | None = setting(
        "resize the --data images to HxW as they load, e.g. 32x32", group="files"
    )
    colour: str | None = setting(
        "convert the --data images to grey or rgb as they load",
        choices=("grey", "rgb"),
        group="files",
    )
    split_seed: int = setting(
        "seed of the validation and test images carved from --data when it has none",
        low=0,
        high=2**32 - 1,
        group="files",
    )
    val_fraction: float = setting(
        "fraction of --data's training images kept for validation",
        low=0,
        high=1,
        open_low=True,
        open_high=True,
        group="files",
    )
    test_fraction: float = setting(
        "fraction of --data's images kept for testing when it has no test split",
        low=0,
        high=1,
        open_low=True,
        open_high=True,
        group="files",
    )
    image_channels: int = setting(
        "image channels: 1 grey, 3 colour (from the data)", low=1, high=3, cli=False
    )
    image_height: int = setting(
        "image height in pixels (from the data)", low=1, high=4096, cli=False
    )
    image_width: int = setting("image width in pixels (from the data)", low=1, high=4096, cli=False)
    epochs: int = setting("passes over the training set", low=1, high=100_000)
    batch_size: int = setting("images per step", low=1, high=1_000_000)
    lr: float = setting("learning rate", low=0, open_low=True, open_high=True)
    lr_schedule: str = setting(
        "cosine: decay to 0 over the run; constant", choices=("cosine", "constant")
    )
    adam_beta2: float = setting("Adam's second-moment decay", low=0, high=1, open_high=True)
    precision: str = setting(
        "fp32, or bf16: training steps autocast convolutions and matrix products to bfloat16 "
        "(fast on GPUs and on CPUs with AVX512-BF16 or AMX); codebooks and losses stay fp32",
        choices=PRECISIONS,
    )
    seed: int = setting(
        "fixes initialisation, data order, noise and sampling", low=0, high=2**32 - 1
    )
    limit: int | None = setting("use only the first N training images", low=1, high=10**9)
    binarize: bool = setting(
        "dynamic binarization: pixels drawn as Bernoulli(intensity) every batch"
    )
    only_digit: int | None = setting(
        "train and validate on this digit only (one-class anomaly detection)", low=0, high=9
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        """A Config from a config.json's contents, migrated to the current version and validated."""
        if not isinstance(d, dict):
            raise ConfigError(f"a config must be a JSON object, got {type(d).__name__}")
        d = migrate(d)
        known = {f.name for f in fields(cls)}
        unknown, missing = sorted(set(d) - known), sorted(known - set(d))
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        if missing:
            raise ConfigError(f"config keys missing: {', '.join(missing)}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images the model takes."""
        return self.image_channels, self.image_height, self.image_width

    @property
    def levels(self) -> list[int]:
        return [int(v) for v in self.fsq_levels.split(",")]

    @property
    def n_codes(self) -> int:
        """Number of distinct codes: K for vq, the product of the levels for fsq."""
        return math.prod(self.levels) if self.quantizer == "fsq" else self.codebook_size

    def validate(self) -> None:
        """Check every field against its type, choices and bounds; a ConfigError names the first bad
        one."""
        for f in fields(self):
            check_value(f, getattr(self, f.name))
        if self.config_version != CONFIG_VERSION:
            raise ConfigError(
                f"config_version must be {CONFIG_VERSION} after "
                f"migration, got {self.config_version}"
            )
        if self.fine_blocks and self.channels < 2:
            raise ConfigError("fine_blocks needs at least 2 channels (c/2 at full size)")
        if (self.dataset == "files") != (self.data is not None):
            raise ConfigError(
                "dataset 'files' goes with --data SOURCE, and --data with no other dataset"
            )
        if self.image_size is not None:
            parse_size(self.image_size)
        if self.iw_samples > 1 and self.recon != "bce":
            raise ConfigError(
                "iw_samples > 1 needs recon 'bce': the importance "
                "weights use the Bernoulli likelihood"
            )
        if self.image_channels not in (1, 3):
            raise ConfigError(
                f"image_channels must be 1 (grey) or 3 (colour), got {self.image_channels}"
            )
        if self.backbone == "conv" and (self.image_height % 4 or self.image_width % 4):
            raise ConfigError(
                f"the conv backbone needs a height and width divisible by 4, and these images are "
                f"{self.image_height}x{self.image_width}: pass --image-size HxW to resize them, or "
                f"--backbone mlp"
            )
        try:
            levels = self.levels
        except ValueError:
            raise ConfigError(
                f"fsq_levels must be comma-separated integers, got '{self.fsq_levels}'"
            ) from None
        if not all(v >= 2 for v in levels) or math.prod(levels) > 1_048_576:
            raise ConfigError(
                f"fsq levels must each be >= 2, with a product of at most 1,048,576, got "
                f"'{self.fsq_levels}'"
            )
        parse_noise(self.noise)


def parse_size(text: str) -> tuple[int, int]:
    """'32x32' -> (32, 32): an image size as HxW."""
    h, sep, w = text.lower().partition("x")
    if not (
        sep
        and h.isascii()
        and w.isascii()
        and h.isdigit()
        and w.isdigit()
        and 0 < int(h) <= 4096
        and 0 < int(w) <= 4096
    ):
        raise ConfigError(
            f"image_size must be HxW with whole numbers from 1 to 4096, e.g. 32x32, got '{text}'"
        )
    return int(h), int(w)


TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def field_type(f) -> tuple[type, bool]:
    """(the Python type of a Config field, whether None is allowed)."""
    name = str(f.type).replace(" ", "")
    optional = name.endswith("|None")
    return TYPES[name.removesuffix("|None")], optional


def check_value(f, v: Any) -> None:
    kind, optional = field_type(f)
    m = f.metadata
    if v is None and optional:
        return
    ok_type = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        ok_type = True
    if not ok_type:
        raise ConfigError(f"{f.name} must be {kind.__name__}, got {v!r}")
    if m["choices"] and v not in m["choices"]:
        raise ConfigError(f"unknown {f.name} '{v}' (choose {', '.join(m['choices'])})")
    if kind in (int, float):
        if not math.isfinite(v):
            raise ConfigError(f"{f.name} must be a finite number, got {v}")
        low, high = m["low"], m["high"]
        if low is not None and (v <= low if m["open_low"] else v < low):
            raise ConfigError(f"{f.name} must be {bound_text(f)}, got {v}")
        if high is not None and (v >= high if m["open_high"] else v > high):
            raise ConfigError(f"{f.name} must be {bound_text(f)}, got {v}")


def bound_text(f) -> str:
    """A field's bounds in words: 'at least 1', 'positive', 'in [0, 1)'."""
    m = f.metadata
    show = lambda v: f"{v:,}" if float(v).is_integer() else f"{v:g}"  # noqa: E731
    low, high = m["low"], m["high"]
    if high is None:
        return (
            "positive"
            if m["open_low"] and low == 0
            else (f"above {show(low)}" if m["open_low"] else f"at least {show(low)}")
        )
    return (
        f"in {'(' if m['open_low'] else '['}{show(low)}, "
        f"{show(high)}{')' if m['open_high'] else ']'}"
    )


# Shared by every model kind.
DEFAULTS: dict[str, Any] = dict(
    config_version=CONFIG_VERSION,
    backbone="conv",
    latent_dim=32,
    hidden=512,
    hidden2=0,
    channels=32,
    res_blocks=1,
    fine_blocks=0,
    norm="none",
    act="relu",
    recon="mse",
    beta=0.0,
    iw_samples=1,
    kl_warmup=0,
    noise="",
    n_classes=10,
    quantizer="vq",
    codebook_size=512,
    ema=True,
    ema_decay=0.99,
    kmeans_init=True,
    restart_dead=True,
    dead_threshold=3.0,
    cosine=False,
    codebook_dim=0,
    fsq_levels="8,8,8",
    dataset="mnist",
    epochs=10,
    batch_size=128,
    lr=1e-3,
    lr_schedule="cosine",
    adam_beta2=0.999,
    precision="fp32",
    seed=0,
    limit=None,
    binarize=False,
    only_digit=None,
    data=None,
    data_hash=None,
    image_size=None,
    colour=None,
    split_seed=0,
    val_fraction=0.1,
    test_fraction=0.1,
    image_channels=1,
    image_height=28,
    image_width=28,
)

# The DAE's training corruption: the three kinds of latentzoo.noise at several strengths, one drawn
# per
# image, and a clean image among them (gaussian:0), so it learns to leave clean digits alone.
DAE_NOISE = (
    "gaussian:0|gaussian:0.1|gaussian:0.3|gaussian:0.5|mask:0.2|mask:0.4|mask:0.6|salt_pepper:0.05|"
    "salt_pepper:0.1|salt_pepper:0.2"
)

# What each model kind changes. The VQ-VAE's values were each measured against the one before on
# full
# MNIST (benchmarks/EXPERIMENTS.md); beta is its commitment weight (van den Oord et al. 2017 use
# 0.25).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "ae": dict(),
    "dae": dict(noise=DAE_NOISE, latent_dim=128),
    "vae": dict(recon="bce", beta=1.0),
    "cvae": dict(recon="bce", beta=1.0),
    "vqvae": dict(
        beta=0.25,
        latent_dim=16,
        channels=64,
        batch_size=16,
        dead_threshold=0.2,
        fine_blocks=1,
        norm="group",
        adam_beta2=0.95,
        act="gelu",
        res_blocks=2,
        epochs=15,
    ),
}

# What a version-1 config.json meant by a field it does not have: the value the code used before the
# field existed (the Config class defaults of the last v1 code). Frozen: later changes to DEFAULTS
# must not change what an old file meant.
V1_VALUES: dict[str, Any] = dict(
    model="ae",
    backbone="conv",
    latent_dim=32,
    hidden=512,
    channels=32,
    res_blocks=1,
    fine_blocks=0,
    norm="none",
    act="relu",
    recon="mse",
    beta=0.0,
    kl_warmup=0,
    noise="",
    n_classes=10,
    quantizer="vq",
    codebook_size=512,
    ema=True,
    ema_decay=0.99,
    kmeans_init=True,
    restart_dead=True,
    dead_threshold=3.0,
    cosine=False,
    codebook_dim=0,
    fsq_levels="8,8,8",
    dataset="mnist",
    epochs=10,
    batch_size=128,
    lr=1e-3,
    lr_schedule="cosine",
    adam_beta2=0.999,
    seed=0,
    limit=None,
    binarize=False,
    only_digit=None,
)


# What a version-2 config.json meant by the fields added in version 3 (frozen like V1_VALUES).
V2_VALUES: dict[str, Any] = dict(
    iw_samples=1,
    data=None,
    data_hash=None,
    image_size=None,
    colour=None,
    split_seed=0,
    val_fraction=0.1,
    test_fraction=0.1,
    image_channels=1,
    image_height=28,
    image_width=28,
)

# What a version-3 config.json meant by the field added in version 4 (frozen like V1_VALUES).
V3_VALUES: dict[str, Any] = dict(precision="fp32")

# What a version-4 config.json meant by the field added in version 5 (frozen like V1_VALUES).
V4_VALUES: dict[str, Any] = dict(hidden2=0)


def migrate(d: dict[str, Any]) -> dict[str, Any]:
    """A config.json's contents brought to CONFIG_VERSION (a new dict); the one place that knows old
    layouts."""
    version = d.get("config_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"config_version must be a whole number >= 1, got {version!r}")
    if version > CONFIG_VERSION:
        raise ConfigError(
            f"config_version {version} was written by a newer latentzoo (this one reads up to "
            f"{CONFIG_VERSION}); upgrade latentzoo"
        )
    d = dict(d)
    if version == 1:
        d = {**V1_VALUES, **d, "config_version": 2}
    if d["config_version"] == 2:
        d = {**V2_VALUES, **d, "config_version": 3}
    if d["config_version"] == 3:
        d = {**V3_VALUES, **d, "config_version": 4}
    if d["config_version"] == 4:
        d = {**V4_VALUES, **d, "config_version": 5}
    return d


def model_defaults(kind: str) -> dict[str, Any]:
    """Every field's default for a model kind."""
    if kind not in MODELS:
        raise ConfigError(f"unknown model '{kind}' (choose {', '.join(MODELS)})")
    return {**DEFAULTS, **MODEL_DEFAULTS[kind], "model": kind}


def make_config(model: str, **overrides: Any) -> Config:
    """A Config for `model` with its defaults; `None` overrides are ignored."""
    values = model_defaults(model)
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["model"] = model
    if overrides.get("data") is not None and overrides.get("dataset") is None:
        values["dataset"] = "files"
    cfg = Config(**values)
    cfg.validate()
    return cfg


def default_text(name: str) -> str:
    """A field's defaults across model kinds in words, e.g. '10; vqvae 15' (for help texts and
    tables)."""
    values = {k: model_defaults(k)[name] for k in MODELS}
    common = DEFAULTS[name]

    def shown(v):
        if v is None or isinstance(v, bool):
            return {None: "none", True: "on", False: "off"}[v]
        return f"{v:g}" if isinstance(v, float) else str(v) or "none"

    others = [f"{k} {shown(v)}" for k, v in values.items() if v != common]
    return "; ".join([shown(common)] + others)


def cli_fields() -> list:
    """The Config fields that `latentzoo train` takes as options."""
    return [f for f in fields(Config) if f.metadata["cli"]]
