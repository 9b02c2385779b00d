"""A small classifier that the project trains itself, and the sample-quality numbers built on it.

"MNIST-FID" is the Fréchet distance (Heusel et al. 2017) between Gaussians fitted to this
classifier's 128-d penultimate features of real test digits and of generated digits. It follows
FID's recipe but not its network, so it is NOT comparable with Inception FID; it is comparable
across latentzoo runs. The classifier is deterministic (fixed seed and budget), trained on the
60,000 MNIST training digits on first use by latentzoo.loop, cached (safetensors + JSON) with its
test accuracy recorded.

On other labelled data (latentzoo.sources) the same kind of classifier is trained on that data's
training images, cached under its fingerprint, and its Fréchet distance is `data_fid`: comparable
across runs on the same data only. Unlabelled data, or images under MIN_SIZE pixels a side, have
none."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..console import Log, stderr_log
from ..data import ImageSet, Splits, cache_dir, load_mnist
from ..files import load_tensors, read_json, save_tensors, write_json
from ..loop import fit, init_seed
from .metrics import frechet_distance

# v2: trained by the shared loop (its data order differs from v1's), so v1's cached weights are not
# reused
VERSION = "v2"
EPOCHS, BATCH, LR, SEED = 3, 128, 1e-3, 0
FEATURES = 128
MIN_SIZE = 16  # two 5x5 convolutions and two 2x2 poolings need 16 pixels a side


class Classifier(nn.Module):
    """Images (B, C, H, W) -> logits (B, n_classes); MNIST: C = 1, 28 x 28, 10 classes."""

    def __init__(
        self, in_channels: int = 1, height: int = 28, width: int = 28, n_classes: int = 10
    ):
        super().__init__()
        side = lambda n: ((n - 4) // 2 - 4) // 2  # noqa: E731
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, 12, 12) for MNIST
            nn.Conv2d(32, 64, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 64, 4, 4)
            # (B, 128) features
            nn.Flatten(),
            nn.Linear(64 * side(height) * side(width), FEATURES),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURES, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, 10) logits


def classifier_dir(fingerprint: str | None = None) -> Path:
    """The cache folder of MNIST's classifier, or of the one for the data with this fingerprint."""
    return cache_dir() / (
        f"classifier-{VERSION}"
        if fingerprint is None
        else f"classifier-{VERSION}-{fingerprint[:16]}"
    )


def unavailable(splits: Splits) -> str | None:
    """Why no classifier can be trained on these splits (None when one can)."""
    if not splits.train.labelled:
        return "the images have no labels"
    if min(splits.train.shape[1:]) < MIN_SIZE:
        return f"the images are under {MIN_SIZE} pixels a side"
    if len(splits.classes) < 2:
        return "the images have one label only"
    return None


@torch.no_grad()
def accuracy(model: Classifier, data: ImageSet, device="cpu") -> float:
    model.eval()
    correct = 0
    for x, y in data.batches(1000, device=device):
        correct += int((model(x).argmax(1) == y).sum())
    return correct / len(data)


def train_classifier(
    data_dir=None, device="cpu", log: Log = stderr_log, splits: Splits | None = None
) -> tuple[Classifier, dict]:
    """Train the classifier with the project's training loop: on the 60,000 MNIST training digits,
    or on the training and validation images of `splits` (its test images give the accuracy)."""
    if splits is None:
        (train, test), n_classes = load_mnist(data_dir), 10
    else:
        train = splits.train.joined(splits.val)
        test, n_classes = splits.test, len(splits.classes)
    init_seed(SEED)
    model = Classifier(*train.shape, n_classes=n_classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def step(batch, _epoch):
        x, y = batch
        loss = F.cross_entropy(model(x), y)
        return loss, {"loss": float(loss.detach())}, x.shape[0]

    t0 = time.time()
    fit(
        model,
        opt,
        epochs=EPOCHS,
        steps=math.ceil(len(train) / BATCH),
        seed=SEED,
        name="classifier",
        batches=lambda order: train.batches(BATCH, shuffle=True, generator=order, device=device),
        step=step,
        log=log,
        progress=False,
    )
    info = {
        "test_accuracy": accuracy(model, test, device),
        "train_accuracy": accuracy(model, train, device),
        "epochs": EPOCHS,
        "seed": SEED,
        "seconds": round(time.time() - t0, 1),
        "version": VERSION,
        "torch": torch.__version__,
        "data": None if splits is None else splits.fingerprint,
        "shape": list(train.shape),
        "n_classes": model.head.out_features,
    }
    log(f"classifier: test accuracy {info['test_accuracy']:.4f}")
    return model.eval(), info


def get_classifier(
    data_dir=None, device="cpu", log: Log = stderr_log, splits: Splits | None = None
) -> tuple[Classifier, dict]:
    """The cached classifier of MNIST, or of `splits` (the user's labelled data), trained on first
    use (MNIST: about a minute on 2 CPU cores), and its info."""
    folder = classifier_dir(None if splits is None else splits.fingerprint)
    if (folder / "model.safetensors").is_file() and (folder / "info.json").is_file():
        info = read_json(folder / "info.json")
        model = Classifier(*info.get("shape", (1, 28, 28)), n_classes=info.get("n_classes", 10))
        model.load_state_dict(load_tensors(folder / "model.safetensors")[0])
        return model.to(device).eval(), info
    log(
        f"training the {'MNIST ' if splits is None else ''}classifier used for "
        f"{'MNIST-FID' if splits is None else 'data-FID'} (once; cached in {folder})"
    )
    with torch.enable_grad():  # callers may hold no_grad
        model, info = train_classifier(data_dir, device, log, splits)
    save_tensors(folder / "model.safetensors", model.state_dict())
    write_json(folder / "info.json", info)
    return model, info


@torch.no_grad()
def classify(
    model: Classifier, images: torch.Tensor, batch: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, 128), class probabilities (N, K)) of images (N, C, H, W) in [0, 1]."""
    dev = next(model.parameters()).device
    feats, probs = [], []
    for i in range(0, images.shape[0], batch):
        f = model.features(images[i : i + batch].to(dev))
        feats.append(f.cpu())
        probs.append(F.softmax(model.head(f), 1).cpu())
    return torch.cat(feats), torch.cat(probs)


def sample_quality(
    model: Classifier, samples: torch.Tensor, real: torch.Tensor, fid_name: str = "mnist_fid"
) -> dict[str, float]:
    """The Fréchet distance of `samples` against `real` images (named `fid_name`), plus the
    classifier's view of the samples: confidence (mean entropy of p(y|x), nats; low = confident) and
    diversity (entropy of the mean class distribution, nats; log K is perfectly even over K classes,
    log 10 = 2.303 for MNIST's digits)."""
    f_s, p_s = classify(model, samples)
    f_r, _ = classify(model, real)
    k = model.head.out_features
    per_sample = -(p_s * p_s.clamp(min=1e-12).log()).sum(1)
    marginal = p_s.mean(0)
    counts = torch.bincount(p_s.argmax(1), minlength=k)
    return {
        fid_name: frechet_distance(f_s, f_r),
        "class_entropy": float(per_sample.mean()),
        "class_diversity": float(-(marginal * marginal.clamp(min=1e-12).log()).sum()),
        "class_diversity_max": math.log(k),
        "digits_covered": int((counts > 0).sum()),
        "n_samples": samples.shape[0],
    }


__all__ = ["Classifier", "get_classifier", "classify", "sample_quality", "accuracy", "unavailable"]
