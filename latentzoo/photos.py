"""Photographs of any size: random square patches cut from a folder of photos to train on, and
whole photos for the jobs, cut into overlapping tiles and blended back (latentzoo.windows).

- `load_photos(data)`: the photos of `data.source` (an image file, or a folder's image files,
  subfolders included) -> train/validation/test splits of `data.patches` random patches of
  `data.patch` pixels a side, each photo giving patches in proportion to its area. The splits are
  carved from the patches (seeded by `data.split_seed`), so the validation patches come from the
  training photos; keep test photos apart for a benchmark.
- `photo_patches(paths, data)`: the jobs that take examples of the run's shape (`encode`, `score`,
  `compress`) read each photo as patches side by side, `name[row,col]` after their top-left pixel.
- `map_photos(paths, data, fn, out_dir)`: the jobs that give a photo back (`reconstruct`,
  `denoise`) run a fully convolutional model over tiles of `TILE` pixels a side, overlapping by a
  quarter and blended at the seams, one photo at a time (memory grows with one photo and a batch of
  tiles, never with the number of photos), and write `out_dir/<name>.png` at the input's size.
  A photo is mirrored at its edges (reflection padding) where a tile reaches past them; a photo
  converted to the run's colour mode (`--convert`) is written back in its own.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from .errors import DataError
from .files import atomic_write
from .inputs import Inputs, expand, png_bytes, to_uint8
from .sets import ImageSet, Splits
from .sources import IMAGE_SUFFIXES, carve, conform, read_image
from .windows import seam_weight, starts, tiles

PATCH = 64  # pixels a side of a training patch, unless --patch
PATCHES = 20_000  # patches cut from the training photos, unless --patches
TILE = 256  # pixels a side of the tiles that a whole photo is processed in
MIN_SIDE = 8  # a smaller photo is mirrored up to this size
# tiles start on this grid: a multiple of the conv backbone's stride (4) and of a JPEG's blocks (8),
# so that a tile of a decoded JPEG keeps its blocks (latentzoo.jpeg_cells)
GRID = 8


def photo_files(source: str | os.PathLike) -> list[tuple[Path, str]]:
    """(file, name) of every photo of an image file or a folder (subfolders included), sorted, as
    the jobs find their inputs (latentzoo.inputs.expand)."""
    found = expand(Path(source))
    for path, _ in found:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"{path}: photos are image files ({', '.join(IMAGE_SUFFIXES)})")
    return found


def read_photo(path: Path, channels: int | None = None) -> torch.Tensor:
    """uint8 (C, H, W), converted to `channels` (1 or 3) when given."""
    x = torch.from_numpy(read_image(path))[None]  # (1, C, H, W)
    return conform(x, None, channels)[0]


def cut_patches(photos: list[torch.Tensor], size: int, n: int, gen: torch.Generator):
    """uint8 (n, C, size, size): random patches, from each photo in proportion to its area."""
    areas = torch.tensor([p.shape[1] * p.shape[2] for p in photos], dtype=torch.float64)
    counts = torch.multinomial(areas / areas.sum(), n, replacement=True, generator=gen)
    out = []
    for i, photo in enumerate(photos):
        k = int((counts == i).sum())
        h, w = photo.shape[1:]
        rows = torch.randint(0, h - size + 1, (k,), generator=gen).tolist()
        cols = torch.randint(0, w - size + 1, (k,), generator=gen).tolist()
        out += [photo[:, r : r + size, c : c + size] for r, c in zip(rows, cols)]
    return torch.stack(out)  # (n, C, size, size)


def load_photos(data) -> Splits:
    """Train, validation and test patches of the photos of `data.source` (module docstring)."""
    found = photo_files(data.source)
    raw = [read_image(p) for p, _ in found]
    channels = {"grey": 1, "rgb": 3}.get(data.colour) or max(a.shape[0] for a in raw)
    size, n = data.patch or PATCH, data.patches or PATCHES
    photos = [conform(torch.from_numpy(a)[None], None, channels)[0] for a in raw]
    for (path, _), photo in zip(found, photos):
        if min(photo.shape[1:]) < size:
            raise DataError(
                f"{path} is {photo.shape[2]}x{photo.shape[1]}, smaller than a patch of {size}: "
                f"pass a smaller --patch"
            )
    gen = torch.Generator().manual_seed(data.split_seed)
    patches = cut_patches(photos, size, n, gen)
    kept, test = carve(n, data.test_fraction, gen)
    train, val = carve(len(kept), data.val_fraction, gen)
    sets = [ImageSet(patches[i], torch.full((len(i),), -1)) for i in (kept[train], kept[val], test)]
    return Splits(
        Path(data.source).name,
        *sets,
        classes=(),
        fingerprint=files_hash(found),
        found={"patch": size, "patches": n},
    )


def files_hash(found: list[tuple[Path, str]]) -> str:
    """SHA-256 of the photos' names and bytes, in order."""
    h = hashlib.sha256()
    for path, name in found:
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def fitted(path: Path, shape: tuple[int, ...], convert: bool) -> tuple[torch.Tensor, int]:
    """A photo as float (C, H, W) in [0, 1] with the run's channels, and its own number of
    channels; or a DataError that says what to pass."""
    x = read_photo(path)
    if x.shape[0] != shape[0] and not convert:
        mode = {1: "grey", 3: "colour"}
        raise DataError(
            f"{path} is {mode[x.shape[0]]}; the run takes {mode[shape[0]]} photos: pass --convert "
            f"to convert it"
        )
    return as_channels(x.float().div_(255), shape[0]), x.shape[0]


