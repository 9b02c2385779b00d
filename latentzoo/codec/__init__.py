"""An image codec from a VQ-VAE and its learned prior: `compress(model, images) -> bytes` and
`decompress(model, data) -> images`.

Compressing encodes each image to its code grid (`model.encode`), entropy-codes the grids with the
prior's probabilities (latentzoo.codec.entropy) and wraps them in the versioned container of
latentzoo.codec.container; decompressing reverses the two steps and decodes the grids with
`model.decode`, so `decompress(compress(x))` equals `model.decode(model.encode(x))` exactly.

What must match between the machine that compresses and the one that decompresses: the run's
weights (checked: the container holds the model's fingerprint), and for the probabilities the same
torch build, device kind and CPU kind. When they differ the decoded codes fail the stored checksum
and `decompress` raises a CodecError; it never returns other images than the ones compressed.
"""

from __future__ import annotations

import hashlib
import math

import torch

from ..errors import CodecError
from ..windows import CutInput
from .container import FORMAT_VERSION, Header, codes_checksum, pack, unpack
from .entropy import decode_codes, encode_codes

BATCH = 500


def fingerprint(model) -> bytes:
    """4 bytes naming a model with its prior: the start of a SHA-256 over their weights and
    shapes."""
    h = hashlib.sha256()
    for part in (model.vqvae, model.prior):
        for k, v in sorted(part.state_dict().items()):
            h.update(f"{k}:{tuple(v.shape)}:{v.dtype};".encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.digest()[:4]


def check_model(model) -> None:
    if not model.can_compress:
        raise CodecError(
            "compressing needs a VQ-VAE with a prior over its codes: train one with "
            "`latentzoo train vqvae` and `latentzoo train-prior`"
        )


def grid_bytes(codes: torch.Tensor) -> bytes:
    return codes.to(torch.int32).cpu().numpy().astype("<i4").tobytes()


@torch.no_grad()
def encode_images(model, images: torch.Tensor) -> torch.Tensor:
    """Code grids (N, h, w) of images (N, C, H, W), batched as `latentzoo.jobs` does."""
    return torch.cat(
        [
            model.encode(images[i : i + BATCH].to(model.device)).cpu()
            for i in range(0, len(images), BATCH)
        ]
    )


def compress(model, images: torch.Tensor) -> bytes:
    """Examples (N, *shape) of the model's shape (images (N, C, H, W) in [0, 1], signals
    (N, C, T) normalised) -> the bytes of a compressed file."""
    check_model(model)
    shape = tuple(model.cfg.data.shape)
    if tuple(images.shape[1:]) != shape or images.shape[0] == 0:
        raise CodecError(
            f"compress takes examples (N, {', '.join(map(str, shape))}), got {tuple(images.shape)}"
        )
    return compress_codes(model, encode_images(model, images))


def compress_codes(
    model, codes: torch.Tensor, inputs: tuple[CutInput, ...] = (), codebooks: int = 0
) -> bytes:
    """Code grids (N, h, w) -> the bytes of a compressed file; `inputs`: the whole inputs the
    examples are windows of, recorded so that `decompress` can put them back together;
    `codebooks`: code only the first of a residual quantizer's codebooks (0: all)."""
    check_model(model)
    codes = first_codebooks(model, codes, codebooks)
    payload = encode_codes(model.prior, codes)
    header = Header(
        fingerprint(model),
        codes.shape[0],
        tuple(model.cfg.data.shape),
        codes_checksum(grid_bytes(codes)),
        inputs,
        codebooks if codebooks < model.codebooks else 0,
    )
    return pack(header, payload)


def first_codebooks(model, codes: torch.Tensor, codebooks: int) -> torch.Tensor:
    """The codes (N, q * rows, w) of a residual quantizer's first `codebooks` (0: all), a prefix of
    the raster order."""
    if not codebooks:
        return codes
    if not 1 <= codebooks <= model.codebooks or model.codebooks == 1:
        raise CodecError(
            f"--codebooks {codebooks}: this model's codes come from {model.codebooks} "
            "codebook(s)" + ("" if model.codebooks > 1 else " (a residual quantizer has more)")
        )
    return codes[:, : codebooks * rows_per_codebook(model)]


def rows_per_codebook(model) -> int:
    """Rows of the code grid that each codebook of a residual quantizer fills (the grid's rows
    for any other quantizer)."""
    return model.grid[0] // model.codebooks


def nominal_bitrate(model) -> float:
    """Bits per second that one codebook's codes take before entropy coding (log2 K bits a code)
    on data with a sample rate."""
    if not model.cfg.data.rate:
        raise CodecError("--bitrate needs data with a sample rate (sound, or signals with --rate)")
    codes = rows_per_codebook(model) * model.grid[1]  # per example of T samples
    return math.log2(model.n_codes) * codes * model.cfg.data.rate / model.cfg.data.shape[-1]


def codebooks_for(model, bitrate: float) -> int:
    """The most codebooks of a residual quantizer whose codes fit `bitrate` bits per second
    before entropy coding."""
    each = nominal_bitrate(model)
    if model.codebooks == 1 or bitrate < each:
        raise CodecError(
            f"--bitrate {bitrate:g}: one codebook of this model takes {each:.0f} bits per second"
            + ("" if model.codebooks > 1 else " and it has no other (a residual quantizer has)")
        )
    return min(model.codebooks, int(bitrate // each))


def read_header(data: bytes, name: str = "<bytes>") -> Header:
    """A compressed file's header, after the container's checks."""
    return unpack(data, name)[0]


def decompress_codes(model, data: bytes, name: str = "<bytes>") -> torch.Tensor:
    """The code grids (N, h, w) of a compressed file (of a residual quantizer's first codebooks
    only, when the file says so), after every check of the container."""
    check_model(model)
    header, payload = unpack(data, name)
    mine = fingerprint(model)
    if header.model != mine:
        raise CodecError(
            f"{name} was written by the model with fingerprint "
            f"{header.model.hex()}, and this run's "
            f"model is {mine.hex()}: decompress it with the run that compressed it"
        )
    if header.shape != tuple(model.cfg.data.shape):
        raise CodecError(
            f"{name}: examples of {header.shape}, and this run's model "
            f"takes {tuple(model.cfg.data.shape)}"
        )
    if header.codebooks > model.codebooks:
        raise CodecError(
            f"{name}: codes of {header.codebooks} codebooks, and this run's model has "
            f"{model.codebooks}"
        )
    rows = (header.codebooks or model.codebooks) * rows_per_codebook(model)
    codes = decode_codes(model.prior, payload, header.count, name, rows * model.grid[1])
    if codes_checksum(grid_bytes(codes)) != header.codes_crc:
        raise CodecError(
            f"{name}: the decoded codes fail their checksum: this machine computes the prior's "
            "probabilities differently from the one that "
            "compressed the file (another torch build, "
            f"device or CPU kind); no images were returned"
        )
    return codes


@torch.no_grad()
def decompress(model, data: bytes, name: str = "<bytes>") -> torch.Tensor:
    """The bytes of a compressed file -> images (N, C, H, W) in [0, 1]."""
    codes = decompress_codes(model, data, name)
    return torch.cat(
        [
            model.decode(codes[i : i + BATCH].to(model.device)).cpu()
            for i in range(0, len(codes), BATCH)
        ]
    )


def cross_entropy_bits(model, codes: torch.Tensor) -> float:
    """The prior's cross-entropy on these code grids, bits per image (what the file size tracks)."""
    with torch.no_grad():
        flat = codes.reshape(codes.shape[0], -1).to(model.prior.device)
        nats = torch.cat(
            [
                model.prior.nll(flat[i : i + BATCH]).double().cpu()
                for i in range(0, len(flat), BATCH)
            ]
        )
    return float(nats.mean()) / math.log(2)


__all__ = [
    "compress",
    "decompress",
    "compress_codes",
    "first_codebooks",
    "rows_per_codebook",
    "decompress_codes",
    "cross_entropy_bits",
    "codebooks_for",
    "nominal_bitrate",
    "fingerprint",
    "FORMAT_VERSION",
]
