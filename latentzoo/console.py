"""What a long job shows the user: one log function and one progress bar for every loop.

On a terminal (or with progress=True) loops show a tqdm bar; otherwise they print one line per epoch
through `log`, which by default writes to stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

Log = Callable[[str], None]


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def quiet(msg: str) -> None:
    """A log that drops every message (tests, nested jobs)."""


def use_progress_bar(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def progress_bar(
    iterable: Iterable, total: int | None = None, desc: str = "", progress: bool | None = None
):
    """`iterable` wrapped in a tqdm bar on a terminal (or when progress=True); unchanged
    otherwise."""
    if not use_progress_bar(progress):
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr)
