"""Benchmark: how much of its noisy input a sound DAE's output should keep, chosen on new voices.

    python benchmarks/sound_keep.py RUN [--keeps 0,0.1,0.2,0.3,0.4,0.5] [--name sound-keep]

A speech enhancer's output mixed with a fraction of its noisy input, (1 - k) * output + k * input,
trades noise left for artefacts removed (for a spectral mask with the noisy phase this is a floor
of k under the mask). The fraction is chosen here on validation voices that neither the training
set (the asterisk-core-sounds voices) nor the test set of `speech_enhance.py` (codec2-examples)
holds: Debian's `asterisk-prompt-es-co` (a Colombian Spanish voice, GPL) and
`asterisk-prompt-fr-armelle` (a French voice, Armelle Desjardins, GPL), fetched with `apt-get
download` into ~/.cache/latentzoo; their prompts are GSM 06.10 files (8 kHz), decoded by soundfile,
so the clean references carry that codec's colouring. Clips: CLIPS_PER_VOICE per voice, each a
seeded draw of prompts joined to at least CLIP_SECONDS. Noise: white, pink and babble (four
segments of the other voice's unused prompts, summed) at 0, 5 and 10 dB, as `speech_enhance.py`
makes it. The DAE's raw output comes through files as `latentzoo denoise` goes.

Rule: the k of the grid with the highest mean PESQ over the nine noises and SNRs. Beside it, how
many of the 18 (measure, condition) pairs are at or above the noisy input's, the issue's required
view (a first rule, the smallest k with all 18, else the most, rewards nearness to the input: it
took the grid's largest k; benchmarks/EXPERIMENTS.md, 2026-12-05).
Written to benchmarks/results/NAME.json and NAME.md.
"""

from __future__ import annotations

import argparse
import shlex
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
from speech_enhance import CACHE, NOISES, RATE, measures, noisy_clip  # noqa: E402

from latentzoo import jobs  # noqa: E402
from latentzoo.bench.run import commit  # noqa: E402
from latentzoo.runs import load  # noqa: E402
from latentzoo.sounds import map_sounds  # noqa: E402

VOICES = ("asterisk-prompt-es-co", "asterisk-prompt-fr-armelle")
CLIPS_PER_VOICE = 8
CLIP_SECONDS = 4.0
SNRS = (0.0, 5.0, 10.0)


