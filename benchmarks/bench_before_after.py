"""Check that a change leaves the bench's numbers unchanged: `latentzoo bench --quick` run with the
code of two commits, one after the other on this machine, and every figure of both compared.

    python benchmarks/bench_before_after.py BEFORE AFTER [--name NAME]

Each commit is checked out (`git worktree`) into a temporary folder and runs from there. Writes
benchmarks/results/NAME.json with both sides' results.json whole, the figures that differ (wall
times and commits aside), the commands, the machine and torch, and NAME.md, a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from machine import machine  # noqa: E402

from latentzoo.files import atomic_write, write_json  # noqa: E402

IGNORED = ("wall_seconds", "commit", "seconds")  # what differs from run to run by design


def quick_bench(commit: str, tmp: Path) -> tuple[dict, float]:
    """results.json of `latentzoo bench --quick` with the code of `commit`, and its wall time."""
    src = tmp / f"src-{commit}"
    subprocess.run(["git", "worktree", "add", "--detach", str(src), commit], cwd=ROOT, check=True)
    try:
        out, t0 = tmp / f"bench-{commit}", time.time()
        subprocess.run(
            [sys.executable, "-m", "latentzoo", "bench", "--quick", "--out", str(out)],
            cwd=src,
            env={**os.environ, "PYTHONPATH": str(src)},
            check=True,
        )
        return json.loads((out / "results.json").read_text()), time.time() - t0
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(src)], cwd=ROOT, check=True)


def differences(a, b, path: str = "") -> list[str]:
    """Where two JSON values differ (keys in IGNORED left out), as 'path: a -> b'."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b))
            if k not in IGNORED
            for d in differences(a.get(k), b.get(k), f"{path}/{k}")
        ]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--name", default="bench-before-after")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before, t_before = quick_bench(a.before, Path(tmp))
        after, t_after = quick_bench(a.after, Path(tmp))
    diff = differences(before, after)
    info = {
        "command": "python benchmarks/bench_before_after.py " + " ".join(sys.argv[1:]),
        "each_side": "latentzoo bench --quick --out DIR, run from a checkout of the commit",
        "machine": machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "seconds": {"before": round(t_before, 1), "after": round(t_after, 1)},
    }
    record = {"info": info, "before": before, "after": after}
    record |= {"before_commit": a.before, "after_commit": a.after, "differences": diff}
    write_json(ROOT / "benchmarks" / "results" / f"{a.name}.json", record)
    lines = [
        f"# {a.name}: the quick bench at {a.before} and at {a.after}",
        "",
        f"Command: `{info['command']}`; {info['machine']}; torch {info['torch']}; "
        f"{info['seconds']['before']} s and {info['seconds']['after']} s.",
        "",
        f"Figures that differ (wall times and commits aside): {len(diff)}.",
        "",
        *(f"- `{d}`" for d in diff),
    ]
    atomic_write(ROOT / "benchmarks" / "results" / f"{a.name}.md", "\n".join(lines) + "\n")
    print(f"{len(diff)} differences; wrote benchmarks/results/{a.name}.json and .md")


if __name__ == "__main__":
    main()
