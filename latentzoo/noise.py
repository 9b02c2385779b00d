"""Input corruption for denoising autoencoders (Vincent et al. 2008, "Extracting and composing
robust features with denoising autoencoders").

A noise spec is a string of terms joined by '+', applied left to right, each `kind:level`:
  gaussian:SIGMA     add N(0, SIGMA^2) to every pixel
  mask:P             set each pixel to 0 with probability P (masking noise)
  salt_pepper:P      set each pixel, with probability P, to 0 or 1 (equally likely)
e.g. `gaussian:0.3+mask:0.2`. The result is clipped to [0, 1]. `none` or '' means no corruption.
The one parser here serves the command line and Python alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ConfigError

KINDS = ("gaussian", "mask", "salt_pepper")


@dataclass(frozen=True)
class Corruption:
    kind: str
    level: float

    def __str__(self) -> str:
        return f"{self.kind}:{self.level:g}"


def parse_noise(spec: str | None) -> tuple[Corruption, ...]:
    """Parse a noise spec; a bad spec raises ConfigError with a one-line reason."""
    if spec is None or spec.strip().lower() in ("", "none"):
        return ()
    terms = []
    for part in spec.split("+"):
        part = part.strip()
        kind, sep, level_s = part.partition(":")
        kind = kind.strip().lower().replace("-", "_")
        if not sep:
            raise ConfigError(f"bad noise spec '{spec}': term '{part}' needs the form kind:level, e.g. gaussian:0.3")
        if kind not in KINDS:
            raise ConfigError(f"bad noise spec '{spec}': unknown kind '{kind}' (choose {', '.join(KINDS)})")
        try:
            level = float(level_s)
        except ValueError:
            raise ConfigError(f"bad noise spec '{spec}': level '{level_s}' is not a number") from None
        if not level >= 0 or level == float("inf"):
            raise ConfigError(f"bad noise spec '{spec}': level must be a finite number >= 0, got {level_s}")
        if kind != "gaussian" and level > 1:
            raise ConfigError(f"bad noise spec '{spec}': {kind} is a probability, got {level_s} (> 1)")
        terms.append(Corruption(kind, level))
    return tuple(terms)


def format_noise(terms: tuple[Corruption, ...]) -> str:
    return "+".join(str(t) for t in terms) or "none"


def corrupt(x: torch.Tensor, spec: str | tuple[Corruption, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """Corrupt images `x` in [0, 1] (any shape) by `spec`; the result is clipped to [0, 1].

    Random numbers are drawn on the CPU from `generator` (or the global generator) and then moved
    to x's device, so one seed gives the same corruption on every device."""
    terms = parse_noise(spec) if isinstance(spec, str) else spec
    out = x
    for t in terms:
        if t.kind == "gaussian":
            noise = torch.randn(x.shape, generator=generator).to(x.device)
            out = out + t.level * noise
        elif t.kind == "mask":
            keep = torch.rand(x.shape, generator=generator).to(x.device) >= t.level
            out = out * keep
        elif t.kind == "salt_pepper":
            u = torch.rand(x.shape, generator=generator).to(x.device)
            salt = (torch.rand(x.shape, generator=generator).to(x.device) < 0.5).to(x.dtype)
            out = torch.where(u < t.level, salt, out)
    return out.clamp(0.0, 1.0)
