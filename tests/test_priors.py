"""The code prior: cached sampling, a known answer it must learn, training from a run, CLI
sampling."""

import math

import pytest
import torch

from latentzoo.cli import main
from latentzoo.config import make_config
from latentzoo.models import GUIDANCE, CodePrior, PriorConfig, build_model
from latentzoo.models.pipeline import VQVAEWithPrior
from latentzoo.runs import PRIOR_METRICS, load_prior
from latentzoo.training import train_model, train_prior


def test_cached_sampling_matches_the_full_forward():
    torch.manual_seed(0)
    prior = CodePrior(PriorConfig(n_codes=16, d_model=32, n_layers=2, n_heads=2)).eval()
    y = torch.tensor([0, 3, 10])
    codes = prior.sample(3, y, generator=torch.Generator().manual_seed(1))
    assert codes.shape == (3, 7, 7) and codes.max() < 16
    # the sampler's cached logits equal the training-time forward on the drawn codes
    caches, flat, outs = [dict() for _ in prior.blocks], codes.view(3, -1), []
    h = (prior.label(y) + prior.pos[0])[:, None]
    for t in range(49):
        for blk, c in zip(prior.blocks, caches):
            h = blk(h, c)
        outs.append(prior.out(prior.norm(h[:, -1])))
        if t < 48:
            h = prior.tok(flat[:, t : t + 1]) + prior.pos[t + 1]
    assert torch.allclose(torch.stack(outs, 1), prior(codes, y), atol=1e-4)


def test_prior_learns_a_code_grid_per_label():
    """Known answer: label d always comes with the grid filled by code d; the prior must learn
    it."""
    torch.manual_seed(0)
    prior = CodePrior(PriorConfig(n_codes=16, d_model=32, n_layers=1, n_heads=2, dropout=0.0))
    y = torch.arange(10).repeat(8)
    codes = y.view(-1, 1, 1).expand(-1, 7, 7)
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    with torch.no_grad():
        start = float(prior.nll(codes, y).mean())
    assert abs(start - 49 * math.log(16)) < 0.3 * 49 * math.log(16)  # near-uniform at the start
    for _ in range(150):
        loss = prior.nll(codes, y).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    prior.eval()
    with torch.no_grad():
        assert float(prior.nll(codes, y).mean()) < 1.0
    drawn = prior.sample(
        10, torch.arange(10), temperature=0.5, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(drawn, torch.arange(10).view(-1, 1, 1).expand(-1, 7, 7))


def test_train_prior_from_a_run_and_sample_a_digit(small_splits, tmp_path, capsys):
    run = train_model(
        make_config("vqvae", epochs=1, codebook_size=32, limit=512),
        tmp_path / "vq",
        splits=small_splits,
        progress=False,
        log=lambda m: None,
    )
    assert main(["sample", str(run), "--out", str(tmp_path / "no.png")]) == 2  # no prior yet
    mine = PriorConfig(epochs=8, lr=3e-3, d_model=32, n_layers=1, n_heads=2)
    before = mine.to_dict()
    metrics = train_prior(run, mine, progress=False, log=lambda m: None)
    assert mine.to_dict() == before  # the caller's settings are left as they were
    assert (run / PRIOR_METRICS).is_file() and load_prior(run) is not None
    assert metrics["uniform_bits_per_image"] == pytest.approx(49 * 5)
    assert 0 < metrics["test_bits_per_image"] < metrics["uniform_bits_per_image"]
    capsys.readouterr()
    assert (
        main(["sample", str(run), "--digit", "7", "-n", "8", "--out", str(tmp_path / "sevens.png")])
        == 0
    )
    assert (
        main(
            [
                "sample",
                str(run),
                "-n",
                "8",
                "--temperature",
                "0.8",
                "--out",
                str(tmp_path / "any.png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "sevens.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["train-prior", str(tmp_path / "nothing")]) == 2
    assert "no run folder" in capsys.readouterr().err
    assert main(["train-prior", "mnist-ae", "--out", str(tmp_path / "copy")]) == 2
    assert "with codes" in capsys.readouterr().err and not (tmp_path / "copy").exists()


def test_guidance_mixes_the_conditional_and_unconditional_logits(monkeypatch):
    """Classifier-free guidance: the first code is drawn from softmax(l_none + g * (l_y -
    l_none))."""
    torch.manual_seed(0)
    prior = CodePrior(PriorConfig(n_codes=16, d_model=32, n_layers=1, n_heads=2)).eval()
    seen = []
    real = torch.multinomial

    def spy(probs, k, generator=None):
        seen.append(probs.clone())
        return real(probs, k, generator=generator)

    monkeypatch.setattr(torch, "multinomial", spy)
    prior.sample(2, 3, guidance=2.5)
    first = torch.zeros(2, 7, 7, dtype=torch.long)  # position 0 sees only the label token
    with torch.no_grad():
        cond, uncond = prior(first, 3)[:, 0], prior(first, None)[:, 0]  # (2, K) each
    assert torch.allclose(seen[0], torch.softmax(uncond + 2.5 * (cond - uncond), -1), atol=1e-5)
    # guidance changed something
    assert not torch.allclose(seen[0], torch.softmax(cond, -1), atol=1e-3)
    seen.clear()
    prior.sample(2, 3, guidance=1.0)
    # guidance 1: the plain conditional
    assert torch.allclose(seen[0], torch.softmax(cond, -1), atol=1e-5)


def test_unasked_samples_draw_a_label_each_then_the_unguided_conditional_prior():
    """Known answer: the prior of test_prior_learns_a_code_grid_per_label's kind, fixed by hand to
    give label d the grid of code d; samples asked for no digit are then grids of one code each, the
    codes of labels drawn uniformly from the sampler's generator (not the "no label" token's)."""
    torch.manual_seed(0)
    vq = build_model(make_config("vqvae", codebook_size=16, channels=8)).eval()
    prior = CodePrior(PriorConfig(n_codes=16, d_model=32, n_layers=1, n_heads=2)).eval()
    seen = {}

    def walk(n, choose, y=None, guidance=GUIDANCE):
        seen.update(y=y, guidance=guidance)
        # label d -> the grid of code d
        return prior._labels(y, n).clamp(max=15).view(n, 1, 1).expand(n, 7, 7)

    prior.walk = walk
    model = VQVAEWithPrior(vq, prior)
    images = model.sample(12, generator=torch.Generator().manual_seed(5))
    labels = torch.randint(0, 10, (12,), generator=torch.Generator().manual_seed(5))
    assert torch.equal(seen["y"], labels) and seen["guidance"] == 1.0
    assert torch.equal(images, vq.decode(labels.view(12, 1, 1).expand(12, 7, 7)))
    model.sample(3, y=4)  # an asked digit keeps the default guidance
    assert torch.equal(torch.as_tensor(seen["y"]), torch.tensor(4)) and seen["guidance"] == GUIDANCE
