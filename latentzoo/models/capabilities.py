"""The capabilities a model declares, written down: one `typing.Protocol` per flag of
`Autoencoder`, naming what a model with that flag set provides beyond the base interface.

A caller that sees `model.has_codes` may use `model.grid`, `model.n_codes` and `model.quantize`;
`CAPABILITIES` maps each flag to its protocol, and `check_capabilities(model)` (run on every model
the registry builds, and by the tests) fails when a flag promises what the model lacks. The flags
stay class attributes, so callers ask a model what it can do and never check its name.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from ..nn.quantizers import QuantizerOutput


@runtime_checkable
class HasCodes(Protocol):
    """`has_codes`: integer code grids (B, *grid) from `encode`, taken back by `decode`."""

    grid: tuple[int, ...]  # the code grid's shape, e.g. (H/4, W/4)
    n_codes: int  # K distinct codes

    def quantize(self, x: torch.Tensor) -> QuantizerOutput: ...


@runtime_checkable
class HasELBO(Protocol):
    """`has_elbo`: a Gaussian posterior, the ELBO's 'recon' and 'kl' terms in `forward`'s losses,
    and importance weights for the IS-NLL."""

    def posterior(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def log_weights(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None,
        k: int,
        generator: torch.Generator,
        chunk: int,
    ) -> torch.Tensor: ...


@runtime_checkable
class FitsLatentGaussian(Protocol):
    """`fits_latent_gaussian`: a Gaussian fitted to the training latents after training, and each
    code's -log density under it."""

    def fit_latent_prior(self, z: torch.Tensor) -> None: ...

    def code_nll(self, z: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Guided(Protocol):
    """`guided`: `sample` takes `guidance=` (classifier-free guidance of a learned prior)."""

    def sample(
        self,
        n: int,
        y=None,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        guidance: float = 1.0,
    ) -> torch.Tensor: ...


@runtime_checkable
class Compressible(Protocol):
    """`can_compress`: a learned prior over the codes (`prior`, with `nll` and `walk`) that
    latentzoo.codec codes with, and the quantizing model itself (`vqvae`)."""

    prior: torch.nn.Module
    vqvae: torch.nn.Module


CAPABILITIES: dict[str, type] = {
    "has_codes": HasCodes,
    "has_elbo": HasELBO,
    "fits_latent_gaussian": FitsLatentGaussian,
    "guided": Guided,
    "can_compress": Compressible,
}


def check_capabilities(model) -> None:
    """TypeError when a capability flag of `model` is set and the model lacks its protocol."""
    for flag, protocol in CAPABILITIES.items():
        if getattr(model, flag) and not isinstance(model, protocol):
            raise TypeError(f"{type(model).__name__} sets {flag} but is not a {protocol.__name__}")
