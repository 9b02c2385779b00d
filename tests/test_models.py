"""Every model kind through one parametrized test, plus layer- and quantizer-specific known
answers."""

import json
from pathlib import Path

import pytest
import torch
from conftest import KINDS, kind_config

import latentzoo
from latentzoo.config import Config, make_config
from latentzoo.errors import ConfigError
from latentzoo.models import build_model


def v1_vqvae(*drop):
    """A VQ-VAE's config.json as version-1 code wrote it before the fields `drop` existed."""
    path = Path(__file__).parent / "fixtures" / "v1" / "vqvae" / "config.json"
    d = json.loads(path.read_text())
    for k in drop:
        d.pop(k)
    return d


@pytest.mark.parametrize("name", list(KINDS))
def test_model_kind(name, small_splits, trained):
    cfg = kind_config(name, epochs=1, batch_size=64, lr=2e-3)
    torch.manual_seed(0)
    model = build_model(cfg)
    x, y = small_splits.train.tensors(slice(0, 64))

    # shapes and finite, named losses
    out = model(x, y)
    assert out.x_hat.shape == (64, 1, 28, 28) and 0 <= out.x_hat.min() and out.x_hat.max() <= 1
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert "recon" in out.losses and all(
        v.shape == (64,) and torch.isfinite(v).all() for v in out.losses.values()
    )
    if model.has_codes:
        rows = 7 * model.codebooks  # a residual quantizer's codes: a 7x7 grid per codebook
        assert out.codes.shape == (64, rows, 7)
        assert out.latent.shape == (64, cfg.model.code_dim, 7, 7)
        codes = model.encode(x)
        assert codes.dtype == torch.int64 and int(codes.max()) < cfg.model.n_codes
        model.eval()
        assert torch.allclose(model.decode(model.encode(x)), model.reconstruct(x), atol=1e-5)
        model.train()
    else:
        assert out.latent.shape == (64, cfg.model.latent_dim)
        assert model.encode(x, y).shape == (64, cfg.model.latent_dim)
    if model.has_elbo:
        assert set(out.losses) == {"recon", "kl"} and (out.losses["kl"] >= 0).all()

    # the loss goes down on a small batch (the textbook VQ's codebook terms rise while the encoder
    # outruns its slowly moving codes, so there only the reconstruction term is held to it)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    torch.manual_seed(1)
    before = model(x, y).mean_losses()
    for _ in range(40):
        loss = model(x, y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.manual_seed(1)
    after = model(x, y).mean_losses()
    assert after["recon"] < 0.8 * before["recon"]
    if name != "vqvae-textbook":
        assert after["loss"] < 0.8 * before["loss"]

    # the trained run: its files, a save / load round trip with identical outputs, and sampling
    # exactly when the model says it can
    run = trained[name]
    assert {
        "config.json",
        "model.safetensors",
        "last.safetensors",
        "history.csv",
        "metrics.json",
    } <= {p.name for p in run.iterdir()}
    assert not (run / "report.html").exists()  # the library's train draws nothing; the CLI's does
    loaded, again = latentzoo.load(run), latentzoo.load(run)
    xt, yt = small_splits.test.tensors(slice(0, 16))
    with torch.no_grad():
        assert torch.equal(loaded.reconstruct(xt, yt), again.reconstruct(xt, yt))
        assert torch.equal(loaded.features(xt, yt), again.features(xt, yt))
    # a VQ-VAE samples with a prior only
    assert loaded.cfg == cfg and loaded.can_sample == (not loaded.has_codes)
    if loaded.can_sample:
        y4 = torch.arange(4) if loaded.needs_labels else None
        assert loaded.sample(4, y=y4).shape == (4, 1, 28, 28)
    else:
        with pytest.raises(latentzoo.LatentzooError, match="train-prior"):
            loaded.sample(4)


def test_fine_blocks_add_layers_at_14_and_28_and_old_configs_load_without_them():
    from latentzoo.config import Config

    def convs(module):  # hooks that record the output size of every conv layer
        shapes = []
        hook = lambda m, i, o: shapes.append(o.shape[-1])  # noqa: E731
        conv = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
        handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, conv)]
        return shapes, handles

    x = torch.rand(2, 1, 28, 28)
    counts = {}
    for fine in (0, 2):
        model = build_model(make_config("vqvae", fine_blocks=fine))
        shapes, handles = convs(model)
        assert model(x).x_hat.shape == (2, 1, 28, 28)
        for h in handles:
            h.remove()
        counts[fine] = {s: shapes.count(s) for s in (7, 14, 28)}
    # fine_blocks=2: a 3x3 conv at 28x28 at each end (the decoder's last one is the output), two
    # residual blocks (2 convs each) at 14x14 in the encoder and in the decoder
    assert counts[2][28] == counts[0][28] + 2 and counts[2][14] == counts[0][14] + 8
    assert counts[2][7] == counts[0][7]
    assert Config.from_dict(v1_vqvae("fine_blocks")).model.fine_blocks == 0
    with pytest.raises(latentzoo.LatentzooError, match="fine_blocks needs at least 2 channels"):
        make_config("vqvae", channels=1)


