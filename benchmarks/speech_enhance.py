"""Benchmark: speech enhancement by the sound DAE beside classical methods, on unheard voices.

    python benchmarks/speech_enhance.py [--epochs 10] [--name speech-enhance]
        [--variants 'default='] [--snrs 0,5,10] [--voices en] [--keeps 0.1,0.5] [--hops 256]
        [--slowed 0.8]

Training speech: Debian's `asterisk-core-sounds-en-wav` (one speaker, 568 studio prompts at 8 kHz,
CC-BY-SA 3.0), fetched with `apt-get download` into ~/.cache/latentzoo/asterisk-en; `--voices
en,fr,it,ru` adds the French, Italian and Russian prompts (other speakers, a man among them; `es`
is the English speaker again; `it-menardi`, Debian's `asterisk-prompt-it-menardi-wav`, CC-BY-SA
3.0, a second Italian woman), linked into one folder (`--slowed F` adds a copy of every prompt
played F times as fast, its rate header multiplied by F, so that each voice is heard lower as well:
speed perturbation of the speech itself); each variant is
`latentzoo train dae --data PROMPTS` with its options (an `--epochs` among them overrides the
script's), trained side by side with the cores shared, into benchmarks/runs/speech/NAME, reused
when it holds that finished run. The run holds a tenth of the prompts out (whole files).
Test speech, never trained on: the clean recordings of Debian's `codec2-examples` (other speakers,
men and women, /usr/share/codec2/), resampled to 8 kHz where they are not; babble made of four
segments of three other held-out voices (david4, vk2tpm_004, vk5qi), summed. Noise: white and
pink (latentzoo.signal_noise) and that babble, at each SNR over the whole clip, one draw per clip,
seeded.
Methods: the noisy input; spectral gating (noisereduce, non-stationary); spectral subtraction and
an iterative Wiener filter (pyroomacoustics.denoise); each DAE variant raw, safeguarded
(jobs.safeguard, with the residuals of the run's validation windows; results files before
2026-12-05 call this column the DAE's plain name, as `denoise` then gave it) and keeping the sound
kind's fraction of its input (jobs.kept; what `latentzoo denoise` gives on sound, chosen by
`sound_keep.py`; `--keeps` shows other fractions; results files before 2026-12-05 have no such
column, and their raw column is what `denoise` then gave), the clip written and read back as the
command does; `--hops` adds the kept output with the windows taken every HOP samples instead of the
run's hop (`denoise --hop`: more windows overlap at each sample, and their outputs are averaged).
Metrics: PESQ narrow-band (`pesq`), STOI (`pystoi`), SI-SDR (dB); their means over the clips per
noise and SNR.
Speed: the real-time factor (seconds of processing per second of audio, 2 threads) of each method
over the clips, and the whole `latentzoo denoise` command on a minute of speech; training time
from the run's history. Written to benchmarks/results/NAME.json and NAME.md.
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

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine  # noqa: E402
from packages import debian, ensure  # noqa: E402
from results_file import save  # noqa: E402

from latentzoo import jobs  # noqa: E402
from latentzoo.audio import read_audio  # noqa: E402
from latentzoo.bench.run import commit  # noqa: E402
from latentzoo.kinds import data_kind  # noqa: E402
from latentzoo.noise import corrupt  # noqa: E402
from latentzoo.runs import METRICS, load, run_data  # noqa: E402
from latentzoo.signal_noise import at_snr  # noqa: E402
from latentzoo.sounds import map_sounds  # noqa: E402

RATE = 8000
CACHE = Path.home() / ".cache" / "latentzoo"
CLIPS = ("hts1a", "hts2a", "forig", "morig", "big_dog", "mmt1", "cross", "speech_orig_16k")
BABBLE = ("david4", "vk2tpm_004", "vk5qi")
NOISES = ("white", "pink", "babble")
LZ = str(Path(sys.executable).with_name("latentzoo"))


def prompts(language: str = "en") -> Path:
    """The folder of one asterisk voice's prompts (en: en_US_f_Allison; a name with a dash is a
    voice of its own package, it-menardi: asterisk-prompt-it-menardi-wav)."""
    kind = "prompt" if "-" in language else "core-sounds"
    package = f"asterisk-{kind}-{language}-wav"
    root = debian(package, CACHE / f"asterisk-{language}")
    if root is None:
        sys.exit(f"apt-get download {package} failed: the training speech is missing")
    (voice,) = (root / "usr/share/asterisk/sounds").iterdir()
    return voice


def training_speech(languages: list[str]) -> Path:
    """One voice's folder, or a folder of links to the prompts of several (a subfolder each; the
    Russian voice's few empty files left out)."""
    import soundfile as sf

    if languages == ["en"]:
        return prompts()
    folder = CACHE / ("speech-" + "-".join(languages))
    for language in languages:
        voice = prompts(language)
        for wav in voice.rglob("*.wav"):
            if not sf.info(str(wav)).frames:
                continue
            link = folder / language / wav.relative_to(voice)
            if not link.is_symlink():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(wav)
    return folder


