"""Photos of any size: patches to train on, whole photos through tiles, the photo noise kinds, the
skips around a grid latent, and the jobs on the command line (generated textures; no real photos
in tests)."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from latentzoo import jobs, make_config
from latentzoo.cli import main
from latentzoo.errors import ConfigError, DataError, LatentzooError
from latentzoo.examples import texture, write_texture, write_textures
from latentzoo.files import load_tensors, save_tensors
from latentzoo.jpeg_cells import luma, standard_table, to_blocks
from latentzoo.kinds import data_kind
from latentzoo.models import build_model
from latentzoo.noise import corrupt, parse_noise
from latentzoo.photo_noise import jpeg_round_trip
from latentzoo.photos import load_photos, mirrored, read_photo, through_tiles
from latentzoo.runs import RESIDUALS, residuals_file
from latentzoo.training import train_model


def photo_config(folder, **kw):
    return make_config("dae", source=str(folder), data_kind="photo", **kw)


def test_patches_come_from_every_photo_in_proportion_and_one_seed_fixes_them(tmp_path):
    write_textures(tmp_path / "t")
    cfg = photo_config(tmp_path / "t", patch=32, patches=200)
    a, b = load_photos(cfg.data), load_photos(cfg.data)
    assert a.train.shape == (3, 32, 32) and len(a.train) + len(a.val) + len(a.test) == 200
    assert torch.equal(a.train.images, b.train.images) and a.fingerprint == b.fingerprint
    assert a.found == {"patch": 32, "patches": 200}
    other = load_photos(photo_config(tmp_path / "t", patch=32, patches=200, split_seed=1).data)
    assert not torch.equal(a.train.images, other.train.images)


def test_a_photo_smaller_than_a_patch_is_one_line(tmp_path):
    write_texture(tmp_path / "t" / "small.png", 20, 30, 0)
    with pytest.raises(DataError, match="smaller than a patch of 32: pass a smaller --patch"):
        load_photos(photo_config(tmp_path / "t", patch=32, patches=10).data)


@pytest.mark.parametrize("shape", [(3, 150, 190), (1, 30, 40), (3, 600, 300), (3, 5, 3)])
def test_tiles_put_a_photo_back_as_it_was_one_row_at_a_time(shape):
    x = torch.rand(*shape)
    batches = []

    def identity(t):
        batches.append(t.shape[0])
        return t

    y = through_tiles(x, identity)
    assert y.shape == x.shape and torch.allclose(x, y, atol=1e-6)
    assert max(batches) <= 3  # a row of tiles, never the whole photo's


def test_tiles_blend_seams_smoothly():
    """Tiles that each come back shifted by a constant of their own give a photo whose neighbouring
    pixels differ by a small part of that constant: blended seams, not steps."""
    x = torch.zeros(1, 600, 600)
    offsets = iter(range(1000))
    y = through_tiles(x, lambda t: t + torch.tensor([next(offsets) for _ in t]).view(-1, 1, 1, 1))
    steps = (y[:, :, 1:] - y[:, :, :-1]).abs().max()
    assert float(steps) < 0.2


def test_mirroring_reflects_the_edge():
    x = torch.arange(12.0).view(1, 3, 4)
    m = mirrored(x, 5, 6)
    assert m.shape == (1, 5, 6) and torch.equal(m[:, :3, :4], x)
    assert torch.equal(m[:, 3, :4], x[:, 1]) and torch.equal(m[:, :3, 4], x[:, :, 2])


def test_shot_noise_grows_with_the_value_and_jpeg_keeps_shape_and_mode():
    x = torch.cat([torch.full((1, 1, 64, 64), 0.1), torch.full((1, 1, 64, 64), 0.9)])
    y = corrupt(x, "poisson:0.01", torch.Generator().manual_seed(0), clip=False)
    var = (y - x).flatten(1).var(1)
    assert torch.allclose(var, torch.tensor([0.001, 0.009]), rtol=0.15)
    colour = torch.rand(2, 3, 40, 48)
    for x in (colour, colour[:, :1]):
        out = jpeg_round_trip(x, 10)
        assert out.shape == x.shape and 0 < float((out - x).abs().mean()) < 0.3
    assert float((jpeg_round_trip(colour, 95) - colour).abs().mean()) < float(
        (jpeg_round_trip(colour, 10) - colour).abs().mean()
    )


@pytest.mark.parametrize("spec", ["jpeg:0", "jpeg:101"])
def test_jpeg_quality_outside_1_to_100_is_refused(spec):
    with pytest.raises(ConfigError, match="jpeg"):
        parse_noise(spec)


@pytest.mark.parametrize("skip", ["residual", "input", "unet"])
def test_a_skip_passes_the_input_around_the_latent_and_decodes_only_beside_it(skip, tmp_path):
    write_textures(tmp_path / "t")
    cfg = photo_config(tmp_path / "t", patch=32, shape=(3, 32, 32), skip=skip)
    model = build_model(cfg)
    assert cfg.model.latent == "grid" and not model.can_decode
    last = model.decoder.net.trunk[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)  # the decoder's output is zero
    x = torch.rand(2, 3, 32, 32)
    # residual and unet: the input comes back (the U-Net's correction starts at zero); input: the
    # full-size block starts at zero, so the decoder's zero comes back
    assert torch.equal(model.reconstruct(x), torch.zeros_like(x) if skip == "input" else x)
    if skip != "residual":
        last = model.fuse.last if skip == "unet" else model.fuse.body[-1]
        torch.nn.init.constant_(last.bias, 0.25)
        want = 0.25 if skip == "input" else (x + 0.25).clamp(0, 1)
        assert torch.allclose(model.reconstruct(x), torch.zeros_like(x) + want)
    with pytest.raises(LatentzooError, match="beside its input"):
        model.decode(model.encode(x))
    with pytest.raises(ConfigError, match=f"--skip {skip} needs --latent grid"):
        make_config("dae", skip=skip)


def test_a_deep_full_size_block_starts_as_the_plain_autoencoder_and_sees_far(tmp_path):
    """--skip-depth N: N hidden 3x3 convolutions, so one pixel's correction depends on inputs
    N + 1 pixels away, and the block starts at zero like the shallow one."""
    write_textures(tmp_path / "t")
    cfg = photo_config(tmp_path / "t", patch=32, shape=(3, 32, 32), skip="input", skip_depth=4)
    model = build_model(cfg)
    convs = [m for m in model.fuse.body if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 + 1 and not convs[-1].weight.any()
    for conv in convs:  # a non-zero block, to see how far it reaches
        torch.nn.init.constant_(conv.weight, 0.01)
    h = torch.zeros(1, 6, 32, 32, requires_grad=True)
    model.fuse(h)[0, :, 16, 16].sum().backward()
    reach = h.grad.abs().sum((0, 1)).nonzero()  # (pixels, 2) that move the centre's output
    assert int((reach - 16).abs().max()) == 4 + 1
    with pytest.raises(ConfigError, match="--skip-depth sets the block of --skip input"):
        make_config("dae", skip_depth=3)


def test_the_unet_block_sees_past_its_grid_and_keeps_full_size_detail(tmp_path):
    """--skip unet: the correction of one pixel depends on pixels a quarter-scale convolution away
    (past any full-size stack of its depth), and a 1-pixel change of the input reaches the output
    through the full-size skip even when the coarse path is cut."""
    write_textures(tmp_path / "t")
    cfg = photo_config(tmp_path / "t", patch=32, shape=(3, 32, 32), skip="unet")
    fuse = build_model(cfg).fuse
    torch.nn.init.constant_(fuse.last.weight, 0.01)
    h = torch.zeros(1, 6, 32, 32, requires_grad=True)
    fuse(h)[0, :, 16, 16].sum().backward()
    reach = h.grad.abs().sum((0, 1)).nonzero()  # (pixels, 2) that move the centre's output
    assert int((reach - 16).abs().max()) > 8  # five 3x3 convolutions at full size reach 5
    with torch.no_grad():
        for conv in (fuse.up1, fuse.up0):
            conv.weight.zero_()  # the coarse scales cut off
        h2 = h.detach().clone()
        h2[0, 3:, 16, 16] += 1.0  # one pixel of the input
        moved = (fuse(h2) - fuse(h.detach())).abs().sum((0, 1))  # (H, W)
    assert moved[16, 16] > 0 and moved[16 + 5 :, :].sum() == 0  # four 3x3 convolutions: 4 away


def test_a_model_that_is_not_fully_convolutional_is_refused_for_photos(tmp_path):
    write_textures(tmp_path / "t")
    cfg = make_config("vae", source=str(tmp_path / "t"), data_kind="photo", shape=(3, 32, 32))
    with pytest.raises(ConfigError, match="not fully convolutional"):
        build_model(cfg)


def test_photo_jobs_give_photos_back_at_their_size_and_mode(tmp_path, capsys):
    write_textures(tmp_path / "t")
    write_texture(tmp_path / "in" / "wide.png", 100, 270, 7)
    Image.fromarray(np.full((50, 60), 90, np.uint8)).save(tmp_path / "in" / "grey.png")
    run = tmp_path / "run"
    base = ["train", "dae", "--data", str(tmp_path / "t"), "--kind", "photo", "--patch", "32"]
    assert main([*base, "--patches", "300", "--epochs", "1", "--out", str(run)]) == 0
    out = tmp_path / "clean"
    args = ["denoise", str(run), str(tmp_path / "in"), "--noise", "gaussian:0.1", "--out", str(out)]
    assert main(args) == 2 and "pass --convert" in capsys.readouterr().err
    assert not out.exists()
    assert main([*args, "--convert"]) == 0
    assert Image.open(out / "wide.png").size == (270, 100)
    assert Image.open(out / "grey.png").mode == "L" and Image.open(out / "grey.png").size == (
        60,
        50,
    )
    scores = tmp_path / "s.csv"
    assert main(["score", str(run), str(tmp_path / "in" / "wide.png"), "--out", str(scores)]) == 0
    rows = scores.read_text().splitlines()
    assert len(rows) == 1 + 4 * 9 and rows[1].startswith('"wide[0,0]"')


def test_denoise_keeps_the_safeguards_residuals_beside_the_weights_they_were_measured_on(tmp_path):
    """The first `denoise` measures the clean residuals on the run's validation patches and keeps
    them in the run folder under the weights' SHA-256; the next reads them (planted ones that hand
    every input back are obeyed), and a file of other weights is measured again."""
    write_textures(tmp_path / "t")
    write_texture(tmp_path / "in" / "p.png", 48, 64, 3)
    run = tmp_path / "run"
    base = ["train", "dae", "--data", str(tmp_path / "t"), "--kind", "photo", "--patch", "32"]
    assert main([*base, "--patches", "200", "--epochs", "1", "--out", str(run)]) == 0
    args = ["denoise", str(run), str(tmp_path / "in"), "--out", str(tmp_path / "o")]
    assert main(args) == 0
    kept, meta = load_tensors(run / RESIDUALS)
    digest = hashlib.sha256((run / "model.safetensors").read_bytes()).hexdigest()
    n = len(kept["residuals"])  # the run's validation patches
    assert meta["weights_sha256"] == digest and n > 10
    save_tensors(run / RESIDUALS, {"residuals": torch.full((n,), 1e3)}, meta)
    assert main(args) == 0  # every input changed less than a planted residual: given back
    same = np.asarray(Image.open(tmp_path / "o" / "p.png"))
    assert np.array_equal(same, np.asarray(Image.open(tmp_path / "in" / "p.png")))
    # ... except a decoded JPEG of a quality the model learned: its output, in the input's cells
    grainy = texture(96, 96, 5) + np.random.default_rng(0).integers(0, 20, (96, 96, 3))
    Image.fromarray(grainy.clip(0, 255).astype(np.uint8)).save(
        tmp_path / "in" / "q.jpg", quality=20
    )
    assert main(args) == 0
    x, y = (
        read_photo(f).float() / 255 for f in (tmp_path / "in" / "q.jpg", tmp_path / "o" / "q.png")
    )
    table = standard_table(20)
    cells = (to_blocks(luma(x)) / table).round() * table
    assert not torch.equal(x, y) and ((to_blocks(luma(y)) - cells).abs() <= table / 2 + 2).all()
    save_tensors(
        run / RESIDUALS, {"residuals": torch.full((n,), 1e3)}, {**meta, "weights_sha256": "0" * 64}
    )
    assert main(args) == 0
    again, meta2 = load_tensors(run / RESIDUALS)
    assert meta2 == meta and torch.equal(again["residuals"], kept["residuals"])


def test_the_relative_loss_weighs_each_example_by_its_inputs_error(tmp_path):
    torch.manual_seed(0)
    noise = "gaussian:0.02|gaussian:0.2"
    plain = build_model(make_config("dae", noise=noise))
    relative = build_model(make_config("dae", noise=noise, relative_loss=True))
    relative.load_state_dict(plain.state_dict())
    x = torch.rand(16, 1, 28, 28)
    torch.manual_seed(1)
    a = plain(x)
    torch.manual_seed(1)
    x_in = plain.corrupt_input(x)
    torch.manual_seed(1)
    b = relative(x)
    assert torch.equal(a.losses["recon"], b.losses["recon"])  # the terms are as they were
    error = (x_in - x).pow(2).flatten(1).mean(1)
    assert torch.allclose(b.loss, (a.losses["recon"] / error).mean(), rtol=1e-5)
    assert torch.allclose(a.loss, a.losses["recon"].mean())
    light = error < 0.01  # the lightly corrupted images weigh about 100 times as much
    assert light.any() and (~light).any()
    assert relative.weights(x, x).max() == 1 / 1e-4  # a clean input: the floor


@pytest.mark.parametrize("noise", ["gaussian:0.1", "poisson:0.02+gaussian:0.02|jpeg:10"])
def test_a_grey_photo_in_colour_channels_gets_the_same_noise_in_each_channel(noise, tmp_path):
    """A grey photo given to a colour model is three equal channels, and so is its noise: a model
    trained on independent noise per channel would read the grey photo's noise as detail."""
    write_textures(tmp_path / "t")
    model = build_model(photo_config(tmp_path / "t", patch=32, shape=(3, 32, 32), noise=noise))
    torch.manual_seed(0)
    colour = torch.rand(3, 3, 32, 32)
    grey = torch.rand(3, 1, 32, 32).expand(-1, 3, -1, -1)
    x = torch.cat([colour, grey])  # (6, 3, 32, 32), grey ones last
    noisy = model.corrupt(x, noise, torch.Generator().manual_seed(0))
    assert not torch.equal(noisy, x)
    assert torch.equal(noisy[3:], noisy[3:, :1].expand(-1, 3, -1, -1))
    as_drawn = corrupt(x, noise, torch.Generator().manual_seed(0))  # as latentzoo.noise draws it
    assert torch.equal(noisy[:3], as_drawn[:3]) and not torch.equal(noisy[3:], as_drawn[3:])
    plain = corrupt(colour, noise, torch.Generator().manual_seed(1))  # colour alone: unchanged
    assert torch.equal(model.corrupt(colour, noise, torch.Generator().manual_seed(1)), plain)


