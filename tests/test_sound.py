"""Sound: audio files the tests make (tones, chirps, noise) as a source split by file, every job on
WAV, FLAC and OGG files keeping each file's rate, channels, format and length, audio that comes back
through an identity model, memory that does not grow with a file's length, the colours of noise,
and every kind of bad audio as one line, exit 2, nothing written."""

import json
import shutil
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import cli

import latentzoo
from latentzoo import codec, make_config, recordings
from latentzoo.cli import main
from latentzoo.measures import snr
from latentzoo.noise import corrupt
from latentzoo.series import source_kind
from latentzoo.sounds import load_sounds, map_sounds
from latentzoo.windows import CutInput

RATE = 8000
WINDOW = 256


def chirp(seconds: float, rate: int, f0: float, seed: int = 0) -> np.ndarray:
    """A rising tone with a slow swell and a little noise, (T,) in [-0.5, 0.5]."""
    t = np.arange(int(seconds * rate)) / rate
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t + seed)
    noise = 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return 0.4 * swell * np.sin(2 * np.pi * (f0 * t + 40 * t**2)) + noise


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    """A folder of 6 chirps at 8 kHz (one at 16 kHz, one stereo, in a subfolder), and inputs of
    other rates, channels and formats."""
    d = tmp_path_factory.mktemp("sound")
    (d / "speech" / "more").mkdir(parents=True)
    for i in range(4):
        sf.write(d / "speech" / f"c{i}.wav", chirp(1.5, RATE, 150 + 60 * i, i), RATE, "PCM_16")
    sf.write(d / "speech" / "more" / "hi.flac", chirp(1.5, 16000, 500, 7), 16000)
    stereo = np.stack([chirp(1.5, RATE, 300, 8), chirp(1.5, RATE, 350, 9)], 1)
    sf.write(d / "speech" / "more" / "stereo.wav", stereo, RATE, "FLOAT")
    inputs = d / "inputs"
    inputs.mkdir()
    both = np.stack([chirp(1.3, 44100, 200, 10), chirp(1.3, 44100, 260, 11)], 1)
    sf.write(inputs / "stereo44k.wav", both, 44100, "PCM_16")
    sf.write(inputs / "mono22k.flac", chirp(0.9, 22050, 330, 12), 22050)
    sf.write(inputs / "short.ogg", chirp(0.02, RATE, 400, 13), RATE)  # under one window
    return d


@pytest.fixture(scope="module")
def runs(sounds, tmp_path_factory):
    """A DAE and a VQ-VAE (a residual quantizer of 3 codebooks) with a prior on the chirps, a few
    small epochs each."""
    d = tmp_path_factory.mktemp("sound-runs")
    small = dict(source=str(sounds / "speech"), window=WINDOW, channels=8, epochs=2)
    dae = latentzoo.train(make_config("dae", **small), d / "dae", report=False, progress=False)
    vq = make_config("vqvae", **small, codebook_size=16, res_blocks=0, quantizer="rvq", codebooks=3)
    vq_run = latentzoo.train(vq, d / "vq", report=False, progress=False)
    code = main(["train-prior", str(vq_run), "--epochs", "1", "--d-model", "16", "--n-layers", "1"])
    assert code == 0
    return {"dae": dae, "vq": vq_run}


