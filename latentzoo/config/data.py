"""The settings of a run's data: which data set (or the user's own files, and how they load), which
of its examples train, and what the data turned out to be (its shape and labels, filled in by
`train` from the data, never options).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from ..data import DATASETS
from ..errors import ConfigError
from ..photos import PATCH, PATCHES
from ..sounds import SOUND_WINDOW
from .settings import Settings, setting

DATASETS_KIND = "image"  # what the bundled data sets (mnist, digits) hold
FILES = "files"  # the group of the settings of the user's own files; any other group is a kind's
# a kind of data that is another with more to it takes that one's settings and model defaults:
# sound is a signal with a sample rate, in audio files
BASE_KIND = {"sound": "signal"}


def kinds_of(kind: str) -> tuple[str, ...]:
    """A kind of data and the kind it builds on, if any: ('sound', 'signal')."""
    return (kind, BASE_KIND[kind]) if kind in BASE_KIND else (kind,)


def parse_size(text: str) -> tuple[int, int]:
    """'32x32' -> (32, 32): an image size as HxW."""
    h, sep, w = text.lower().partition("x")
    digits = sep and h.isascii() and w.isascii() and h.isdigit() and w.isdigit()
    if not (digits and 0 < int(h) <= 4096 and 0 < int(w) <= 4096):
        raise ConfigError(
            f"image_size must be HxW with whole numbers from 1 to 4096, e.g. 32x32, got '{text}'"
        )
    return int(h), int(w)


@dataclass(kw_only=True)
class DataSettings(Settings):
    section: ClassVar[str] = "data"

    data_kind: str | None = setting(
        "the kind of data: image, photo, signal or sound (unset: from --data, see "
        "docs/own-data.md's 'Photos', 'Signals' and 'Sound')",
        default=None,
    )
    dataset: str = setting(
        "data set (files: the images of --data)", default="mnist", choices=(*DATASETS, "files")
    )
    source: str | None = setting(
        "your own images: a folder of image files (labels from subfolder names), a folder of IDX "
        "files in MNIST's layout, or a .npy/.npz array",
        default=None,
        group="files",
    )
    data_hash: str | None = setting(
        "SHA-256 of the --data images and labels as loaded", default=None, cli=False, group="files"
    )
    image_size: str | None = setting(
        "resize the --data images to HxW as they load, e.g. 32x32", default=None, group="image"
    )
    colour: str | None = setting(
        "convert the --data images to grey or rgb as they load",
        default=None,
        choices=("grey", "rgb"),
        group="image",
    )
    split_seed: int = setting(
        "seed of the validation and test images carved from --data when it has none",
        default=0,
        low=0,
        high=2**32 - 1,
        group="files",
    )
    val_fraction: float = setting(
        "fraction of --data's training images kept for validation",
        default=0.1,
        low=0,
        high=1,
        open_low=True,
        open_high=True,
        group="files",
    )
    test_fraction: float = setting(
        "fraction of --data's images kept for testing when it has no test split",
        default=0.1,
        low=0,
        high=1,
        open_low=True,
        open_high=True,
        group="files",
    )
    load: str = setting(
        "how --data is read: memory (decoded once), lazy (a folder of image files or a .npy read "
        "batch by batch, the same batches), auto (lazy when decoded it would fill a quarter of "
        "the memory)",
        default="auto",
        choices=("auto", "memory", "lazy"),
        group="files",
    )
    workers: int = setting(
        "processes that decode --data's files ahead of training when it is read lazily",
        default=2,
        low=0,
        high=64,
        group="files",
    )
    limit: int | None = setting(
        "use only the first N training images", default=None, low=1, high=10**9
    )
    only_digit: int | None = setting(
        "train and validate on this digit only (one-class anomaly detection)",
        default=None,
        low=0,
        high=9,
    )
    binarize: bool = setting(
        "dynamic binarization: pixels drawn as Bernoulli(intensity) every batch", default=False
    )
    patch: int | None = setting(
        f"photos: pixels a side of the square patches cut to train on (unset: {PATCH})",
        default=None,
        low=8,
        high=4096,
        group="photo",
    )
    patches: int | None = setting(
        "photos: random patches cut from the --data photos, split into training, validation and "
        f"test patches (unset: {PATCHES})",
        default=None,
        low=3,
        high=10**8,
        group="photo",
    )
    window: int | None = setting(
        "read --data as one long recording (T,) or (T, C), cut into windows of N samples (sound: "
        f"every file is a recording; unset: {SOUND_WINDOW})",
        default=None,
        low=2,
        high=10**8,
        group="signal",
    )
    hop: int | None = setting(
        "samples from one window's start to the next (unset: half a --window)",
        default=None,
        low=1,
        high=10**8,
        group="signal",
    )
    label_column: int | None = setting(
        "the column of a CSV of series that holds their labels (UCR files: 0)",
        default=None,
        low=0,
        high=10**6,
        group="signal",
    )
    length: int | None = setting(
        "resample every series to N samples (linear interpolation), e.g. series of unequal length",
        default=None,
        low=2,
        high=10**8,
        group="signal",
    )
    rate: float | None = setting(
        "sample rate of the signals in Hz", default=None, low=0, open_low=True, group="signal"
    )
    channel_mean: tuple[float, ...] | None = setting(
        "each channel's mean over the training series (normalisation)",
        default=None,
        cli=False,
        group="signal",
    )
    channel_std: tuple[float, ...] | None = setting(
        "each channel's standard deviation over the training series (normalisation)",
        default=None,
        cli=False,
        group="signal",
    )
    shape: tuple[int, ...] = setting(
        "shape of one example, e.g. (C, H, W) for images, from the data",
        default=(1, 28, 28),
        cli=False,
    )
    n_classes: int = setting(
        "number of labels in the data, 0 for none (the CVAE is conditioned on them)",
        default=10,
        low=0,
        high=100_000,
        cli=False,
    )

    # the settings that decide which images a run trains, validates and tests on
    IMAGES: ClassVar[tuple[str, ...]] = (
        "dataset",
        "data_hash",
        "image_size",
        "colour",
        "split_seed",
        "val_fraction",
        "test_fraction",
        "only_digit",
        "data_kind",
        "patch",
        "patches",
        "window",
        "hop",
        "label_column",
        "length",
    )

    def same_images(self, other: DataSettings) -> bool:
        """Whether two runs' data settings pick the same images."""
        return all(getattr(self, k) == getattr(other, k) for k in self.IMAGES)

    def groups(self) -> set[str]:
        kinds = kinds_of(self.data_kind or DATASETS_KIND)
        return {FILES, *kinds} if self.dataset == "files" else set()

    @property
    def window_hop(self) -> int:
        """Samples between windows of a recording: --hop, else half a --window."""
        assert self.window is not None
        return self.hop or max(1, self.window // 2)

    def check(self) -> None:
        if (self.dataset == "files") != (self.source is not None):
            raise ConfigError(
                "dataset 'files' goes with --data SOURCE, and --data with no other dataset"
            )
        if self.image_size is not None:
            parse_size(self.image_size)
        kind = self.data_kind or DATASETS_KIND
        for f in fields(self):
            group = f.metadata["group"]
            if group not in (None, FILES, *kinds_of(kind)) and getattr(self, f.name) is not None:
                raise ConfigError(
                    f"--{f.name.replace('_', '-')} applies to {group} data, and this is {kind} data"
                )
        if self.hop is not None and self.window is None:
            raise ConfigError("--hop goes with --window (it cuts one recording into windows)")
        if self.hop is not None and self.window is not None and self.hop > self.window:
            raise ConfigError(f"--hop {self.hop} is longer than --window {self.window}")
