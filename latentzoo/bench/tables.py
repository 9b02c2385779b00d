"""The bench's tables by name, and the results an invocation keeps from an earlier one.

`latentzoo bench --tables anomaly,foreign` measures those tables again and keeps every other one
from the results.json already in the output folder, each with the commit that measured it, so that
one table can be brought up to date without the hours the likelihood rows take. An earlier file is
kept only when it was written with the same budget on the same data."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ..errors import ConfigError, RunError
from ..files import read_json


def commit() -> str:
    """The checkout's short commit hash, or 'unknown'."""
    try:
        root = Path(__file__).resolve().parents[2]
        cmd = ["git", "rev-parse", "--short", "HEAD"]
        return subprocess.run(
            cmd, cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# each table's keys in results.json, in the order RESULTS.md shows the tables; the first is required
TABLE_KEYS = {
    "likelihood": ("likelihood",),
    "reconstruction": ("reconstruction",),
    "samples": ("samples",),
    "features": ("features", "features_protocol"),
    "anomaly": ("anomaly", "anomaly_anchors", "ensemble_method"),
    "foreign": ("foreign", "foreign_protocol"),
    "denoising": ("denoising", "denoising_protocol", "denoising_unseen"),
    "codes": ("codes",),
}


def chosen_tables(text: str | None, available: list[str]) -> list[str]:
    """The tables named in `--tables` (comma-separated; None: every available one), checked."""
    if text is None:
        return list(available)
    names = [t.strip() for t in text.split(",") if t.strip()]
    for name in names:
        if name not in TABLE_KEYS:
            raise ConfigError(f"--tables: unknown table '{name}' (tables: {', '.join(TABLE_KEYS)})")
        if name not in available:
            raise ConfigError(f"--tables: the {name} table is measured on MNIST only")
    if not names:
        raise ConfigError("--tables: name at least one table")
    return [t for t in available if t in names]


def earlier_results(out: Path, budget: dict, data: dict) -> dict:
    """The results.json in `out`, refused unless it was written with this budget on this data."""
    path = Path(out) / "results.json"
    if not path.is_file():
        raise RunError(
            f"{path} not found: --tables keeps the other tables from an earlier bench in the same "
            "folder; run the whole bench first"
        )
    earlier = read_json(path)
    # files written before the bench took --data were on MNIST and did not name their data
    same = earlier["data"] == data if "data" in earlier else "source" not in data
    if not same:
        raise RunError(f"{path} was written on other data; run the whole bench into another --out")
    if earlier["info"]["budget"] != json.loads(json.dumps(budget)):
        raise RunError(f"{path} was written with another budget; run the whole bench again")
    return earlier


def kept_table(earlier: dict, table: str) -> tuple[dict, dict]:
    """A table's keys from an earlier results.json, and the commit (and date) that measured it."""
    keys = TABLE_KEYS[table]
    if keys[0] not in earlier:
        raise RunError(f"the earlier results.json has no {table} table; measure it with --tables")
    part = {k: earlier[k] for k in keys if k in earlier}
    info = earlier["info"]
    stamp = earlier.get("measured", {}).get(table, {"commit": info["commit"]})
    return part, stamp
