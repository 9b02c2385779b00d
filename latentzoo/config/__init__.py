"""A run's configuration, split by concern: the model kind and its settings, the data settings and
the training settings (and, in its own file, the code prior's settings).

    cfg = make_config("vae", epochs=20, kl_weight=0.5)    # Config(kind, model, data, train)
    cfg.model.kl_weight, cfg.data.shape, cfg.train.epochs

- `settings`: the field machinery (help, bounds, defaults, JSON, options) every class shares;
- `model`: one settings class per model kind (`MODEL_SETTINGS`, the list of kinds);
- `data`, `train`: the data and training settings;
- `prior`: the code prior's settings (`PriorConfig`);
- `migrate`: config.json files of every earlier version, brought to today's layout.

Every default has one home: its settings class (a kind's training defaults in its
`train_defaults`). `make_config(kind, **settings)` takes each setting by its unique name, whichever
section holds it; the command line's options, help and validation are generated from the same
fields. Saved as config.json in every run folder, with its `config_version`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import ConfigError
from ..series import source_kind
from .data import DataSettings, kinds_of, parse_size
from .migrate import CONFIG_VERSION, RENAMED, migrate
from .model import (
    DAE_NOISE,
    MODEL_SETTINGS,
    MODELS,
    AESettings,
    CVAESettings,
    DAESettings,
    ModelSettings,
    VAESettings,
    VectorSettings,
    VQVAESettings,
)
from .prior import PriorConfig
from .settings import Settings, bound_text, check_value, field_type, setting, shown
from .train import TrainSettings

SECTIONS = ("model", "data", "train")


@dataclass(kw_only=True)
class Config:
    """A run's configuration: the model `kind` and its settings, the data's and training's."""

    kind: str
    model: ModelSettings
    data: DataSettings
    train: TrainSettings
    config_version: int = CONFIG_VERSION

    def validate(self) -> None:
        if self.kind not in MODEL_SETTINGS:
            raise ConfigError(f"unknown model '{self.kind}' (choose {', '.join(MODELS)})")
        if type(self.model) is not MODEL_SETTINGS[self.kind]:
            raise ConfigError(f"a {self.kind} takes {MODEL_SETTINGS[self.kind].__name__}")
        if self.config_version != CONFIG_VERSION:
            raise ConfigError(
                f"config_version must be {CONFIG_VERSION} after migration, got "
                f"{self.config_version}"
            )
        for section in SECTIONS:
            getattr(self, section).validate()

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_version": self.config_version,
            "kind": self.kind,
            **{s: getattr(self, s).to_dict() for s in SECTIONS},
        }

    @classmethod
    def from_dict(cls, d: Any) -> Config:
        """A Config from a config.json's contents, migrated to the current version and validated."""
        if not isinstance(d, dict):
            raise ConfigError(f"a config must be a JSON object, got {type(d).__name__}")
        d = migrate(d)
        unknown = sorted(set(d) - {"config_version", "kind", *SECTIONS})
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        kind = d.get("kind")
        if kind not in MODEL_SETTINGS:
            raise ConfigError(f"unknown model '{kind}' (choose {', '.join(MODELS)})")
        classes: dict[str, type[Settings]] = {
            "model": MODEL_SETTINGS[kind],
            "data": DataSettings,
            "train": TrainSettings,
        }
        sections: dict[str, Any] = {s: c.from_dict(d.get(s, {})) for s, c in classes.items()}
        cfg = cls(kind=kind, config_version=d["config_version"], **sections)
        cfg.validate()
        return cfg

    def settings(self) -> dict[str, Any]:
        """Every setting by its name, across the sections."""
        return {f.name: getattr(s, f.name) for s in self.sections() for f in fields(s)}

    def sections(self) -> tuple[Settings, ...]:
        return tuple(getattr(self, s) for s in SECTIONS)

    def applicable(self) -> dict[str, Any]:
        """The settings that mean something for this run, by name (e.g. no mlp widths for a conv
        network, no import settings for MNIST)."""
        return {k: v for s in self.sections() for k, v in s.applicable().items()}

    def replace(self, **changes: Any) -> Config:
        """A new Config with settings changed by name (whichever section holds them), validated."""
        by_section: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        for name, value in changes.items():
            by_section[section_of(self.kind, name)][name] = value
        new = replace(
            self, **{s: replace(getattr(self, s), **v) for s, v in by_section.items() if v}
        )
        new.validate()
        return new


