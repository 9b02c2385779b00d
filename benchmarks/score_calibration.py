"""Benchmark: does `latentzoo score`'s threshold flag the chosen share of held-out normal images?

    python benchmarks/score_calibration.py [--epochs 3] [--name score-calibration]

scikit-learn's 1,797 digits (28x28, latentzoo.examples) as the user's own data: 20% carved off as
held-out test images, 30% of the rest for validation (which sets the threshold), the rest to train
an MLP AE and an MLP VAE, each scored alone and as the recommended ensemble (`score AE --with
VAE`). For each false-positive rate asked for, the share of the held-out digits
flagged (it should be about that rate) and the share of 500 foreign images flagged (32x32 tiles of
scikit-learn's two photographs, converted to 28x28 grey). Writes benchmarks/results/NAME.json and
.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from latentzoo import examples, jobs  # noqa: E402
from latentzoo.config import make_config  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.runs import load, run_data  # noqa: E402
from latentzoo.sources import conform  # noqa: E402
from latentzoo.training import train_model  # noqa: E402

RATES = (0.1, 0.05, 0.01)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--name", default="score-calibration")
    a = ap.parse_args()
    torch.set_num_threads(2)
    rows = []
    photos = torch.from_numpy(examples.photo_tiles()[:500]).permute(0, 3, 1, 2)  # (500, 3, 32, 32)
    foreign = conform(photos, (28, 28), 1).float() / 255
    with tempfile.TemporaryDirectory() as tmp:
        x, y = examples.digits_28()
        np.savez(Path(tmp) / "digits.npz", images=x, labels=y)
        models = {}
        for kind in ("ae", "vae"):
            cfg = make_config(
                kind,
                backbone="mlp",
                source=str(Path(tmp) / "digits.npz"),
                epochs=a.epochs,
                batch_size=32,
                val_fraction=0.3,
                test_fraction=0.2,
            )
            models[kind] = load(
                train_model(cfg, Path(tmp) / kind, progress=False, log=lambda m: None)
            )
        splits = run_data(models["ae"].cfg)
        held, _ = splits.test.tensors()
        scores = {f"{k} (mlp)": (m, jobs.scorer(m)) for k, m in models.items()}
        # the recommended score: `latentzoo score AE --with VAE`
        scores["ensemble of the two"] = (
            models["ae"],
            jobs.scorer(models["ae"], models["vae"], splits.val),
        )
        for name, (model, score) in scores.items():
            for rate in RATES:
                t = jobs.calibrate(model, splits.val, rate, score=score)
                rows.append(
                    {
                        "model": name,
                        "fpr": rate,
                        "n_val": len(splits.val),
                        "n_held_out": len(held),
                        "held_out_flagged": float(jobs.flag(score(held), t).double().mean()),
                        "foreign_flagged": float(jobs.flag(score(foreign), t).double().mean()),
                        "threshold": t,
                    }
                )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    command = " ".join(["python benchmarks/score_calibration.py", *sys.argv[1:]])
    out = ROOT / "benchmarks" / "results"
    write_json(
        out / f"{a.name}.json",
        {"command": command, "commit": commit, "torch": torch.__version__, "rows": rows},
    )
    lines = [
        f"# Score calibration on your own data (commit {commit})",
        "",
        f"`{command}`",
        "",
        "| model | asked false-positive rate | validation images | "
        "held-out digits flagged | foreign images flagged |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['fpr']:g} | {r['n_val']} | "
        f"{r['held_out_flagged']:.3f} of {r['n_held_out']} | "
        f"{r['foreign_flagged']:.3f} of 500 |"
        for r in rows
    ]
    atomic_write(out / f"{a.name}.md", "\n".join(lines) + "\n")
    print(f"wrote {out / (a.name + '.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
