"""Fail CI when installing an optional extra would downgrade or replace a package already
installed (torch, ruff and the rest pinned by the set-up): `pip install --dry-run` per extra."""

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
bad = []
for extra in extras:
    report = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-"]
        + ["-e", f"{ROOT}[{extra}]"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    before = len(bad)
    for item in json.loads(report)["install"]:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if have != version and name != "latentzoo":
            bad.append(f"[{extra}] would replace {name} {have} with {version}")
    if len(bad) == before:
        print(f"ci: extra [{extra}] installs without replacing an installed package")
if bad:
    print("ci: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
