"""The data-kind registry: the one place that maps a kind's name (config.json's `data.data_kind`)
to its `DataKind`. Adding a kind of data adds its module and one entry here."""

from __future__ import annotations

from ..errors import ConfigError
from .base import DataKind
from .image import ImageKind
from .photo import PhotoKind
from .signal import SignalKind
from .sound import SoundKind

DATA_KINDS: dict[str, DataKind] = {
    kind.name: kind for kind in (ImageKind(), PhotoKind(), SignalKind(), SoundKind())
}


def data_kind(name: str | None) -> DataKind:
    """The kind of data called `name`; an unknown name (or none) is a one-line ConfigError."""
    if name is None or name not in DATA_KINDS:
        raise ConfigError(f"unknown kind of data '{name}' (choose {', '.join(DATA_KINDS)})")
    return DATA_KINDS[name]
