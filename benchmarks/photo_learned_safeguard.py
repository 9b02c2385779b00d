"""Study: a learned safeguard for the photo DAE, a small network that predicts per tile how far to
trust the model's output, beside the per-input rule, on held-out and test photos.

    python benchmarks/photo_learned_safeguard.py RUN [--second] [--name photo-learned-safeguard]

The blend is out = x + w (y - x) for the noisy tile x and the model's output y, w in [0, 1] read
from a convolutional network (four 3x3 convolutions, two of them strided, 32 channels; their mean
and deviation over the tile and the log of the mean squared change y - x into a two-layer MLP).
It sees the noisy tile and the change normalised by its RMS, with `--second` also the change that
the model makes to its own output (the per-input rule's second pass). Trained to minimise the mean
log ratio of the blend's squared error to the input's (the mean PSNR loss), its w unclamped while
training (clamped to [0, 1] when applied, which is optimal for a quadratic in w), on the run's
validation patches (the first 2,000 at most), two draws each of a corruption drawn from the run's
training mix and five light kinds (clean, gaussian 0.01, JPEG 60, 80 and 90); Adam, 30 epochs,
batches of 64.
Checked as photo_safeguard.py checks the rules (its held-out photos, its test crops, its nine
kinds, one draw per photo), beside the raw output and the per-input rule (margin 1.5): per kind,
the mean gain in PSNR over the input (dB) / the worst photo's. Written to
benchmarks/results/NAME.txt.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from photo_denoise import test_photos  # noqa: E402
from photo_safeguard import KINDS, held_out_photos  # noqa: E402
from torch import nn  # noqa: E402

from latentzoo import jobs  # noqa: E402
from latentzoo.eval import psnr  # noqa: E402
from latentzoo.files import atomic_write  # noqa: E402
from latentzoo.noise import corrupt  # noqa: E402
from latentzoo.runs import load, run_data  # noqa: E402

LIGHT = ["gaussian:0", "gaussian:0.01", "jpeg:60", "jpeg:80", "jpeg:90"]
EPS = 1e-5  # squared error floor of the loss's ratio (a clean input has none)


class BlendNet(nn.Module):
    """(noisy tile, change, second-pass change or None) -> w (N, 1, 1, 1), unclamped."""

    def __init__(self, channels: int = 3, width: int = 32, second: bool = False):
        super().__init__()
        parts = 3 if second else 2
        self.conv = nn.Sequential(
            nn.Conv2d(parts * channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
        )
        self.mlp = nn.Sequential(nn.Linear(2 * width + parts - 1, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x, d, e=None):
        parts, scalars = [x - 0.5], []
        for v in (d,) if e is None else (d, e):
            ms = v.pow(2).flatten(1).mean(1, keepdim=True)  # (N, 1)
            parts.append(v / (ms.sqrt().view(-1, 1, 1, 1) + 1e-4))
            scalars.append(ms.add(1e-8).log() / 10)
        h = self.conv(torch.cat(parts, 1))  # (N, width, H/4, W/4)
        f = torch.cat([h.mean((2, 3)), h.std((2, 3)), *scalars], 1)
        return self.mlp(f).view(-1, 1, 1, 1)


def examples(model, clean, specs, draws, second):
    """(noisy, output, second-pass change, clean), each (N * draws, C, H, W); the second-pass
    change with no channels unless `second`."""
    gen = torch.Generator().manual_seed(0)
    xs, ys, es, cs = [], [], [], []
    for _ in range(draws):
        pick = torch.randint(len(specs), (clean.shape[0],), generator=gen)
        for s, spec in enumerate(specs):
            c = clean[(pick == s).nonzero().flatten()]
            if len(c) == 0:
                continue
            x = (c.clone() if spec == "gaussian:0" else model.corrupt(c, spec, gen)).clamp(0, 1)
            y = jobs.reconstruct(model, x)
            xs.append(x), ys.append(y), cs.append(c)
            es.append(jobs.reconstruct(model, y) - y if second else y[:, :0])
    return torch.cat(xs), torch.cat(ys), torch.cat(es), torch.cat(cs)


def fit(net, data, second, say, epochs=30, batch=64):
    x, y, e, c = data
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    gen = torch.Generator().manual_seed(1)
    for epoch in range(epochs):
        perm, total = torch.randperm(x.shape[0], generator=gen), 0.0
        for i in range(0, x.shape[0], batch):
            j = perm[i : i + batch]
            d = y[j] - x[j]
            w = net(x[j], d, e[j] if second else None)
            blend = (x[j] + w * d - c[j]).pow(2).flatten(1).mean(1)
            inp = (x[j] - c[j]).pow(2).flatten(1).mean(1)
            loss = ((blend + EPS) / (inp + EPS)).log().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(j)
        if epoch % 5 == 4:
            gain = -total / x.shape[0] * 10 / 2.3026  # the mean log ratio in dB
            say(f"epoch {epoch + 1}: mean gain on the training examples {gain:+.3f} dB")


@torch.no_grad()
def check(model, net, photos, res, second, label, say):
    net.eval()
    for kind, spec in KINDS.items():
        gains: dict[str, list[float]] = {"raw": [], "per input m1.5": [], "learned": []}
        for i, clean in enumerate(photos.values()):
            noisy = corrupt(clean[None], spec, torch.Generator().manual_seed(1000 + i))
            c, noisy = clean[None].expand(-1, 3, -1, -1), noisy.expand(-1, 3, -1, -1)
            out = jobs.reconstruct(model, noisy)
            again = jobs.reconstruct(model, out)
            w = net(noisy, out - noisy, again - out if second else None).clamp(0, 1)
            got = {
                "raw": out,
                "per input m1.5": jobs.safeguard(noisy, out, res, again=again),
                "learned": noisy + w * (out - noisy),
            }
            for rule, y in got.items():
                gains[rule].append(float(psnr(c, y.clamp(0, 1)) - psnr(c, noisy)))
        cells = [f"{r} {sum(v) / len(v):+.2f} / {min(v):+.2f}" for r, v in gains.items()]
        say(f"{label} {kind:16s} " + "   ".join(cells))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--second", action="store_true")
    ap.add_argument("--name", default="photo-learned-safeguard")
    a = ap.parse_args()
    torch.set_num_threads(2)
    lines = ["python benchmarks/photo_learned_safeguard.py " + " ".join(sys.argv[1:])]

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    t0 = time.time()
    model = load(a.run)
    val = run_data(model.cfg).val.tensors(slice(0, 2000))[0]
    res = jobs.clean_residuals(model, val[:1000])
    mix = model.cfg.model.noise.split("|")
    specs = mix + [s for s in LIGHT if s not in mix]
    say(f"{len(val)} validation patches; kinds: {'|'.join(specs)}")
    data = examples(model, val, specs, 2, a.second)
    torch.manual_seed(0)
    net = BlendNet(second=a.second)
    fit(net, data, a.second, say)
    say(f"fitted in {time.time() - t0:.0f} s")
    check(model, net, held_out_photos(), res, a.second, "held-out", say)
    check(model, net, test_photos(256), res, a.second, "test", say)
    say(f"{time.time() - t0:.0f} s")
    atomic_write(ROOT / f"benchmarks/results/{a.name}.txt", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
