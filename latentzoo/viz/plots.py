"""Pictures, written as PNG (atomically): image grids with Pillow, figures with matplotlib
(headless).

`save_rows` lays out rows of images (e.g. clean / noisy / denoised); `save_reconstructions`
puts each row of inputs above the rows of their reconstructions (and residuals, where a kind draws
them); `loss_curves`, `latent_map`,
`codebook_histogram` and `code_grids` are the report's figures."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..files import atomic_write

PAD = 2


def grid(images: torch.Tensor, nrow: int, pad: int = PAD) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] -> uint8 picture (grey, or RGB for C = 3) with `nrow` images
    per row, white gaps."""
    x = images.detach().float().cpu().clamp(0, 1).permute(0, 2, 3, 1)  # (N, H, W, C)
    n, h, w, ch = x.shape
    rows = (n + nrow - 1) // nrow
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, ch), 255, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        canvas[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = (x[i].numpy() * 255).round().astype(np.uint8)
    return canvas[..., 0] if ch == 1 else canvas


def save_png(path: str | os.PathLike, picture: np.ndarray, scale: int = 2) -> Path:
    img = Image.fromarray(picture)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return atomic_write(path, buf.getvalue())


def save_grid(path: str | os.PathLike, images: torch.Tensor, nrow: int = 8) -> Path:
    return save_png(path, grid(images, nrow))


def save_rows(path: str | os.PathLike, rows: list[torch.Tensor]) -> Path:
    """Each tensor (n, C, H, W) becomes one row; all rows have the same n."""
    return save_png(path, grid(torch.cat(rows), nrow=rows[0].shape[0]))


def save_reconstructions(
    path: str | os.PathLike, groups: list[torch.Tensor], per_row: int = 8
) -> Path:
    """Rows of inputs, each followed by the rows of the same examples in `groups[1:]` (their
    reconstructions, residuals): each group (n, C, H, W) pictures of the same n examples."""
    rows = []
    for i in range(0, groups[0].shape[0], per_row):
        rows += [g[i : i + per_row] for g in groups]
    return save_png(path, grid(torch.cat(rows), nrow=per_row))


# ----------------------------------------------------------------------------- matplotlib figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # headless
    import matplotlib.pyplot as plt

    return plt


def save_figure(path: str | os.PathLike, fig) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return atomic_write(path, buf.getvalue())


def loss_curves(path: str | os.PathLike, history: list[dict]) -> Path:
    """One panel per loss term: train and validation per epoch."""
    plt = _plt()
    terms = [k[len("train_") :] for k in history[0] if k.startswith("train_")]
    fig, axes = plt.subplots(1, len(terms), figsize=(3.2 * len(terms), 2.8), squeeze=False)
    epochs = [int(r["epoch"]) for r in history]
    for ax, term in zip(axes[0], terms):
        for split, style in (("train", "-o"), ("val", "--s")):
            key = f"{split}_{term}"
            if key in history[0]:
                ax.plot(epochs, [float(r[key]) for r in history], style, ms=3, label=split)
        ax.set_title(f"{term} (per image)" if term != "loss" else "total loss")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(path, fig)


def latent_map(
    path: str | os.PathLike,
    feats: torch.Tensor,
    labels: torch.Tensor,
    method: str = "pca",
    seed: int = 0,
) -> Path:
    """2-D map of latents (N, F) coloured by label (grey when unlabelled): PCA (default) or t-SNE
    (scikit-learn)."""
    plt = _plt()
    x = feats.double().cpu().numpy()
    # one dimension, too few points for PCA, or all points alike (a collapsed codebook)
    if x.shape[1] == 1 or len(x) < 3 or not x.std(0).any():
        xy = np.c_[x[:, 0], np.zeros(len(x))]
    elif x.shape[1] == 2:
        xy = x
    elif method == "tsne":
        from sklearn.manifold import TSNE

        xy = TSNE(2, init="pca", random_state=seed).fit_transform(x)
    else:
        from sklearn.decomposition import PCA

        xy = PCA(2, random_state=seed).fit_transform(x)
    fig, ax = plt.subplots(figsize=(5, 4.4))
    y = labels.cpu().numpy()
    if (y >= 0).all():
        top = max(9, int(y.max()))
        sc = ax.scatter(
            xy[:, 0],
            xy[:, 1],
            c=y,
            cmap="tab10" if top < 10 else "viridis",
            s=3,
            vmin=-0.5,
            vmax=top + 0.5,
        )
        fig.colorbar(sc, ax=ax, ticks=range(top + 1) if top < 10 else None, label="label")
    else:
        ax.scatter(xy[:, 0], xy[:, 1], c="0.3", s=3)
    ax.set_title(f"test latents ({'raw 2-D' if x.shape[1] <= 2 else method.upper()})")
    return save_figure(path, fig)


def score_trace(path: str | os.PathLike, traces: list, threshold: float, rate=None) -> Path:
    """Per recording, two panels: its first channel and its score per sample (each an envelope
    of lows and highs, latentzoo.recordings.Envelope), the threshold, and the flagged stretches
    shaded."""
    plt = _plt()
    fig, axes = plt.subplots(
        2 * len(traces), 1, figsize=(10, 3.2 * len(traces)), squeeze=False, sharex=False
    )
    unit = 1 / rate if rate else 1
    for i, (name, wave, score) in enumerate(traces):
        top, bottom = axes[2 * i, 0], axes[2 * i + 1, 0]
        at, lo, hi = wave.bounds()
        top.fill_between(at * unit, lo, hi, step="post", color="0.2", lw=0.5)
        top.set_title(f"{name}: first channel", fontsize=9)
        at, _, peak = score.bounds()
        bottom.plot(at * unit, peak, drawstyle="steps-post", color="C0", lw=0.8)
        bottom.axhline(threshold, color="C3", lw=0.8, ls="--", label="threshold")
        bottom.fill_between(
            at * unit,
            0,
            1,
            where=peak > threshold,
            step="post",
            color="C3",
            alpha=0.25,
            transform=bottom.get_xaxis_transform(),
            label="flagged",
        )
        bottom.set_title("score per sample (the worst window covering it)", fontsize=9)
        bottom.set_xlabel("seconds" if rate else "sample")
        bottom.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return save_figure(path, fig)


def codebook_histogram(path: str | os.PathLike, counts: torch.Tensor) -> Path:
    """Codes sorted by how often the test set uses them."""
    plt = _plt()
    c = counts.double().cpu().numpy()
    order = np.sort(c)[::-1]
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.bar(np.arange(len(order)), order, width=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("code (sorted by use)")
    ax.set_ylabel("uses on the test set")
    ax.set_title(f"codebook usage: {int((c > 0).sum())} of {len(c)} codes used")
    return save_figure(path, fig)


def code_grids(path: str | os.PathLike, images: torch.Tensor, codes: torch.Tensor) -> Path:
    """Each image above its grid of code indices (MNIST: 7 x 7)."""
    plt = _plt()
    n = images.shape[0]
    fig, axes = plt.subplots(2, n, figsize=(1.7 * n, 3.6), squeeze=False)
    for i in range(n):
        im = images[i].cpu().permute(1, 2, 0).numpy()  # (H, W, C)
        axes[0, i].imshow(im[..., 0] if im.shape[2] == 1 else im, cmap="gray", vmin=0, vmax=1)
        axes[0, i].axis("off")
        grid_ = codes[i].cpu().numpy()
        axes[1, i].imshow(grid_, cmap="viridis")
        for (r, c), v in np.ndenumerate(grid_):
            axes[1, i].text(c, r, str(v), ha="center", va="center", fontsize=4.5, color="white")
        axes[1, i].set_xticks([])
        axes[1, i].set_yticks([])
    fig.suptitle(f"images and their {codes.shape[1]}x{codes.shape[2]} code grids")
    return save_figure(path, fig)
