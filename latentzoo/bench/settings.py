"""The bench's fixed choices: the published numbers beside ours (`ANCHORS`), the networks of the
likelihood rows (`OURS`, `BURDA`), the training and evaluation budgets (`BUDGETS`), the anomaly
ensemble's members as the results and their tables name them (`MEMBERS`)."""

from __future__ import annotations

from typing import Any

# the ensemble's members: the results' key -> (latentzoo.eval.ensemble_terms's key, column title);
# older results hold the first and the third
MEMBERS = {
    "ae_recon": ("ae recon", "AE reconstruction error"),
    "ae_code": ("ae code", "AE code -log density"),
    "vae_neg_elbo": ("vae neg elbo", "VAE negative ELBO"),
    "complexity_bits": ("complexity bits", "PNG bits"),
}

# Published reference numbers, each with its source and protocol.
ANCHORS = {
    "nll": [
        (
            "VAE, 1 stochastic layer (Burda et al. 2015, Table 1)",
            86.76,
            "dynamic binarization, k=5000",
        ),
        (
            "IWAE, k=50, 1 stochastic layer (Burda et al. 2015, Table 1)",
            84.78,
            "dynamic binarization, k=5000",
        ),
        (
            "VAE, 2 stochastic layers (Burda et al. 2015, Table 1)",
            85.33,
            "dynamic binarization, k=5000",
        ),
        ("pythae VAE (pythae benchmark)", 89.78, "static binarization"),
        ("NVAE (Vahdat & Kautz 2020)", 78.01, "dynamic binarization"),
    ],
    # Ruff et al. 2018, one-class
    "anomaly_deep_svdd": [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5],
    # the same paper's DCAE baseline
    "anomaly_cae": [97.6, 98.3, 85.4, 86.7, 86.5, 78.2, 94.6, 92.3, 86.5, 90.4],
    # PSNR dB, perplexity
    "vq_wae": ("VQ-VAE, 8x8 latents, K=512 (VQ-WAE paper, MNIST)", 33.37, 47.2),
    # Bit-Swap README, 32x32
    "lossless_bpd": [("PNG", 2.80), ("gzip", 1.65), ("WebP", 2.10), ("Bit-Swap", 1.29)],
}

# The likelihood rows' networks, all on dynamically binarized images: ours is the VAE's default conv
# network; Burda et al. (2016)'s one-stochastic-layer network is 784-200-200-50 with tanh, batch
# 100.
# They train 3,280 epochs; BUDGETS says how many we do.
OURS = dict(binarize=True)
BURDA = dict(
    backbone="mlp",
    hidden=200,
    hidden2=200,
    latent_dim=50,
    act="tanh",
    binarize=True,
    batch_size=100,
)

# epochs None: each model's default epochs (make_config), so the full bench measures the defaults.
# nll_images None: all 10,000 test images (Burda et al.'s protocol).
BUDGETS: dict[str, dict[str, Any]] = {
    "full": dict(
        epochs=None,
        vae_epochs=100,
        prior_epochs=10,
        oneclass_epochs=10,
        oneclass_digits=list(range(10)),
        conv_epochs=60,
        burda_epochs=1500,
        iwae_epochs=300,
        iwae_k=5,
        nll_k=5000,
        nll_images=None,
        probe_train=10000,
        samples=5000,
        bm3d_images=300,
        limit=None,
    ),
    "quick": dict(
        epochs=1,
        vae_epochs=2,
        prior_epochs=1,
        oneclass_epochs=1,
        oneclass_digits=[0, 1],
        conv_epochs=1,
        burda_epochs=1,
        iwae_epochs=1,
        iwae_k=2,
        nll_k=100,
        nll_images=100,
        probe_train=2000,
        samples=500,
        bm3d_images=20,
        limit=2000,
    ),
}
FLOOR = "held-out real digits (the floor)"  # its row in the sample table on MNIST
FLOOR_OWN = "held-out real images (the floor)"  # ... and on the user's data

# The one-class table's published columns for MNIST, per normal class.
MNIST_ONECLASS = {
    "Deep SVDD (Ruff et al. 2018)": ANCHORS["anomaly_deep_svdd"],
    "DCAE (Ruff et al. 2018)": ANCHORS["anomaly_cae"],
}

# Other data sets that `latentzoo bench --data` may be given, recognised by the fingerprint of their
# images and labels as loaded (Splits.fingerprint): a data set's name, its class names and its
# published one-class columns.
KNOWN_SETS: dict[str, tuple[str, list[str], dict[str, list[float]]]] = {
    # Debian's dataset-fashion-mnist, its four IDX files in one folder
    "ab0ec51faab7b9fd5316803f3f7ba007d59c3e7e832b627f208105673f90e3c2": (
        "Fashion-MNIST",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
        + ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        {},
    ),
}
