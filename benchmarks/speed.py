"""Benchmark: training speed against pythae, the machine's ceiling, and inference throughput.

    python benchmarks/speed.py [--images 10000] [--reps 3] [--kinds ae,vae,vqvae] [--name speed]

In one invocation on one machine, writing benchmarks/results/NAME.json and NAME.md:
- latentzoo against pythae 0.1.2 (installed by this script into benchmarks/.venv-pythae with the same
  torch, never a dependency of latentzoo): the same networks, batch size, optimizer and images, one
  epoch each (benchmarks/speed_worker.py, a fresh process per measurement, the libraries alternating,
  REPS times): training images per second, wall seconds, peak memory, the test MSE reached. The figure
  is `speedup` = latentzoo's images per second / pythae's, from the medians.
- the ceiling: GFLOP/s of a 2048 x 2048 fp32 matmul on the same 2 threads, and the fraction of it that
  each latentzoo training step reaches (FLOPs counted by torch's flop counter);
- inference: images per second of encode and decode on the 10,000 test digits, and sampling, for each
  kind at its default size (the weights do not change the cost).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.config import make_config  # noqa: E402
from latentzoo.data import load_dataset  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402
from latentzoo.models import build_model  # noqa: E402

VENV = ROOT / "benchmarks" / ".venv-pythae"
PYTHAE = "pythae==0.1.2"


def pythae_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", f"torch=={torch.__version__.split('+')[0]}"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", PYTHAE, "-e", str(ROOT)], check=True)
    return py


def measure(python: Path, library: str, kind: str, images: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        subprocess.run([str(python), str(ROOT / "benchmarks" / "speed_worker.py"), library, kind, "--images", str(images),
                        "--out", str(out)], check=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
        return json.loads(out.read_text())


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times) / 1e9


@torch.no_grad()
def inference(kind: str, test) -> dict:
    torch.manual_seed(0)
    model = build_model(make_config(kind)).eval()
    x, _ = test.tensors()
    out = {}
    t0 = time.perf_counter()
    z = torch.cat([model.encode(x[i:i + 500]) for i in range(0, len(x), 500)])
    out["encode_images_per_second"] = len(x) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(0, len(z), 500):
        model.decode(z[i:i + 500])
    out["decode_images_per_second"] = len(x) / (time.perf_counter() - t0)
    if kind == "vae":
        t0 = time.perf_counter()
        model.sample(2000)
        out["sample_images_per_second"] = 2000 / (time.perf_counter() - t0)
    return out


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
    runs: dict[str, dict[str, list[dict]]] = {k: {"latentzoo": [], "pythae": []} for k in kinds}
    t0 = time.time()
    for rep in range(a.reps):
        for kind in kinds:
            order = ("latentzoo", "pythae") if rep % 2 == 0 else ("pythae", "latentzoo")
            for lib in order:
                r = measure(Path(sys.executable) if lib == "latentzoo" else py, lib, kind, a.images)
                runs[kind][lib].append(r)
                print(f"{kind} {lib}: {r['images_per_second']:.0f} images/s, test MSE {r['test_mse_per_pixel']:.5f}",
                      file=sys.stderr, flush=True)
    ceiling = matmul_gflops()
    test = load_dataset("mnist").test
    table = {}
    for kind in kinds:
        med = {lib: {k: statistics.median(r[k] for r in rs) for k in ("images_per_second", "seconds", "peak_rss_mib",
                                                                      "test_mse_per_pixel")}
               for lib, rs in runs[kind].items()}
        ours = runs[kind]["latentzoo"][0]
        steps = -(-a.images // ours["batch_size"])
        achieved = ours["flops_per_step"] * steps / med["latentzoo"]["seconds"] / 1e9
        table[kind] = {"median": med, "speedup": med["latentzoo"]["images_per_second"] / med["pythae"]["images_per_second"],
                       "batch_size": ours["batch_size"], "gflop_per_step": ours["flops_per_step"] / 1e9,
                       "achieved_gflops": achieved, "fraction_of_ceiling": achieved / ceiling,
                       "inference": inference(kind, test), "runs": runs[kind]}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    info = {"images": a.images, "reps": a.reps, "matmul_gflops": ceiling, "threads": 2, "torch": torch.__version__,
            "pythae": PYTHAE, "machine": platform.processor() or platform.machine(), "commit": commit,
            "seconds": round(time.time() - t0, 1),
            "command": f"python benchmarks/speed.py --images {a.images} --reps {a.reps} --kinds {a.kinds}"}
    out = ROOT / "benchmarks" / "results"
    write_json(out / f"{a.name}.json", {"info": info, "kinds": table})
    lines = [f"# Speed: latentzoo against pythae ({a.images:,} MNIST images, one epoch, medians of {a.reps})", "",
             f"`{info['command']}` (commit {commit}, torch {info['torch']}, {PYTHAE}, 2 threads, {info['seconds']} s). "
             f"The same networks (latentzoo's conv encoder and decoder of each kind), batch size, Adam at lr 1e-3, "
             f"one epoch validated on the same 1,000 images. Ceiling: a 2048 x 2048 fp32 matmul at "
             f"{ceiling:.1f} GFLOP/s.", "",
             "| kind | batch | latentzoo img/s | pythae img/s | speedup | peak MiB (ours / pythae) | test MSE (ours / pythae) "
             "| GFLOP per step | share of the matmul ceiling | encode / decode img/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, t in table.items():
        m, inf = t["median"], t["inference"]
        lines.append(f"| {kind} | {t['batch_size']} | {m['latentzoo']['images_per_second']:.0f} | "
                     f"{m['pythae']['images_per_second']:.0f} | {t['speedup']:.2f} | {m['latentzoo']['peak_rss_mib']:.0f} / "
                     f"{m['pythae']['peak_rss_mib']:.0f} | {m['latentzoo']['test_mse_per_pixel']:.5f} / "
                     f"{m['pythae']['test_mse_per_pixel']:.5f} | {t['gflop_per_step']:.2f} | {t['fraction_of_ceiling']:.1%} | "
                     f"{inf['encode_images_per_second']:.0f} / {inf['decode_images_per_second']:.0f} |")
    atomic_write(out / f"{a.name}.md", "\n".join(lines) + "\n")
    print(f"wrote {out / (a.name + '.json')} and {a.name}.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
