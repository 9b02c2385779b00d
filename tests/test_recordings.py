"""Long recordings in chunks (latentzoo.recordings): whatever the chunk and batch sizes, the
windows, per-sample scores, blended outputs and flagged intervals equal the in-memory ones of
latentzoo.windows; tables are read line by line with errors naming the line; and the `score`,
`reconstruct` and `denoise` commands on a recording read it in chunks, take `--hop`, and give the
same files as one chunk would."""

import json

import numpy as np
import pytest
import torch

import latentzoo
from latentzoo import jobs as lzjobs
from latentzoo import recordings
from latentzoo.cli import main
from latentzoo.config import make_config
from latentzoo.errors import DataError
from latentzoo.recordings import Blend, Cover, Envelope, Flagged, open_recording, window_batches
from latentzoo.windows import intervals, overlap_add, starts, windows, worst_cover

CASES = [(100, 16, 8, 7), (97, 16, 5, 3), (10, 16, 8, 4), (16, 16, 16, 5), (33, 16, 16, 100)]


def chunked(x: np.ndarray, n: int):
    return (x[:, a : a + n] for a in range(0, x.shape[1], n))


@pytest.mark.parametrize("length, size, hop, chunk", CASES)
@pytest.mark.parametrize("batch", [1, 3, 1000])
def test_chunks_give_the_windows_scores_and_blend_of_the_whole(length, size, hop, chunk, batch):
    """Known answers: latentzoo.windows on the whole recording."""
    rng = np.random.default_rng(length + hop)
    x = rng.standard_normal((2, length))
    got = list(window_batches(chunked(x, chunk), size, hop, batch))
    first = np.concatenate([b[0] for b in got])
    parts = np.concatenate([b[1] for b in got])
    assert first.tolist() == starts(length, size, hop) and got[-1][2] == length
    assert np.allclose(parts, windows(torch.from_numpy(x), size, hop).numpy(), atol=1e-6)
    scores = rng.integers(0, 3, len(first)).astype(float)  # ties: runs of one value cross chunks
    cover, blend, out, mixed, ready_before = Cover(size), Blend(2, size), [], [], 0
    at = 0
    for s, p, ready in got:
        assert ready >= ready_before  # nothing handed out twice or taken back
        cover.add(s, scores[at : at + len(s)])
        blend.add(s, p.astype(np.float64))
        out.append(cover.take(ready))
        mixed.append(blend.take(ready))
        at, ready_before = at + len(s), ready
    want = worst_cover(torch.from_numpy(scores), size, hop, length).numpy()
    assert np.array_equal(np.concatenate(out), want)
    back = np.concatenate(mixed, 1)
    assert np.allclose(back, overlap_add(torch.from_numpy(parts).double(), hop, length), atol=1e-6)
    assert np.allclose(back, x, atol=1e-5)  # windows unchanged: the recording back


def test_flagged_runs_cross_chunk_boundaries():
    values = np.array([0, 5, 6, 0, 0, 7, 7, 8, 9, 0, 4, 4], dtype=float)
    flags = values > 3
    for cut in range(1, len(values) + 1):
        runs = Flagged()
        for a in range(0, len(values), cut):
            runs.add(a, values[a : a + cut], flags[a : a + cut])
        if runs.start is not None:
            runs.close(len(values), np.zeros(0))
        assert [(a, b) for a, b, _ in runs.found] == intervals(torch.from_numpy(flags))
        assert [p for _, _, p in runs.found] == [6, 9, 4]


@pytest.mark.parametrize("n, chunk", [(1000, 7), (1000, 1000), (37, 5), (4096, 64)])
def test_an_envelope_keeps_each_bins_low_and_high_in_bounded_memory(n, chunk):
    x = np.random.default_rng(n).standard_normal(n)
    env = Envelope(bins=16)
    for a in range(0, n, chunk):
        env.add(x[a : a + chunk])
    at, lo, hi = env.bounds()
    assert len(lo) <= 2 * 16 + 1 and at[0] == 0 and np.all(np.diff(at) == env.width)
    for i, a in enumerate(at.tolist()):
        part = x[a : a + env.width]
        assert lo[i] == part.min() and hi[i] == part.max()
    assert at[-1] + env.width >= n > at[-1]