def test_group_norm_in_residual_blocks_and_old_configs_load_without_it():
    from latentzoo.config import Config
    from latentzoo.nn.layers import ResBlock

    def blocks(model):
        return [m for m in model.modules() if isinstance(m, ResBlock)]

    # 6 and 12 channels: 2 and 4 groups
    for model_kind, extra in (("vqvae", {}), ("ae", dict(channels=6))):
        for norm in ("none", "group"):
            model = build_model(make_config(model_kind, norm=norm, **extra))
            assert model(torch.rand(2, 1, 28, 28)).x_hat.shape == (2, 1, 28, 28)
            norms = [m for b in blocks(model) for m in b.body if isinstance(m, torch.nn.GroupNorm)]
            assert len(norms) == (2 * len(blocks(model)) if norm == "group" else 0) and blocks(
                model
            )
    # "none" keeps the block layout (and so the weight names) of runs saved before the option
    plain = blocks(build_model(make_config("vqvae", norm="none", act="relu")))[0].body
    assert [type(m).__name__ for m in plain] == ["ReLU", "Conv2d", "ReLU", "Conv2d"]
    assert Config.from_dict(v1_vqvae("norm")).model.norm == "none"
    with pytest.raises(latentzoo.LatentzooError, match="unknown norm 'batch'"):
        make_config("vqvae", norm="batch")


def test_activation_option_swaps_every_hidden_nonlinearity_and_old_configs_keep_relu():
    from latentzoo.config import Config

    def acts(model):
        return {
            type(m).__name__
            for m in model.modules()
            if isinstance(m, (torch.nn.ReLU, torch.nn.SiLU, torch.nn.GELU, torch.nn.Tanh))
        }

    for model_kind, extra in (("vqvae", {}), ("ae", {}), ("vae", dict(backbone="mlp"))):
        relu = build_model(make_config(model_kind, act="relu", **extra))
        assert acts(relu) == {"ReLU"}
        for act, name in (("silu", "SiLU"), ("gelu", "GELU"), ("tanh", "Tanh")):
            other = build_model(make_config(model_kind, act=act, **extra))
            assert acts(other) == {name}
            # same weight names either way
            assert list(relu.state_dict()) == list(other.state_dict())
            assert other(torch.rand(2, 1, 28, 28), torch.tensor([1, 2])).x_hat.shape == (
                2,
                1,
                28,
                28,
            )
    assert make_config("vqvae").model.act == "gelu" and make_config("ae").model.act == "relu"
    # v1 files before --act: ReLU
    assert Config.from_dict(v1_vqvae("act")).model.act == "relu"
    with pytest.raises(latentzoo.LatentzooError, match="unknown act 'swish'"):
        make_config("vqvae", act="swish")


def test_vae_samples_and_kl_warmup():
    cfg = make_config("vae", backbone="mlp", kl_warmup=2)
    model = build_model(cfg)
    model.set_progress(0.5)
    assert model.kl_scale == 0.25
    model.set_progress(3)
    assert model.kl_scale == 1.0
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(model.sample(5, generator=g()), model.sample(5, generator=g()))
    assert model.sample(5).shape == (5, 1, 28, 28)


def test_cvae_needs_labels_and_draws_the_asked_digit_shape():
    model = build_model(make_config("cvae", backbone="mlp"))
    with pytest.raises(latentzoo.LatentzooError, match="conditional"):
        model.sample(3)
    assert model.sample(3, y=7).shape == (3, 1, 28, 28)


def test_ae_sample_needs_fitted_gaussian():
    model = build_model(make_config("ae", backbone="mlp"))
    with pytest.raises(latentzoo.LatentzooError, match="fitted"):
        model.sample(2)
    z = torch.randn(500, 32) * 3 + 1
    model.fit_latent_prior(z)
    assert torch.allclose(model.latent_mean, z.mean(0))
    assert model.sample(4).shape == (4, 1, 28, 28)


