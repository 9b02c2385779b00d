"""Example data in the layouts `--data` reads, made from what scikit-learn ships (no download).

- `write_digit_folder(dir)`: scikit-learn's 8x8 digits (UCI optdigits) upscaled to 28x28 grey PNG
  files, one subfolder per class (`0/` ... `9/`): the ImageFolder layout.
- `write_photo_tiles(path)`: 32x32 colour tiles of scikit-learn's two sample photographs (a temple
in
  China, a flower) as a uint8 .npy array (N, 32, 32, 3), unlabelled.
- `write_idx_folder(dir)`: the same digits as IDX files in MNIST's layout (train and t10k).
- `write_beats(path)`: synthetic heartbeats, one per row of a CSV in UCR's layout (the label
  first: 1 a normal beat, 2 a wide beat without a P wave, as a premature ventricular beat looks).
- `write_textures(dir)`: generated colour "photos" of several sizes (gratings and soft blobs, no two
  alike) as PNG files, to train a photo model on; `write_texture(path, h, w, seed)` writes one more.
- `write_recording(path)`: a two-lead synthetic ECG recording at 250 Hz as a CSV with a header row,
  one column per lead; with `faults`, a stretch of noise and a flat dropout in its last fifth.
- `write_voices(dir)`: made-up voices (a buzz of harmonics under two formants, in syllables) as WAV
  files at 16 kHz; `write_noisy_voice(path)`: another, in stereo at 44.1 kHz, under pink noise.

    python -m latentzoo.examples DIR     writes DIR/digits/, DIR/photos.npy, DIR/idx/,
                                         DIR/textures/, DIR/scene.png, DIR/beats.csv,
                                         DIR/recording.csv, DIR/monitor.csv (faults),
                                         DIR/voices/ and DIR/noisy.wav
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from . import data, signal_noise  # noqa: F401  (registers the noise kinds of sound)
from .audio import audio_bytes
from .files import atomic_write
from .inputs import idx_bytes, png_bytes, write_array
from .noise import corrupt


def digits_28(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 28, 28) digits, 20x20 in a 28x28 frame like MNIST (latentzoo.data.digits_28), and
    their labels (N,)."""
    images, labels = data.digits_28()
    n = n or len(images)
    return images[:n, 0].numpy(), labels[:n].numpy()


def write_digit_folder(folder: str | Path, n: int | None = None) -> Path:
    """One PNG per digit in `folder/<label>/<index>.png`."""
    folder = Path(folder)
    images, labels = digits_28(n)
    for i, (im, y) in enumerate(zip(images, labels)):
        atomic_write(folder / str(y) / f"{i:04d}.png", png_bytes(im[None]))
    return folder


