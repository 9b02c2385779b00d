"""The data-kind seam: every kind implements the one interface, the image kind reads, writes, cuts
and reassembles through it, and a new kind is one registry entry away from every model."""

import numpy as np
import pytest
import torch

from latentzoo.config import make_config
from latentzoo.errors import ConfigError
from latentzoo.kinds import DATA_KINDS, DataKind, ImageKind, data_kind
from latentzoo.models import build_model
from latentzoo.noise import NOISE_KINDS


def test_every_registered_kind_is_a_data_kind_with_registered_noises():
    for name, kind in DATA_KINDS.items():
        assert isinstance(kind, DataKind) and kind.name == name
        assert set(kind.noise_kinds) <= set(NOISE_KINDS)
    assert make_config("ae").data.data_kind == "image"


def test_the_image_kind_reads_writes_and_reassembles_large_images(tmp_path):
    kind = data_kind("image")
    np.save(tmp_path / "a.npy", (np.arange(2 * 28 * 28) % 256).astype(np.uint8).reshape(2, 28, 28))
    data = make_config("ae").data
    inputs = kind.read_inputs([tmp_path / "a.npy"], data)
    written = kind.write_like_inputs(inputs, inputs.examples, tmp_path / "out", data)
    assert np.array_equal(np.load(written[0]), np.load(tmp_path / "a.npy"))
    big = torch.rand(3, 90, 70)
    parts = kind.split(big, 32, 24)
    assert parts.shape[1:] == (3, 32, 32)
    assert torch.allclose(kind.merge(parts, 24, big), big, atol=1e-6)
    assert "grey" in kind.describe((1, 28, 28)) and torch.equal(kind.pictures(big[None]), big[None])


def test_the_kind_checks_shapes_and_backbones_in_one_line():
    with pytest.raises(ConfigError, match="divisible by 4"):
        build_model(make_config("ae").replace(shape=(1, 30, 30)))
    with pytest.raises(ConfigError, match="C 1 \\(grey\\) or 3"):
        build_model(make_config("ae", backbone="mlp").replace(shape=(2, 28, 28)))
    with pytest.raises(ConfigError, match="unknown kind of data 'smell'"):
        build_model(make_config("ae", data_kind="smell"))
    with pytest.raises(ConfigError, match="a model on sound is mono"):
        build_model(make_config("ae", data_kind="sound").replace(shape=(2, 256)))


def test_a_new_kind_is_one_registry_entry(monkeypatch):
    class Strips(ImageKind):
        """A kind that takes only images one pixel high."""

        name = "strips"

        def check(self, cfg):
            if cfg.data.shape[1] != 1:
                raise ConfigError("strips are one pixel high")

    monkeypatch.setitem(DATA_KINDS, "strips", Strips())
    cfg = make_config("ae", backbone="mlp", data_kind="strips").replace(shape=(1, 1, 64))
    assert build_model(cfg)(torch.rand(2, 1, 1, 64)).x_hat.shape == (2, 1, 1, 64)
    with pytest.raises(ConfigError, match="one pixel high"):
        build_model(make_config("ae", data_kind="strips"))


def test_a_kind_refuses_noise_that_is_not_for_its_data():
    with pytest.raises(ConfigError, match="noise 'babble' is not for image data"):
        build_model(make_config("dae", noise="gaussian:0.3|babble:5"))
    model = build_model(make_config("dae"))
    with pytest.raises(ConfigError, match="noise 'pink' is not for image data"):
        model.corrupt(torch.rand(2, 1, 28, 28), "pink:5")
    photo = make_config("dae", data_kind="photo", noise="jpeg:10|poisson:0.01+gaussian:0.02")
    assert build_model(photo).data_kind.name == "photo"
    sound = make_config("dae", data_kind="sound", shape=(1, 1024), rate=8000)
    assert build_model(sound.replace(noise="babble_speed:5|pink:0")).noise
    with pytest.raises(ConfigError, match="noise 'jpeg' is not for sound data"):
        build_model(sound.replace(noise="jpeg:30"))
    for kind in DATA_KINDS.values():
        kind.check_noise("|".join(kind.example_noises))
