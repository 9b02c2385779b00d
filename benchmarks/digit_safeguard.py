"""Study: the per-input safeguard (the photo kind's) on the zoo's MNIST DAE, beside the digits'
population rule, on the corruptions of denoise_unseen.py.

    python benchmarks/digit_safeguard.py [NAME]  # NAME: digit-safeguard

Clean residuals from the first 2,000 validation digits; the unseen, structured and light
corruptions of latentzoo.eval on the next 2,000 validation digits (seed 1) and on the first 2,000
test digits (seed 0). Per corruption, the mean PSNR (dB) of the input, the raw output, the
population rule at q = 1.0 (the digits' default), the per-input rule at margins 1, 1.5, 2 and 3
(latentzoo.jobs.safeguard), and the per-input rule at 1.5 gated by the population rule: an input
the model changes no more than it changes any clean digit comes back as it went in. Written to
benchmarks/results/NAME.txt.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo import jobs  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.eval import psnr, structured_corruptions, unseen_corruptions  # noqa: E402
from latentzoo.runs import load  # noqa: E402

N = 2000
MARGINS = (1.0, 1.5, 2.0, 3.0)


def row(clean, noisy, model, res) -> dict[str, float]:
    out = jobs.reconstruct(model, noisy)
    again = jobs.reconstruct(model, out)
    got = {"input": noisy, "raw": out, "q1.0": jobs.safeguard(noisy, out, res, 1.0)}
    for m in MARGINS:
        got[f"m{m}"] = jobs.safeguard(noisy, out, res, again=again, margin=m)
    # gated: the per-input weight only where the population rule lets the output in at all
    let_in = (noisy - out).pow(2).flatten(1).mean(1) > res.quantile(1.0)  # (N,)
    gate = let_in.view(-1, 1, 1, 1)
    got["gated m1.5"] = torch.where(gate, got["m1.5"], noisy)
    return {k: float(psnr(clean, y).mean()) for k, y in got.items()}


def main() -> int:
    torch.set_num_threads(2)
    name = sys.argv[1] if len(sys.argv) > 1 else "digit-safeguard"
    lines = [f"python benchmarks/digit_safeguard.py {name}"]
    model = load(ROOT / "latentzoo/zoo/mnist-dae")
    splits = load_dataset("mnist")
    val = splits.val.tensors(slice(0, 2 * N))[0]
    res = jobs.clean_residuals(model, val[:N])
    for label, clean, seed in (
        ("validation", val[N:], 1),
        ("test", splits.test.tensors(slice(0, N))[0], 0),
    ):
        g = torch.Generator().manual_seed(seed)
        cases = {**unseen_corruptions(clean, g), **structured_corruptions(clean, g)}
        lines.append(f"{label} digits: mean PSNR (dB)")
        for case, noisy in cases.items():
            r = row(clean, noisy.clamp(0, 1), model, res)
            lines.append(f"  {case[:36]:36s} " + " ".join(f"{k} {v:.2f}" for k, v in r.items()))
            print(lines[-1], flush=True)
    (ROOT / f"benchmarks/results/{name}.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
