"""The one flat configuration of a run: model, quantizer and training settings.

Saved as `config.json` in every run folder; `latentzoo.load` rebuilds the model from it. Per-model
defaults (which reconstruction loss, what `beta` means, the latent size) are filled in by
`make_config`, so a saved config always holds the values that were actually used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import ConfigError
from .noise import parse_noise

MODELS = ("ae", "dae", "vae", "cvae", "vqvae")
BACKBONES = ("mlp", "conv")
RECONS = ("mse", "bce")
QUANTIZERS = ("vq", "fsq")
SCHEDULES = ("cosine", "constant")
NORMS = ("none", "group")
ACTS = ("relu", "silu", "gelu")

# Per-model defaults, applied by make_config where the user gave no value.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "ae": dict(recon="mse", beta=0.0, latent_dim=32),
    "dae": dict(recon="mse", beta=0.0, latent_dim=32, noise="gaussian:0.5"),
    "vae": dict(recon="bce", beta=1.0, latent_dim=32),
    "cvae": dict(recon="bce", beta=1.0, latent_dim=32),
    # VQ-VAE: beta is the commitment weight (van den Oord et al. 2017 use 0.25); latent_dim is the
    # size D of each code vector on the 7x7 grid. 64 channels: 28.1 dB test PSNR after 10 epochs at
    # batch 128 (32 channels: 27.0 dB; vq-wide.md). Small batches give more steps for the same pass:
    # on 20,000 images for 3 epochs, batch 64/32/16/8 reach 25.45/26.01/26.75/27.42 dB
    # (vq-steps-proxy.md); on full MNIST batch 16 beats batch 64 (vq-batch16.md, vq-batch64.md) and
    # batch 8 adds nothing (vq-batch8.md). The Bernoulli loss with lr 2e-3 helps on that proxy but
    # not on full MNIST (vq-batch16-bce.md). dead_threshold is set for batch 16 (see below).
    # That batch-16 setting's full-scale result: vq-default-batch16.md.
    # fine_blocks=1 (a residual block at 14x14 and a 3x3 conv at 28x28 at each end): 31.65 dB on full
    # MNIST against 29.71 without (vq-fine.md, vq-default-batch16.md), 28.48 against 26.75 on that
    # proxy (vq-fine-proxy.md); 21 min for 10 epochs on 2 cores either way.
    # norm="group" (GroupNorm in the residual blocks) and dead_threshold=0.2: 32.54 dB on full MNIST
    # against 31.65 (vq-norm.md, vq-fine.md), 25 min for 10 epochs; on the 20,000-image proxy 29.39 dB
    # against 28.48 (GroupNorm alone 29.09, threshold 0.2 alone 28.79).
    # Adam's beta2 (adam_beta2) 0.95 instead of 0.999: 32.70 dB against 32.54 on full MNIST, with its prior,
    # samples and textbook comparison (vq-b95.md, vq-norm.md; two different CPUs); on the proxy, one CPU,
    # 29.86 dB against 29.39 (0.9: 29.80, 0.95 with lr 2e-3: 29.49, with lr 7e-4: 29.55). 0.99 on full
    # MNIST: 32.65 dB (vq-adam.md).
    # act="gelu" (GELU instead of ReLU in every hidden layer): 33.31 dB against 32.70 on full MNIST, one
    # CPU (vq-gelu.md, vq-b95.md), as much as 20 epochs with ReLU give (33.29, vq-b95-20ep.md); about 15%
    # more time per step. On the proxy 30.36 and 29.80 dB at seeds 0 and 1 against 29.86 and 29.75 (SiLU 30.12
    # at seed 0).
    # res_blocks=2 (two residual blocks at 7x7 in encoder and decoder): 33.93 dB against 33.31 on full
    # MNIST (vq-res2.md, vq-gelu.md; two different CPUs), 19 min for 10 epochs on an AMD EPYC's 2 cores;
    # on the proxy 30.62 and 30.52 dB at seeds 0 and 1 against 30.37 and 29.79 (three blocks 30.64 at
    # seed 0; D=32 30.06, D=8 30.19; vq-capacity-proxy.md).
    # epochs=15 (the other model kinds train for 10): 34.29 dB against 33.93 for 10 epochs, 30 min
    # against 19 on an AMD EPYC's 2 cores (vq-res2-15ep.md, vq-res2.md); the default with its textbook
    # comparison, prior and samples: vq-default-15ep.md.
    "vqvae": dict(recon="mse", beta=0.25, latent_dim=16, channels=64, batch_size=16, dead_threshold=0.2,
                  fine_blocks=1, norm="group", adam_beta2=0.95, act="gelu", res_blocks=2, epochs=15),
}


@dataclass
class Config:
    # --- model
    model: str = "ae"              # one of MODELS
    backbone: str = "conv"         # mlp: 784-512-256-latent; conv: 28 -> 14 -> 7 and back (VQ-VAE: always conv)
    latent_dim: int = 32           # latent vector size; VQ-VAE: size D of each code vector
    hidden: int = 512              # mlp: widths hidden, hidden/2
    channels: int = 32             # conv: channels at 14x14; 2x that at 7x7
    res_blocks: int = 1            # conv: residual blocks at 7x7 in encoder and decoder; VQ-VAE: 2 (MODEL_DEFAULTS)
    fine_blocks: int = 0           # conv: residual blocks at 14x14, plus a 3x3 conv at 28x28, each end
    norm: str = "none"             # conv: normalisation inside residual blocks: none | group (GroupNorm)
    act: str = "relu"              # activation of every hidden layer: relu | silu | gelu; VQ-VAE: gelu (MODEL_DEFAULTS)
    recon: str = "mse"             # reconstruction loss, summed over pixels: mse | bce (Bernoulli)
    beta: float = 0.0              # VAE/CVAE: KL weight; VQ-VAE: commitment weight
    kl_warmup: int = 0             # VAE/CVAE: epochs over which the KL weight ramps from 0 to beta
    noise: str = ""                # DAE: corruption spec (see latentzoo.noise)
    n_classes: int = 10            # CVAE: number of labels it is conditioned on
    # --- quantizer (VQ-VAE)
    quantizer: str = "vq"          # vq (nearest codebook vector) | fsq (finite scalar quantization)
    codebook_size: int = 512       # K
    ema: bool = True               # EMA codebook updates (van den Oord et al. 2017, appendix)
    ema_decay: float = 0.99
    kmeans_init: bool = True       # k-means init from the first batch (Dhariwal et al. 2020, Jukebox)
    restart_dead: bool = True      # reset codes unused for a while to encoder outputs (Jukebox)
    dead_threshold: float = 3.0    # a code is dead when its EMA usage count per step falls below this
    #                                (3 vs 1 at batch 128: perplexity 422 vs 396, PSNR 28.06 vs 28.10;
    #                                vq-codebooks.md); it does not scale with the batch: 0.75 at batch
    #                                16 is half the mean use B*49/K of a code (vq-steps-proxy.md); the
    #                                VQ-VAE's default 0.2 restarts fewer codes that are rare but used
    cosine: bool = False           # l2-normalised codes and inputs (Yu et al. 2022, ViT-VQGAN)
    codebook_dim: int = 0          # >0: look up in a projected space of this size (ViT-VQGAN)
    fsq_levels: str = "8,8,8"      # FSQ levels per channel (Mentzer et al. 2023); K = product
    # --- training
    dataset: str = "mnist"
    epochs: int = 10               # VQ-VAE: 15 (MODEL_DEFAULTS)
    batch_size: int = 128          # VQ-VAE: 16 (MODEL_DEFAULTS)
    lr: float = 1e-3
    lr_schedule: str = "cosine"    # cosine: decay to 0 over the run (Loshchilov & Hutter 2017) | constant
    adam_beta2: float = 0.999      # Adam's second-moment decay (Kingma & Ba 2015); VQ-VAE: 0.95 (MODEL_DEFAULTS)
    seed: int = 0
    limit: int | None = None       # use only the first N training images
    binarize: bool = False         # dynamic binarization: pixels drawn as Bernoulli(intensity) every batch
    only_digit: int | None = None  # train and validate on this digit only (one-class anomaly detection)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    @property
    def levels(self) -> list[int]:
        return [int(v) for v in self.fsq_levels.split(",")]

    @property
    def n_codes(self) -> int:
        """Number of distinct codes: K for vq, the product of the levels for fsq."""
        if self.quantizer == "fsq":
            n = 1
            for v in self.levels:
                n *= v
            return n
        return self.codebook_size

    def validate(self) -> None:
        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(msg)

        check(self.model in MODELS, f"unknown model '{self.model}' (choose {', '.join(MODELS)})")
        check(self.backbone in BACKBONES, f"unknown backbone '{self.backbone}' (choose {', '.join(BACKBONES)})")
        check(self.recon in RECONS, f"unknown reconstruction loss '{self.recon}' (choose {', '.join(RECONS)})")
        check(self.quantizer in QUANTIZERS, f"unknown quantizer '{self.quantizer}' (choose {', '.join(QUANTIZERS)})")
        for name in ("latent_dim", "hidden", "channels", "codebook_size", "epochs", "batch_size", "n_classes"):
            check(getattr(self, name) >= 1, f"{name} must be at least 1, got {getattr(self, name)}")
        check(self.res_blocks >= 0, f"res_blocks must be >= 0, got {self.res_blocks}")
        check(self.fine_blocks >= 0, f"fine_blocks must be >= 0, got {self.fine_blocks}")
        check(not (self.fine_blocks and self.channels < 2), "fine_blocks needs at least 2 channels (c/2 at 28x28)")
        check(self.norm in NORMS, f"unknown norm '{self.norm}' (choose {', '.join(NORMS)})")
        check(self.act in ACTS, f"unknown activation '{self.act}' (choose {', '.join(ACTS)})")
        check(self.lr > 0, f"lr must be positive, got {self.lr}")
        check(0 <= self.adam_beta2 < 1, f"adam_beta2 must be in [0, 1), got {self.adam_beta2}")
        check(self.lr_schedule in SCHEDULES, f"unknown lr schedule '{self.lr_schedule}' (choose {', '.join(SCHEDULES)})")
        check(self.beta >= 0, f"beta must be >= 0, got {self.beta}")
        check(self.kl_warmup >= 0, f"kl_warmup must be >= 0, got {self.kl_warmup}")
        check(0 < self.ema_decay < 1, f"ema_decay must be in (0, 1), got {self.ema_decay}")
        check(self.codebook_dim >= 0, f"codebook_dim must be >= 0, got {self.codebook_dim}")
        check(self.limit is None or self.limit >= 1, f"limit must be at least 1, got {self.limit}")
        check(self.only_digit is None or 0 <= self.only_digit <= 9, f"only_digit must be 0-9, got {self.only_digit}")
        try:
            levels = self.levels
        except ValueError:
            raise ConfigError(f"fsq_levels must be comma-separated integers, got '{self.fsq_levels}'") from None
        check(all(v >= 2 for v in levels), f"fsq levels must each be >= 2, got '{self.fsq_levels}'")
        check(not (self.model == "vqvae" and self.backbone != "conv"),
              "vqvae needs the conv backbone (its latent is a 7x7 grid of code vectors)")
        parse_noise(self.noise)


def make_config(model: str, **overrides: Any) -> Config:
    """A Config for `model` with its per-model defaults; `None` overrides are ignored."""
    if model not in MODELS:
        raise ConfigError(f"unknown model '{model}' (choose {', '.join(MODELS)})")
    values = dict(MODEL_DEFAULTS[model])
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["model"] = model
    return Config.from_dict(values)
