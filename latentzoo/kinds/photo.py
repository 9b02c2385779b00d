"""Photographs (C, H, W) of any size, grey or colour: a model trains on random square patches of a
folder of photos (latentzoo.photos) and, being fully convolutional, is applied to whole photos in
overlapping tiles blended at the seams. What differs from the image kind is how examples are read
and written; that a grey photo in a colour model's channels (all channels equal) is corrupted as a
grey photo, with the same noise in each channel; and that a photo flipped or turned is still a
photo (eight `views`, which `denoise --self-ensemble` averages over: the geometric self-ensemble
of Lim et al. 2017); and that a decoded JPEG is `recognised` by its quantisation
(latentzoo.jpeg_cells): when the model learned JPEG artefacts of that quality or lower, `denoise`
keeps its output, moved into the input's quantisation cells. The backbones, the measures and the
pictures are the image kind's."""

from __future__ import annotations

import torch

from ..config import Config, DataSettings
from ..data import Splits
from ..errors import ConfigError
from ..jpeg_cells import into_cells, jpeg_quality
from ..noise import Noise
from ..photo_noise import PHOTO_NOISES
from ..photos import load_photos, map_photos, photo_patches
from .image import ImageKind


class PhotoKind(ImageKind):
    name = "photo"
    noise_kinds = ("gaussian", "mask", "salt_pepper", *PHOTO_NOISES)
    example_noises = ("gaussian:0.1", "poisson:0.02+gaussian:0.02", "jpeg:10")
    example = "patch"
    examples = "patches"
    drawn = False  # a patch of a larger photo
    # photos differ in texture far more than their validation patches: one mean clean residual
    # over- or underestimates what the model leaves on a given photo
    safeguard_per_input = True
    # a patch of a photo flipped or turned is still one (the dihedral group of the square)
    views = 8

    def view(self, x: torch.Tensor, i: int, back: bool = False) -> torch.Tensor:
        turns, flip = i // 2, bool(i % 2)  # (N, C, H, W), H and W swapped by an odd turn
        if back:
            x = torch.rot90(x, -turns, (2, 3))
            return x.flip(3) if flip else x
        return torch.rot90(x.flip(3) if flip else x, turns, (2, 3))

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        if not cfg.model.fully_convolutional:
            raise ConfigError(
                f"a {cfg.kind} with these settings is not fully convolutional, and a photo is "
                "larger than the patches it trains on: an ae or dae with --latent grid, or a "
                "vqvae (--image-size HxW without --kind photo resizes photos to train on them)"
            )

    def corrupt(self, x, spec: str | Noise, generator, rate, recordings) -> torch.Tensor:
        out = super().corrupt(x, spec, generator, rate, recordings)  # (B, C, H, W)
        if x.shape[1] == 1:
            return out
        grey = (x == x[:, :1]).flatten(1).all(1)  # (B,) a grey photo given as C equal channels
        if grey.any():
            # a colour model that learnt independent noise per channel would read a grey
            # photo's noise, the same in each channel, as detail
            once = super().corrupt(x[grey, :1], spec, generator, rate, recordings)
            out[grey] = once.expand(-1, x.shape[1], -1, -1)
        return out

    def recognised(self, noisy, out, noise: Noise) -> tuple[torch.Tensor, torch.Tensor]:
        learned = [t.level for chain in noise if len(chain) == 1 for t in chain if t.kind == "jpeg"]
        which = torch.zeros(noisy.shape[0], dtype=torch.bool)
        if not learned:
            return which, out
        out = out.clone()
        for i, x in enumerate(noisy.cpu()):  # (C, H, W)
            quality = jpeg_quality(x, highest=int(max(learned)))
            if quality is not None:
                which[i] = True
                out[i] = into_cells(out[i].cpu(), x, quality).to(out.device)
        return which, out

    def describe(self, shape: tuple[int, ...]) -> str:
        return f"{super().describe(shape)} patches"

    def read_source(self, data: DataSettings) -> Splits:
        return load_photos(data)

    def read_inputs(self, paths, data: DataSettings, *, resize=False, convert=False, hop=None):
        if resize or hop is not None:
            raise ConfigError("photos are read at their own size, in patches: drop --resize/--hop")
        return photo_patches(paths, data, convert=convert)

    def transform_files(self, paths, data: DataSettings, fn, out_dir, *, corrupt=None, **options):
        if options.get("resize") or options.get("hop") is not None:
            raise ConfigError("photos are read at their own size, in tiles: drop --resize/--hop")
        return map_photos(
            paths, data, fn, out_dir, corrupt=corrupt, convert=bool(options.get("convert"))
        )
