"""Study: how a VQ-VAE with a label-conditioned prior should draw digits when no digit is asked for.

Three ways, each n samples, scored by MNIST-FID and class entropy against the validation images (the
choice is made there) and then against the test images:
- "no label": the prior's "no label" token (trained on the `label_dropout` share of batches);
- "labels, guidance 1": a label drawn uniformly per sample, then the conditional prior: ancestral
  sampling of p(codes) = sum_y p(y) p(codes | y), MNIST's digits being 9 to 11% each;
- "labels, guidance G": the same with the default classifier-free guidance.

    python benchmarks/unconditional_samples.py RUN [--n 5000]

Writes benchmarks/results/unconditional-samples.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo import load  # noqa: E402
from latentzoo.eval.classifier import get_classifier, sample_quality  # noqa: E402
from latentzoo.eval.metrics import EVAL_SEED  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.models import GUIDANCE  # noqa: E402
from latentzoo.runs import run_data  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "unconditional-samples"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--n", type=int, default=5000)
    a = ap.parse_args()
    model = load(a.run)
    splits = run_data(model.cfg)
    clf, _ = get_classifier()
    k = clf.head.out_features
    ways = {
        "no label": (None, 1.0),
        "labels, guidance 1": ("labels", 1.0),
        f"labels, guidance {GUIDANCE:g}": ("labels", GUIDANCE),
    }
    rows = {}
    for name, (labels, guidance) in ways.items():
        gen = torch.Generator().manual_seed(EVAL_SEED)
        out = []
        for i in range(0, a.n, 500):
            m = min(500, a.n - i)
            y = torch.randint(0, k, (m,), generator=gen) if labels else None
            out.append(model.sample(m, y=y, generator=gen, guidance=guidance).cpu())
        samples = torch.cat(out)
        rows[name] = {
            split: sample_quality(clf, samples, getattr(splits, split).tensors()[0], "mnist_fid")
            for split in ("val", "test")
        }
        print(name, {s: round(r["mnist_fid"], 2) for s, r in rows[name].items()}, flush=True)
    L = [
        f"# Drawing digits when none is asked for: {a.run.name}, {a.n:,} samples each",
        "",
        "Written by `python benchmarks/unconditional_samples.py "
        f"{a.run.name} --n {a.n}`. MNIST-FID and class "
        "entropy (nats, low = confident) against the validation images "
        "(where the choice is made) and the test "
        "images.",
        "",
        "| way | val MNIST-FID | val class entropy | test MNIST-FID | test class entropy |",
        "|---|---|---|---|---|",
    ]
    L += [
        f"| {name} | {r['val']['mnist_fid']:.2f} | "
        f"{r['val']['class_entropy']:.3f} | {r['test']['mnist_fid']:.2f} | "
        f"{r['test']['class_entropy']:.3f} |"
        for name, r in rows.items()
    ]
    write_json(RESULTS.with_suffix(".json"), {"run": str(a.run), "n": a.n, "rows": rows})
    atomic_write(RESULTS.with_suffix(".md"), "\n".join(L) + "\n")
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
