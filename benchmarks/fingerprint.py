"""Check that a change leaves training unchanged: train every model variant of the test suite
briefly, and the code prior of each VQ-VAE, and record a hash of the weights and the test metrics.

    python benchmarks/fingerprint.py OUT.json   # before a change and after; compare the files

Each variant (tests/conftest.py KINDS) trains for one epoch at batch 64 on the first 512 MNIST
training images (validation 256, test 256), seed 0; each VQ-VAE's prior then trains for one epoch at
its defaults. The JSON maps each variant to the first 16 hex digits of a SHA-256 over its kept
weights (and its prior's; `weights_less_dropped` leaves out the buffers that version 6 dropped), to
its metrics.json without the wall time, and to the prior's metrics likewise. The script runs
against an older checkout too: `PYTHONPATH=OLD python benchmarks/fingerprint.py OUT.json`."""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import KINDS, kind_config  # noqa: E402

from latentzoo.data import Splits, load_dataset  # noqa: E402
from latentzoo.files import load_tensors  # noqa: E402
from latentzoo.models import PriorConfig  # noqa: E402
from latentzoo.training import train_prior  # noqa: E402

try:
    from latentzoo.training import train_model
except ImportError:  # a checkout before version 0.2 named it train
    from latentzoo.training import train as train_model  # type: ignore[attr-defined,no-redef]

# buffers that config_version 6 no longer stores for a VAE (an AE's latent Gaussian it never used)
DROPPED = ("latent_mean", "latent_scale_tril", "latent_fitted")


def weights_hash(path: Path, leave_out: tuple[str, ...] = ()) -> str:
    tensors, _ = load_tensors(path)
    h = hashlib.sha256()
    for k in sorted(set(tensors) - set(leave_out)):
        h.update(k.encode())
        h.update(tensors[k].contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def fingerprint(name: str, small: Splits, tmp: Path) -> dict:
    quiet = dict(progress=False, log=lambda m: None)
    run = train_model(kind_config(name, epochs=1, batch_size=64), tmp / "r", splits=small, **quiet)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("train_seconds", None)
    out = {
        "weights": weights_hash(run / "model.safetensors"),
        "weights_less_dropped": weights_hash(run / "model.safetensors", DROPPED),
        "metrics": metrics,
    }
    if KINDS[name]["model"] == "vqvae":
        prior = train_prior(run, PriorConfig(epochs=1), splits=small, **quiet)
        prior.pop("train_seconds", None)
        out["prior"] = {"weights": weights_hash(run / "prior.safetensors"), "metrics": prior}
    return out


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    s = load_dataset("mnist")
    small = Splits(
        "mnist",
        s.train.subset(slice(0, 512)),
        s.val.subset(slice(0, 256)),
        s.test.subset(slice(0, 256)),
    )
    out = {}
    for name in KINDS:
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = fingerprint(name, small, Path(tmp))
    Path(sys.argv[1]).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {sys.argv[1]} ({len(out)} variants)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
