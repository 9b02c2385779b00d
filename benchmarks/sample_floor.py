"""Benchmark: the MNIST-FID floor, held-out real digits against the test set (what the bench's
sample table reads each model against).

    python benchmarks/sample_floor.py [--n 2000,5000] [--name sample-floor]

For each N: the first N validation digits (carved from MNIST's training file, never trained on by
the bench's models) against the 10,000 test digits, in the features of the project's MNIST
classifier (latentzoo.eval.classifier), written to benchmarks/results/NAME.json and NAME.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval import real_data_floor  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", default="2000,5000")
    ap.add_argument("--name", default="sample-floor")
    a = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    splits = load_dataset("mnist")
    t0 = time.time()
    rows = {int(n): real_data_floor(splits.val, splits.test, int(n)) for n in a.n.split(",")}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    command = f"python benchmarks/sample_floor.py --n {a.n}"
    out = ROOT / "benchmarks" / "results"
    write_json(
        out / f"{a.name}.json",
        {
            "command": command,
            "commit": commit,
            "seconds": round(time.time() - t0, 1),
            "floor": rows,
        },
    )
    lines = [
        "# The MNIST-FID floor: held-out real digits against the test set",
        "",
        f"`{command}` (commit {commit}). The first N validation digits "
        "against the 10,000 test digits, in the "
        f"features of the project's MNIST classifier (test accuracy "
        f"{next(iter(rows.values()))['classifier_test_accuracy']:.4f}).",
        "",
        "| N | MNIST-FID | class entropy (nats) | class diversity "
        "(nats, max 2.30) | digits covered |",
        "|---|---|---|---|---|",
    ]
    for n, r in rows.items():
        lines.append(
            f"| {n:,} | {r['sample_mnist_fid']:.2f} | {r['sample_class_entropy']:.3f} | "
            f"{r['sample_class_diversity']:.3f} | {r['sample_digits_covered']} |"
        )
    atomic_write(out / f"{a.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
