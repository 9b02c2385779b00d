"""Benchmark: training speed against pythae, the machine's ceiling, where a step's time goes, and
inference throughput.

    python benchmarks/speed.py [--images 10000] [--reps 3] [--kinds ae,vae,vqvae] [--name speed]

In one invocation on one machine, writing benchmarks/results/NAME.json and NAME.md:
- latentzoo (fp32, and with its `--precision bf16` option) against pythae 0.1.2 (installed by this
  script into benchmarks/.venv-pythae with the same torch, never a dependency of latentzoo): the
  same networks, batch size, optimizer and images, one epoch each (benchmarks/speed_worker.py, a
  fresh process per measurement, the three rotating, REPS times): training images per second, wall
  seconds, peak memory, the test MSE reached. The figure is `speedup` = latentzoo's images per
  second / pythae's, from the medians, for each precision.
- the ceiling: GFLOP/s of a 2048 x 2048 matmul and of a large 3x3 convolution on the same 2 threads,
in
  fp32 and bf16; the best fp32 kernel is the ceiling, and each fp32 training step's share of it is
  given (FLOPs counted by torch's flop counter);
- where the time goes: torch.profiler's self CPU time of 20 training steps of each kind, grouped
  (convolutions forward and backward, activations, normalisation, the optimizer, the rest);
- inference: images per second of encode and decode on the 10,000 test digits, sampling (for the
  VQ-VAE: its default prior, with and without an asked digit), and the codec's compress and
  decompress on 2,000 digits, each kind at its default size (the weights do not change the cost,
  except that the range coder's work follows the file's length).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.codec import compress, decompress  # noqa: E402
from latentzoo.config import make_config  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.device import autocast  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.models import build_model  # noqa: E402
from latentzoo.models.pipeline import VQVAEWithPrior  # noqa: E402
from latentzoo.models.prior import CodePrior, PriorConfig  # noqa: E402

VENV = ROOT / "benchmarks" / ".venv-pythae"
PYTHAE = "pythae==0.1.2"
LIBRARIES = ("latentzoo", "latentzoo-bf16", "pythae")
GROUPS = (
    ("convolution backward", ("convolution_backward",)),
    ("convolution forward", ("mkldnn_convolution", "_convolution", "convolution")),
    ("activations", ("gelu", "relu", "silu", "threshold")),
    ("normalisation", ("group_norm",)),
    ("optimizer", ("Optimizer", "_foreach", "lerp", "addcdiv", "addcmul", "sqrt")),
)


def pythae_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", f"torch=={torch.__version__.split('+')[0]}"],
            check=True,
        )
        subprocess.run([str(py), "-m", "pip", "install", "-q", PYTHAE, "-e", str(ROOT)], check=True)
    return py


def measure(python: Path, library: str, kind: str, images: int) -> dict:
    lib, _, precision = library.partition("-")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        subprocess.run(
            [
                str(python),
                str(ROOT / "benchmarks" / "speed_worker.py"),
                lib,
                kind,
                "--images",
                str(images),
                "--precision",
                precision or "fp32",
                "--out",
                str(out),
            ],
            check=True,
            env={**os.environ, "OMP_NUM_THREADS": "2"},
        )
        return json.loads(out.read_text())


def best_seconds(fn, reps: int = 7) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def ceilings() -> dict[str, float]:
    """GFLOP/s of a plain matmul (MKL) and of a 3x3 convolution (oneDNN), in fp32 and bf16."""
    out = {}
    for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(2048, 2048, dtype=dt), torch.randn(2048, 2048, dtype=dt)
        out[f"matmul_{name}"] = 2 * 2048**3 / best_seconds(partial(torch.matmul, a, b)) / 1e9
        x, w = torch.randn(128, 128, 14, 14, dtype=dt), torch.randn(128, 128, 3, 3, dtype=dt)
        flops = 2 * 128 * 14 * 14 * 128 * 128 * 9
        conv = partial(torch.nn.functional.conv2d, x, w, padding=1)
        out[f"conv_{name}"] = flops / best_seconds(conv) / 1e9
    return out


def profile(kind: str, precision: str, steps: int = 20) -> dict[str, float]:
    """Milliseconds per training step and the shares of torch.profiler's self CPU time, grouped by
    GROUPS."""
    from torch.profiler import profile as torch_profile

    torch.manual_seed(0)
    cfg = make_config(kind, precision=precision)
    model = build_model(cfg).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = (
        torch.rand(cfg.train.batch_size, 1, 28, 28),
        torch.randint(0, 10, (cfg.train.batch_size,)),
    )

    def step():
        with autocast(torch.device("cpu"), precision):
            loss = model(x, y).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    with torch_profile() as prof:
        for _ in range(steps):
            step()
    shares = {g: 0.0 for g, _ in GROUPS} | {"the rest": 0.0}
    for ev in prof.key_averages():
        group = next((g for g, keys in GROUPS if any(k in ev.key for k in keys)), "the rest")
        shares[group] += ev.self_cpu_time_total
    total = sum(shares.values())
    return {"ms_per_step": total / steps / 1e3, **{g: v / total for g, v in shares.items()}}


@torch.no_grad()
def inference(kind: str, test) -> dict[str, float]:
    torch.manual_seed(0)
    model = build_model(make_config(kind)).eval()
    x, _ = test.tensors()
    out = {}
    t0 = time.perf_counter()
    z = torch.cat([model.encode(x[i : i + 500]) for i in range(0, len(x), 500)])
    out["encode"] = len(x) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(0, len(z), 500):
        model.decode(z[i : i + 500])
    out["decode"] = len(x) / (time.perf_counter() - t0)
    if kind == "vae":
        t0 = time.perf_counter()
        model.sample(2000)
        out["sample"] = 2000 / (time.perf_counter() - t0)
    # with its default prior: sampling with and without an asked digit, and the codec
    if kind == "vqvae":
        prior = CodePrior(
            PriorConfig(n_codes=model.n_codes, length=49, grid_width=7, n_classes=10)
        ).eval()
        pipe = VQVAEWithPrior(model, prior).eval()
        g = torch.Generator().manual_seed(0)
        for name, y in (("sample", None), ("sample a digit", 3)):
            t0 = time.perf_counter()
            pipe.sample(2000, y=y, generator=g)
            out[name] = 2000 / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        data = compress(pipe, x[:2000])
        out["compress"] = 2000 / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        decompress(pipe, data)
        out["decompress"] = 2000 / (time.perf_counter() - t0)
    return out


def report(info: dict, table: dict) -> str:
    c = info["ceilings"]
    lines = [
        f"# Speed: latentzoo against pythae ({info['images']:,} MNIST "
        f"images, one epoch, medians of {info['reps']})",
        "",
        f"`{info['command']}` (commit {info['commit']}, torch "
        f"{info['torch']}, {PYTHAE}, 2 threads, "
        f"{info['seconds']} s). The same networks (latentzoo's conv "
        "encoder and decoder of each kind), batch size, "
        "Adam at lr 1e-3, one epoch validated on the same 1,000 "
        "images; latentzoo in fp32 and with "
        f"`--precision bf16`, pythae in fp32.",
        "",
        "Ceiling on 2 threads: a 2048 x 2048 matmul "
        f"{c['matmul_fp32']:.0f} GFLOP/s fp32, {c['matmul_bf16']:.0f} "
        "bf16; a 3x3 convolution (128 channels, 14 x 14, batch "
        f"128) {c['conv_fp32']:.0f} GFLOP/s fp32, "
        f"{c['conv_bf16']:.0f} bf16. The share below is of the best "
        f"fp32 kernel ({info['ceiling']:.0f} GFLOP/s).",
        "",
        "| kind | batch | img/s fp32 / bf16 / pythae | speedup "
        "fp32 / bf16 | peak MiB (fp32 / pythae) "
        "| test MSE fp32 / bf16 / pythae | GFLOP per step | share of the ceiling (fp32) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, t in table.items():
        m = t["median"]
        ips = " / ".join(f"{m[lib]['images_per_second']:.0f}" for lib in LIBRARIES)
        mse = " / ".join(f"{m[lib]['test_mse_per_pixel']:.5f}" for lib in LIBRARIES)
        lines.append(
            f"| {kind} | {t['batch_size']} | {ips} | "
            f"{t['speedup']:.2f} / {t['speedup_bf16']:.2f} | "
            f"{m['latentzoo']['peak_rss_mib']:.0f} / {m['pythae']['peak_rss_mib']:.0f} | {mse} | "
            f"{t['gflop_per_step']:.2f} | {t['fraction_of_ceiling']:.1%} |"
        )
    groups = [g for g, _ in GROUPS] + ["the rest"]
    lines += [
        "",
        "Where a training step's time goes (torch.profiler, self CPU time of 20 steps, latentzoo):",
        "",
        "| kind | precision | ms per step | " + " | ".join(groups) + " |",
        "|---" * (3 + len(groups)) + "|",
    ]
    for kind, t in table.items():
        for prec, p in t["profile"].items():
            lines.append(
                f"| {kind} | {prec} | {p['ms_per_step']:.1f} | "
                + " | ".join(f"{p[g]:.0%}" for g in groups)
                + " |"
            )
    lines += [
        "",
        "Inference, images per second (untrained weights of the default sizes, fp32):",
        "",
    ]
    for kind, t in table.items():
        lines.append(f"- {kind}: " + ", ".join(f"{k} {v:,.0f}" for k, v in t["inference"].items()))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--kinds", default="ae,vae,vqvae")
    ap.add_argument("--name", default="speed")
    a = ap.parse_args()
    torch.set_num_threads(2)
    kinds = a.kinds.split(",")
    py = pythae_python()
    runs: dict[str, dict[str, list[dict]]] = {k: {lib: [] for lib in LIBRARIES} for k in kinds}
    t0 = time.time()
    for rep in range(a.reps):
        for kind in kinds:
            # each library first once in three reps
            for lib in LIBRARIES[rep % 3 :] + LIBRARIES[: rep % 3]:
                r = measure(py if lib == "pythae" else Path(sys.executable), lib, kind, a.images)
                runs[kind][lib].append(r)
                print(
                    f"{kind} {lib}: {r['images_per_second']:.0f} images/s, "
                    f"test MSE {r['test_mse_per_pixel']:.5f}",
                    file=sys.stderr,
                    flush=True,
                )
    kernel = ceilings()
    ceiling = max(kernel["matmul_fp32"], kernel["conv_fp32"])
    test = load_dataset("mnist").test
    table = {}
    for kind in kinds:
        med = {
            lib: {
                k: statistics.median(r[k] for r in rs)
                for k in ("images_per_second", "seconds", "peak_rss_mib", "test_mse_per_pixel")
            }
            for lib, rs in runs[kind].items()
        }
        ours = runs[kind]["latentzoo"][0]
        steps = -(-a.images // ours["batch_size"])
        achieved = ours["flops_per_step"] * steps / med["latentzoo"]["seconds"] / 1e9
        pythae_ips = med["pythae"]["images_per_second"]
        table[kind] = {
            "median": med,
            "speedup": med["latentzoo"]["images_per_second"] / pythae_ips,
            "speedup_bf16": med["latentzoo-bf16"]["images_per_second"] / pythae_ips,
            "batch_size": ours["batch_size"],
            "gflop_per_step": ours["flops_per_step"] / 1e9,
            "achieved_gflops": achieved,
            "fraction_of_ceiling": achieved / ceiling,
            "profile": {p: profile(kind, p) for p in ("fp32", "bf16")},
            "inference": inference(kind, test),
            "runs": runs[kind],
        }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    info = {
        "images": a.images,
        "reps": a.reps,
        "ceilings": kernel,
        "ceiling": ceiling,
        "threads": 2,
        "torch": torch.__version__,
        "pythae": PYTHAE,
        "machine": platform.processor() or platform.machine(),
        "commit": commit,
        "seconds": round(time.time() - t0, 1),
        "command": f"python benchmarks/speed.py --images {a.images} "
        f"--reps {a.reps} --kinds {a.kinds}",
    }
    out = ROOT / "benchmarks" / "results"
    write_json(out / f"{a.name}.json", {"info": info, "kinds": table})
    atomic_write(out / f"{a.name}.md", report(info, table))
    print(f"wrote {out / (a.name + '.json')} and {a.name}.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