def test_vq_losses_and_straight_through():
    from latentzoo.nn.quantizers import VectorQuantizer

    vq = VectorQuantizer(codebook_size=8, dim=3, ema=False, kmeans_init=False, restart_dead=False)
    z = torch.randn(2, 3, 7, 7, requires_grad=True)
    out = vq(z)
    e = vq.embed[out.indices]  # (2, 7, 7, 3)
    ref = (z.permute(0, 2, 3, 1) - e).pow(2).sum(-1).flatten(1).sum(1)
    assert torch.allclose(out.losses["codebook"], ref) and torch.allclose(
        out.losses["commitment"], ref
    )
    # nearest: no code is closer than the chosen one
    flat = z.detach().permute(0, 2, 3, 1).reshape(-1, 3)
    d = torch.cdist(flat, vq.embed.detach())
    assert torch.equal(d.argmin(1), out.indices.reshape(-1))
    # straight-through: d quantized / d z is the identity
    out.quantized.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))


def quantizer(**kw):
    from latentzoo.nn.quantizers import VectorQuantizer

    torch.manual_seed(0)
    off = dict(ema=False, kmeans_init=False, restart_dead=False)
    return VectorQuantizer(dim=2, **{**off, **kw}).train()


def grid_of(points: torch.Tensor) -> torch.Tensor:
    return points.reshape(-1, 7, 7, 2).permute(0, 3, 1, 2)  # (B, 2, 7, 7)


def test_vq_kmeans_init_makes_each_code_the_mean_of_the_first_batch_vectors_nearest_it():
    """Lloyd's fixed point: every code that is nearest to some vectors of the first batch is their
    mean, so the codes sit on the data (the clusters here), not at their initial values."""
    centres = torch.tensor([[10.0, 10.0], [10.0, -10.0], [-10.0, 10.0], [-10.0, -10.0]])
    g = torch.Generator().manual_seed(0)  # the same points whatever ran before
    points = centres.repeat(49, 1) + 0.1 * torch.randn(196, 2, generator=g)  # 49 around each centre
    vq = quantizer(codebook_size=4, kmeans_init=True)
    vq(grid_of(points))
    codes = vq.embed.detach()
    nearest = torch.cdist(points, codes).argmin(1)
    assert bool(vq.initialized) and nearest.unique().numel() >= 3
    for k in nearest.unique():
        assert torch.allclose(codes[k], points[nearest == k].mean(0), atol=1e-4)
    textbook = quantizer(codebook_size=4)
    textbook(grid_of(points))
    assert textbook.embed.abs().max() <= 1 / 4  # still its uniform initialisation


def test_vq_ema_moves_the_used_code_to_the_mean_of_its_inputs_without_gradients():
    target = torch.tensor([3.0, -2.0])
    points = target + 0.01 * torch.randn(98, 2)
    vq = quantizer(codebook_size=8, ema=True, decay=0.5)
    assert not vq.embed.requires_grad
    for _ in range(40):
        out = vq(grid_of(points))
    used = out.indices.unique()
    assert used.numel() == 1 and torch.allclose(vq.embed[used[0]], points.mean(0), atol=1e-4)
    learned = quantizer(codebook_size=8)  # no EMA: the codebook moves only by its loss's gradient
    before = learned.embed.detach().clone()
    learned(grid_of(points))
    assert learned.embed.requires_grad and torch.equal(learned.embed.detach(), before)


def test_vq_restarts_move_dead_codes_onto_batch_vectors_and_only_with_restarts():
    z = torch.randn(4, 2, 7, 7) * 5
    flat = z.permute(0, 2, 3, 1).reshape(-1, 2)
    vq = quantizer(codebook_size=16, restart_dead=True, dead_threshold=1e9)  # every code dead
    vq(z)
    # every code is one of the batch vectors (mm loses ~1e-3, hence the exact distance)
    exact = torch.cdist(vq.embed.detach(), flat, compute_mode="donot_use_mm_for_euclid_dist")
    assert exact.min(1).values.max() < 1e-5
    kept = quantizer(codebook_size=16, dead_threshold=1e9)
    before = kept.embed.detach().clone()
    kept(z)
    assert torch.equal(kept.embed.detach(), before)


def test_fsq_codes_round_trip():
    from latentzoo.nn.quantizers import FSQ

    fsq = FSQ(levels=[8, 5, 5, 4], dim=16)
    out = fsq(torch.randn(3, 16, 7, 7) * 4)
    assert out.indices.min() >= 0 and out.indices.max() < 800
    assert torch.allclose(fsq.lookup(out.indices), out.quantized, atol=1e-6)


