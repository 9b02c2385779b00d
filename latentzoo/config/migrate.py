"""config.json files of every earlier version, brought to today's layout: the one place that knows
old layouts.

Versions 1 to 5 were one flat object of every field for every model kind. An older file lacks
fields that were added later; `migrate` fills them with the values that code used then (frozen
here: later changes to the defaults must not change what an old file meant): `V1_VALUES` for
version 1, `V2_VALUES` for version 2 (every run then was 1 x 28 x 28 MNIST or digits),
`V3_VALUES` for version 3 (every run trained in fp32), `V4_VALUES` for version 4 (every mlp's
second layer was hidden/2), `V5_VALUES` for version 5 (every run was of images, read into memory).
Version 6 splits the fields by concern (`model`, `data`, `train`), keeps for each kind only the
settings it has, and renames those whose one name meant two things (`RENAMED`). Version 7 adds the
signals' settings (`V6_DATA`, `V6_MODEL`: every earlier run was of images). Version 8 lets an
autoencoder's latent be a grid (`V7_AE`: every earlier AE and DAE had a vector). Version 9 adds
photos (`V8_DATA`) and the skip around a grid latent (`V8_AE`: none before). Version 10 lets the
skip's full-size block be deep (`V9_AE`: every earlier one had one hidden convolution). Version 11
adds the residual quantizer's settings (`V10_VQVAE`: no earlier VQ-VAE had one, so the values only
fill the fields). Version 12 adds the spectral loss's weight (`V11_MODEL`: none before, for every
kind) and a DAE's noise recordings and relative loss (`V11_DAE`: none, off). Version 13 adds the
intelligibility loss's weight (`V12_MODEL`: none before, for every kind). Version 14 adds the
flips and turns that training batches are drawn in (`V13_TRAIN`: none before).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ..errors import ConfigError
from .data import DataSettings
from .model import MODEL_SETTINGS, MODELS
from .train import TrainSettings

CONFIG_VERSION = 14

# Old name -> {model kind: today's name}. `beta` was a VAE's KL weight and a VQ-VAE's commitment
# weight; `latent_dim` was also the size of a VQ-VAE's code vectors; `data` (the user's files) is
# now `source`, beside the data settings it belongs to.
RENAMED: dict[str, dict[str, str]] = {
    "beta": {"vae": "kl_weight", "cvae": "kl_weight", "vqvae": "commitment"},
    "latent_dim": {"vqvae": "code_dim"},
    "data": {k: "source" for k in MODELS},
}

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
V3_VALUES: dict[str, Any] = dict(precision="fp32")
V4_VALUES: dict[str, Any] = dict(hidden2=0)
# what every run of versions 1 to 5 did: images, read into memory (version 6 names both)
V5_VALUES: dict[str, Any] = dict(data_kind="image", load="memory", workers=2)
# version 7 added signals: every earlier run was of images
V6_DATA: dict[str, Any] = dict(
    window=None,
    hop=None,
    label_column=None,
    length=None,
    rate=None,
    channel_mean=None,
    channel_std=None,
)
V6_MODEL: dict[str, Any] = dict(downsample=0)
V7_AE: dict[str, Any] = dict(latent="vector")
V8_DATA: dict[str, Any] = dict(patch=None, patches=None)
V8_AE: dict[str, Any] = dict(skip="none")
V9_AE: dict[str, Any] = dict(skip_depth=1)  # one hidden layer in every earlier full-size block
V10_VQVAE: dict[str, Any] = dict(codebooks=8, quantizer_dropout=True)
V11_MODEL: dict[str, Any] = dict(spectral=0.0)
V11_DAE: dict[str, Any] = dict(noise_files=None, relative_loss=False)
V12_MODEL: dict[str, Any] = dict(stoi=0.0)
V13_TRAIN: dict[str, Any] = dict(views=1)
FLAT_FIELDS = {*V1_VALUES, *V2_VALUES, *V3_VALUES, *V4_VALUES, "config_version"}


def migrate(d: dict[str, Any]) -> dict[str, Any]:
    """A config.json's contents brought to CONFIG_VERSION (a new dict)."""
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
    if d["config_version"] == 5:
        d = by_concern(d)
    if d["config_version"] == 6:
        d = {**d, "config_version": 7}
        for section, values in (("data", V6_DATA), ("model", V6_MODEL)):
            if isinstance(d.get(section), dict):
                d[section] = {**values, **d[section]}
    if d["config_version"] == 7:
        d = {**d, "config_version": 8}
        if d.get("kind") in ("ae", "dae") and isinstance(d.get("model"), dict):
            d["model"] = {**V7_AE, **d["model"]}
    if d["config_version"] == 8:
        d = {**d, "config_version": 9}
        if isinstance(d.get("data"), dict):
            d["data"] = {**V8_DATA, **d["data"]}
        if d.get("kind") in ("ae", "dae") and isinstance(d.get("model"), dict):
            d["model"] = {**V8_AE, **d["model"]}
    if d["config_version"] == 9:
        d = {**d, "config_version": 10}
        if d.get("kind") in ("ae", "dae") and isinstance(d.get("model"), dict):
            d["model"] = {**V9_AE, **d["model"]}
    if d["config_version"] == 10:
        d = {**d, "config_version": 11}
        if d.get("kind") == "vqvae" and isinstance(d.get("model"), dict):
            d["model"] = {**V10_VQVAE, **d["model"]}
    if d["config_version"] == 11:
        d = {**d, "config_version": 12}
        if isinstance(d.get("model"), dict):
            d["model"] = {**V11_MODEL, **d["model"]}
            if d.get("kind") == "dae":
                d["model"] = {**V11_DAE, **d["model"]}
    if d["config_version"] == 12:
        d = {**d, "config_version": 13}
        if isinstance(d.get("model"), dict):
            d["model"] = {**V12_MODEL, **d["model"]}
    if d["config_version"] == 13:
        d = {**d, "config_version": 14}
        if isinstance(d.get("train"), dict):
            d["train"] = {**V13_TRAIN, **d["train"]}
    return d


def by_concern(flat: dict[str, Any]) -> dict[str, Any]:
    """A flat version-5 config as version 6: each field in its section, under today's name; the
    fields that the run's model kind never read are left out."""
    missing = sorted(FLAT_FIELDS - set(flat))
    unknown = sorted(set(flat) - FLAT_FIELDS)
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
    if missing:
        raise ConfigError(f"config keys missing: {', '.join(missing)}")
    kind = flat["model"]
    if kind not in MODEL_SETTINGS:
        raise ConfigError(f"unknown model '{kind}' (choose {', '.join(MODELS)})")
    values = {k: v for k, v in flat.items() if k not in ("config_version", "model")}
    values["shape"] = [values.pop(k) for k in ("image_channels", "image_height", "image_width")]
    homes = {
        "model": {f.name for f in fields(MODEL_SETTINGS[kind])},
        "data": {f.name for f in fields(DataSettings)},
        "train": {f.name for f in fields(TrainSettings)},
    }
    out: dict[str, Any] = {"config_version": 6, "kind": kind, "model": {}, "data": {}, "train": {}}
    for name, value in {**V5_VALUES, **values}.items():
        name = RENAMED.get(name, {}).get(kind, name)
        section = next((s for s, names in homes.items() if name in names), None)
        if section is not None:
            out[section][name] = value
    return out