def as_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """A photo (C, H, W) in [0, 1] converted to `channels` (grey <-> colour, as conform does)."""
    if x.shape[0] == channels:
        return x
    u8 = (x.clamp(0, 1) * 255).round().to(torch.uint8)[None]
    return conform(u8, None, channels)[0].float().div_(255)


def mirrored(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(C, H, W) mirrored at its bottom and right edges up to at least height x width."""
    while x.shape[1] < height or x.shape[2] < width:
        dh = min(height - x.shape[1], x.shape[1] - 1) if x.shape[1] < height else 0
        dw = min(width - x.shape[2], x.shape[2] - 1) if x.shape[2] < width else 0
        if dh <= 0 and dw <= 0:  # one pixel wide: repeat it
            return F.pad(x[None], (0, width - x.shape[2], 0, height - x.shape[1]), "replicate")[0]
        x = F.pad(x[None], (0, max(dw, 0), 0, max(dh, 0)), "reflect")[0]
    return x


def tile_side(height: int, width: int) -> int:
    """The side of the tiles of a height x width photo: TILE, or the photo's shorter side rounded
    up to a multiple of GRID."""
    return min(TILE, grid_up(max(MIN_SIDE, min(height, width))))


def grid_up(n: int) -> int:
    """`n` rounded up to a multiple of GRID."""
    return GRID * math.ceil(n / GRID)


def through_tiles(x: torch.Tensor, fn) -> torch.Tensor:
    """fn (tiles (N, C, t, t) -> (N, C, t, t)) over a whole photo (C, H, W) -> (C, H, W), one row
    of tiles at a time, blended at the seams by the separable seam weight (latentzoo.windows)."""
    c, h, w = x.shape
    t = tile_side(h, w)
    hop = max(GRID, 3 * t // 4 // GRID * GRID)
    padded = mirrored(x, grid_up(max(h, t)), grid_up(max(w, t)))  # (C, H', W')
    rows, cols = starts(padded.shape[1], t, hop), starts(padded.shape[2], t, hop)
    w1 = seam_weight(t)
    weight = w1[:, None] * w1[None, :]  # (t, t)
    total = torch.zeros_like(padded)
    cover = torch.zeros(padded.shape[1:])
    for r in rows:
        parts = fn(torch.stack([padded[:, r : r + t, q : q + t] for q in cols]))  # (n, C, t, t)
        for part, q in zip(parts, cols):
            total[:, r : r + t, q : q + t] += part * weight
            cover[r : r + t, q : q + t] += weight
    return (total / cover)[:, :h, :w]


def map_photos(paths, data, fn, out_dir, *, corrupt=None, convert: bool = False) -> list[Path]:
    """`fn` over the tiles of every photo of `paths`, each photo corrupted first by `corrupt`
    (images (1, C, H, W) -> the same) when given, written as `out_dir/<name>.png`."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file; the results go into a folder")
    found = [f for arg in paths for f in photo_files(arg)]
    check_names(found)
    written = []
    for path, name in found:
        x, channels = fitted(path, data.shape, convert)
        if corrupt is not None:
            x = corrupt(x[None])[0]  # the whole photo once, before it is cut
        target = out_dir / f"{name}.png"
        if target.resolve() == path.resolve():
            raise DataError(f"{target} would overwrite its input; choose another --out")
        out = as_channels(through_tiles(x, fn), channels)  # back in the input's colour mode
        written.append(atomic_write(target, png_bytes(to_uint8(out[None])[0])))
    return written


def check_names(found: list[tuple[Path, str]]) -> None:
    seen: dict[str, Path] = {}
    for path, name in found:
        if name in seen:
            raise DataError(
                f"{path} and {seen[name]} would both be written as {name}: give them separately"
            )
        seen[name] = path


def photo_patches(paths, data, *, convert: bool = False) -> Inputs:
    """The patches of the run's size, side by side, of every photo of `paths` (the last row and
    column end at the photo's edge), named `name[row,col]`."""
    size = data.shape[1]
    found = [f for arg in paths for f in photo_files(arg)]
    check_names(found)
    parts, names = [], []
    for path, name in found:
        x = fitted(path, data.shape, convert)[0]
        _, h, w = x.shape
        padded = mirrored(x, max(h, size), max(w, size))
        rows, cols = starts(padded.shape[1], size, size), starts(padded.shape[2], size, size)
        parts.append(tiles(padded, size, size))  # (n, C, size, size)
        names += [f"{name}[{r},{c}]" for r in rows for c in cols]
    return Inputs(torch.cat(parts), names, [])
