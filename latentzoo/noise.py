"""Input corruption for denoising autoencoders (Vincent et al. 2008, "Extracting and composing
robust features with denoising autoencoders").

A noise spec is a string of terms joined by '+', applied left to right, each `kind:level`:
  gaussian:SIGMA     add N(0, SIGMA^2) to every pixel
  mask:P             set each pixel to 0 with probability P (masking noise)
  salt_pepper:P      set each pixel, with probability P, to 0 or 1 (equally likely)
e.g. `gaussian:0.3+mask:0.2`. Such chains joined by '|' are a mixture: each image gets one of them,
drawn uniformly, e.g. `gaussian:0.2|gaussian:0.5|mask:0.4` (a denoiser trained on many kinds and
strengths). The result is clipped to [0, 1] (`clip`: images; a signal's values are not bounded).
`none` or '' means no corruption. The one parser here serves the command line and Python alike.

The kinds are a registry (`NOISE_KINDS`): `register_noise(NoiseKind(...))` adds one, so a kind of
data brings its own corruptions to the same spec syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .errors import ConfigError


@dataclass(frozen=True)
class Medium:
    """What a noise kind may need besides the values: a signal's sample rate (Hz), and the user's
    noise recordings at that rate (sound: `--noise-files`), each (T,) float64."""

    rate: float | None = None
    recordings: tuple[torch.Tensor, ...] = ()


# (values, level, generator, shape, medium) -> corrupted values; random numbers are drawn on the CPU
Apply = Callable[[torch.Tensor, float, torch.Generator | None, torch.Size, Medium], torch.Tensor]


@dataclass(frozen=True)
class NoiseKind:
    """A kind of corruption: its name in a spec, what it does, whether its level is a probability
    (at most 1), one line of help, and its lowest and highest levels (the lowest below 0 for a
    level in decibels)."""

    name: str
    apply: Apply
    probability: bool
    help: str
    low: float = 0.0
    high: float = float("inf")


NOISE_KINDS: dict[str, NoiseKind] = {}


def register_noise(kind: NoiseKind) -> None:
    """Make a noise kind usable in specs; a data kind adds its own kinds this way."""
    if kind.name in NOISE_KINDS:
        raise ValueError(f"noise kind '{kind.name}' is registered twice")
    NOISE_KINDS[kind.name] = kind


def _gaussian(out, level, generator, shape, medium):
    return out + level * torch.randn(shape, generator=generator).to(out.device)


def _mask(out, level, generator, shape, medium):
    return out * (torch.rand(shape, generator=generator).to(out.device) >= level)


def _salt_pepper(out, level, generator, shape, medium):
    u = torch.rand(shape, generator=generator).to(out.device)
    salt = (torch.rand(shape, generator=generator).to(out.device) < 0.5).to(out.dtype)
    return torch.where(u < level, salt, out)


for _kind in (
    NoiseKind("gaussian", _gaussian, False, "add N(0, SIGMA^2) to every value"),
    NoiseKind("mask", _mask, True, "set each value to 0 with probability P (masking noise)"),
    NoiseKind("salt_pepper", _salt_pepper, True, "set each value, with probability P, to 0 or 1"),
):
    register_noise(_kind)


@dataclass(frozen=True)
class Corruption:
    kind: str
    level: float

    def __str__(self) -> str:
        # the shortest exact text, without a '+' (it joins terms)
        return f"{self.kind}:{repr(self.level).removesuffix('.0').replace('e+', 'e')}"


Chain = tuple[Corruption, ...]  # terms applied left to right
Noise = tuple[Chain, ...]  # a mixture: one chain per image; () is no corruption


def parse_noise(spec: str | None) -> Noise:
    """Parse a noise spec into its chains (one for a plain spec); a bad spec raises ConfigError with
    a one-line reason."""
    if spec is None or spec.strip().lower() in ("", "none"):
        return ()
    if any(not alt.strip() for alt in spec.split("|")):
        raise ConfigError(f"bad noise spec '{spec}': an empty alternative between '|'")
    return tuple(parse_chain(alt, spec) for alt in spec.split("|"))


def parse_chain(chain: str, spec: str) -> Chain:
    terms = []
    for part in chain.split("+"):
        part = part.strip()
        kind, sep, level_s = part.partition(":")
        kind = kind.strip().lower().replace("-", "_")
        if not sep:
            raise ConfigError(
                f"bad noise spec '{spec}': term '{part}' needs the "
                "form kind:level, e.g. gaussian:0.3"
            )
        if kind not in NOISE_KINDS:
            raise ConfigError(
                f"bad noise spec '{spec}': unknown kind '{kind}' (choose {', '.join(NOISE_KINDS)})"
            )
        try:
            level = float(level_s)
        except ValueError:
            raise ConfigError(
                f"bad noise spec '{spec}': level '{level_s}' is not a number"
            ) from None
        low = NOISE_KINDS[kind].low
        if not level >= low or level == float("inf"):
            raise ConfigError(
                f"bad noise spec '{spec}': level must be a finite number >= {low:g}, got {level_s}"
            )
        if level > NOISE_KINDS[kind].high:
            raise ConfigError(
                f"bad noise spec '{spec}': {kind}'s level is at most "
                f"{NOISE_KINDS[kind].high:g}, got {level_s}"
            )
        if NOISE_KINDS[kind].probability and level > 1:
            raise ConfigError(
                f"bad noise spec '{spec}': {kind} is a probability, got {level_s} (> 1)"
            )
        terms.append(Corruption(kind, level))
    return tuple(terms)


def format_noise(noise: Noise) -> str:
    return "|".join("+".join(str(t) for t in chain) for chain in noise) or "none"


def corrupt(
    x: torch.Tensor,
    spec: str | Noise,
    generator: torch.Generator | None = None,
    clip: bool = True,
    rate: float | None = None,
    recordings: tuple[torch.Tensor, ...] = (),
) -> torch.Tensor:
    """Corrupt examples `x` (B, ...) by `spec`; with `clip` (images in [0, 1]) the result is
    clipped to [0, 1]; `rate` (Hz) gives a signal's noise kinds their frequencies, `recordings`
    the user's noise recordings at that rate. A mixture draws each image's chain first, then
    corrupts each chain's images in order.

    Random numbers are drawn on the CPU from `generator` (or the global generator) and then moved
    to x's device, so one seed gives the same corruption on every device."""
    noise = parse_noise(spec) if isinstance(spec, str) else spec
    medium = Medium(rate, recordings)
    if len(noise) <= 1:
        return apply_chain(x, noise[0] if noise else (), generator, clip, medium)
    # (B,) a chain per image
    pick = torch.randint(len(noise), (x.shape[0],), generator=generator).to(x.device)
    out = x.clone()
    for i, chain in enumerate(noise):
        rows = pick == i
        if rows.any():
            out[rows] = apply_chain(x[rows], chain, generator, clip, medium)
    return out


def apply_chain(
    x: torch.Tensor,
    terms: Chain,
    generator: torch.Generator | None,
    clip: bool = True,
    medium: Medium = Medium(),
) -> torch.Tensor:
    out = x
    for t in terms:
        out = NOISE_KINDS[t.kind].apply(out, t.level, generator, x.shape, medium)
    return out.clamp(0.0, 1.0) if clip else out
