"""Noise kinds for signals (B, C, T), registered in latentzoo.noise's spec syntax and combined with
'+' and '|' as the image kinds are. A level in dB is the signal-to-noise ratio over the whole
example: the noise is scaled so that the example's power about its mean over the noise's power is
that ratio (negative: more noise than signal). The kinds with frequencies need the sample rate
(`--rate`), as the ECG noise of the MIT-BIH Noise Stress Test Database (Moody et al. 1984) does:

  white:DB      white Gaussian noise
  pink:DB       pink noise: power falling as 1/f (the colour of much natural noise)
  brown:DB      brown noise: power falling as 1/f^2 (a random walk; rumble)
  babble:DB     babble: 4 other examples of the batch (other utterances, for sound), each shifted
                in time by a random amount, mixed (an example alone: shifted copies of itself)
  babble_speed:DB  babble whose voices each play at a random speed, 0.6 to 1.5 times (log-uniform;
                linear interpolation): pitch and formants move with it, so a set of few voices
                babbles in voices lower and higher than its own
  recorded:DB   an excerpt of one of the user's noise recordings (sound: `--noise-files`), drawn
                per example, from a random start (a recording shorter than the example loops)
  wander:DB     baseline wander: a sum of slow sinusoids, 0.05 to 0.5 Hz (breathing, movement)
  muscle:DB     muscle artefact: Gaussian noise band-limited to 20 Hz up to the Nyquist frequency
  hum50:DB      mains hum at 50 Hz with its 2nd and 3rd harmonics (halving in amplitude)
  hum60:DB      the same at 60 Hz
  impulse:P     with probability P a sample gets a spike of 5 times the example's deviation
  dropout:P     a fraction P of the example, one stretch of it, set to the channel means (0 after
                normalisation)
"""

from __future__ import annotations

import math

import torch

from .errors import ConfigError
from .noise import NoiseKind, register_noise

DB_LOW = -60.0  # the lowest SNR a spec may ask for
BABBLE_VOICES = 4  # other examples summed into babble
BABBLE_SPEEDS = (0.6, 1.5)  # babble_speed: the slowest and fastest a voice plays