def test_the_importance_weighted_bound_is_tighter_than_the_elbo_and_trains():
    """Burda et al. (2016): L_1 is the ELBO and L_K rises with K; iw_samples needs a Bernoulli
    decoder."""

    x = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    bounds = {}
    for k in (2, 50):
        torch.manual_seed(0)
        model = build_model(make_config("vae", backbone="mlp", iw_samples=k))
        with torch.no_grad():
            torch.manual_seed(1)
            out = model(x)
        bounds[k] = float(out.extras["iwae"].mean())
        elbo = float(-(out.losses["recon"] + out.losses["kl"]).mean())
        assert abs(float(out.loss) + bounds[k]) < 1e-4  # the loss is the negative bound
    assert elbo < bounds[2] < bounds[50]
    torch.manual_seed(0)
    model = build_model(make_config("vae", backbone="mlp", iw_samples=5))
    model(x).loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    gauss = build_model(make_config("vae", backbone="mlp", recon="mse", iw_samples=5))
    assert torch.isfinite(gauss(x).loss)


def test_the_squared_error_decoder_is_a_gaussian_of_variance_one_half():
    """Known answer: the IWAE's log p(x|z) for --recon mse is the log-density of N(out, 1/2)."""
    from latentzoo.models.base import log_likelihood

    out, x = torch.randn(3, 1, 4, 5), torch.randn(3, 1, 4, 5)
    normal = torch.distributions.Normal(out, 0.5**0.5)
    want = normal.log_prob(x).flatten(1).sum(1)
    assert torch.allclose(log_likelihood(out, x, "mse"), want, atol=1e-4)


def test_each_capability_flag_keeps_its_written_protocol(trained, small_splits, tmp_path):
    """Every model kind, and a VQ-VAE composed with its prior, provides what its flags promise
    (latentzoo.models.capabilities); a flag without its protocol is refused."""
    import shutil

    from latentzoo.models import PriorConfig
    from latentzoo.models.capabilities import CAPABILITIES, check_capabilities
    from latentzoo.training import train_prior

    models = [build_model(kind_config(name)) for name in KINDS]
    run = shutil.copytree(trained["vqvae"], tmp_path / "vq")
    prior = PriorConfig(epochs=1, d_model=16, n_layers=1, n_heads=2)
    train_prior(run, prior, splits=small_splits, progress=False, log=lambda m: None)
    models.append(latentzoo.load(run))
    seen = set()
    for model in models:
        check_capabilities(model)
        for flag, protocol in CAPABILITIES.items():
            if getattr(model, flag):
                assert isinstance(model, protocol), (type(model).__name__, flag)
                seen.add(flag)
    assert seen == set(CAPABILITIES)  # every flag is set by some model here

    class Pretender(type(models[0])):
        has_codes = True  # an AE has no code grid

    with pytest.raises(TypeError, match="sets has_codes but is not a HasCodes"):
        check_capabilities(Pretender(models[0].cfg))


def test_the_latent_gaussian_fits_fewer_codes_than_units_at_any_scale():
    """8 codes of 32 units at a scale of 1e5 (a few normal series of large values): the
    covariance is singular in float32 until the jitter grows, and the fit still factorises."""
    model = build_model(make_config("ae", backbone="mlp", hidden=8))
    model.fit_latent_prior(torch.randn(8, 32) * 1e5)
    tril = model.latent_scale_tril
    assert torch.isfinite(tril).all() and (tril.diagonal() > 0).all()


def test_a_grid_latent_is_a_grid_of_vectors_that_fits_no_gaussian_and_draws_no_samples(tmp_path):
    cfg = make_config("dae", latent="grid", latent_dim=6, dataset="digits", epochs=1, channels=4)
    run = latentzoo.train(cfg, tmp_path / "run", progress=False, log=lambda m: None)
    model = latentzoo.load(run)
    x = torch.rand(5, 1, 8, 8)
    z = model.encode(x)
    assert z.shape == (5, 6, 2, 2) and model.decode(z).shape == (5, 1, 8, 8)
    assert model.features(x).shape == (5, 24) and model.interpolate(x, x, 3).shape[:2] == (5, 3)
    assert not model.fits_latent_gaussian and not model.can_sample
    with pytest.raises(latentzoo.LatentzooError, match="grid latent draws no samples"):
        model.sample(2)
    assert (run / "latent_map.png").is_file() and not (run / "samples.png").exists()
    assert json.loads((run / "config.json").read_text())["model"]["latent"] == "grid"
    with pytest.raises(ConfigError, match="--latent grid needs --backbone conv"):
        make_config("ae", latent="grid", backbone="mlp")


def test_version_7_autoencoders_keep_their_vector_latent():
    for kind in ("ae", "dae"):
        path = Path(__file__).parent / "fixtures" / "v7" / kind / "config.json"
        raw = json.loads(path.read_text())
        assert raw["config_version"] == 7 and "latent" not in raw["model"]
        assert Config.from_dict(raw).model.latent == "vector"