def test_a_photo_dae_safeguards_each_tile_by_its_own_outputs_second_pass(tmp_path):
    """The photo kind asks for the per-input safeguard: `denoise` puts each output through the model
    again and blends by what that second pass changes, not by the clean residuals alone."""
    write_textures(tmp_path / "t")
    model = build_model(photo_config(tmp_path / "t", patch=32, shape=(3, 32, 32)))
    g = torch.Generator().manual_seed(0)
    for p in model.parameters():  # a model that changes its input (a new one hands it back)
        torch.nn.init.normal_(p, std=0.05, generator=g)
    noisy = torch.rand(3, 3, 32, 32, generator=g)
    out = jobs.reconstruct(model, noisy)
    scale = float((noisy - out).pow(2).mean()) / 2  # clean residuals that give weights in (0, 1)
    residuals = torch.rand(20, generator=g) * scale
    _, got = jobs.denoise(model, noisy, residuals=residuals)
    assert model.data_kind.safeguard_per_input
    assert torch.allclose(
        got, jobs.safeguard(noisy, out, residuals, again=jobs.reconstruct(model, out))
    )
    assert not torch.allclose(got, jobs.safeguard(noisy, out, residuals))


def test_the_eight_views_of_a_photo_are_distinct_and_each_is_undone():
    kind = data_kind("photo")
    x = torch.rand(2, 3, 5, 7)
    seen = []
    for i in range(kind.views):
        v = kind.view(x, i)
        assert v.shape[2:] in {(5, 7), (7, 5)} and torch.equal(kind.view(v, i, back=True), x)
        assert not any(v.shape == s.shape and torch.equal(v, s) for s in seen)
        seen.append(v)
    assert kind.views == 8