def photo_tiles(size: int = 32) -> np.ndarray:
    """uint8 (N, size, size, 3): every whole size x size tile of scikit-learn's sample
    photographs."""
    from sklearn.datasets import load_sample_images

    tiles = []
    for img in load_sample_images().images:  # (427, 640, 3) each
        h, w = img.shape[0] // size * size, img.shape[1] // size * size
        t = img[:h, :w].reshape(h // size, size, w // size, size, 3).transpose(0, 2, 1, 3, 4)
        tiles.append(t.reshape(-1, size, size, 3))
    return np.ascontiguousarray(np.concatenate(tiles))


def write_photo_tiles(path: str | Path, size: int = 32, n: int | None = None) -> Path:
    return write_array(path, photo_tiles(size)[:n])


def write_idx_folder(folder: str | Path, n_train: int = 1500, n_test: int | None = None) -> Path:
    """train-/t10k- image and label IDX files of the 28x28 digits."""
    folder = Path(folder)
    images, labels = digits_28()
    test_end = None if n_test is None else n_train + n_test
    parts = {"train": slice(0, n_train), "t10k": slice(n_train, test_end)}
    for split, sl in parts.items():
        atomic_write(
            folder / f"{split}-images-idx3-ubyte", idx_bytes(np.ascontiguousarray(images[sl]))
        )
        atomic_write(folder / f"{split}-labels-idx1-ubyte", idx_bytes(labels[sl].astype(np.uint8)))
    return folder


BEAT = 96  # samples per beat in beats.csv
RATE = 250  # Hz of recording.csv
VOICE_RATE = 16000  # Hz of the voices


def beat(t: np.ndarray, wide: bool = False) -> np.ndarray:
    """One heartbeat at times t in [0, 1) as a sum of Gaussian waves (P, Q, R, S, T); a wide beat
    has no P wave and a broad, inverted QRS."""

    def wave(centre, width, height):
        return height * np.exp(-(((t - centre) / width) ** 2))

    p = 0.0 if wide else wave(0.2, 0.03, 0.15)
    qrs = (
        wave(0.42, 0.05, -0.9) + wave(0.5, 0.04, 0.4)
        if wide
        else wave(0.36, 0.012, -0.1) + wave(0.4, 0.012, 1.0) + wave(0.44, 0.012, -0.2)
    )
    return p + qrs + wave(0.68, 0.05, 0.3)


def beats(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, BEAT) beats with a little noise and jitter, and their labels 1 (normal) or 2 (wide,
    one in five)."""
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(n) < 0.2, 2, 1)
    t = np.arange(BEAT) / BEAT
    rows = [
        beat(t + rng.normal(0, 0.01), wide=y == 2) * rng.uniform(0.9, 1.1)
        + rng.normal(0, 0.02, BEAT)
        for y in labels
    ]
    return np.asarray(rows, dtype=np.float32), labels


def write_beats(path: str | Path, n: int = 400) -> Path:
    x, y = beats(n)
    lines = [",".join([str(label)] + [f"{v:.4f}" for v in row]) for label, row in zip(y, x)]
    return atomic_write(path, "\n".join(lines) + "\n")


def recording(seconds: int = 120, seed: int = 0, faults: bool = False) -> np.ndarray:
    """(seconds * RATE, 2) millivolts: normal beats about every 0.8 s on a slow baseline wander;
    with `faults`, white noise in its 80th to 82nd percent and a flat dropout in its 90th to
    91st."""
    rng = np.random.default_rng(seed)
    n = seconds * RATE
    lead = np.zeros(n)
    start = 0
    while start < n:
        length = int(RATE * rng.uniform(0.75, 0.85))
        piece = beat(np.arange(length) / length)[: n - start]
        lead[start : start + len(piece)] = piece
        start += length
    lead += 0.1 * np.sin(2 * np.pi * 0.3 * np.arange(n) / RATE) + rng.normal(0, 0.02, n)
    leads = np.stack([lead, 0.6 * lead + 0.1], 1)
    if not faults:
        return leads.astype(np.float32)
    noisy, flat = slice(int(0.8 * n), int(0.82 * n)), slice(int(0.9 * n), int(0.91 * n))
    leads[noisy] += rng.normal(0, 0.4, leads[noisy].shape)
    leads[flat] = 0.0
    return leads.astype(np.float32)


def texture(height: int, width: int, seed: int) -> np.ndarray:
    """uint8 (height, width, 3): two gratings and a few soft blobs in random colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for _ in range(2):
        freq, angle, phase = rng.uniform(0.03, 0.25), rng.uniform(0, np.pi), rng.uniform(0, 6)
        wave = np.sin(freq * (x * np.cos(angle) + y * np.sin(angle)) + phase)
        img += wave[..., None] * rng.uniform(-0.25, 0.25, 3)
    for _ in range(4):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(8, 40)
        blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
        img += blob[..., None] * rng.uniform(-0.4, 0.4, 3)
    return ((img + 0.5).clip(0, 1) * 255).round().astype(np.uint8)


def write_texture(path: str | Path, height: int, width: int, seed: int) -> Path:
    return atomic_write(path, png_bytes(texture(height, width, seed).transpose(2, 0, 1)))


def write_textures(folder: str | Path, n: int = 4) -> Path:
    """n generated photos of 96x128 to 128x160 pixels as `folder/texture-<i>.png`."""
    folder = Path(folder)
    for i in range(n):
        write_texture(folder / f"texture-{i}.png", 96 + 32 * (i % 2), 128 + 32 * (i % 2), i)
    return folder


def write_recording(
    path: str | Path, seconds: int = 120, seed: int = 0, faults: bool = False
) -> Path:
    rows = recording(seconds, seed, faults)
    lines = ["lead_i,lead_ii"] + [f"{a:.4f},{b:.4f}" for a, b in rows]
    return atomic_write(path, "\n".join(lines) + "\n")


def voice(seconds: float, rate: int, seed: int) -> np.ndarray:
    """A made-up voice (T,) with peaks at 0.5: harmonics of a wandering pitch shaped by two
    formants, in syllables of 150 to 300 ms with short gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    low, high = rng.uniform(400, 900), rng.uniform(1200, 2500)
    wave = np.zeros_like(t)
    for k in range(1, 20):
        gain = np.exp(-(((k * f0 - low) / 200) ** 2)) + 0.5 * np.exp(
            -(((k * f0 - high) / 300) ** 2)
        )
        wave += (gain + 0.05) * np.sin(k * phase) * (k * f0 < rate / 2)
    envelope, at = np.zeros_like(t), 0
    while at < len(t):
        n = int(rng.uniform(0.15, 0.3) * rate)
        envelope[at : at + n] = np.hanning(n)[: len(t) - at]
        at += n + int(rng.uniform(0.03, 0.12) * rate)
    x = wave * envelope
    return 0.5 * x / np.abs(x).max()


def write_voices(folder: str | Path, n: int = 8) -> Path:
    """n voices of 2 s each at 16 kHz, `folder/voice-<i>.wav`."""
    folder = Path(folder)
    for i in range(n):
        atomic_write(
            folder / f"voice-{i}.wav", audio_bytes(voice(2, VOICE_RATE, i)[None], VOICE_RATE)
        )
    return folder


def write_noisy_voice(path: str | Path) -> Path:
    """Another voice, 3 s in stereo at 44.1 kHz, under pink noise at 5 dB SNR."""
    x = torch.from_numpy(np.stack([voice(3, 44100, 100)] * 2))[None]  # (1, 2, T)
    noisy = corrupt(x, "pink:5", torch.Generator().manual_seed(0), clip=False)[0]
    return atomic_write(path, audio_bytes(noisy.numpy(), 44100))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m latentzoo.examples DIR", file=sys.stderr)
        return 2
    root = Path(args[0])
    write_digit_folder(root / "digits")
    write_photo_tiles(root / "photos.npy")
    write_idx_folder(root / "idx")
    write_textures(root / "textures")
    write_texture(root / "scene.png", 240, 320, 100)
    write_beats(root / "beats.csv")
    write_recording(root / "recording.csv")
    write_recording(root / "monitor.csv", seconds=60, seed=1, faults=True)
    write_voices(root / "voices")
    write_noisy_voice(root / "noisy.wav")
    print(
        f"wrote {root / 'digits'} (1797 PNG files in 10 class folders), {root / 'photos.npy'} "
        f"({len(photo_tiles())} colour tiles, 32x32), {root / 'idx'} (IDX files), "
        f"{root / 'textures'} (generated colour photos), {root / 'scene.png'} (a larger one), "
        f"{root / 'beats.csv'} (heartbeats, one per row), {root / 'recording.csv'} (a two-lead "
        f"recording at {RATE} Hz), {root / 'monitor.csv'} (another, with faults), "
        f"{root / 'voices'} (made-up voices, WAV at {VOICE_RATE} Hz) and {root / 'noisy.wav'} "
        "(another under pink noise, stereo at 44100 Hz)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