def section_of(kind: str, name: str) -> str:
    """The section that holds the setting `name` for a model kind; a ConfigError names the kinds
    that have it when this one does not."""
    classes = {"model": MODEL_SETTINGS[kind], "data": DataSettings, "train": TrainSettings}
    for section, cls in classes.items():
        if name in {f.name for f in fields(cls)}:
            return section
    owners = [k for k, c in MODEL_SETTINGS.items() if name in {f.name for f in fields(c)}]
    if name in RENAMED:
        now = ", ".join(f"{new} for a {k}" for k, new in RENAMED[name].items())
        raise ConfigError(f"{name} is now {now}; a {kind} has none of these")
    if owners:
        raise ConfigError(f"{name} is a setting of {' and '.join(owners)}, not of {kind}")
    raise ConfigError(f"unknown config keys: {name}")


def renamed(kind: str, name: str) -> str:
    """A setting's name today, for a name that an earlier version used (`beta`, ...)."""
    return RENAMED.get(name, {}).get(kind, name)


def make_config(model: str, **overrides: Any) -> Config:
    """A Config for the model kind `model` with its defaults, each override given by its setting's
    name; `None` overrides are ignored. Names of earlier versions (`beta`, a VQ-VAE's
    `latent_dim`, `data`) still work, with a DeprecationWarning."""
    if model not in MODEL_SETTINGS:
        raise ConfigError(f"unknown model '{model}' (choose {', '.join(MODELS)})")
    given: dict[str, Any] = {}
    for name, value in overrides.items():
        new = renamed(model, name)
        if new != name:
            warnings.warn(f"{name} is now {new} for a {model}", DeprecationWarning, stacklevel=2)
        if value is not None:
            given[new] = value
    if given.get("source") is not None and "dataset" not in given:
        given["dataset"] = "files"
    model_cls = MODEL_SETTINGS[model]
    given["data_kind"] = given.get("data_kind") or kind_of_data(given)
    by_section: dict[str, dict[str, Any]] = {"model": {}, "data": {}, "train": {}}
    by_section["train"].update(model_cls.train_defaults)
    for kind in reversed(kinds_of(given["data_kind"])):  # a base kind's defaults, then its own
        for name, value in model_cls.data_defaults.get(kind, {}).items():
            by_section[section_of(model, name)][name] = value  # model or training settings
    for name, value in given.items():
        by_section[section_of(model, name)][name] = value
    cfg = Config(
        kind=model,
        model=model_cls(**by_section["model"]),
        data=DataSettings(**by_section["data"]),
        train=TrainSettings(**by_section["train"]),
    )
    cfg.validate()
    return cfg


def kind_of_data(given: dict[str, Any]) -> str:
    """The kind of data that settings without `data_kind` pick: a data set's images, or what the
    source holds (latentzoo.series.source_kind)."""
    if given.get("dataset", "mnist") != "files" or given.get("source") is None:
        return "image"
    return source_kind(given["source"], window=given.get("window") is not None)


def option_fields() -> dict[str, Any]:
    """Every field that `latentzoo train` takes as an option, by name (each name once)."""
    out: dict[str, Any] = {}
    classes: list[type[Settings]] = [*MODEL_SETTINGS.values(), DataSettings, TrainSettings]
    for cls in classes:
        for f in cls.options():
            out.setdefault(f.name, f)
    return out


def default_text(name: str) -> str:
    """A setting's defaults across the model kinds that have it, in words, e.g. '10; vqvae 15'
    (for help texts and tables)."""
    values = {}
    for kind in MODELS:
        try:
            section = section_of(kind, name)
        except ConfigError:
            continue
        values[kind] = getattr(getattr(make_config(kind), section), name)
    listed = list(values.values())
    common = max(listed, key=listed.count)
    others = [f"{k} {shown(v)}" for k, v in values.items() if v != common]
    return "; ".join([shown(common)] + others)


def kinds_with(name: str) -> tuple[str, ...]:
    """The model kinds that have the setting `name` (all of them for data and training)."""
    return tuple(k for k in MODELS if _has(k, name))


def _has(kind: str, name: str) -> bool:
    try:
        section_of(kind, name)
    except ConfigError:
        return False
    return True


__all__ = [
    "CONFIG_VERSION",
    "Config",
    "DAE_NOISE",
    "MODELS",
    "MODEL_SETTINGS",
    "SECTIONS",
    "AESettings",
    "CVAESettings",
    "DAESettings",
    "DataSettings",
    "ModelSettings",
    "PriorConfig",
    "Settings",
    "TrainSettings",
    "VAESettings",
    "VectorSettings",
    "VQVAESettings",
    "bound_text",
    "check_value",
    "default_text",
    "field_type",
    "kinds_with",
    "make_config",
    "migrate",
    "option_fields",
    "parse_size",
    "renamed",
    "section_of",
    "setting",
    "shown",
]