def test_a_self_ensemble_averages_the_outputs_of_each_view_put_back(tmp_path):
    """`reconstruct` over N views is the mean of the model's outputs on the first N flips and turns,
    each turned back; one view is the plain output; `denoise --self-ensemble` takes 1 to 8 on
    photos, 1 on digits, and refuses other counts with one line."""
    write_textures(tmp_path / "t")
    model = build_model(photo_config(tmp_path / "t", patch=32, shape=(3, 32, 32)))
    g = torch.Generator().manual_seed(0)
    for p in model.parameters():  # a model whose output turns with its input only on average
        torch.nn.init.normal_(p, std=0.05, generator=g)
    x = torch.rand(2, 3, 32, 48, generator=g)
    kind = model.data_kind
    each = [kind.view(jobs.reconstruct(model, kind.view(x, i)), i, back=True) for i in range(4)]
    assert torch.allclose(jobs.reconstruct(model, x, views=4), torch.stack(each).mean(0), atol=1e-6)
    assert torch.equal(jobs.reconstruct(model, x, views=1), each[0])
    assert not torch.allclose(each[0], each[1])
    with pytest.raises(ConfigError, match="take 1 to 8 views, not 9"):
        jobs.reconstruct(model, x, views=9)
    digits = build_model(make_config("dae"))
    with pytest.raises(ConfigError, match=r"take 1 view \(no flips or turns\), not 2"):
        jobs.reconstruct(digits, torch.rand(1, 1, 28, 28), views=2)


