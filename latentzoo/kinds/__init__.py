"""Kinds of data behind one interface: `base.DataKind`; `image.ImageKind` (images);
`signal.SignalKind` (signals: series and recordings); `registry` (name -> kind). A run's config
names its kind (`cfg.data.data_kind`); callers ask `data_kind(name)` for what differs, and never
branch on the name."""

from .base import DataKind
from .image import ImageKind
from .registry import DATA_KINDS, data_kind
from .signal import SignalKind

__all__ = ["DATA_KINDS", "DataKind", "ImageKind", "SignalKind", "data_kind"]