def test_a_folder_of_audio_is_sound_at_its_common_rate_split_by_file(sounds, tmp_path):
    assert source_kind(sounds / "speech") == "sound"
    assert source_kind(sounds / "inputs" / "mono22k.flac") == "sound"
    d = tmp_path / "levels"
    d.mkdir()
    for i in range(10):  # each file a level of its own, so a window tells its file
        sf.write(d / f"{i}.wav", np.full(1000, 0.05 * (i + 1)), RATE, "FLOAT")
    cfg = make_config("ae", source=str(d), window=100)
    splits = load_sounds(cfg.data)
    assert splits.found["rate"] == RATE and splits.found["window"] == 100
    std, mean = splits.found["channel_std"][0], splits.found["channel_mean"][0]

    def files(s):
        return {round(float(v) * std + mean, 3) for v in s.series[:, 0, 50]}

    train, val, test = files(splits.train), files(splits.val), files(splits.test)
    assert len(train) == 8 and len(val) == len(test) == 1  # whole files held out
    assert not (train & test or train & val or val & test)
    assert len(splits.test) == 19  # 1000 samples, windows of 100 every 50
    run = latentzoo.train(
        make_config("ae", source=str(sounds / "speech"), window=WINDOW, channels=4, epochs=1),
        tmp_path / "r",
        report=False,
        progress=False,
    )
    saved = json.loads((run / "config.json").read_text())["data"]
    assert saved["data_kind"] == "sound" and saved["rate"] == RATE
    assert saved["shape"] == [1, WINDOW] and saved["window"] == WINDOW


def info(path):
    i = sf.info(path)
    return i.samplerate, i.channels, i.frames, i.format, i.subtype


def test_jobs_keep_each_files_rate_channels_format_and_length(sounds, runs, tmp_path, capsys):
    inputs = sorted((sounds / "inputs").iterdir())
    for job, extra in (("denoise", []), ("denoise", ["--noise", "pink:5"]), ("reconstruct", [])):
        out = tmp_path / f"{job}{len(extra)}"
        code, err = cli(capsys, job, runs["dae"], *inputs, *extra, "--out", out)
        assert code == 0, err
        for p in inputs:
            assert info(out / p.name) == info(p), (job, p.name)
            assert not np.allclose(sf.read(out / p.name)[0], sf.read(p)[0], atol=1e-3)
    code, err = cli(capsys, "score", runs["dae"], sounds / "inputs", "--out", tmp_path / "s.csv")
    assert code == 0, err
    rows = (tmp_path / "s.csv").read_text().splitlines()
    # 1.3 s at 8 kHz: 10400 samples, windows every 128: 81 per channel; 0.9 s: 56; short: 1
    assert len(rows) == 1 + 2 * 81 + 56 + 1
    assert rows[-1].startswith('"stereo44k.wav[channel 1, window 80]"')
    code, err = cli(capsys, "encode", runs["dae"], inputs[0], "--out", tmp_path / "z.npy")
    assert code == 0 and np.load(tmp_path / "z.npy").shape[0] == 56
    code, err = cli(capsys, "sample", runs["vq"], "-n", "2", "--out", tmp_path / "samples")
    assert code == 0, err
    assert info(tmp_path / "samples" / "sample-00001.wav")[:3] == (RATE, 1, WINDOW)


def test_an_identity_model_gives_the_audio_back_at_any_rate(sounds, runs, tmp_path):
    data = latentzoo.load(runs["dae"]).cfg.data
    d = tmp_path / "in"
    d.mkdir()
    same = chirp(20, RATE, 300)  # longer than a chunk: the stream crosses chunk boundaries
    sf.write(d / "same.wav", same, RATE, "FLOAT")
    t = np.arange(3 * 44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)  # far below the run's Nyquist frequency
    sf.write(d / "tone.wav", tone, 44100, "FLOAT")
    map_sounds([d], data, lambda x: x, tmp_path / "out")
    got = sf.read(tmp_path / "out" / "same.wav")[0]
    assert np.allclose(got, same, atol=1e-5)
    back = sf.read(tmp_path / "out" / "tone.wav")[0]
    inner = slice(4410, -4410)  # the resampler's filter settles within a tenth of a second
    err = back[inner] - tone[inner]
    assert len(back) == len(tone) and 10 * np.log10(np.mean(tone**2) / np.mean(err**2)) > 40


