"""Training on sound beyond the defaults: the multi-resolution spectral loss (`--spectral`) and the
intelligibility loss (`--stoi`) as known answers and in training, and the user's own noise
recordings (`--noise-files`, `recorded:DB`) at their SNR, drawn from the recordings, and refused
where they do not apply; `denoise` on sound keeps a fraction of its input (`--keep-input`) and never
safeguards."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import cli

from latentzoo import make_config
from latentzoo.errors import ConfigError, DataError
from latentzoo.kinds import data_kind
from latentzoo.measures import snr
from latentzoo.models import build_model
from latentzoo.nn.spectral_loss import SpectralLoss
from latentzoo.nn.stoi_loss import StoiLoss
from latentzoo.noise import corrupt
from latentzoo.runs import RESIDUALS
from latentzoo.sounds import noise_recordings

RATE = 8000
WINDOW = 512


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Tones that glide (4 files at 8 kHz) and a folder of two noise recordings (a hiss at 16 kHz,
    a stereo hum shorter than a window)."""
    d = tmp_path_factory.mktemp("sound-training")
    (d / "speech").mkdir()
    (d / "noise").mkdir()
    t = np.arange(RATE) / RATE
    for i in range(4):
        tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t + 30 * t**2)
        sf.write(d / "speech" / f"s{i}.wav", tone, RATE, "PCM_16")
    hiss = 0.1 * np.random.default_rng(0).standard_normal(16000)
    sf.write(d / "noise" / "hiss.wav", hiss, 16000, "FLOAT")
    hum = np.sin(2 * np.pi * 120 * np.arange(300) / RATE)
    sf.write(d / "noise" / "hum.flac", np.stack([hum, 0.5 * hum], 1), RATE)
    return d


def test_the_spectral_loss_is_zero_on_the_target_and_per_example():
    loss = SpectralLoss(2048)
    x = torch.randn(3, 1, 2048)
    assert torch.allclose(loss(x, x), torch.zeros(3), atol=1e-3)
    y = x.clone()
    y[1] += 0.5 * torch.randn(2048)
    alone = loss(y[1:2], x[1:2])
    both = loss(y, x)
    assert both[0] < 1e-3 and both[2] < 1e-3 and both[1] > 100
    assert torch.allclose(both[1:2], alone)  # an example's loss does not depend on the batch
    # a quiet high band missing weighs as a shape, not by its little energy
    t = torch.arange(2048) / RATE
    low, high = torch.sin(2 * np.pi * 300 * t), 0.01 * torch.sin(2 * np.pi * 3000 * t)
    target = (low + high)[None, None]
    assert loss(low[None, None], target) > 10 * float(((high) ** 2).sum())


def test_the_spectral_loss_joins_the_recon_loss_of_sound_models_only():
    cfg = make_config("dae", data_kind="sound", shape=(1, WINDOW), rate=RATE, spectral=2.0)
    model = build_model(cfg)
    x = torch.randn(4, 1, WINDOW)
    out = model(x)
    expected = out.losses["recon"] + 2.0 * out.losses["spectral"]
    assert torch.allclose(out.loss, expected.mean())
    assert not [k for k in model.state_dict() if "spectral" in k]  # nothing stored
    with pytest.raises(ConfigError, match="signals and sound"):
        build_model(make_config("ae", spectral=1.0))
    with pytest.raises(ConfigError, match="ELBO"):
        make_config("vae", data_kind="signal", shape=(1, WINDOW), spectral=1.0)
    with pytest.raises(ConfigError, match="128 samples"):
        build_model(make_config("dae", data_kind="signal", shape=(1, 64), spectral=1.0))


def spoken(seconds: float, seed: int = 0) -> np.ndarray:
    """Speech-like sound (T,) at RATE: harmonics of a gliding pitch, syllables of 0.2 s."""
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = 2 * np.pi * (120 * t + 20 * np.sin(2 * np.pi * 0.7 * t))
    voiced = sum(np.sin(k * pitch) / k for k in range(1, 20))
    syllables = np.clip(np.sin(2 * np.pi * 2.5 * t + seed), 0, None) ** 2
    return voiced * syllables


def test_the_stoi_loss_follows_pystoi_and_is_per_example():
    from pystoi import stoi

    clean = spoken(3.0)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(clean)) * clean.std()
    loss = StoiLoss(RATE, len(clean))
    got, want = [], []
    for snr_db in (-5, 0, 5, 10, 20):
        noisy = clean + noise * 10 ** (-snr_db / 20)
        value = loss(torch.tensor(noisy)[None, None], torch.tensor(clean)[None, None])
        got.append(1 - float(value) / len(clean))
        want.append(stoi(clean, noisy, RATE))
    assert all(a < b for a, b in zip(got, got[1:]))  # more noise, less intelligible
    assert np.abs(np.array(got) - np.array(want)).max() < 0.1, (got, want)
    x = torch.tensor(clean[: 3 * 2048].reshape(3, 1, 2048), dtype=torch.float32)
    y = (x + 0.3 * torch.randn_like(x)).requires_grad_()
    short = StoiLoss(RATE, 2048)
    assert torch.allclose(short(x, x), torch.zeros(3), atol=1e-2)
    both = short(y, x)
    assert torch.allclose(both[1:2], short(y[1:2], x[1:2]))  # no example sees another
    both.sum().backward()
    assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


