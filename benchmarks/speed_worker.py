"""One speed measurement in a fresh process (run by benchmarks/speed.py): a library trains a model
kind.

    python benchmarks/speed_worker.py {latentzoo,pythae} {ae,vae,vqvae} --images N [--precision
    bf16] --out RESULT.json

Both libraries train latentzoo's conv encoder and decoder of that kind (its defaults: latent size,
channels, blocks), with the same batch size, Adam at a constant learning rate of 1e-3 (betas of the
latentzoo kind), on the first N MNIST training images for one epoch, validated on the same 1,000
images. pythae's models take our networks through its BaseEncoder/BaseDecoder wrappers; each
library uses its own loss code and quantizer. Written: wall seconds of the epoch, images per second,
peak resident memory of the process, the test MSE per pixel after the epoch, and for latentzoo the
FLOPs of one training step (torch.utils.flop_counter). `--precision bf16` (latentzoo only) trains
under its bf16 autocast option.

`--defaults` (pythae only; run by benchmarks/time_to_quality.py) trains pythae's own defaults
instead:
the model built from its config with only the input shape given (latent size 10, its MLP encoder and
decoder of one 512-unit layer, K = 512 for the VQ-VAE) and its BaseTrainer's defaults (Adam at 1e-4,
batch 64, `--epochs`, 100 by default) on all the training images."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentzoo.config import make_config  # noqa: E402
from latentzoo.data import Splits, load_dataset  # noqa: E402
from latentzoo.kinds.image import conv_args  # noqa: E402
from latentzoo.nn.backbones import GridDecoder, GridEncoder, VectorDecoder, VectorEncoder  # noqa: E402

LR = 1e-3


def config(kind: str, precision: str = "fp32"):
    return make_config(kind, epochs=1, lr=LR, lr_schedule="constant", precision=precision)


@torch.no_grad()
def test_mse(recon, test) -> float:
    total = 0.0
    for x, _ in test.batches(1000):
        total += float((recon(x).clamp(0, 1) - x).pow(2).mean(dim=(1, 2, 3)).sum())
    return total / len(test)


def run_latentzoo(kind: str, splits: Splits, precision: str) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    from latentzoo.files import read_csv
    from latentzoo.models import build_model
    from latentzoo.training import train_model

    cfg = config(kind, precision)
    with tempfile.TemporaryDirectory() as tmp:
        run = train_model(cfg, Path(tmp) / "run", splits=splits, progress=False, log=lambda m: None)
        seconds = float(read_csv(run / "history.csv", ("epoch", "seconds"))[0]["seconds"])
        mse = json.loads((run / "metrics.json").read_text())["mse_per_pixel"]
    model = build_model(cfg)
    x, y = splits.train.tensors(slice(0, cfg.train.batch_size))
    with FlopCounterMode(display=False) as counter:
        model(x, y).loss.backward()
    return {
        "seconds": seconds,
        "test_mse_per_pixel": mse,
        "batch_size": cfg.train.batch_size,
        "flops_per_step": counter.get_total_flops(),
        "precision": precision,
    }


def run_pythae(kind: str, splits: Splits, precision: str) -> dict:
    from pythae.models import AE, VAE, VQVAE, AEConfig, VAEConfig, VQVAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    cfg = config(kind)
    shape = (1, 28, 28)
    # the mlp widths are unused by the conv backbone that every kind here has
    conv = conv_args(cfg.model)
    vector = dict(backbone="conv", hidden=512, hidden2=256, height=28, width=28, **conv)
    dim = cfg.model.code_dim if kind == "vqvae" else cfg.model.latent_dim

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            if kind == "vqvae":
                self.net = GridEncoder(out_dim=dim, in_channels=1, **conv)
            else:
                self.net = VectorEncoder(
                    out_dim=dim * (2 if kind == "vae" else 1), in_channels=1, **vector
                )

        def forward(self, x):
            h = self.net(x)
            if kind == "vae":
                mu, logvar = h.chunk(2, dim=1)
                return ModelOutput(embedding=mu, log_covariance=logvar)
            return ModelOutput(embedding=h)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = (
                GridDecoder(in_dim=dim, out_channels=1, **conv)
                if kind == "vqvae"
                else VectorDecoder(in_dim=dim, out_channels=1, **vector)
            )

        def forward(self, z):
            out = self.net(z)
            # pythae's bce takes p
            return ModelOutput(reconstruction=torch.sigmoid(out) if kind == "vae" else out)

    if kind == "ae":
        model = AE(
            AEConfig(input_dim=shape, latent_dim=dim),
            encoder=Encoder(),
            decoder=Decoder(),
        )
    elif kind == "vae":
        model = VAE(
            VAEConfig(input_dim=shape, latent_dim=dim, reconstruction_loss="bce"),
            encoder=Encoder(),
            decoder=Decoder(),
        )
    else:
        model = VQVAE(
            VQVAEConfig(
                input_dim=shape,
                latent_dim=dim,
                num_embeddings=cfg.model.codebook_size,
                commitment_loss_factor=cfg.model.commitment,
                use_ema=True,
            ),
            encoder=Encoder(),
            decoder=Decoder(),
        )
    seconds, _ = train_pythae(
        model,
        splits,
        num_epochs=1,
        learning_rate=LR,
        per_device_train_batch_size=cfg.train.batch_size,
        per_device_eval_batch_size=500,
        optimizer_cls="Adam",
        optimizer_params={"betas": (0.9, cfg.train.adam_beta2)},
    )
    return {
        "seconds": seconds,
        "test_mse_per_pixel": test_mse(lambda x: model({"data": x}).recon_x, splits.test),
        "batch_size": cfg.train.batch_size,
    }


def train_pythae(model, splits: Splits, **options) -> tuple[float, object]:
    """Train a pythae model with its BaseTrainer (config `options`, the rest its defaults) on the
    training images, evaluated on the validation images; (wall seconds of trainer.train(), the
    trainer config)."""
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    train_x, _ = splits.train.tensors()
    val_x, _ = splits.val.tensors()
    with tempfile.TemporaryDirectory() as tmp:
        tcfg = BaseTrainerConfig(output_dir=tmp, no_cuda=True, **options)
        trainer = BaseTrainer(
            model=model,
            train_dataset=BaseDataset(train_x, torch.zeros(len(train_x))),
            eval_dataset=BaseDataset(val_x, torch.zeros(len(val_x))),
            training_config=tcfg,
        )
        t0 = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t0
    model.eval()
    return seconds, tcfg


def run_pythae_defaults(kind: str, splits: Splits, epochs: int) -> dict:
    from pythae.models import AE, VAE, VQVAE, AEConfig, VAEConfig, VQVAEConfig

    shape = (1, 28, 28)
    model = {
        "ae": lambda: AE(AEConfig(input_dim=shape)),
        "vae": lambda: VAE(VAEConfig(input_dim=shape)),
        "vqvae": lambda: VQVAE(VQVAEConfig(input_dim=shape)),
    }[kind]()
    seconds, tcfg = train_pythae(model, splits, num_epochs=epochs)
    return {
        "seconds": seconds,
        "test_mse_per_pixel": test_mse(lambda x: model({"data": x}).recon_x, splits.test),
        "batch_size": tcfg.per_device_train_batch_size,
        "epochs": epochs,
        "lr": tcfg.learning_rate,
        "latent_dim": model.model_config.latent_dim,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("library", choices=("latentzoo", "pythae"))
    ap.add_argument("kind", choices=("ae", "vae", "vqvae"))
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument(
        "--defaults", action="store_true", help="pythae: its own default model and trainer"
    )
    ap.add_argument("--epochs", type=int, default=100, help="with --defaults")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    if a.library == "pythae" and a.precision != "fp32":
        ap.error("pythae trains in fp32 only here")
    if a.defaults and a.library != "pythae":
        ap.error("--defaults is pythae's; benchmarks/time_to_quality.py trains latentzoo's")
    # speed.py: 2; time_to_quality.py: --threads
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    full = load_dataset("mnist")
    torch.manual_seed(0)
    if a.defaults:
        res = run_pythae_defaults(a.kind, full, a.epochs)
        a.images = len(full.train) * a.epochs
    else:
        splits = Splits(
            "mnist",
            full.train.subset(slice(0, a.images)),
            full.val.subset(slice(0, 1000)),
            full.test,
        )
        res = (run_latentzoo if a.library == "latentzoo" else run_pythae)(
            a.kind, splits, a.precision
        )
    res.update(
        library=a.library,
        kind=a.kind,
        images=a.images,
        images_per_second=a.images / res["seconds"],
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        torch=torch.__version__,
    )
    a.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
