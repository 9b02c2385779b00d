"""Benchmark: how often a VQ-VAE's prior draws the asked digit, per classifier-free guidance and
temperature.

    python benchmarks/guidance.py RUN [--guidance 1,2,3] [--temperature 1.0] [-n 1000]

RUN is a trained VQ-VAE run folder with a prior (`latentzoo train-prior RUN`). For each setting,
n samples are asked for digits 0-9 in turn (n/10 each) and classified by the project's MNIST
classifier (latentzoo.eval.classifier). Writes benchmarks/results/guidance.{json,md} (or --out),
with the run's config and prior config beside the numbers. Guidance: Ho & Salimans (2022)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.eval.classifier import classify, get_classifier  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.runs import CONFIG, PRIOR_CONFIG, load  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("run", type=Path)
    p.add_argument("--guidance", default="1,2,3")
    p.add_argument("--temperature", default="1.0")
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    a = p.parse_args()

    model = load(a.run).eval()
    if not model.guided:
        sys.exit(f"guidance.py: {a.run} is not a VQ-VAE run with a prior")
    clf, info = get_classifier()
    digits = torch.arange(a.n) % 10
    rows = []
    for g in (float(v) for v in a.guidance.split(",")):
        for t in (float(v) for v in a.temperature.split(",")):
            t0, gen = time.time(), torch.Generator().manual_seed(a.seed)
            x = torch.cat(
                [
                    model.sample(
                        500, y=digits[i : i + 500], generator=gen, temperature=t, guidance=g
                    ).cpu()
                    for i in range(0, a.n, 500)
                ]
            )
            hits = (classify(clf, x)[1].argmax(1) == digits).float()
            per_digit = [float(hits[digits == d].mean()) for d in range(10)]
            rows.append(
                {
                    "guidance": g,
                    "temperature": t,
                    "digit_accuracy": float(hits.mean()),
                    "digit_accuracy_min": min(per_digit),
                    "per_digit": per_digit,
                    "seconds": round(time.time() - t0, 1),
                }
            )
            print(
                f"guidance {g} temperature {t}: {100 * rows[-1]['digit_accuracy']:.1f}% "
                f"(worst digit {100 * min(per_digit):.1f}%)",
                file=sys.stderr,
            )
    res = {
        "run": str(a.run),
        "n": a.n,
        "seed": a.seed,
        "classifier_test_accuracy": info["test_accuracy"],
        "config": json.loads((a.run / CONFIG).read_text()),
        "prior_config": json.loads((a.run / PRIOR_CONFIG).read_text()),
        "rows": rows,
    }
    write_json(a.out / "guidance.json", res)
    lines = [
        "# Asked digit drawn by the VQ-VAE's prior, per guidance and temperature",
        "",
        f"`python benchmarks/guidance.py RUN --guidance {a.guidance} "
        f"--temperature {a.temperature} -n {a.n}`; "
        f"{a.n} samples, digits 0-9 in turn, classified by the project's MNIST classifier "
        f"(test accuracy {info['test_accuracy']:.4f}). Run config "
        "and prior config in guidance.json.",
        "",
        "| guidance | temperature | classified as asked | worst digit |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['guidance']} | {r['temperature']} | {100 * r['digit_accuracy']:.1f}% | "
        f"{100 * r['digit_accuracy_min']:.1f}% |"
        for r in rows
    ]
    atomic_write(a.out / "guidance.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
