"""The jobs a trained model is used for, measured: features and denoising baselines (anomaly
scores: each model's `anomaly_score`, latentzoo.eval.anomaly).

- Features (`features_of`, `probe_accuracy`, `pca_features`): linear-probe and k-NN accuracy of
  latents, with PCA as the baseline.
- Denoising baselines (`classical_denoise`): median filter, Gaussian blur, BM3D (Dabov et al. 2007),
  non-local means (Buades et al. 2005).
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import ImageSet
from ..errors import ConfigError


@torch.no_grad()
def features_of(model: torch.nn.Module, data: ImageSet, batch: int = 1000) -> torch.Tensor:
    """`model.features` of every image (N, F), on the CPU."""
    model.eval()
    return torch.cat([model.features(x).cpu() for x, _ in data.batches(batch, device=model.device)])


def probe_accuracy(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    knn: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Linear probe (logistic regression on standardized features, train -> test) and k-NN
    accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, b = train_x.double().numpy(), test_x.double().numpy()
    ya, yb = train_y.numpy(), test_y.numpy()
    lin = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed)).fit(
        a, ya
    )
    nn_ = KNeighborsClassifier(knn).fit(a, ya)
    return {
        "linear_probe": float((lin.predict(b) == yb).mean()),
        "knn": float((nn_.predict(b) == yb).mean()),
    }


def pca_features(
    train_x: torch.Tensor, test_x: torch.Tensor, dim: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.decomposition import PCA

    pca = PCA(dim, random_state=seed).fit(train_x.double().numpy())
    return torch.from_numpy(pca.transform(train_x.double().numpy())), torch.from_numpy(
        pca.transform(test_x.double().numpy())
    )


def classical_denoise(noisy: torch.Tensor, method: str, sigma: float | None = None) -> torch.Tensor:
    """Baselines on images (N, C, H, W), each channel apart but for BM3D: 'median' (3x3 median
    filter), 'gaussian' (Gaussian blur, sigma 1 pixel), 'bm3d' (Dabov et al. 2007, PyPI bm3d, its
    colour version for C = 3; needs the noise level sigma), 'nlm' (non-local means, Buades et al.
    2005, scikit-image's, with the noise level estimated from the image)."""
    from scipy import ndimage

    arr = noisy.detach().cpu().double().numpy()
    if method == "median":
        out = ndimage.median_filter(arr, size=(1, 1, 3, 3), mode="reflect")
    elif method == "gaussian":
        out = ndimage.gaussian_filter(arr, sigma=(0, 0, 1.0, 1.0), mode="reflect")
    elif method == "bm3d":
        out = np.stack([bm3d_one(img, sigma if sigma else 0.1) for img in arr])
    elif method == "nlm":
        out = np.stack([nlm_one(img) for img in arr])
    else:
        raise ConfigError(f"unknown denoiser '{method}' (choose median, gaussian, bm3d or nlm)")
    return torch.from_numpy(out).float().clamp(0, 1)


def bm3d_one(img: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D of one image (C, H, W): the colour version for three channels."""
    import bm3d

    if img.shape[0] == 3:
        return bm3d.bm3d_rgb(img.transpose(1, 2, 0), sigma).transpose(2, 0, 1)
    return bm3d.bm3d(img[0], sigma_psd=sigma)[None]


def nlm_one(img: np.ndarray) -> np.ndarray:
    """Non-local means of one image (C, H, W), with h 0.8 times the estimated noise level (as
    scikit-image's example does)."""
    from skimage.restoration import denoise_nl_means, estimate_sigma

    hwc = img.transpose(1, 2, 0)
    sigma = float(np.mean(estimate_sigma(hwc, channel_axis=-1)))
    out = denoise_nl_means(
        hwc, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, channel_axis=-1
    )
    return out.reshape(hwc.shape).transpose(2, 0, 1)