def test_memory_does_not_grow_with_a_files_length(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(recordings, "BATCH_VALUES", 1 << 16)  # batches far shorter than a file
    data = latentzoo.load(runs["dae"]).cfg.data
    peaks = []
    for seconds in (30, 120):
        path = tmp_path / f"{seconds}.wav"
        sf.write(path, chirp(seconds, 16000, 200), 16000, "PCM_16")
        tracemalloc.start()
        map_sounds([path], data, lambda x: x * 0.5, tmp_path / f"out{seconds}")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0], peaks  # four times as long, not four times the memory


def test_a_sound_codec_file_gives_back_the_decoded_recording(sounds, runs, tmp_path, capsys):
    """Known answer: the file's windows (abutting) decoded from the codes of the first q
    codebooks, put back together and resampled to the input's rate and length."""
    from latentzoo.audio import at_rate
    from latentzoo.windows import overlap_add

    run, model = runs["vq"], latentzoo.load(runs["vq"])
    data = model.cfg.data
    mono = sounds / "inputs" / "mono22k.flac"
    frames = sf.info(mono).frames
    length = round(frames * RATE / 22050)
    x = model.data_kind.read_inputs([mono], data, hop=WINDOW).examples
    codes = model.encode(x)  # (n, 3 codebooks x 1 row, WINDOW / 16)
    sizes = []
    for q in (1, 2, 3):
        out = tmp_path / f"{q}.lzc"
        code, err = cli(capsys, "compress", run, mono, "--codebooks", q, "--out", out)
        assert code == 0, err
        sizes.append(out.stat().st_size)
        header = codec.read_header(out.read_bytes())
        assert header.inputs == (CutInput("mono22k.flac", 1, length, WINDOW, (), 22050, frames),)
        assert header.codebooks == (q if q < 3 else 0)
        code, err = cli(capsys, "decompress", out, "--run", run, "--out", tmp_path / f"d{q}")
        assert code == 0, err
        decoded = model.decode(codes[:, :q]).detach()  # the first q codebooks' rows
        want = overlap_add(decoded, WINDOW, length)[0].double()
        want = (want * data.channel_std[0] + data.channel_mean[0]).numpy()[None]
        want = np.clip(at_rate(want, RATE, 22050, frames)[0][0], -1, 1)
        got, rate = sf.read(tmp_path / f"d{q}" / "mono22k.flac")
        assert rate == 22050 and len(got) == frames
        assert np.abs(got - want).max() < 2e-4  # FLAC's 24 bits
    assert sizes[0] < sizes[1] < sizes[2]
    code, err = cli(capsys, "compress", run, mono, "--bitrate", 10, "--out", tmp_path / "b.lzc")
    assert code == 2 and "bits per second" in err
    stereo = sounds / "inputs" / "stereo44k.wav"
    code, err = cli(capsys, "compress", run, stereo, "--out", tmp_path / "s.lzc")
    assert code == 2 and "mono" in err and not (tmp_path / "s.lzc").exists()


def test_a_residual_quantizer_codes_the_residual_and_looks_up_prefixes():
    from latentzoo.nn.quantizers import ResidualVQ

    rvq = ResidualVQ(  # codebooks that only the test sets: no k-means, EMA or restarts
        codebooks=3,
        codebook_size=4,
        dim=2,
        rows=1,
        dropout=True,
        kmeans_init=False,
        ema=False,
        restart_dead=False,
    )
    for i, layer in enumerate(rvq.layers):  # each codebook a tenth of the one before
        layer.embed.data = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]]) * 10.0**-i
    z = torch.tensor([0.99, 0.1]).view(1, 2, 1, 1)  # (B, D, 1, 1)
    rvq.eval()
    out = rvq(z)
    assert out.indices.view(-1).tolist() == [0, 2, 1]  # (1, 0), then (0, 0.1), then (-0.01, 0)
    assert torch.allclose(out.quantized.view(-1), torch.tensor([0.99, 0.1]))
    assert torch.allclose(rvq.lookup(out.indices[:, :2]).view(-1), torch.tensor([1.0, 0.1]))
    rvq.train()
    used = {int((rvq(z).quantized.view(-1) - z.view(-1)).abs().sum() * 1000) for _ in range(60)}
    assert len(used) == 3  # quantizer dropout: 1, 2 or 3 codebooks per batch