def prompts(package: str) -> list[np.ndarray]:
    """Every prompt of one voice package, (T,) at 8 kHz, in file-name order."""
    import soundfile as sf

    root = debian(package, CACHE / package)
    if root is None:
        sys.exit(f"apt-get download {package} failed: the validation speech is missing")
    files = sorted(root.rglob("*.gsm"))
    read = (
        sf.read(str(f), format="RAW", subtype="GSM610", samplerate=RATE, channels=1) for f in files
    )
    return [y for y, _ in read if len(y) >= RATE // 2]


def clips_and_babble(voice: list[np.ndarray], seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """CLIPS_PER_VOICE clips of joined prompts; the remaining prompts joined (for babble)."""
    order = list(np.random.default_rng(seed).permutation(len(voice)))
    clips = []
    for _ in range(CLIPS_PER_VOICE):
        parts: list[np.ndarray] = []
        while sum(map(len, parts)) < CLIP_SECONDS * RATE:
            parts.append(voice[order.pop()])
        clips.append(np.concatenate(parts))
    return clips, np.concatenate([voice[i] for i in order])


def table(model, keeps: list[float], log) -> dict:
    """{noise: {snr: {keep or 'input': {'pesq': mean, 'stoi': mean}}}}."""
    import soundfile as sf

    voices = [prompts(p) for p in VOICES]
    sets = [clips_and_babble(v, seed) for seed, v in enumerate(voices)]
    work = Path(tempfile.mkdtemp(prefix="keep-"))
    out: dict = {}
    for noise in NOISES:
        for snr in SNRS:
            got: dict[str, list[dict]] = {}
            for v, (clips, _) in enumerate(sets):
                babble = [sets[1 - v][1]]  # the other voice's unused prompts
                for i, clean in enumerate(clips):
                    noisy = noisy_clip(clean, noise, snr, babble, 1000 * (8 * v + i) + int(snr))
                    sf.write(work / "clip.wav", noisy, RATE, "FLOAT")
                    map_sounds(
                        [work / "clip.wav"],
                        model.cfg.data,
                        lambda x: jobs.reconstruct(model, x),
                        work / "out",
                    )
                    raw = sf.read(work / "out" / "clip.wav")[0]
                    got.setdefault("input", []).append(measures(clean, noisy))
                    for k in keeps:
                        mixed = (1 - k) * raw + k * noisy
                        got.setdefault(f"{k:g}", []).append(measures(clean, mixed))
            cell = {
                m: {key: float(np.nanmean([r[key] for r in rows])) for key in ("pesq", "stoi")}
                for m, rows in got.items()
            }
            out.setdefault(noise, {})[f"{snr:g}"] = cell
            log(
                f"{noise} {snr:g} dB: "
                + ", ".join(f"{m} {c['pesq']:.3f}/{c['stoi']:.3f}" for m, c in cell.items())
            )
    return out


def chosen(result: dict, keeps: list[float]) -> tuple[float, dict[str, int]]:
    """The rule of the module's docstring: (k, {k: pairs at or above the input})."""
    cells = [c for by in result.values() for c in by.values()]
    held = {
        f"{k:g}": sum(c[f"{k:g}"][m] >= c["input"][m] for c in cells for m in ("pesq", "stoi"))
        for k in keeps
    }
    best = max(keeps, key=lambda k: np.mean([c[f"{k:g}"]["pesq"] for c in cells]))
    return best, held


def markdown(result: dict) -> str:
    lines = [f"# {result['name']}", "", f"Command: `{result['command']}`", ""]
    lines += [f"Commit {result['commit']}. Machine: {result['machine']}. Run: {result['run']}.", ""]
    lines += [f"Validation voices: {', '.join(VOICES)}; {result['clips']} clips.", ""]
    head = [f"{n} {s} dB" for n, by in result["table"].items() for s in by]
    for key, label in (("pesq", "PESQ (narrow-band)"), ("stoi", "STOI")):
        lines += [f"## {label}, mean over the clips", ""]
        lines += ["| kept fraction | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
        for m in next(iter(next(iter(result["table"].values())).values())):
            cells = [f"{by[s][m][key]:.3f}" for by in result["table"].values() for s in by]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    cells = [c for by in result["table"].values() for c in by.values()]
    means = {m: [np.mean([c[m][key] for c in cells]) for key in ("pesq", "stoi")] for m in cells[0]}
    lines += [
        "Mean over the nine conditions, PESQ / STOI: "
        + ", ".join(f"{m}: {p:.3f} / {q:.3f}" for m, (p, q) in means.items()),
        "",
        "Pairs (measure, condition) at or above the input, of 18: "
        + ", ".join(f"{k}: {n}" for k, n in result["held"].items()),
        "",
        f"Chosen kept fraction: {result['chosen']:g}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--keeps", default="0,0.1,0.2,0.3,0.4,0.5")
    ap.add_argument("--name", default="sound-keep")
    a = ap.parse_args()
    ensure("pesq", "pesq")
    ensure("pystoi", "pystoi")
    torch.set_num_threads(2)
    t0, keeps = time.time(), [float(k) for k in a.keeps.split(",")]
    log = lambda m: print(m, flush=True)  # noqa: E731
    result = {
        "name": a.name,
        "command": "python benchmarks/sound_keep.py " + shlex.join(sys.argv[1:]),
        "machine": machine(),
        "commit": commit(),
        "run": str(a.run),
        "clips": CLIPS_PER_VOICE * len(VOICES),
        "table": table(load(a.run), keeps, log),
    }
    result["chosen"], result["held"] = chosen(result["table"], keeps)
    result["seconds"] = round(time.time() - t0)
    save(a.name, result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