def slowed(folder: Path, factor: float) -> Path:
    """`folder`'s prompts, linked, and a copy of each played `factor` times as fast (written with
    its rate times `factor`: read back at 8 kHz, it is longer and lower)."""
    import soundfile as sf

    out = folder.with_name(f"{folder.name}-slowed{factor:g}")
    for wav in folder.rglob("*.wav"):
        rel = wav.relative_to(folder)
        link, copy = out / "plain" / rel, out / "slowed" / rel
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(wav.resolve())
        if not copy.is_file():
            y, rate = sf.read(str(wav))
            copy.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(copy), y, round(rate * factor), subtype="PCM_16")
    return out


def codec2_voices() -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The test clips (name -> (T,) at 8 kHz) and the babble voices."""
    root = debian("codec2-examples", CACHE / "codec2-examples")
    if root is None:
        sys.exit("apt-get download codec2-examples failed: the test speech is missing")
    found = {p.stem: p for p in (root / "usr/share/codec2").rglob("*.wav")}
    clips = {name: read_audio(found[name], RATE)[0][0] for name in CLIPS}
    return clips, [read_audio(found[name], RATE)[0][0] for name in BABBLE]


def noisy_clip(clean: np.ndarray, noise: str, snr: float, voices, seed: int) -> np.ndarray:
    """`clean` (T,) with `noise` at `snr` dB over the whole clip."""
    g = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(clean)[None, None]  # (1, 1, T)
    if noise != "babble":
        return corrupt(x, f"{noise}:{snr:g}", g, clip=False, rate=RATE)[0, 0].numpy()
    rng, t = np.random.default_rng(seed), len(clean)
    mix = np.zeros(t)
    for k in range(4):
        v = voices[k % len(voices)]
        start = rng.integers(0, len(v) - t)
        mix += v[start : start + t] / (v[start : start + t].std() + 1e-9)
    return at_snr(x, torch.from_numpy(mix)[None, None], snr)[0, 0].numpy()


def train_variants(variants: dict[str, str], data: Path, epochs: int, runs: Path, log) -> None:
    """Every variant without a finished run, trained side by side, the cores shared."""
    procs = {}
    todo = [name for name in variants if not (runs / name / METRICS).is_file()]
    threads = max(1, (os.cpu_count() or 1) // max(1, len(todo)))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for name in todo:
        run, options = runs / name, variants[name]
        cmd = [LZ, "train", "dae", "--data", str(data), "--epochs", str(epochs)]
        cmd += ["--out", str(run), "--no-progress", *options.split()]
        cmd += ["--resume"] if (run / "last.safetensors").is_file() else []
        log(f"training {name}: {' '.join(cmd[2:])}")
        procs[name] = subprocess.Popen(cmd, env=env)
    for name, proc in procs.items():
        if proc.wait():
            sys.exit(f"training {name} failed")


def trained_on(run: Path) -> str:
    """The folder a run trained on, as its config.json says, without the cache's path."""
    source = json.loads((run / "config.json").read_text())["data"]["source"]
    return source.removeprefix(str(CACHE) + "/")


def training_minutes(run: Path) -> float:
    rows = (run / "history.csv").read_text().splitlines()
    col = rows[0].split(",").index("seconds")
    return round(sum(float(r.split(",")[col]) for r in rows[1:]) / 60, 1)