def test_the_stoi_loss_joins_the_recon_loss_of_sound_models_only():
    cfg = make_config("dae", data_kind="sound", shape=(1, 2048), rate=RATE, stoi=2.0)
    out = build_model(cfg)(torch.randn(2, 1, 2048))
    expected = out.losses["recon"] + out.losses["spectral"] + 2.0 * out.losses["stoi"]
    assert torch.allclose(out.loss, expected.mean())
    with pytest.raises(ConfigError, match="applies to sound"):
        build_model(make_config("ae", stoi=1.0))
    with pytest.raises(ConfigError, match="applies to sound"):
        build_model(make_config("dae", data_kind="signal", shape=(1, 2048), stoi=1.0))
    with pytest.raises(ConfigError, match="ELBO"):
        make_config("vae", data_kind="sound", shape=(1, 2048), rate=RATE, stoi=1.0)
    with pytest.raises(ConfigError, match="STOI's frames"):
        build_model(make_config("dae", data_kind="sound", shape=(1, 512), rate=RATE, stoi=1.0))


def test_recorded_noise_is_an_excerpt_of_a_recording_at_the_snr():
    gen = torch.Generator().manual_seed(0)
    ramp = torch.arange(1000, dtype=torch.float64)  # each sample tells where it was taken
    x = torch.sin(torch.arange(4 * 2 * 700, dtype=torch.float64).reshape(4, 2, 700) / 7.0)
    noisy = corrupt(x, "recorded:5", gen, clip=False, recordings=(ramp,))
    assert torch.allclose(snr(x, noisy), torch.full((4,), 5.0, dtype=torch.float64), atol=1e-3)
    added = noisy - x
    for example in added:
        scale = example[0, 1] - example[0, 0]  # one step of the ramp
        steps = (example[0] / scale).round()
        assert torch.allclose(example[0], example[1])  # every channel gets the same excerpt
        assert torch.allclose(example[0] / scale, steps, atol=1e-3)
        diffs = steps.diff()
        assert ((diffs == 1) | (diffs == -999)).all()  # consecutive, looping at the end
    with pytest.raises(ConfigError, match="--noise-files"):
        corrupt(x, "recorded:5", gen, clip=False)


def test_noise_recordings_are_read_at_the_rate_a_channel_each(speech, tmp_path):
    bank = noise_recordings(speech / "noise", RATE)
    assert [len(r) for r in bank] == [8000, 300, 300]  # the hiss resampled, the hum's 2 channels
    sf.write(tmp_path / "quiet.wav", np.zeros(100), RATE)
    with pytest.raises(DataError, match="silent"):
        noise_recordings(tmp_path, RATE)


def test_a_dae_trains_on_its_noise_recordings_and_refuses_them_wrongly_given(
    speech, tmp_path, capsys
):
    base = ["train", "dae", "--data", speech / "speech", "--window", WINDOW, "--channels", 4]
    base += ["--epochs", 1]
    noise = ["--noise-files", speech / "noise", "--noise", "recorded:0|recorded:10|white:5"]
    code, err = cli(capsys, *base, *noise, "--spectral", 1, "--out", tmp_path / "r")
    assert code == 0, err
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["model"]
    assert saved["noise_files"] == str((speech / "noise").resolve()) and saved["spectral"] == 1
    header = (tmp_path / "r" / "history.csv").read_text().splitlines()[0]
    assert "spectral" in header
    # on sound, denoise keeps the kind's fraction of each input, never safeguards (no clean
    # residuals measured), and --keep-input mixes the input back into the raw output
    clip = speech / "speech" / "s1.wav"
    keep = data_kind("sound").kept_input
    runs = {"d": [], "same": ["--no-safeguard", "--keep-input", keep]}
    runs |= {"raw": ["--keep-input", 0], "half": ["--keep-input", 0.5]}
    for out, extra in runs.items():
        code, err = cli(capsys, "denoise", tmp_path / "r", clip, *extra, "--out", tmp_path / out)
        assert code == 0, err
    wav = {out: sf.read(tmp_path / out / "s1.wav")[0] for out in runs}
    assert np.array_equal(wav["d"], wav["same"])
    x = sf.read(clip)[0]
    assert np.abs(wav["half"] - (wav["raw"] + x) / 2).max() <= 2 / 2**15  # 16-bit rounding
    assert not (tmp_path / "r" / RESIDUALS).exists()
    code, err = cli(capsys, "denoise", tmp_path / "r", clip, "--keep-input", 1, "--out", tmp_path)
    assert code == 2 and "below 1" in err and err.count("\n") == 1, err
    wrong = {
        "no recorded": [*noise[:2], "--noise", "white:5"],
        "no files": ["--noise", "recorded:5"],
        "missing": ["--noise-files", tmp_path / "gone", "--noise", "recorded:5"],
    }
    for name, args in wrong.items():
        out = tmp_path / name.replace(" ", "-")
        code, err = cli(capsys, *base, *args, "--out", out)
        assert code == 2 and err.count("\n") == 1 and not out.exists(), (name, err)
    images = ["train", "dae", "--noise-files", speech / "noise", "--noise", "recorded:5"]
    code, err = cli(capsys, *images, "--out", tmp_path / "img")
    assert code == 2 and "sound recordings" in err and not (tmp_path / "img").exists(), err
