"""Entropy coding of VQ-VAE code grids with the probabilities of their learned prior.

The prior (latentzoo.models.prior) gives, position after position in raster order, a categorical
distribution over the K codes given the codes before it. A range coder (constriction's
`stream.queue`, Bamler 2022) turns each code into about -log2 p(code) bits, so the payload tracks
the prior's cross-entropy plus at most one 32-bit word per file.

Exactness: encoder and decoder get their probabilities from the same function, `CodePrior.walk`, on
the same chunks of CHUNK images and on one thread (a thread count splits float sums differently), so
on one machine both see the same float32 logits bit for bit; the float64 softmax and constriction's
quantization (`Categorical(perfect=False)`) are deterministic given those. Another torch build,
device or CPU kind may compute other logits: the decoder then drifts, and the codes checksum of the
container says so. The prior is used without labels.
"""

from __future__ import annotations

import contextlib

import constriction
import numpy as np
import torch

from ..errors import CodecError

CHUNK = 256  # images per prior pass, the same on both sides
# a Rust extension: its submodules are attributes
Categorical = constriction.stream.model.Categorical
RangeEncoder, RangeDecoder = (
    constriction.stream.queue.RangeEncoder,
    constriction.stream.queue.RangeDecoder,
)


@contextlib.contextmanager
def one_thread():
    """Torch's CPU work on one thread for the block, whatever the caller's thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def probabilities(logits: torch.Tensor) -> np.ndarray:
    """Next-code logits (n, K) float32 -> probabilities (n, K) float64, the same on both sides."""
    return torch.softmax(logits.double(), -1).cpu().numpy()


@torch.no_grad()
@one_thread()
def encode_codes(prior, codes: torch.Tensor) -> bytes:
    """Code grids (N, h, w) -> the range coder's words as little-endian bytes; h may be fewer rows
    than the prior's grid (the first of its raster order)."""
    family = Categorical(perfect=False)
    coder = RangeEncoder()
    flat = codes.reshape(codes.shape[0], -1).cpu()  # (N, L)
    for start in range(0, flat.shape[0], CHUNK):
        chunk = flat[start : start + CHUNK]

        def teacher(t: int, logits: torch.Tensor, chunk=chunk) -> torch.Tensor:
            symbols = chunk[:, t]
            coder.encode(symbols.numpy().astype(np.int32), family, probabilities(logits))
            return symbols

        prior.walk(chunk.shape[0], teacher, None, steps=flat.shape[1])
    return coder.get_compressed().astype("<u4").tobytes()


@torch.no_grad()
@one_thread()
def decode_codes(
    prior, payload: bytes, count: int, name: str = "<bytes>", steps: int | None = None
) -> torch.Tensor:
    """The range coder's bytes -> `count` code grids (count, h, w), or their first `steps` codes
    each (count, steps / w, w)."""
    family = Categorical(perfect=False)
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    if words.size == 0:
        raise CodecError(f"{name}: no payload to decode")
    decoder = RangeDecoder(words)
    grids = []
    for start in range(0, count, CHUNK):
        n = min(CHUNK, count - start)

        def read(_t: int, logits: torch.Tensor) -> torch.Tensor:
            try:
                return torch.from_numpy(
                    decoder.decode(family, probabilities(logits)).astype(np.int64)
                )
            # constriction reports a payload that cannot be decoded in its own types
            except Exception as e:
                raise CodecError(
                    f"{name}: the payload cannot be decoded "
                    f"({str(e).splitlines()[0] if str(e) else type(e).__name__})"
                ) from None

        grids.append(prior.walk(n, read, None, steps=steps).cpu())
    return torch.cat(grids)


__all__ = ["encode_codes", "decode_codes", "CHUNK"]