def dae(model, residuals, work: Path, keeps: list[float], hops: list[int]):
    """noisy clip (T,) -> {raw, safeguarded, keeping K for each of `keeps`, and the first of them
    at each window hop of `hops`}, through files as `latentzoo denoise` goes."""
    import soundfile as sf

    data = model.cfg.data

    def run(noisy: np.ndarray) -> dict[str, np.ndarray]:
        sf.write(work / "clip.wav", noisy, RATE, "FLOAT")
        out = {}
        ways = {
            "raw": (lambda x: jobs.reconstruct(model, x), None),
            "safeguarded": (lambda x: jobs.denoise(model, x, residuals=residuals)[1], None),
        }
        for k in keeps:
            ways[f"keeping {k:g}"] = (lambda x, k=k: jobs.denoise(model, x, keep=k)[1], None)
        for h in hops:
            ways[f"keeping {keeps[0]:g}, hop {h}"] = (ways[f"keeping {keeps[0]:g}"][0], h)
        for label, (fn, hop) in ways.items():
            map_sounds([work / "clip.wav"], data, fn, work / "out", hop)
            out[label] = sf.read(work / "out" / "clip.wav")[0]
        return out

    return run


def aligned(out: np.ndarray, noisy: np.ndarray, most: int = 512) -> np.ndarray:
    """`out` shifted by the lag (at most `most` samples) that best matches it to its input: the
    frame-based methods give their output delayed."""
    n = len(noisy)
    out = np.concatenate([out[:n], np.zeros(max(0, n - len(out)))])
    lags = range(-most, most + 1)
    best = max(lags, key=lambda k: float(np.dot(np.roll(out, -k), noisy)))
    return np.roll(out, -best)


