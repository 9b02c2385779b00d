"""Benchmark: the speech codec (a VQ-VAE with a residual quantizer and its prior) beside codec2 and
Opus, on voices it never heard.

    python benchmarks/speech_codec.py RUN [--name speech-codec]

RUN: a VQ-VAE on sound with a residual quantizer and a prior, trained on the prompts of Debian's
`asterisk-core-sounds-en-wav` as the command in EXPERIMENTS.md says (its config.json and
prior_config.json are recorded in the results). Test clips: the held-out voices of
benchmarks/speech_enhance.py (Debian's `codec2-examples`, 8 kHz). For each number of codebooks q:
`compress --codebooks q` on each clip, the actual bits per second of the file (header included),
`decompress`, then PESQ (narrow-band), STOI and SI-SDR against the clip. Beside it, in the same run:
codec2 (Debian's `codec2`: `c2enc`/`c2dec`, modes 700C, 1200, 2400 and 3200, raw 16-bit input) and
Opus (Debian's `opus-tools`: `opusenc --bitrate` 6 to 24 kb/s, VoIP tuning; bits per second from
the file, Ogg framing included); their outputs are shifted by the delay that best matches the
input (at most 512 samples), as a decoder that knows its codec's delay would. Speed: seconds of
`compress` and `decompress` (in-process, all codebooks) per second of audio, on a minute of the
clips one after another, 2 threads. Written to benchmarks/results/NAME.json and NAME.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine  # noqa: E402
from packages import debian  # noqa: E402
from speech_enhance import CACHE, RATE, aligned, codec2_voices, measures  # noqa: E402

from latentzoo import codec, load  # noqa: E402
from latentzoo.bench.run import commit  # noqa: E402
from latentzoo.files import atomic_write, write_json  # noqa: E402

CODEC2_MODES = ("700C", "1200", "2400", "3200")
OPUS_KBPS = (6, 8, 12, 16, 24)


def tools() -> tuple[dict[str, str], dict[str, str]]:
    """The codec2 and Opus command-line tools, unpacked from Debian's packages, and the
    environment that finds their libraries."""
    roots = {}
    for package in ("codec2", "libcodec2-1.0", "opus-tools", "libopusenc0", "libopusfile0"):
        root = debian(package, CACHE / package)
        if root is None:
            sys.exit(f"apt-get download {package} failed: the classical codecs are missing")
        roots[package] = root
    libs = ":".join(str(r / "usr/lib/x86_64-linux-gnu") for r in roots.values())
    env = {**os.environ, "LD_LIBRARY_PATH": libs}
    bins = {
        "c2enc": str(roots["codec2"] / "usr/bin/c2enc"),
        "c2dec": str(roots["codec2"] / "usr/bin/c2dec"),
        "opusenc": str(roots["opus-tools"] / "usr/bin/opusenc"),
        "opusdec": str(roots["opus-tools"] / "usr/bin/opusdec"),
    }
    return bins, env


def as_pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).round().astype("<i2").tobytes()


def codec2_round_trip(x: np.ndarray, mode: str, bins, env, work: Path) -> tuple[np.ndarray, float]:
    """(decoded (T,), bits per second) of codec2 in `mode` on a clip at 8 kHz."""
    (work / "in.raw").write_bytes(as_pcm16(x))
    run = dict(check=True, env=env, capture_output=True)
    subprocess.run([bins["c2enc"], mode, str(work / "in.raw"), str(work / "c.bit")], **run)
    subprocess.run([bins["c2dec"], mode, str(work / "c.bit"), str(work / "out.raw")], **run)
    y = np.frombuffer((work / "out.raw").read_bytes(), "<i2").astype(np.float64) / 32768
    return aligned(y, x), 8 * (work / "c.bit").stat().st_size / (len(x) / RATE)


def opus_round_trip(x: np.ndarray, kbps: int, bins, env, work: Path) -> tuple[np.ndarray, float]:
    """(decoded (T,), bits per second of the .opus file) of Opus at `kbps` on a clip at 8 kHz."""
    import soundfile as sf

    sf.write(work / "in.wav", x, RATE, "PCM_16")
    run = dict(check=True, env=env, capture_output=True)
    enc = [bins["opusenc"], "--quiet", "--bitrate", str(kbps), "--framesize", "20"]
    subprocess.run([*enc, str(work / "in.wav"), str(work / "c.opus")], **run)
    dec = [bins["opusdec"], "--quiet", "--rate", str(RATE)]
    subprocess.run([*dec, str(work / "c.opus"), str(work / "out.wav")], **run)
    y = sf.read(work / "out.wav")[0]
    return aligned(y, x), 8 * (work / "c.opus").stat().st_size / (len(x) / RATE)


def ours(model, x: np.ndarray, q: int, work: Path, spent: dict | None = None):
    """(decoded (T,), bits per second of the file) of `compress --codebooks q` and
    `decompress`, as the commands run them; their seconds added to `spent`."""
    import soundfile as sf

    from latentzoo.kinds import data_kind

    kind, data = data_kind("sound"), model.cfg.data
    sf.write(work / "clip.wav", x, RATE, "FLOAT")
    t = time.perf_counter()
    inputs = kind.read_inputs([work / "clip.wav"], data, hop=data.window)
    codes = codec.encode_images(model, inputs.examples)
    blob = codec.compress_codes(model, codes, kind.cut_inputs(inputs, data), q)
    took = {"compress": time.perf_counter() - t}
    t = time.perf_counter()
    header = codec.read_header(blob)
    windows = codec.decompress(model, blob)
    kind.write_cut_inputs(work / "out", windows, header.inputs, data)
    took["decompress"] = time.perf_counter() - t
    for k, v in took.items():
        if spent is not None:
            spent[k] = spent.get(k, 0.0) + v
    y = sf.read(work / "out" / "clip.wav")[0]
    return y, 8 * len(blob) / (len(x) / RATE)


def mean_row(per_clip: list[dict]) -> dict[str, float]:
    return {k: float(np.nanmean([m[k] for m in per_clip])) for k in per_clip[0]}


def markdown(result: dict) -> str:
    lines = [f"# {result['name']}", "", f"Command: `{result['command']}`", ""]
    lines += [f"Commit {result['commit']}. Machine: {result['machine']}.", ""]
    lines += [
        f"Run: `{result['run']}`. Test clips: {', '.join(result['clips'])} "
        f"({result['test_seconds']:.1f} s).",
        "",
    ]
    lines += ["| codec | setting | bits per second | PESQ (nb) | STOI | SI-SDR dB |"]
    lines += ["|---|---|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(
            f"| {row['codec']} | {row['setting']} | {row['bps']:.0f} | {row['pesq']:.3f} | "
            f"{row['stoi']:.3f} | {row['si_sdr']:.2f} |"
        )
    speed = result["seconds_per_audio_second"]
    lines += [
        "",
        "Seconds per second of audio (2 threads, the prior on one): "
        + ", ".join(f"{k} {v:.3f}" for k, v in speed.items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--name", default="speech-codec")
    a = ap.parse_args()
    torch.set_num_threads(2)
    bins, env = tools()
    clips, _ = codec2_voices()
    model = load(a.run)
    work = Path(tempfile.mkdtemp(prefix="speech-codec-"))
    rows: list[dict] = []
    t0 = time.time()

    def add(name: str, setting: str, outs: list[tuple[np.ndarray, float]]) -> None:
        scores = mean_row([measures(c, y) for c, (y, _) in zip(clips.values(), outs)])
        bps = float(np.mean([b for _, b in outs]))
        rows.append({"codec": name, "setting": setting, "bps": bps, **scores})
        print(f"{name} {setting}: {bps:.0f} b/s, PESQ {scores['pesq']:.3f}", flush=True)

    for q in range(1, model.codebooks + 1):
        add("latentzoo", f"{q} codebooks", [ours(model, x, q, work) for x in clips.values()])
    for mode in CODEC2_MODES:
        add("codec2", mode, [codec2_round_trip(x, mode, bins, env, work) for x in clips.values()])
    for kbps in OPUS_KBPS:
        add(
            "Opus",
            f"{kbps} kb/s",
            [opus_round_trip(x, kbps, bins, env, work) for x in clips.values()],
        )
    seconds = sum(len(c) for c in clips.values()) / RATE
    every = np.concatenate(list(clips.values()))
    minute = np.tile(every, int(np.ceil(60 * RATE / len(every))))[: 60 * RATE]
    spent: dict[str, float] = {}
    ours(model, minute, model.codebooks, work, spent)
    result = {
        "name": a.name,
        "command": "python benchmarks/speech_codec.py " + shlex.join(sys.argv[1:]),
        "machine": machine(),
        "commit": commit(),
        "run": str(a.run),
        "config": json.loads((a.run / "config.json").read_text()),
        "prior_config": json.loads((a.run / "prior_config.json").read_text()),
        "clips": list(clips),
        "test_seconds": seconds,
        "rows": rows,
        "seconds_per_audio_second": {k: v / (seconds * model.codebooks) for k, v in spent.items()},
        "seconds": round(time.time() - t0),
    }
    results = ROOT / "benchmarks" / "results"
    write_json(results / f"{a.name}.json", result)
    atomic_write(results / f"{a.name}.md", markdown(result).encode())
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
