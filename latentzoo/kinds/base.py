"""The one interface of a kind of data (`DataKind`): what differs between images, signals and sound
lives behind it, and everything else asks the run's kind instead of checking a name.

A kind says which example shapes it takes and which backbones fit them (`check`), builds the
backbones that fit (`vector_encoder`, `vector_decoder`, `grid_encoder`, `grid_decoder` and the code
grid's shape, `code_grid`; `input_skip`, the full-size block of a skip around an AE's grid),
measures a reconstruction (`quality_measures`, `quality`, `fidelity`), draws examples as pictures
for the plots (`pictures`) and, sound, as a clip to hear (`clip`), reads the user's source into
train/validation/test splits (`read_source`), reads and writes the jobs' files (`read_inputs`,
`write_like_inputs`, `write_examples`), runs a job over the user's files (`transform_files`,
`score_files`, which a kind may stream), gives the rows of the anomaly scores (`score_rows`), cuts
an input larger than the run's example into windows and puts the model's outputs back together
(`split`, `merge`, on latentzoo.windows), names its corruptions in the noise registry
(`noise_kinds`, which `check_noise` enforces), applies them (`corrupt`) and names the ones its
report pictures (`example_noises`), gives the flips and rotations that keep an example's meaning
(`views`, `check_views`, `view`: a reconstruction's self-ensemble), recognises in an input a
corruption that a model learned (`recognised`, for `denoise`), says whether its values are
bounded (`bounded`) and describes a shape in words. A new kind is a module with a subclass and one
entry in latentzoo.kinds.registry.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ..config import Config, DataSettings, ModelSettings
from ..data import Splits
from ..errors import ConfigError
from ..files import write_csv
from ..inputs import Inputs
from ..noise import Noise, corrupt, parse_noise
from ..windows import CutInput


class DataKind(ABC):
    name: ClassVar[str]  # as config.json's data.data_kind says it
    axes: ClassVar[str]  # one example's axes, e.g. "(C, H, W)"
    noise_kinds: ClassVar[tuple[str, ...]]  # the entries of latentzoo.noise.NOISE_KINDS that apply
    # one strong setting of each main corruption: the report's denoising pictures
    example_noises: ClassVar[tuple[str, ...]]
    example: ClassVar[str]  # what an example is called in messages and file names, e.g. "image"
    examples: ClassVar[str]  # ... and more than one, e.g. "images"
    bounded: ClassVar[bool]  # values lie in [0, 1] (images); outputs and corruptions are clipped
    fidelity: ClassVar[str]  # the measure of `quality_measures` that a denoiser's gain is told in
    # an example is a whole picture that one can draw or upload (what latentzoo.app shows)
    drawn: ClassVar[bool] = False
    # examples can be listened to (`clip`): the report plays them
    heard: ClassVar[bool] = False
    # `denoise` blends each output back towards its input by default (latentzoo.jobs.safeguard)
    safeguarded: ClassVar[bool] = True
    # ... estimating each output's error per input, from a second pass through the model
    safeguard_per_input: ClassVar[bool] = False
    # the fraction of its input that `denoise` keeps in each output by default (latentzoo.jobs.kept)
    kept_input: ClassVar[float] = 0.0
    # how many flips and rotations of an example (`view`) keep its meaning, that a reconstruction
    # may average over (a self-ensemble); 1: the example as it is
    views: ClassVar[int] = 1

    @abstractmethod
    def check(self, cfg: Config) -> None:
        """A ConfigError when the run's example shape is not one of this kind's, or does not fit
        its model's backbone."""

    def check_noise(self, spec: str | Noise) -> None:
        """A ConfigError when a noise spec names a kind of noise that is not for this data."""
        noise = parse_noise(spec) if isinstance(spec, str) else spec
        for term in (t for chain in noise for t in chain):
            if term.kind not in self.noise_kinds:
                raise ConfigError(
                    f"noise '{term.kind}' is not for {self.name} data (its kinds: "
                    f"{', '.join(self.noise_kinds)})"
                )

    def corrupt(
        self,
        x: torch.Tensor,
        spec: str | Noise,
        generator: torch.Generator | None,
        rate: float | None,
        recordings: tuple[torch.Tensor, ...],
    ) -> torch.Tensor:
        """Examples (B, ...) corrupted by a noise spec (latentzoo.noise.corrupt), clipped to
        [0, 1] where this kind's values are `bounded`."""
        return corrupt(x, spec, generator, clip=self.bounded, rate=rate, recordings=recordings)

    @abstractmethod
    def vector_encoder(
        self, shape: tuple[int, ...], out_dim: int, cond_dim: int, settings: ModelSettings
    ) -> nn.Module:
        """Examples (B, *shape) [+ condition (B, cond_dim)] -> vectors (B, out_dim)."""

    @abstractmethod
    def vector_decoder(
        self, shape: tuple[int, ...], in_dim: int, cond_dim: int, settings: ModelSettings
    ) -> nn.Module:
        """Vectors (B, in_dim) [+ condition] -> raw outputs (B, *shape)."""

    @abstractmethod
    def grid_encoder(
        self, shape: tuple[int, ...], out_dim: int, settings: ModelSettings
    ) -> nn.Module:
        """Examples (B, *shape) -> a grid of vectors (B, out_dim, *code_grid(shape))."""

    @abstractmethod
    def grid_decoder(
        self, shape: tuple[int, ...], in_dim: int, settings: ModelSettings
    ) -> nn.Module:
        """A grid of vectors (B, in_dim, *code_grid(shape)) -> raw outputs (B, *shape)."""

    def input_skip(self, shape: tuple[int, ...], settings: ModelSettings) -> nn.Module:
        """A full-size block: a decoder's raw output and the input, side by side (B, 2C, ...) -> a
        correction (B, C, ...) that starts at zero (an AE's `skip input`)."""
        raise ConfigError(
            f"--skip {getattr(settings, 'skip', 'input')} applies to images and photos (input, "
            f"unet) and signals (mask), not to {self.examples}"
        )

    @abstractmethod
    def code_grid(self, shape: tuple[int, ...], settings: ModelSettings) -> tuple[int, int]:
        """The shape (h, w) of the code grid of an example of `shape` (a VQ-VAE's codes per
        example) under a model's settings."""

    @abstractmethod
    def quality_measures(self) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
        """The measures of a reconstruction that fit this data, by name: (x, x_hat) -> (B,)."""

    def quality(self, x: torch.Tensor, x_hat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-example measures of a reconstruction (B,) each, by name (e.g. mse_per_pixel,
        psnr)."""
        return {name: measure(x, x_hat) for name, measure in self.quality_measures().items()}

    @abstractmethod
    def pictures(self, x: torch.Tensor) -> torch.Tensor:
        """Examples (N, *shape) in [0, 1] drawn as pictures (N, C, H, W) in [0, 1], for the plots
        and the PNG outputs (an image is its own picture)."""

    def reconstruction_rows(self, x: torch.Tensor, x_hat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The pictures the plots draw of examples and their reconstructions, by row name."""
        return {"inputs": self.pictures(x), "reconstructions": self.pictures(x_hat)}

    def clip(self, x: torch.Tensor, data: DataSettings) -> bytes | None:
        """Consecutive examples (N, *shape) of one input, normalised, as one audio file's bytes to
        listen to (for the report), when this kind is `heard`; else None."""
        return None

    @abstractmethod
    def describe(self, shape: tuple[int, ...]) -> str:
        """An example shape in words, e.g. '28x28 grey'."""

    @abstractmethod
    def read_source(self, data: DataSettings) -> Splits:
        """The user's source (`data.source`) as train/validation/test splits, read as the data
        settings say."""

    @abstractmethod
    def read_inputs(
        self,
        paths: list[str | os.PathLike],
        data: DataSettings,
        *,
        resize: bool = False,
        convert: bool = False,
        hop: int | None = None,
    ) -> Inputs:
        """The examples in the jobs' input files, fitted to the run's examples (`data.shape`);
        `hop` overrides the run's step between the windows of a long input."""

    @abstractmethod
    def write_like_inputs(
        self, inputs: Inputs, results: torch.Tensor, out_dir: str | os.PathLike, data: DataSettings
    ) -> list[Path]:
        """One result per input example, written in the input's format under its name."""

    @abstractmethod
    def write_examples(
        self, out: str | os.PathLike, examples: torch.Tensor, stem: str, data: DataSettings
    ) -> Path:
        """Examples that no input file names (samples, decompressed codes): one array file when
        `out` ends in `.npy`, else one file each in the folder `out` (`<stem>-00000...`)."""

    def check_views(self, n: int) -> None:
        """A ConfigError unless `n` views (a self-ensemble's, training's) fit this kind (1 to
        `views`)."""
        if not 1 <= n <= self.views:
            have = f"1 to {self.views} views" if self.views > 1 else "1 view (no flips or turns)"
            raise ConfigError(f"{self.examples} of this kind take {have}, not {n}")

    def view(self, x: torch.Tensor, i: int, back: bool = False) -> torch.Tensor:
        """Examples (N, *example) flipped and rotated by the kind's `i`-th view (0: as they are, up
        to `views` - 1), or, `back`, the view undone."""
        return x

    def recognised(
        self, noisy: torch.Tensor, out: torch.Tensor, noise: Noise
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(which of the inputs (N,) carry a corruption that this kind recognises in the input
        itself and that a model trained on `noise` learned to remove, bool; the outputs (N,
        *example) made consistent with what those inputs still tell about their clean versions).
        `denoise` keeps those outputs instead of blending them back (latentzoo.jobs.safeguard).
        None here."""
        return torch.zeros(noisy.shape[0], dtype=torch.bool), out

    @abstractmethod
    def split(self, x: torch.Tensor, size: int, hop: int) -> torch.Tensor:
        """One input larger than the run's example -> (N, *example) windows every `hop`."""

    @abstractmethod
    def merge(self, parts: torch.Tensor, hop: int, like: torch.Tensor) -> torch.Tensor:
        """The windows' outputs put back together, blended at the seams, in the shape of `like`."""

    def cut_inputs(self, inputs: Inputs, data: DataSettings) -> tuple[CutInput, ...]:
        """The whole inputs that `inputs`' examples are windows of (none: each example whole)."""
        return ()

    def write_cut_inputs(
        self, out_dir, examples: torch.Tensor, cut: tuple[CutInput, ...], data: DataSettings
    ) -> list[Path]:
        """Windows (N, *shape) of the whole inputs `cut`, put back together and written under
        their names in `out_dir`."""
        raise ConfigError(f"{self.examples} of this kind are not cut from whole inputs")

    def transform_files(
        self, paths, data: DataSettings, fn, out_dir, *, corrupt=None, **options
    ) -> list[Path]:
        """`fn` (examples (n, *shape) -> results (n, *shape)) over the examples of `paths`, each
        result written like its input (`write_like_inputs`); `corrupt` (examples -> examples), when
        given, first; `options` as `read_inputs` takes them."""
        inputs = self.read_inputs(paths, data, **options)
        x = corrupt(inputs.examples) if corrupt else inputs.examples
        return self.write_like_inputs(inputs, fn(x), out_dir, data)

    def score_files(
        self, paths, data: DataSettings, score, threshold: float, out: Path, **options
    ) -> dict[str, int]:
        """`score` (examples (n, *shape) -> (n,)) over the examples of `paths`, written as the CSV
        `out` with a row per example (`score_rows`); `options` as `read_inputs` takes them.
        Returns the counts of examples and of flagged ones."""
        inputs = self.read_inputs(paths, data, **options)
        scores = score(inputs.examples)
        write_csv(out, self.score_rows(inputs, scores, threshold))
        return {self.examples: len(inputs), "flagged": int((scores > threshold).sum())}

    def score_rows(self, inputs: Inputs, scores: torch.Tensor, threshold: float) -> list[dict]:
        """The rows of `score`'s CSV: a row per input example, its score and flag."""
        return [
            {
                "name": n,
                "score": round(float(v), 6),
                "threshold": round(threshold, 6),
                "flag": int(v > threshold),
            }
            for n, v in zip(inputs.names, scores)
        ]