def classical() -> dict:
    import noisereduce
    import pyroomacoustics as pra

    methods = {
        "spectral gating": lambda y: noisereduce.reduce_noise(y=y, sr=RATE),
        "spectral subtraction": lambda y: pra.denoise.apply_spectral_sub(y, nfft=256),
        "Wiener": lambda y: pra.denoise.apply_iterative_wiener(y, frame_len=256, lpc_order=12),
    }
    return {k: (lambda y, f=f: aligned(f(y), y)) for k, f in methods.items()}


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio (Le Roux et al. 2019), in dB."""
    ref, est = ref - ref.mean(), est - est.mean()
    target = ref * (est @ ref) / (ref @ ref)
    return float(10 * np.log10((target @ target) / ((est - target) @ (est - target) + 1e-20)))


def measures(clean: np.ndarray, out: np.ndarray) -> dict[str, float]:
    from pesq import pesq
    from pystoi import stoi

    out = np.nan_to_num(
        np.concatenate([out[: len(clean)], np.zeros(max(0, len(clean) - len(out)))])
    )
    try:
        p = float(pesq(RATE, clean, out, "nb"))
    except Exception:  # pesq finds no utterance in what it was given
        p = float("nan")
    return {"pesq": p, "stoi": float(stoi(clean, out, RATE)), "si_sdr": si_sdr(clean, out)}


def quality_table(clips, voices, methods, snrs, log) -> tuple[dict, dict]:
    """{noise: {snr: {method: {clip: measures}}}} and seconds per method."""
    table: dict = {}
    spent: dict[str, float] = {}
    for noise in NOISES:
        for snr in snrs:
            cell = table.setdefault(noise, {}).setdefault(f"{snr:g}", {})
            for i, (name, clean) in enumerate(clips.items()):
                noisy = noisy_clip(clean, noise, snr, voices, 1000 * i + int(snr))
                outs = {"input": noisy}
                for label, fn in methods.items():
                    t = time.perf_counter()
                    got = fn(noisy)
                    spent[label] = spent.get(label, 0.0) + time.perf_counter() - t
                    if isinstance(got, dict):
                        outs.update({f"{label} {k}".strip(): v for k, v in got.items()})
                    else:
                        outs[label] = got
                for method, y in outs.items():
                    cell.setdefault(method, {})[name] = measures(clean, y)
            log(
                f"{noise} {snr:g} dB: "
                + ", ".join(
                    f"{m} {np.nanmean([v['pesq'] for v in c.values()]):.2f}"
                    for m, c in cell.items()
                )
            )
    return table, spent


def whole_command(run: Path, work: Path, clip: np.ndarray) -> list[float]:
    """Wall seconds of `latentzoo denoise` on a minute of the clip, repeated, with white noise,
    three times (the first measures and keeps the run's clean residuals, unless kept before)."""
    import soundfile as sf

    minute = np.tile(clip, int(np.ceil(60 * RATE / len(clip))))[: 60 * RATE]
    sf.write(work / "minute.wav", noisy_clip(minute, "white", 5, [], 0), RATE, "PCM_16")
    times = []
    for _ in range(3):
        t = time.time()
        subprocess.run(
            [LZ, "denoise", str(run), str(work / "minute.wav"), "--out", str(work / "m")],
            check=True,
            env={**os.environ, "OMP_NUM_THREADS": "2"},
        )
        times.append(round(time.time() - t, 2))
    return times


def mean_of(per_clip: dict, key: str) -> float:
    return float(np.nanmean([v[key] for v in per_clip.values()]))


def markdown(result: dict) -> str:
    lines = [f"# {result['name']}", "", f"Command: `{result['command']}`", ""]
    lines += [f"Commit {result['commit']}. Machine: {result['machine']}.", ""]
    lines += [
        f"Training: {result['training']}",
        "",
        f"Test clips: {', '.join(result['clips'])} ({result['test_seconds']:.1f} s of speech).",
        "",
    ]
    methods = list(next(iter(next(iter(result["table"].values())).values())))
    for key, label in (("pesq", "PESQ (narrow-band)"), ("stoi", "STOI"), ("si_sdr", "SI-SDR dB")):
        lines += [f"## {label}, mean over the clips", ""]
        head = [f"{n} {s} dB" for n, by in result["table"].items() for s in by]
        lines += ["| method | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
        for m in methods:
            cells = [f"{mean_of(by[s][m], key):.3f}" for by in result["table"].values() for s in by]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Speed", "", "| method | real-time factor (2 threads) |", "|---|---|"]
    lines += [f"| {m} | {v:.4f} |" for m, v in result["real_time_factor"].items()]
    lines += [
        "",
        f"`latentzoo denoise` on a minute of speech, whole command, three times (the first keeps "
        f"the run's clean residuals): {result['minute_command_seconds']} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--variants", default="default=")
    ap.add_argument("--snrs", default="0,5,10")
    ap.add_argument("--name", default="speech-enhance")
    ap.add_argument(
        "--keeps", default="", help="kept fractions to show (default: the sound kind's)"
    )
    ap.add_argument("--hops", default="", help="window hops to show beside the run's, e.g. 256")
    ap.add_argument("--slowed", type=float, help="add each prompt played this many times as fast")
    ap.add_argument("--voices", default="en", help="asterisk voices to train on, e.g. en,fr,it,ru")
    a = ap.parse_args()
    for package, module in (
        ("pesq", "pesq"),
        ("pystoi", "pystoi"),
        ("noisereduce", "noisereduce"),
        ("pyroomacoustics", "pyroomacoustics"),
    ):
        ensure(package, module)
    log = lambda m: print(m, flush=True)  # noqa: E731
    variants = dict(v.split("=", 1) for v in a.variants.split(";") if v)
    runs = ROOT / "benchmarks" / "runs" / "speech"
    t0 = time.time()
    speech = training_speech(a.voices.split(","))
    speech = slowed(speech, a.slowed) if a.slowed else speech
    train_variants(variants, speech, a.epochs, runs, log)
    torch.set_num_threads(2)
    clips, voices = codec2_voices()
    work = Path(tempfile.mkdtemp(prefix="speech-"))
    methods = classical()
    for name in variants:
        model = load(runs / name)
        val = run_data(model.cfg).val
        residuals = jobs.clean_residuals(model, *val.tensors(slice(0, jobs.SAFEGUARD_N)))
        keeps = [float(k) for k in a.keeps.split(",")] if a.keeps else []
        keeps = keeps or [data_kind(model.cfg.data.data_kind).kept_input]
        hops = [int(h) for h in a.hops.split(",")] if a.hops else []
        methods[f"DAE {name}"] = dae(model, residuals, work, keeps, hops)
    snrs = [float(s) for s in a.snrs.split(",")]
    table, spent = quality_table(clips, voices, methods, snrs, log)
    audio = sum(len(c) for c in clips.values()) / RATE * len(NOISES) * len(snrs)
    result = {
        "name": a.name,
        "command": "python benchmarks/speech_enhance.py " + shlex.join(sys.argv[1:]),
        "machine": machine(),
        "commit": commit(),
        "training": ", ".join(
            f"{n} ({variants[n] or 'defaults'}; on {trained_on(runs / n)}): "
            f"{training_minutes(runs / n)} min"
            for n in variants
        )
        + f"; {a.epochs} epochs unless the options say",
        "variants": variants,
        "clips": list(clips),
        "test_seconds": sum(len(c) for c in clips.values()) / RATE,
        "table": table,
        "real_time_factor": {m: s / audio for m, s in spent.items()},
        "minute_command_seconds": whole_command(runs / next(iter(variants)), work, clips["hts1a"]),
        "seconds": round(time.time() - t0),
    }
    save(a.name, result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
