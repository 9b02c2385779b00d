"""Signals: every model kind on series and recordings the tests make, the jobs on signal files
(names, formats and lengths kept), known answers for reading, normalising, windows and measures,
and every kind of bad signal input as one line, exit 2, nothing written."""

import json

import numpy as np
import pytest
import torch
from conftest import cli

import latentzoo
from latentzoo import codec, make_config
from latentzoo.kinds import data_kind
from latentzoo.measures import prd, snr
from latentzoo.series import load_signals, source_kind
from latentzoo.windows import CutInput, overlap_add

T = 32


def waves(n: int = 60, channels: int = 0, seed: int = 0):
    """n sine waves of T samples, 3 classes by frequency, in volts around 5 (channels 0: (n, T))."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    t = np.arange(T) / T
    phase = rng.uniform(0, 6, (n, 1))
    x = 5 + 2 * np.sin(2 * np.pi * (labels[:, None] + 1) * t + phase)
    if channels:
        x = np.stack([x * (c + 1) for c in range(channels)], 1)  # (n, C, T)
    return x.astype(np.float32), labels


def recording(samples: int = 600, channels: int = 2):
    t = np.arange(samples) / 100
    rec = np.stack([np.sin(2 * np.pi * (c + 1) * t) + c for c in range(channels)], 1)
    return rec.astype(np.float32)  # (T, C)


def write_csv(path, rows, header=None, sep=","):
    lines = [sep.join(header)] if header else []
    lines += [sep.join(f"{v:g}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("signals")
    x, y = waves()
    np.save(d / "series.npy", x)
    np.save(d / "leads.npy", waves(channels=3)[0])
    write_csv(d / "ucr.csv", np.column_stack([y + 1, x]))
    np.save(d / "mono.npy", recording(channels=1)[:, 0])
    write_csv(d / "rec.csv", recording(), header=["lead_a", "lead_b"])
    return d


SOURCES = {
    "series (N, T)": ("series.npy", {}),
    "series (N, C, T)": ("leads.npy", {"data_kind": "signal"}),
    "UCR table": ("ucr.csv", {"label_column": 0}),
    "recording in windows": ("rec.csv", {"window": T, "hop": 8}),
}
MODELS = {
    "ae": {},
    "ae-mlp": {"backbone": "mlp"},
    "dae": {},
    "dae-grid": {"latent": "grid"},
    "vae": {},
    "iwae": {"iw_samples": 3},
    "cvae": {},
    "vqvae": {"codebook_size": 16},
}


LABELLED = ("UCR table",)  # a CVAE needs labels


@pytest.mark.parametrize(
    "model, source",
    [(m, s) for m in MODELS for s in SOURCES if m != "cvae" or s in LABELLED],
)
def test_every_model_kind_trains_on_every_signal_source(sources, tmp_path, model, source):
    name, opts = SOURCES[source]
    kind = "vae" if model == "iwae" else model.split("-")[0]
    cfg = make_config(
        kind, source=str(sources / name), epochs=1, batch_size=16, **opts, **MODELS[model]
    )
    run = latentzoo.train(cfg, tmp_path / "run", report=False, progress=False)
    saved = json.loads((run / "config.json").read_text())["data"]
    assert saved["data_kind"] == "signal" and len(saved["channel_mean"]) == saved["shape"][0]
    m = json.loads((run / "metrics.json").read_text())
    assert all(np.isfinite(m[k]) for k in ("snr", "prd", "rmse"))
    model_ = latentzoo.load(run)
    x, y = load_signals(model_.cfg.data).test.tensors()
    assert model_.reconstruct(x, y if model_.conditional else None).shape == x.shape


@pytest.fixture(scope="module")
def runs(sources, tmp_path_factory):
    """An AE on the UCR table and a VQ-VAE on windows of the recording, a few epochs each."""
    d = tmp_path_factory.mktemp("signal-runs")
    ucr = make_config("ae", source=str(sources / "ucr.csv"), label_column=0, epochs=3)
    rec = make_config(
        "vqvae", source=str(sources / "rec.csv"), window=T, codebook_size=16, epochs=2
    )
    return {
        "ucr": latentzoo.train(ucr, d / "ucr", report=False, progress=False),
        "rec": latentzoo.train(rec, d / "rec", progress=False),
    }


def test_jobs_keep_the_names_format_and_length_of_signal_files(sources, runs, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = cli(capsys, "reconstruct", runs["ucr"], sources / "ucr.csv", "--out", out)
    assert code == 0, err
    rows = [r.split(",") for r in (out / "ucr.csv").read_text().split()]
    given = [r.split(",") for r in (sources / "ucr.csv").read_text().split()]
    assert len(rows) == len(given) and [r[0] for r in rows] == [g[0] for g in given]
    assert all(len(r) == T + 1 for r in rows)  # the label column kept, one value per sample
    code, err = cli(
        capsys,
        "denoise",
        runs["rec"],
        sources / "rec.csv",
        sources / "mono.npy",
        "--noise",
        "gaussian:0.1",
        "--out",
        out,
    )
    assert code != 0 and "channel" in err  # mono.npy holds one channel, the run takes two
    assert not (out / "rec.csv").exists()  # nothing written
    code, err = cli(
        capsys, "denoise", runs["rec"], sources / "rec.csv", "--noise", "gaussian:0.1", "--out", out
    )
    assert code == 0, err
    lines = (out / "rec.csv").read_text().splitlines()
    assert lines[0] == "lead_a,lead_b" and len(lines) == 1 + len(recording())
    for job in ("encode", "score"):
        code, err = cli(
            capsys,
            job,
            runs["ucr"],
            sources / "ucr.csv",
            "--out",
            tmp_path / f"{job}.csv" if job == "score" else tmp_path / "z.npy",
        )
        assert code == 0, err
    assert np.load(tmp_path / "z.npy").shape == (60, 32)
    assert len((tmp_path / "score.csv").read_text().splitlines()) == 61
    assert (runs["rec"] / "report.html").is_file() and (runs["rec"] / "code_grids.png").is_file()


def test_outputs_come_back_in_the_inputs_units(sources, runs, tmp_path):
    """Known answer: written as results, a file's own normalised examples give back its values,
    and a recording's windows put back together give back the recording."""
    kind = data_kind("signal")
    for run, name in ((runs["ucr"], "ucr.csv"), (runs["rec"], "rec.csv")):
        data = latentzoo.load(run).cfg.data
        inputs = kind.read_inputs([sources / name], data)
        written = kind.write_like_inputs(inputs, inputs.examples, tmp_path / name, data)
        back = np.loadtxt(written[0], delimiter=",", skiprows=1 if name == "rec.csv" else 0)
        want = np.loadtxt(sources / name, delimiter=",", skiprows=1 if name == "rec.csv" else 0)
        assert np.allclose(back, want, atol=1e-4)


