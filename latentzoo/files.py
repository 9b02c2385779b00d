"""Safe files: atomic writes, JSON and CSV, safetensors checkpoints. Nothing here pickles.

Every file is written to a temporary name in the same folder and then renamed, so a crash never
leaves a half-written file. Tensors go to safetensors, everything else to JSON or CSV.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .errors import RunError


def check_writable(path: str | os.PathLike, folder: bool = False) -> None:
    """Fail early, before any work, when `path` (a file, or with `folder` a folder) can never be
    written: an over-long name, a folder where the file should go, a file where a folder should
    be."""
    path = Path(path)
    for part in path.parts:
        if len(os.fsencode(part)) > 255:
            raise OSError(errno.ENAMETOOLONG, "File name too long", str(path))
    if path.is_dir() and not folder:
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    if folder and path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path))
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(parent))


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    # disk full, read-only folder, a signal: the old file stays, the partial one goes
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def staged():
    """For files written in pieces: `temp(path)` names a temporary file beside `path`; when the
    block ends every one is renamed into place, and when it fails every one is removed."""
    temps: dict[Path, Path] = {}
    made: list[Path] = []  # folders made for the files, removed again on failure

    def temp(path: str | os.PathLike) -> Path:
        path = Path(path)
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        made.extend(missing)  # deepest first
        temps[path] = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        return temps[path]

    try:
        yield temp
        for tmp in temps.values():
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        for folder in made:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise


def write_json(path: str | os.PathLike, obj: Any, sort_keys: bool = True) -> Path:
    return atomic_write(path, json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file's contents; a missing or unreadable file is a RunError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"{path}: unreadable JSON ({e})") from None


def write_csv(
    path: str | os.PathLike, rows: list[dict[str, Any]], fields: list[str] | None = None
) -> Path:
    """A CSV of `rows` (dicts), its columns `fields` or every key in order of appearance."""
    keys: list[str] = list(fields or [])
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    return atomic_write(path, buf.getvalue())


def read_csv(path: str | os.PathLike, numeric: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The rows of a CSV file; a damaged file, or a row whose `numeric` columns are not numbers, is
    a RunError naming the file."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            for k in numeric:
                float(r[k])
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError, ValueError) as e:
        raise RunError(f"{path}: damaged table ({type(e).__name__}: {e})") from None
    return rows


def save_tensors(
    path: str | os.PathLike,
    tensors: dict[str, torch.Tensor],
    metadata: dict[str, str] | None = None,
) -> Path:
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return atomic_write(path, st_save(cpu, metadata=metadata))


def load_tensors(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path} is missing")
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as e:
        raise RunError(f"{path}: not a readable safetensors file ({e})") from None
