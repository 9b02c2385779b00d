"""Noise specs: parsing, errors, ranges, reproducibility; the fixed corruptions and foreign sets of
the eval."""

import pytest
import torch

from latentzoo.errors import ConfigError
from latentzoo.noise import Corruption, corrupt, format_noise, parse_noise


def test_parse_combined_spec():
    assert parse_noise("gaussian:0.3+mask:0.2") == (
        (Corruption("gaussian", 0.3), Corruption("mask", 0.2)),
    )
    assert parse_noise("salt-pepper:0.1") == ((Corruption("salt_pepper", 0.1),),)
    assert parse_noise("none") == () and parse_noise("") == ()
    assert format_noise(parse_noise("gaussian:0.5+mask:0.25")) == "gaussian:0.5+mask:0.25"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("gauss:0.3", "unknown kind"),
        ("gaussian", "kind:level"),
        ("mask:abc", "not a number"),
        ("mask:1.5", "probability"),
        ("gaussian:-1", ">= 0"),
        ("gaussian:nan", ">= 0"),
        ("gaussian:0.3|", "empty alternative"),
        ("mask:0.2||mask:0.3", "empty alternative"),
    ],
)
def test_bad_specs_raise_one_line(spec, words):
    with pytest.raises(ConfigError) as e:
        parse_noise(spec)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_corruption_range_rates_and_seed():
    x = torch.rand(64, 1, 28, 28)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    a = corrupt(x, "gaussian:0.5+salt_pepper:0.2", g())
    b = corrupt(x, "gaussian:0.5+salt_pepper:0.2", g())
    assert torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    ones = torch.ones(64, 1, 28, 28)
    masked = corrupt(ones, "mask:0.3", g())
    assert abs(float((masked == 0).float().mean()) - 0.3) < 0.01
    sp = corrupt(torch.full((64, 1, 28, 28), 0.5), "salt_pepper:0.4", g())
    changed = sp != 0.5
    assert abs(float(changed.float().mean()) - 0.4) < 0.01
    assert set(sp[changed].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(corrupt(x, "none"), x)


def test_a_mixture_gives_each_image_one_of_its_chains():
    noise = parse_noise("gaussian:0.3|mask:0.5+salt_pepper:0.1|mask:1")
    assert len(noise) == 3 and format_noise(noise) == "gaussian:0.3|mask:0.5+salt_pepper:0.1|mask:1"
    x = torch.full((3000, 1, 8, 8), 0.5)
    out = corrupt(x, noise, torch.Generator().manual_seed(0))
    blank = (out == 0).flatten(1).all(1)  # mask:1 wipes the image
    # only gaussian moves 0.5 elsewhere
    gaussian = ((out != 0) & (out != 1) & (out != 0.5)).flatten(1).any(1)
    binary_or_kept = ((out == 0) | (out == 1) | (out == 0.5)).flatten(1).all(1) & ~blank
    # exactly one chain per image
    assert (blank.int() + gaussian.int() + binary_or_kept.int() == 1).all()
    for share in (blank, gaussian, binary_or_kept):
        assert abs(float(share.float().mean()) - 1 / 3) < 0.03
    assert torch.equal(out, corrupt(x, noise, torch.Generator().manual_seed(0)))
    # one chain: the same draws as before mixtures existed
    assert torch.equal(
        corrupt(x, "gaussian:0.3", torch.Generator().manual_seed(1)),
        (x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1),
    )


def test_the_unseen_corruptions_are_eight_reproducible_images_in_range():
    from latentzoo.eval import unseen_corruptions

    x = torch.rand(16, 1, 28, 28)
    a = unseen_corruptions(x, torch.Generator().manual_seed(0))
    b = unseen_corruptions(x, torch.Generator().manual_seed(0))
    assert len(a) == 8 and a.keys() == b.keys()
    for name, v in a.items():
        assert v.shape == x.shape and v.min() >= 0 and v.max() <= 1 and torch.equal(v, b[name])
        assert (v - x).abs().mean() > 0.01, name  # each one does corrupt


def test_the_foreign_sets_are_five_fixed_sets_of_grey_28_by_28_images_unlike_each_other():
    from latentzoo.eval import foreign_sets

    a, b = foreign_sets(40), foreign_sets(40)
    assert list(a) == [
        "photo tiles",
        "pen strokes",
        "scikit-learn digits, scaled up",
        "letters",
        "uniform noise",
    ]
    means = []
    for name, v in a.items():
        assert (
            v.shape == (40, 1, 28, 28) and v.min() >= 0 and v.max() <= 1 and torch.equal(v, b[name])
        ), name
        assert v.std(0).mean() > 0.02, name  # the images of a set differ from one another
        means.append(v.mean(0))
    assert (
        min(float((p - q).abs().mean()) for i, p in enumerate(means) for q in means[i + 1 :]) > 0.02
    )


def test_a_kind_of_data_adds_its_noise_kinds_to_the_registry(monkeypatch):
    """A registered kind works in every spec at once; a second kind of the same name is refused."""
    from latentzoo import noise

    monkeypatch.setattr(noise, "NOISE_KINDS", dict(noise.NOISE_KINDS))
    invert = noise.NoiseKind("invert", lambda out, level, g, shape, rate: 1 - out, True, "1 - x")
    noise.register_noise(invert)
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(noise.corrupt(x, "invert:1"), 1 - x)
    assert noise.parse_noise("gaussian:0.1+invert:0.5")[0][1].kind == "invert"
    with pytest.raises(ConfigError, match="probability"):
        noise.parse_noise("invert:2")
    with pytest.raises(ValueError, match="registered twice"):
        noise.register_noise(invert)