def test_pink_and_brown_noise_have_their_colour_and_snr():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 1, 4096)
    for kind, ratio in (("white", 0.5), ("pink", 1.0), ("brown", 2.0)):
        noisy = corrupt(x, f"{kind}:5", gen, clip=False)
        assert torch.allclose(snr(x, noisy), torch.full((8,), 5.0), atol=1e-3), kind
        power = torch.fft.rfft(noisy - x).abs().pow(2).mean((0, 1))  # (2049,)
        octave = [float(power[a : 2 * a].sum()) for a in (64, 128, 256, 512)]
        got = np.mean([a / b for a, b in zip(octave, octave[1:])])  # each octave over the next
        assert abs(got / ratio - 1) < 0.2, (kind, got)


@pytest.fixture(scope="module")
def bad_audio(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-audio")
    (d / "text.wav").write_text("not audio at all\n")
    sf.write(d / "empty.wav", np.zeros(0), RATE, "PCM_16")
    x = chirp(0.5, RATE, 300)
    x[100] = np.nan
    sf.write(d / "nan.wav", x, RATE, "FLOAT")
    sf.write(d / "slow.wav", chirp(2, 100, 10), 100, "PCM_16")  # 80 times below 8 kHz
    sf.write(d / "whole.wav", chirp(0.5, RATE, 300), RATE, "PCM_16")
    blob = (d / "whole.wav").read_bytes()
    (d / "cut.wav").write_bytes(blob[: len(blob) // 2])
    (d / "song.mp4").write_bytes(b"\0" * 100)
    return d


BAD = {
    "not audio": ("text.wav", "not an audio file"),
    "0 samples": ("empty.wav", "0 samples"),
    "NaN in a float WAV": ("nan.wav", "NaN"),
    "a rate it cannot resample": ("slow.wav", "cannot be resampled"),
    "a truncated file": ("cut.wav", "truncated"),
    "not an audio suffix": ("song.mp4", "not an audio file"),
}
AS_DATA = {"song.mp4": "audio files"}  # training data: what a source can be


@pytest.mark.parametrize("case", BAD)
def test_each_bad_audio_input_is_one_line_exit_2_and_nothing_written(
    bad_audio, runs, tmp_path, capsys, case
):
    name, words = BAD[case]
    for job in ("denoise", "reconstruct", "score", "compress"):
        run = runs["vq"] if job == "compress" else runs["dae"]
        out = tmp_path / (
            f"{job}.csv" if job == "score" else f"{job}.lzc" if job == "compress" else job
        )
        code, err = cli(capsys, job, run, bad_audio / name, "--out", out)
        assert code == 2 and err.count("\n") == 1, (job, err)
        assert words in err and "Traceback" not in err, (job, err)
        assert not out.exists() and not list(tmp_path.glob(".*tmp")), job
    if name != "slow.wav":  # as training data
        d = tmp_path / "data"
        d.mkdir(exist_ok=True)
        shutil.copy(bad_audio / name, d / name)
        code, err = cli(capsys, "train", "ae", "--data", d / name, "--out", tmp_path / "run")
        assert code == 2 and err.count("\n") == 1 and AS_DATA.get(name, words) in err, err
        assert not (tmp_path / "run").exists()


def test_a_codec_file_of_another_model_is_refused(runs, sounds, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(runs["vq"], other)
    weights = other / "model.safetensors"
    from safetensors.torch import load_file, save_file

    state = load_file(weights)
    first = sorted(state)[0]
    state[first] = state[first] + 1
    save_file(state, weights)
    mono = sounds / "inputs" / "mono22k.flac"
    code, err = cli(capsys, "compress", runs["vq"], mono, "--out", tmp_path / "m.lzc")
    assert code == 0, err
    code, err = cli(
        capsys, "decompress", tmp_path / "m.lzc", "--run", other, "--out", tmp_path / "d"
    )
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "d").exists()


def test_babble_is_other_examples_at_the_snr():
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(4096) / RATE
    own = [100 + 120 * k for k in range(6)]  # each example a tone of its own, on an FFT bin
    freqs = [k * RATE / 4096 for k in own]
    x = torch.stack([torch.sin(2 * np.pi * f * t) for f in freqs])[:, None]  # (6, 1, 4096)
    noisy = corrupt(x, "babble:0", gen, clip=False)
    assert torch.allclose(snr(x, noisy), torch.zeros(6), atol=1e-3)
    power = torch.fft.rfft(noisy - x).abs().pow(2)[:, 0]  # (6, 2049)
    for i, k in enumerate(own):
        assert power[i, k] < 1e-6 * power[i].sum()  # no example babbles with its own voice
        assert sum(power[i, j] for j in own) > 0.99 * power[i].sum()  # only the others'


def test_babble_speed_moves_the_other_voices_pitch_at_the_snr():
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(4096) / RATE
    x = torch.sin(2 * np.pi * 1000 * t) * torch.arange(1.0, 7.0)[:, None, None]  # (6, 1, 4096)
    noisy = corrupt(x, "babble_speed:0", gen, clip=False)
    assert torch.allclose(snr(x, noisy), torch.zeros(6), atol=1e-3)
    power = torch.fft.rfft(noisy - x).abs().pow(2)[:, 0]  # (6, 2049)
    hz = torch.fft.rfftfreq(4096, 1 / RATE)
    band = (hz > 590) & (hz < 1510)  # 1000 Hz played 0.6 to 1.5 times as fast
    assert (power[:, band].sum(1) > 0.95 * power.sum(1)).all()
    assert (power[:, (hz - 1000).abs() < 10].sum(1) < 0.5 * power.sum(1)).all()


def test_the_spectral_mask_starts_near_the_identity_and_masks_bins():
    from latentzoo.nn.spectral import OPEN, SpectralMask

    block = SpectralMask(n_fft=256, hop=64, width=8, act="relu")
    t = torch.arange(2048) / RATE
    low, high = torch.sin(2 * np.pi * 250 * t), 0.5 * torch.sin(2 * np.pi * 3000 * t)
    x = (low + high)[None, None]  # (1, 1, T)
    both = torch.cat([torch.randn_like(x), x], 1)
    with torch.no_grad():
        out = x + block(both)
        assert torch.allclose(out, torch.sigmoid(torch.tensor(OPEN)) * x, atol=1e-4)
        keep = torch.full((129,), -30.0)
        keep[:50] = 30.0  # bins below 1562.5 Hz
        block.out.bias.copy_(keep)
        out = x + block(both)
    inner = slice(256, -256)
    assert torch.allclose(out[0, 0, inner], low[inner], atol=2e-3)  # the high tone masked away


def test_a_masking_dae_trains_on_sound_and_denoises_files(sounds, tmp_path, capsys):
    args = ["train", "dae", "--data", sounds / "speech", "--window", WINDOW, "--skip", "mask"]
    code, err = cli(capsys, *args, "--channels", 4, "--epochs", 1, "--out", tmp_path / "m")
    assert code == 0, err
    mono = sounds / "inputs" / "mono22k.flac"
    code, err = cli(capsys, "denoise", tmp_path / "m", mono, "--out", tmp_path / "d")
    assert code == 0 and info(tmp_path / "d" / mono.name) == info(mono), err
    code, err = cli(
        capsys,
        "train",
        "dae",
        "--latent",
        "grid",
        "--recon",
        "mse",
        "--skip",
        "mask",
        "--out",
        tmp_path / "img",
    )
    assert code == 2 and "signals and sound" in err and err.count("\n") == 1, err


HOSTILE = 100_000


@pytest.mark.cases(HOSTILE)
def test_100000_hostile_sound_codec_files_get_a_codec_error_and_never_other_audio(
    sounds, runs, tmp_path, capsys
):
    """A sound file coded with 2 of 3 codebooks (container format 4: its rate, length and
    codebooks), then random bytes, one to three random edits, and forgeries with a recomputed file
    checksum (payload bits, a cut payload, another count): a CodecError, or the very codes of the
    file; the command line says one line and exits 2 on a sample of them, writing nothing."""
    import random

    from latentzoo.codec.container import Header, pack, unpack
    from latentzoo.errors import CodecError

    model = latentzoo.load(runs["vq"])
    mono = sounds / "inputs" / "mono22k.flac"
    out = tmp_path / "m.lzc"
    assert cli(capsys, "compress", runs["vq"], mono, "--codebooks", 2, "--out", out)[0] == 0
    blob = out.read_bytes()
    right = codec.decompress_codes(model, blob)
    rng = random.Random(0)
    sample = []
    for i in range(HOSTILE):
        if i % 250 == 0:
            header, payload = unpack(blob)
            payload = bytearray(payload)
            if i % 750 == 0:
                payload[rng.randrange(len(payload))] ^= 1 << rng.randrange(8)
            elif i % 750 == 250:
                payload = payload[: 4 * rng.randrange(len(payload) // 4 + 1)] or bytearray(4)
            else:
                header = Header(
                    header.model,
                    rng.randrange(1, 8),
                    header.shape,
                    header.codes_crc,
                    header.inputs,
                    header.codebooks,
                )
            try:
                data = pack(header, bytes(payload))
            except CodecError:
                continue
        elif i % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
            data = b"LZ\x04" + data if rng.random() < 0.5 else data
        else:
            bad = bytearray(blob)
            while bad == blob:
                for _ in range(rng.randrange(1, 4)):
                    pos = rng.randrange(len(bad))
                    bad[pos] = rng.randrange(256)
            data = bytes(bad)
        try:
            codes = codec.decompress_codes(model, data)
        except CodecError:
            if len(sample) < 20 and i % 97 == 0:
                sample.append(data)
            continue
        assert torch.equal(codes, right)  # never other codes
        assert codec.read_header(data).inputs == codec.read_header(blob).inputs
    for k, data in enumerate(sample):
        (tmp_path / f"h{k}.lzc").write_bytes(data)
        code, err = cli(
            capsys,
            "decompress",
            tmp_path / f"h{k}.lzc",
            "--run",
            runs["vq"],
            "--out",
            tmp_path / f"o{k}",
        )
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert not (tmp_path / f"o{k}").exists()
    assert len(sample) == 20


def test_a_codec_file_decodes_whatever_the_thread_count(sounds, runs):
    """The prior's logits are computed on one thread on both sides: a file written with two
    threads decodes with one (float sums split over threads differ in their last bits)."""
    model = latentzoo.load(runs["vq"])
    x = model.data_kind.read_inputs([sounds / "speech"], model.cfg.data).examples
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        codes = codec.encode_images(model, x)
        blob = codec.compress_codes(model, codes)
        torch.set_num_threads(1)
        assert torch.equal(codec.decompress_codes(model, blob), codes)
    finally:
        torch.set_num_threads(before)


def test_the_report_of_a_sound_run_plays_its_clips(runs, tmp_path):
    import base64
    import io
    import re

    from latentzoo.viz.report import make_report

    page = make_report(runs["dae"], out=tmp_path / "r.html").read_text()
    clips = re.findall(r'<audio controls src="data:audio/wav;base64,([^"]+)"', page)
    assert len(clips) == 4  # test clip, reconstruction, under noise, denoised
    x, rate = sf.read(io.BytesIO(base64.b64decode(clips[0])))
    assert rate == RATE and len(x) == 128 * 23 + WINDOW  # 24 windows every 128 samples, joined