def test_reading_rules_known_answers(tmp_path):
    x, y = waves(10)
    write_csv(tmp_path / "t.tsv", np.column_stack([x[:, :3], y * 10]), sep="\t")
    data = make_config("ae", source=str(tmp_path / "t.tsv"), label_column=3, backbone="mlp").data
    splits = load_signals(data)
    assert splits.classes == tuple(str(v) for v in sorted(set(y * 10)))
    every = torch.cat([splits.train.series, splits.val.series, splits.test.series])
    assert every.shape == (10, 1, 3)
    mean, std = splits.found["channel_mean"], splits.found["channel_std"]
    assert torch.allclose(splits.train.series.mean(), torch.tensor(0.0), atol=1e-5)
    assert len(mean) == len(std) == 1
    np.save(tmp_path / "r.npy", recording(100, 1)[:, 0])
    rec = make_config("ae", source=str(tmp_path / "r.npy"), window=40, hop=20, backbone="mlp")
    s = load_signals(rec.data)
    assert len(s.train) + len(s.val) + len(s.test) == 4  # starts 0, 20, 40, 60
    write_csv(tmp_path / "u.csv", [[1, 2, 3, 4], [1, 2, float("nan"), float("nan")], [5, 6, 7]])
    uneven = make_config("ae", source=str(tmp_path / "u.csv"), length=4, backbone="mlp")
    assert load_signals(uneven.data).train.shape == (1, 4)
    assert source_kind(tmp_path / "r.npy") == "signal"
    np.save(tmp_path / "img.npy", np.zeros((3, 8, 8), np.uint8))
    assert source_kind(tmp_path / "img.npy") == "image"