def power(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1): each example's mean squared deviation about its channels' means."""
    return (x - x.mean(-1, keepdim=True)).pow(2).mean((1, 2), keepdim=True)


def at_snr(x: torch.Tensor, noise: torch.Tensor, db: float) -> torch.Tensor:
    """x + noise scaled so that each example's SNR is `db`: its power about its mean over the
    noise's mean square (the noise as added, a wander's offset included)."""
    ratio = power(x) / noise.pow(2).mean((1, 2), keepdim=True).clamp(min=1e-20)
    return x + noise * (ratio * 10 ** (-db / 10)).sqrt()


def needs_rate(name: str, rate: float | None) -> float:
    if rate is None:
        raise ConfigError(
            f"the noise kind {name} has frequencies: give the sample rate (--rate HZ)"
        )
    return rate


def times(shape: torch.Size, rate: float) -> torch.Tensor:
    return torch.arange(shape[-1], dtype=torch.float64) / rate  # (T,) seconds


def _white(out, level, generator, shape, medium):
    return at_snr(out, torch.randn(shape, generator=generator).to(out), level)


def _wander(out, level, generator, shape, medium):
    t = times(shape, needs_rate("wander", medium.rate))
    waves = torch.zeros(shape, dtype=torch.float64)
    for _ in range(3):  # (B, C, 1) frequency and phase per example and channel
        f = 0.05 + 0.45 * torch.rand(*shape[:2], 1, generator=generator, dtype=torch.float64)
        phase = 2 * math.pi * torch.rand(*shape[:2], 1, generator=generator, dtype=torch.float64)
        waves += torch.sin(2 * math.pi * f * t + phase)
    return at_snr(out, waves.to(out), level)


def _muscle(out, level, generator, shape, medium):
    r = needs_rate("muscle", medium.rate)
    spectrum = torch.fft.rfft(torch.randn(shape, generator=generator, dtype=torch.float64))
    freqs = torch.fft.rfftfreq(shape[-1], d=1 / r)
    spectrum[..., freqs < 20] = 0  # band-limited: 20 Hz up to the Nyquist frequency
    return at_snr(out, torch.fft.irfft(spectrum, n=shape[-1]).to(out), level)


def coloured(exponent: float):
    """Gaussian noise whose power falls as 1/f^exponent: pink 1, brown (red) 2; no DC offset."""

    def apply(out, level, generator, shape, medium):
        spectrum = torch.fft.rfft(torch.randn(shape, generator=generator, dtype=torch.float64))
        freqs = torch.fft.rfftfreq(shape[-1], dtype=torch.float64)  # cycles per sample
        spectrum = spectrum / freqs.clamp(min=1 / shape[-1]) ** (exponent / 2)
        spectrum[..., 0] = 0
        return at_snr(out, torch.fft.irfft(spectrum, n=shape[-1]).to(out), level)

    return apply


def babble(speeds: tuple[float, float] | None):
    """Babble of BABBLE_VOICES other examples, each shifted in time and, with `speeds`, played at
    a speed drawn log-uniformly between the two."""

    def apply(out, level, generator, shape, medium):
        b, _, t = shape
        source = out.detach().cpu().double()
        voices = torch.zeros(shape, dtype=torch.float64)
        steps = torch.arange(t)
        for _ in range(BABBLE_VOICES):
            other = torch.randint(1, b, (b,), generator=generator) if b > 1 else torch.zeros(b)
            pick = (torch.arange(b) + other.long()) % b  # another example where there is one
            at = steps + torch.randint(t, (b, 1), generator=generator)  # (B, T) shifted in time
            if speeds is not None:
                low, high = math.log(speeds[0]), math.log(speeds[1])
                draw = torch.rand(b, 1, generator=generator, dtype=torch.float64)
                at = at[:, :1] + steps * (low + (high - low) * draw).exp()  # (B, T) fractional
            voices += read_at(source[pick], at)
        return at_snr(out, voices.to(out), level)

    return apply


def read_at(x: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    """x (B, C, T) read at the positions `at` (B, T), wrapped around T; fractional positions
    linearly interpolated."""
    t = x.shape[-1]
    at = at % t
    if not at.is_floating_point():  # whole samples: one gather
        return x.gather(-1, at[:, None].expand(x.shape))
    first = at.floor().long()
    weight = (at - first)[:, None]  # (B, 1, T)
    cells = [i[:, None].expand(x.shape) for i in (first, (first + 1) % t)]
    return x.gather(-1, cells[0]) * (1 - weight) + x.gather(-1, cells[1]) * weight


def _recorded(out, level, generator, shape, medium):
    if not medium.recordings:
        raise ConfigError("recorded:DB draws from noise recordings: pass --noise-files")
    b, _, t = shape
    which = torch.randint(len(medium.recordings), (b,), generator=generator)
    pieces = torch.zeros(shape, dtype=torch.float64)
    for i, k in enumerate(which.tolist()):
        r = medium.recordings[k]  # (T_r,)
        start = int(torch.randint(len(r), (1,), generator=generator))
        pieces[i] = r.repeat(-(-(start + t) // len(r)))[start : start + t]  # (T,) to every channel
    return at_snr(out, pieces.to(out), level)


def hum(base: float):
    def apply(out, level, generator, shape, medium):
        r = needs_rate(f"hum{base:g}", medium.rate)
        t = times(shape, r)
        phase = 2 * math.pi * torch.rand(*shape[:2], 1, generator=generator, dtype=torch.float64)
        waves = torch.zeros(shape, dtype=torch.float64)
        for k, amplitude in ((1, 1.0), (2, 0.5), (3, 0.25)):
            if k * base < r / 2:  # harmonics above the Nyquist frequency are not sampled
                waves += amplitude * torch.sin(2 * math.pi * k * base * t + k * phase)
        return at_snr(out, waves.to(out), level)

    return apply


def _impulse(out, level, generator, shape, medium):
    hit = torch.rand(shape, generator=generator) < level
    sign = torch.where(torch.rand(shape, generator=generator) < 0.5, -1.0, 1.0)
    return out + (hit * sign).to(out) * 5 * power(out).sqrt()


def _dropout(out, level, generator, shape, medium):
    length = round(level * shape[-1])
    start = torch.randint(shape[-1] - length + 1, (shape[0],), generator=generator)
    steps = torch.arange(shape[-1])
    gone = (steps >= start[:, None]) & (steps < start[:, None] + length)  # (B, T)
    return out.masked_fill(gone[:, None, :].to(out.device), 0.0)


for _kind in (
    NoiseKind("white", _white, False, "white Gaussian noise at DB dB SNR", DB_LOW),
    NoiseKind("pink", coloured(1), False, "pink (1/f) noise at DB dB SNR", DB_LOW),
    NoiseKind("brown", coloured(2), False, "brown (1/f^2) noise at DB dB SNR", DB_LOW),
    NoiseKind(
        "babble", babble(None), False, "other examples of the batch, mixed, at DB dB SNR", DB_LOW
    ),
    NoiseKind(
        "babble_speed",
        babble(BABBLE_SPEEDS),
        False,
        "babble whose voices play at random speeds, at DB dB SNR",
        DB_LOW,
    ),
    NoiseKind(
        "recorded", _recorded, False, "one of --noise-files' recordings at DB dB SNR", DB_LOW
    ),
    NoiseKind("wander", _wander, False, "baseline wander (0.05-0.5 Hz) at DB dB SNR", DB_LOW),
    NoiseKind("muscle", _muscle, False, "noise above 20 Hz (muscle) at DB dB SNR", DB_LOW),
    NoiseKind("hum50", hum(50.0), False, "50 Hz mains hum and harmonics at DB dB SNR", DB_LOW),
    NoiseKind("hum60", hum(60.0), False, "60 Hz mains hum and harmonics at DB dB SNR", DB_LOW),
    NoiseKind("impulse", _impulse, True, "a spike on each sample with probability P"),
    NoiseKind("dropout", _dropout, True, "a fraction P of the series set to the channel means"),
):
    register_noise(_kind)

SIGNAL_NOISES = (
    "white",
    "pink",
    "brown",
    "wander",
    "muscle",
    "hum50",
    "hum60",
    "impulse",
    "dropout",
)
