"""Each metric against a case with a known answer."""

import math

import pytest
import torch

import latentzoo
from latentzoo.config import make_config
from latentzoo.data import ImageSet
from latentzoo.eval import (
    auroc,
    classical_denoise,
    codebook_stats,
    probe_accuracy,
    psnr,
    ssim,
    uniform_bits_per_image,
    vae_likelihood,
)
from latentzoo.models import build_model


def test_identical_images():
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(ssim(x, x), torch.ones(4), atol=1e-5)
    assert torch.allclose(psnr(x, x), torch.full((4,), 100.0))
    # MSE 0.01 -> 20 dB
    assert torch.allclose(psnr(x, (x + 0.1)), torch.full((4,), 20.0), atol=1e-3)
    assert float(ssim(x, torch.rand(4, 1, 28, 28)).mean()) < 0.2


def test_codebook_stats_and_uniform_rate():
    uniform = codebook_stats(torch.ones(512))
    assert uniform["codes_used"] == 512 and abs(uniform["perplexity"] - 512) < 1e-6
    half = codebook_stats(torch.tensor([5.0, 5.0, 0.0, 0.0]))
    assert half["codebook_usage"] == 0.5 and abs(half["perplexity"] - 2) < 1e-9
    assert uniform_bits_per_image((7, 7), 512) == 441


def _vae_with_known_likelihood(mu: float):
    """A 2-d MLP VAE whose decoder ignores z (constant logits 0: p(x|z) = 2^-784) and whose
    posterior is N(mu, I) for every image: then -log p(x) = 784 ln 2, and the negative ELBO adds KL
    = mu^2."""
    model = build_model(make_config("vae", backbone="mlp", latent_dim=2))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.encoder.head.bias[:2] = mu  # mean mu, log-variance 0
    return model


@pytest.mark.parametrize("mu", [0.0, 1.0])
def test_vae_likelihood_known_gaussian(mu):
    images = (torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).to(
        torch.uint8
    ) * 255
    data = ImageSet(images, torch.zeros(3, dtype=torch.long))
    res = vae_likelihood(_vae_with_known_likelihood(mu), data, k=5000)
    exact = 784 * math.log(2)
    assert res["k"] == 5000 and res["n_images"] == 3
    assert abs(res["nll"] - exact) < 0.05
    # KL(N(mu, I) || N(0, I)) over 2 dims = mu^2
    assert abs(res["neg_elbo"] - (exact + mu**2)) < 0.1
    assert res["nll"] <= res["neg_elbo"] + 1e-6


def test_auroc_separable_and_reversed():
    is_anomaly = torch.tensor([0, 0, 0, 1, 1])
    assert auroc(torch.tensor([0.1, 0.2, 0.3, 0.9, 0.8]), is_anomaly) == 1.0
    assert auroc(torch.tensor([0.9, 0.8, 0.7, 0.1, 0.2]), is_anomaly) == 0.0


def test_probes_on_separable_clusters():
    g = torch.Generator().manual_seed(0)
    centers = torch.eye(3) * 10
    y = torch.arange(300) % 3
    x = centers[y] + torch.randn(300, 3, generator=g)
    res = probe_accuracy(x[:200], y[:200], x[200:], y[200:])
    assert res == {"linear_probe": 1.0, "knn": 1.0}


def test_classical_denoisers():
    flat = torch.full((2, 1, 28, 28), 0.5)
    for method in ("median", "gaussian"):
        assert torch.allclose(classical_denoise(flat, method), flat, atol=1e-6)
    speck = flat.clone()
    speck[:, :, 10, 10] = 1.0  # one salt pixel: the median filter removes it
    assert torch.allclose(classical_denoise(speck, "median"), flat)