def test_snr_and_prd_known_answers():
    x = torch.tensor([[[1.0, -1.0, 1.0, -1.0]]])  # power about the mean: 4
    x_hat = x + 0.1  # error power 0.04
    assert torch.allclose(snr(x, x_hat), torch.tensor([20.0]), atol=1e-4)
    assert torch.allclose(prd(x, x_hat), torch.tensor([10.0]), atol=1e-4)


BAD = {
    "NaN": ("nan.npy", [], "NaN"),
    "unequal lengths": ("unequal.csv", [], "unequal length"),
    "a window longer than the recording": ("short.npy", ["--window", "100"], "shorter than"),
    "an empty file": ("empty.csv", [], "empty"),
    "a text cell": ("text.csv", [], "'abc' is not a number"),
    "a pickled .npy": ("pickled.npy", [], "pickled"),
    "a hop of 0": ("ok.npy", ["--window", "10", "--hop", "0"], "hop"),
    "a 4-d array": ("four.npy", ["--kind", "signal"], "(N, T) or (N, C, T)"),
    "a label column that is not integer": ("labels.csv", ["--label-column", "0"], "whole"),
    "a recording of one sample": ("one.npy", ["--window", "2"], "1 sample"),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-signals")
    x = np.random.default_rng(0).random((20, 32))
    x[3, 5] = np.nan
    np.save(d / "nan.npy", x)
    (d / "unequal.csv").write_text("1,2,3,4\n1,2,3\n4,5,6,7\n")
    np.save(d / "short.npy", np.ones(50))
    (d / "empty.csv").write_text("")
    (d / "text.csv").write_text("1,2,3\n4,abc,6\n7,8,9\n")
    np.save(d / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(d / "ok.npy", np.ones((50, 2)))
    np.save(d / "four.npy", np.ones((4, 2, 8, 5)))
    (d / "labels.csv").write_text("1.5,2,3,4\n1,2,3,4\n2,5,6,7\n1,1,1,1\n")
    np.save(d / "one.npy", np.ones(1))
    return d


@pytest.mark.parametrize("case", BAD)
def test_each_bad_signal_input_is_one_line_exit_2_and_nothing_written(
    bad_files, tmp_path, capsys, case
):
    name, extra, words = BAD[case]
    out = tmp_path / "run"
    code, err = cli(
        capsys, "train", "ae", "--data", bad_files / name, *extra, "--out", out, "--epochs", "1"
    )
    assert code == 2 and err.count("\n") == 1 and err.startswith("latentzoo: error:"), err
    assert words in err and "Traceback" not in err
    assert not out.exists()


def test_a_signal_vqvae_with_a_prior_samples_compresses_and_decompresses(
    sources, runs, tmp_path, capsys
):
    import shutil

    run = shutil.copytree(runs["rec"], tmp_path / "vq")
    code, err = cli(
        capsys, "train-prior", run, "--epochs", "1", "--d-model", "16", "--n-layers", "1"
    )
    assert code == 0, err
    for out in ("samples.npy", "samples"):
        code, err = cli(capsys, "sample", run, "-n", "3", "--out", tmp_path / out)
        assert code == 0, err
    assert np.load(tmp_path / "samples.npy").shape == (3, 2, T)
    assert len(np.loadtxt(tmp_path / "samples" / "sample-00002.csv", delimiter=",")) == T
    code, err = cli(capsys, "compress", run, sources / "rec.csv", "--out", tmp_path / "rec.lzc")
    assert code == 0, err
    header = codec.read_header((tmp_path / "rec.lzc").read_bytes())
    assert header.inputs == (CutInput("rec.csv", 2, len(recording()), T, ("lead_a", "lead_b")),)
    args = ["decompress", tmp_path / "rec.lzc", "--run", run, "--out"]
    code, err = cli(capsys, *args, tmp_path / "d.npy")
    assert code == 2 and "folder" in err and not (tmp_path / "d.npy").exists()
    code, err = cli(capsys, *args, tmp_path / "d")
    assert code == 0, err
    # known answer: the recording's windows, abutting (hop = window), decoded and put back together
    model = latentzoo.load(run)
    data = model.cfg.data
    x = data_kind("signal").read_inputs([sources / "rec.csv"], data, hop=T).examples
    want = overlap_add(model.decode(model.encode(x)).detach(), T, len(recording()))  # (C, T)
    std, mean = (np.asarray(v)[:, None] for v in (data.channel_std, data.channel_mean))
    lines = (tmp_path / "d" / "rec.csv").read_text().splitlines()
    assert lines[0] == "lead_a,lead_b"
    got = np.loadtxt(lines[1:], delimiter=",")  # (T, C) in the data's units
    assert got.shape == (len(recording()), 2)
    assert np.allclose(got.T, want.numpy() * std + mean, atol=1e-4)


def test_signal_noise_kinds_known_answers():
    """Each dB kind puts each example at its SNR; the frequencies are where they are named; the
    kinds with frequencies need a rate; impulses and dropouts hit what they say."""
    from latentzoo.errors import ConfigError
    from latentzoo.noise import corrupt, parse_noise

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 2, 1000) * 3 + 1
    rate = 250.0
    for kind in ("white", "wander", "muscle", "hum50", "hum60"):
        for db in (-5.0, 0.0, 5.0):
            noisy = corrupt(x, f"{kind}:{db:g}", gen, clip=False, rate=rate)
            assert torch.allclose(snr(x, noisy), torch.full((8,), db), atol=1e-3), (kind, db)
    freqs = torch.fft.rfftfreq(1000, d=1 / rate)

    def spectrum(kind):
        return torch.fft.rfft(corrupt(x, f"{kind}:0", gen, clip=False, rate=rate) - x).abs() ** 2

    assert spectrum("muscle")[..., freqs < 20].sum() < 1e-6 * spectrum("muscle").sum()
    hum = spectrum("hum50").sum((0, 1))
    assert set(freqs[hum.topk(2).indices].tolist()) == {50.0, 100.0}  # 150 Hz: above Nyquist
    assert hum.topk(3).values[2] < 1e-6 * hum.sum()
    long = torch.randn(4, 1, 40_000) * 3  # 160 s: fine enough to resolve 0.05 Hz
    wander = torch.fft.rfft(corrupt(long, "wander:0", gen, clip=False, rate=rate) - long)
    power = wander.abs() ** 2
    assert power[..., torch.fft.rfftfreq(40_000, d=1 / rate) <= 0.6].sum() > 0.98 * power.sum()
    with pytest.raises(ConfigError, match="--rate"):
        corrupt(x, "hum50:5", gen, clip=False)
    spikes = corrupt(x, "impulse:0.02", gen, clip=False) != x
    assert 0.01 < float(spikes.float().mean()) < 0.03
    gone = corrupt(x + 10, "dropout:0.1", gen, clip=False) == 0
    assert all(int(g.sum()) == 2 * 100 for g in gone)  # one stretch of 100 samples per example
    with pytest.raises(ConfigError, match=">= -60"):
        parse_noise("white:-61")
    assert parse_noise("white:-5+hum50:10|dropout:0.1")[0][0].level == -5.0


def ts_text(rows, labels, length):
    head = [
        "@problemName tiny",
        "@timestamps false",
        "@univariate true",
        "@equalLength true",
        f"@seriesLength {length}",
        f"@classLabel true {' '.join(sorted(set(labels)))}",
        "@data",
    ]
    return "\n".join(head + [",".join(f"{v:g}" for v in r) + f":{y}" for r, y in zip(rows, labels)])


def test_a_ucr_ts_pair_trains_and_its_jobs_write_ts(tmp_path, capsys):
    """A *_TRAIN.ts beside its *_TEST.ts: the test file is the test split; class names are kept
    and a job's output is a .ts file sktime reads back, labels and all."""
    from sktime.datasets import load_from_tsfile

    x, y = waves(40)
    names = np.array(["walk", "run", "sit"])[y]
    (tmp_path / "Toy_TRAIN.ts").write_text(ts_text(x[:30], names[:30], T))
    (tmp_path / "Toy_TEST.ts").write_text(ts_text(x[30:], names[30:], T))
    cfg = make_config("ae", source=str(tmp_path / "Toy_TRAIN.ts"), backbone="mlp", epochs=1)
    splits = load_signals(cfg.data)
    assert len(splits.test) == 10 and set(splits.classes) <= {"run", "sit", "walk"}
    run = latentzoo.train(cfg, tmp_path / "run", report=False, progress=False)
    code, err = cli(capsys, "reconstruct", run, tmp_path / "Toy_TEST.ts", "--out", tmp_path / "o")
    assert code == 0, err
    back, labels = load_from_tsfile(str(tmp_path / "o" / "Toy_TEST.ts"), return_data_type="numpy3D")
    assert back.shape == (10, 1, T) and list(labels) == list(names[30:])