def test_a_table_recording_is_read_in_chunks_with_errors_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(recordings, "CHUNK_SAMPLES", 4)
    rows = [[i, -i] for i in range(11)]
    path = tmp_path / "r.csv"
    path.write_text("a,b\n" + "".join(f"{x},{y}\n" for x, y in rows) + "\n")
    rec = open_recording(path)
    assert (rec.channels, rec.header, rec.length) == (2, ["a", "b"], None)
    assert np.array_equal(np.concatenate(list(rec.chunks()), 1), np.array(rows).T)
    lines = path.read_text().splitlines()
    for bad, match in (
        ("3,x", "line 10, column 2: 'x' is not a number"),
        ("3", "line 10: 1 values"),
    ):
        path.write_text("\n".join(lines[:9] + [bad] + lines[10:]))
        with pytest.raises(DataError, match=match):
            list(open_recording(path).chunks())
    path.write_text("a,b\n1,2\n,3\n")
    with pytest.raises(DataError, match="NaN"):
        list(open_recording(path).chunks())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small AE on windows of 32 of a two-channel recording, at 100 Hz."""
    d = tmp_path_factory.mktemp("rec-run")
    t = np.arange(3000)
    rec = np.stack([np.sin(t / 7), np.cos(t / 11)], 1) + 0.05 * np.random.default_rng(
        0
    ).standard_normal((3000, 2))
    np.save(d / "train.npy", rec.astype(np.float32))
    cfg = make_config(
        "ae",
        source=str(d / "train.npy"),
        window=32,
        rate=100.0,
        epochs=1,
        backbone="mlp",
        hidden=32,
    )
    return latentzoo.train(cfg, d / "run", report=False, progress=False), rec


def test_jobs_on_a_recording_match_whatever_the_chunk_size(run, tmp_path, monkeypatch, capsys):
    """`score`, `reconstruct` and `denoise` (with --hop) read the recording in chunks; chunks of 50
    samples and batches of 2 windows give the files that one chunk gives."""
    path, rec = run
    long = tmp_path / "long.npy"
    noise = 0.1 * np.random.default_rng(1).standard_normal((5001, 2))
    np.save(long, (np.concatenate([rec, rec[::-1]])[:5001] + noise).astype(np.float32))
    table = tmp_path / "long.csv"
    table.write_text("x,y\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in np.load(long)))

    def jobs(out):
        for args in (
            ["score", str(path), str(long), "--out", str(out / "s.csv"), "--hop", "8"],
            ["reconstruct", str(path), str(long), str(table), "--out", str(out / "r")],
            ["denoise", str(path), str(table), "--noise", "gaussian:0.2", "--out", str(out / "d")],
        ):
            assert main(args) == 0, capsys.readouterr().err
        names = ["s.csv", "s.intervals.csv", "r/long.npy", "r/long.csv", "d/long.csv"]
        return {n: (out / n).read_bytes() for n in names}

    whole = jobs(tmp_path / "whole")
    monkeypatch.setattr(recordings, "CHUNK_SAMPLES", 50)
    monkeypatch.setattr(recordings, "BATCH_VALUES", 2 * 2 * 32)
    small = jobs(tmp_path / "small")
    # a model's float sums depend on the batch size: scores agree to rounding
    for name in ("s.csv", "s.intervals.csv"):
        a, b = (
            np.loadtxt(d[name].decode().splitlines()[1:], delimiter=",", usecols=range(1, 6))
            for d in (whole, small)
        )
        assert a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-6), name
    a, b = (
        np.loadtxt(d["r/long.csv"].decode().splitlines()[1:], delimiter=",") for d in (whole, small)
    )
    assert np.allclose(a, b, atol=1e-4)
    a, b = (np.load(tmp_path / d / "r/long.npy") for d in ("whole", "small"))
    assert a.shape == (5001, 2) and np.allclose(a, b, atol=1e-5)
    lines = whole["s.csv"].decode().splitlines()
    assert lines[0] == "name,sample,seconds,score,threshold,flag" and len(lines) == 5002
    assert lines[101].startswith("long.npy,100,1.0,")
    assert (tmp_path / "whole" / "s.trace.png").read_bytes()[:4] == b"\x89PNG"
    table_out = whole["d/long.csv"].decode().splitlines()
    assert table_out[0] == "x,y" and len(table_out) == 5002


@pytest.mark.parametrize(
    "args, match",
    [
        (["--hop", "33"], "--hop 33: give 1 to the run's window, 32"),
        (["--hop", "0"], "at least 1"),
    ],
)
def test_a_bad_hop_is_one_line_and_writes_nothing(run, tmp_path, capsys, args, match):
    path, rec = run
    np.save(tmp_path / "x.npy", rec[:100].astype(np.float32))
    try:
        code = main(
            ["score", str(path), str(tmp_path / "x.npy"), "--out", str(tmp_path / "s.csv"), *args]
        )
    except SystemExit as e:
        code = e.code
    assert code == 2 and match in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_denoise_noise_corrupts_a_recording_once_before_it_is_cut(run, tmp_path, monkeypatch):
    """With the model replaced by the identity, `denoise --noise gaussian:0.2` returns the
    recording plus one noise of deviation 0.2 (in the run's units of deviation): windows that
    overlap saw the same noisy samples, so overlap-add does not average noises away."""
    path, rec = run
    np.save(tmp_path / "x.npy", rec.astype(np.float32))
    monkeypatch.setattr(lzjobs, "reconstruct", lambda model, x, labels=None, views=1: x)
    args = ["denoise", str(path), str(tmp_path / "x.npy"), "--noise", "gaussian:0.2"]
    assert main([*args, "--out", str(tmp_path / "d"), "--hop", "8"]) == 0
    std = np.array(json.loads((path / "config.json").read_text())["data"]["channel_std"])
    noise = (np.load(tmp_path / "d" / "x.npy") - rec) / std  # (T, C)
    assert np.allclose(noise.std(0), 0.2, rtol=0.05), noise.std(0)