def test_the_anomaly_ensemble_known_answers():
    from latentzoo.eval import Mahalanobis

    # means 1 and 20, deviations sa and sb, uncorrelated: standardised, the (maximum-likelihood)
    # covariance is 3/4 of the identity, which Ledoit-Wolf shrinkage leaves as it is, so the
    # distance is 4/3 of the sum of squared standardised deviations
    normal = {"a": torch.tensor([0.0, 2.0, 0.0, 2.0]), "b": torch.tensor([10.0, 10.0, 30.0, 30.0])}
    sa, sb = (4 / 3) ** 0.5, (400 / 3) ** 0.5
    terms = {
        "a": torch.tensor([1 + sa, 1.0, 1 - sa]),
        "b": torch.tensor([20.0, 20 + 2 * sb, 20 - sb]),
    }
    got = Mahalanobis(normal)(terms)
    want = torch.tensor([1.0, 4.0, 2.0], dtype=torch.float64) * 4 / 3
    assert torch.allclose(got, want, atol=1e-6)
    # correlated views: a point along the normal examples' line is nearer than one across it
    g = torch.Generator().manual_seed(0)
    line = {"a": torch.arange(10.0), "b": torch.arange(10.0) + 0.1 * torch.randn(10, generator=g)}
    fit = Mahalanobis(line)
    along = fit({"a": torch.tensor([7.0]), "b": torch.tensor([7.0])})
    across = fit({"a": torch.tensor([7.0]), "b": torch.tensor([2.0])})
    assert along < across
    # a view constant over two normal examples: still a finite distance, larger off the constant
    pair = Mahalanobis({"a": torch.tensor([1.0, 3.0]), "b": torch.tensor([5.0, 5.0])})
    same, off = pair({"a": torch.tensor([2.0, 2.0]), "b": torch.tensor([5.0, 6.0])})
    assert torch.isfinite(off) and off > same


def test_the_chosen_ensemble_is_fishers_method_over_known_tails():
    """Ensemble = -log(chi-squared tail of the Mahalanobis distance) - the log Gaussian tail of
    each standardised model score; the chi-squared tail is exact and finite far out."""
    from scipy import stats

    from latentzoo.eval import Ensemble, Mahalanobis, chi2_log_tail

    x = torch.tensor([0.0, 0.7, 4.0, 25.0, 300.0])
    for k in (2, 4, 6):
        want_tail = torch.from_numpy(stats.chi2.logsf(x.numpy(), k))
        assert torch.allclose(chi2_log_tail(x, k), want_tail)
    assert torch.isfinite(chi2_log_tail(torch.tensor([1e8]), 4)).all()
    g = torch.Generator().manual_seed(0)
    names = ("ae recon", "ae code", "vae neg elbo", "complexity bits")
    normal = {k: torch.randn(200, generator=g).double() + i for i, k in enumerate(names)}
    terms = {k: torch.randn(5, generator=g).double() * 3 + i for i, k in enumerate(names)}
    z = torch.stack([(terms[k] - normal[k].mean()) / normal[k].std() for k in names[:3]])  # (3, 5)
    want = -(
        torch.from_numpy(stats.chi2.logsf(Mahalanobis(normal)(terms).numpy(), 4))
        + torch.from_numpy(stats.norm.logsf(z.numpy())).sum(0)
    )
    assert torch.allclose(Ensemble(normal)(terms), want, atol=1e-9)
    # worse on every model at once: more anomalous than the same distance with the scores apart
    up = {k: torch.tensor([normal[k].mean() + 2 * normal[k].std()]) for k in names}
    up["complexity bits"] = normal["complexity bits"].mean().view(1)
    assert Ensemble(normal)(up) > -chi2_log_tail(Mahalanobis(normal)(up), 4)


def test_complexity_bits_are_png_lengths_and_grow_with_noise():
    from latentzoo.eval import complexity_bits

    flat = torch.full((1, 1, 28, 28), 0.5)
    noisy = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    bits = complexity_bits(torch.cat([flat, noisy]))
    assert bits[0] < bits[1] / 4 and bits.dtype == torch.float64
    # a signal (N, C, T) lies as C rows; its range sets the 8 bits
    wave = torch.sin(torch.linspace(0, 20, 256)).view(1, 1, 256) * 3
    assert complexity_bits(wave, (-3.0, 3.0))[0] != complexity_bits(wave, (-30.0, 30.0))[0]


def test_code_nll_is_zero_at_the_fitted_mean_and_a_halved_mahalanobis_distance():
    from latentzoo.eval import code_nll

    torch.manual_seed(0)
    ae = build_model(make_config("ae", backbone="mlp", latent_dim=2)).eval()
    x = torch.rand(3, 1, 28, 28)
    z = ae.encode(x)
    ae.latent_mean.copy_(z[0])
    ae.latent_scale_tril.copy_(torch.diag(torch.tensor([2.0, 0.5])))
    d = (z - z[0]) / torch.tensor([2.0, 0.5])
    assert (
        torch.allclose(code_nll(ae, x), 0.5 * d.pow(2).sum(1), atol=1e-5)
        and float(code_nll(ae, x)[0]) == 0.0
    )
    with pytest.raises(latentzoo.LatentzooError, match="fitted"):
        code_nll(build_model(make_config("vae", backbone="mlp")), x)
