"""Benchmark: the VQ-VAE's training step under variants of how torch runs it, on this machine.

    python benchmarks/step_variants.py [--steps 60] [--name step-variants]

The default VQ-VAE (batch 16) on random 28 x 28 images: milliseconds per step (median of STEPS after
5 warm-up steps) in fp32, channels-last memory format, fused Adam, bf16 autocast (latentzoo's
`--precision bf16`), bf16 with fused Adam, and torch.compile of the encoder and decoder in fp32 and
in bf16 (with its compile time: the warm-up). Each variant in a fresh model; fp32 runs first and
last, so the drift of a shared machine shows. Written to benchmarks/results/NAME.json and NAME.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.config import make_config  # noqa: E402
from latentzoo.device import autocast  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.models import build_model  # noqa: E402

VARIANTS = {  # name: (precision, channels_last, fused Adam, compile)
    "fp32": ("fp32", False, False, False),
    "fp32, channels-last": ("fp32", True, False, False),
    "fp32, fused Adam": ("fp32", False, True, False),
    "bf16": ("bf16", False, False, False),
    "bf16, fused Adam": ("bf16", False, True, False),
    "fp32, torch.compile": ("fp32", False, False, True),
    "bf16, torch.compile": ("bf16", False, False, True),
    "fp32 again": ("fp32", False, False, False),
}


def measure(precision: str, channels_last: bool, fused: bool, compiled: bool, steps: int) -> dict:
    torch.manual_seed(0)
    cfg = make_config("vqvae")
    model = build_model(cfg).train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(
        model.parameters(), lr=1e-3, betas=(0.9, cfg.train.adam_beta2), fused=fused or None
    )
    if compiled:
        model.encoder, model.decoder = torch.compile(model.encoder), torch.compile(model.decoder)
    x = torch.rand(cfg.train.batch_size, 1, 28, 28).contiguous(memory_format=fmt)

    def step():
        with autocast(torch.device("cpu"), precision):
            loss = model(x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    for _ in range(5):
        step()
    warm = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return {"ms_per_step": 1000 * statistics.median(times), "warm_up_seconds": warm}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--name", default="step-variants")
    a = ap.parse_args()
    torch.set_num_threads(2)
    rows = {}
    for name, v in VARIANTS.items():
        rows[name] = measure(*v, a.steps)
        print(f"{name}: {rows[name]['ms_per_step']:.1f} ms per step", file=sys.stderr, flush=True)
    base = statistics.mean([rows["fp32"]["ms_per_step"], rows["fp32 again"]["ms_per_step"]])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    command = f"python benchmarks/step_variants.py --steps {a.steps}"
    out = ROOT / "benchmarks" / "results"
    write_json(
        out / f"{a.name}.json",
        {"command": command, "commit": commit, "torch": torch.__version__, "rows": rows},
    )
    lines = [
        "# The VQ-VAE's training step under variants (batch 16, 2 threads)",
        "",
        f"`{command}` (commit {commit}, torch {torch.__version__}). "
        f"Median of {a.steps} steps; speed-up against "
        f"the mean of the two fp32 rows ({base:.1f} ms).",
        "",
        "| variant | ms per step | speed-up | warm-up, 5 steps (s) |",
        "|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['ms_per_step']:.1f} | "
            f"{base / r['ms_per_step']:.2f} | {r['warm_up_seconds']:.1f} |"
        )
    atomic_write(out / f"{a.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