def test_denoise_self_ensemble_on_photos_keeps_its_own_residuals(tmp_path, capsys):
    write_textures(tmp_path / "t")
    write_texture(tmp_path / "in" / "p.png", 48, 64, 3)
    run = tmp_path / "run"
    base = ["train", "dae", "--data", str(tmp_path / "t"), "--kind", "photo", "--patch", "32"]
    assert main([*base, "--patches", "200", "--epochs", "1", "--out", str(run)]) == 0
    args = ["denoise", str(run), str(tmp_path / "in"), "--noise", "gaussian:0.1"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--self-ensemble", "8", "--out", str(tmp_path / "eight")]) == 0
    assert (run / RESIDUALS).is_file() and (run / residuals_file(8)).is_file()
    raw = [*args, "--no-safeguard"]  # a model of one epoch: the safeguard hands the input back
    assert main([*raw, "--out", str(tmp_path / "raw1")]) == 0
    assert main([*raw, "--self-ensemble", "8", "--out", str(tmp_path / "raw8")]) == 0
    one, eight = (np.asarray(Image.open(tmp_path / d / "p.png")) for d in ("raw1", "raw8"))
    assert one.shape == eight.shape and not np.array_equal(one, eight)
    capsys.readouterr()
    assert main([*args, "--self-ensemble", "9", "--out", str(tmp_path / "nine")]) == 2
    err = capsys.readouterr().err
    assert "take 1 to 8 views, not 9" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nine").exists()


def test_training_on_flipped_and_turned_batches_is_reproducible_and_refused_on_digits(tmp_path):
    """`--views 8` turns each training batch by a view drawn from the run's seed: the same run
    twice gives the same weights, other than training on the batches as they are; a kind of data
    without views refuses it with one line."""
    write_textures(tmp_path / "t")
    weights = {}
    for name, views in (("a", 8), ("b", 8), ("plain", 1)):
        cfg = photo_config(tmp_path / "t", patch=32, patches=200, epochs=1, views=views)
        train_model(cfg, tmp_path / name, progress=False, log=lambda _: None)
        weights[name] = load_tensors(tmp_path / name / "model.safetensors")[0]
    for k, v in weights["a"].items():
        assert torch.equal(v, weights["b"][k])
    assert any(not torch.equal(v, weights["plain"][k]) for k, v in weights["a"].items())
    with pytest.raises(ConfigError, match=r"take 1 view \(no flips or turns\), not 2"):
        build_model(make_config("dae", views=2))
