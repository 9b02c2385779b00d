"""The compressed file's layout (format version 2, 3 for inputs cut into windows, 4 for the codes
of some of a residual quantizer's codebooks or sound files with their own rates): a short header,
then the entropy-coded codes.

    magic         2 bytes   b"LZ"
    version       1 byte    2, 3 when the examples are windows of whole inputs, or 4
    model         4 bytes   the model's fingerprint (first 4 bytes of a SHA-256 of its weights)
    count, rank, shape      unsigned LEB128 varints (1 byte each below 128): the example's shape,
                            (C, H, W) for an image, (C, T) for a signal, after its rank
    inputs        versions 3 and 4: their number, then for each its layout's rank, its length, the
                  hop between its windows (varints), its file name and its header row (a count,
                  then each cell; texts as a varint length and UTF-8), and in version 4 its
                  own sample rate in Hz and its length at that rate (varints, 0 for none)
    codebooks     version 4 only: a varint, how many codebooks' codes each position holds (0: all
                  the model's)
    codes CRC-32  4 bytes   of the decoded code grids, int32 little-endian in raster order
    file CRC-32   4 bytes   of every byte before it and every byte after it
    payload                 the range coder's 32-bit words, little-endian

20 bytes for one 28x28 grey image. Version 1 (every example an image, no rank) still reads. The
file CRC catches truncation and corruption before any decoding starts; the codes CRC catches a
decoder whose probabilities differ from the encoder's. Nothing here knows about models: `pack` and
`unpack` move between bytes and a `Header`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import CodecError
from ..windows import CutInput

MAGIC = b"LZ"
FORMAT_VERSION = 4
READS = (1, 2, 3, 4)  # the versions `unpack` reads (1: images, (C, H, W) without a rank)
MAX_CODEBOOKS = 64
MAX_RATE = 10_000_000  # Hz of a sound file
MAX_COUNT = 10_000_000  # examples in one file
MAX_SIDE = 100_000_000  # of any axis (a model's own shape is checked against the run's)
# a file holds at most this many images per payload bit, so decoding time is bounded by its size
IMAGES_PER_BIT = 32


@dataclass(frozen=True)
class Header:
    model: bytes  # 4-byte fingerprint
    count: int
    shape: tuple[int, ...]  # (C, H, W) for an image, (C, T) for a signal
    codes_crc: int
    inputs: tuple[CutInput, ...] = ()  # the whole inputs the examples are windows of, in order
    codebooks: int = 0  # how many of a residual quantizer's codebooks were coded (0: all)

    @property
    def version(self) -> int:
        """The oldest version that holds this header (2 and 3 files stay as they were)."""
        if self.codebooks or any(c.rate for c in self.inputs):
            return 4
        return 3 if self.inputs else 2


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(data: bytes, pos: int, name: str) -> tuple[int, int]:
    value, shift = 0, 0
    for i in range(pos, min(len(data), pos + 5)):
        value |= (data[i] & 0x7F) << shift
        shift += 7
        if not data[i] & 0x80:
            return value, i + 1
    raise CodecError(f"{name}: the header is cut short or damaged")


def pack(header: Header, payload: bytes) -> bytes:
    if not 1 <= header.count <= min(MAX_COUNT, IMAGES_PER_BIT * 8 * len(payload)):
        raise CodecError(
            f"cannot store {header.count} images in one file with {len(payload)} payload bytes "
            f"(at most {MAX_COUNT:,} images, and {IMAGES_PER_BIT} per payload bit)"
        )
    check_inputs(header, "the file to write")
    version = header.version
    head = (
        MAGIC
        + bytes([version])
        + header.model
        + varint(header.count)
        + varint(len(header.shape))
        + b"".join(varint(v) for v in header.shape)
        + (inputs_bytes(header.inputs, version) if version >= 3 else b"")
        + (varint(header.codebooks) if version >= 4 else b"")
        + struct.pack("<I", header.codes_crc)
    )
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload


def unpack(data: bytes, name: str = "<bytes>") -> tuple[Header, bytes]:
    """(header, payload) of a file's bytes, or a CodecError naming `name` and what is wrong."""
    if len(data) < 2 or data[:2] != MAGIC:
        raise CodecError(
            f"{name}: not a latentzoo compressed file (it does not start with {MAGIC!r})"
        )
    if len(data) < 3:
        raise CodecError(f"{name}: cut short after its first bytes")
    if data[2] not in READS:
        raise CodecError(
            f"{name}: format version {data[2]}, and this latentzoo reads version {FORMAT_VERSION}"
            + ("; upgrade latentzoo" if data[2] > FORMAT_VERSION else "")
        )
    if len(data) < 7:
        raise CodecError(f"{name}: cut short in its header")
    model, pos = bytes(data[3:7]), 7
    count, pos = read_varint(data, pos, name)
    rank = 3
    if data[2] >= 2:
        rank, pos = read_varint(data, pos, name)
    if rank not in (2, 3):
        raise CodecError(f"{name}: a header that no latentzoo writes (examples of rank {rank})")
    dims = []
    for _ in range(rank):
        v, pos = read_varint(data, pos, name)
        dims.append(v)
    inputs: tuple[CutInput, ...] = ()
    if data[2] >= 3:
        inputs, pos = read_inputs(data, pos, name, data[2])
    codebooks = 0
    if data[2] >= 4:
        codebooks, pos = read_varint(data, pos, name)
        if codebooks > MAX_CODEBOOKS:
            raise CodecError(f"{name}: a header that no latentzoo writes ({codebooks} codebooks)")
    if len(data) < pos + 8:
        raise CodecError(f"{name}: cut short in its header")
    codes_crc, file_crc = struct.unpack("<II", data[pos : pos + 8])
    payload = bytes(data[pos + 8 :])
    if zlib.crc32(payload, zlib.crc32(bytes(data[: pos + 4]))) != file_crc:
        raise CodecError(
            f"{name}: damaged or cut short (its checksum does not match); nothing was decoded"
        )
    if (
        not (
            1 <= count <= min(MAX_COUNT, IMAGES_PER_BIT * 8 * len(payload))
            and all(1 <= v <= MAX_SIDE for v in dims)
        )
        or len(payload) % 4
    ):
        raise CodecError(
            f"{name}: a header that no latentzoo writes ({count} examples of "
            f"{'x'.join(map(str, dims))}, {len(payload)} payload bytes)"
        )
    header = Header(model, count, tuple(dims), codes_crc, inputs, codebooks)
    check_inputs(header, name)
    return header, payload


def inputs_bytes(inputs: tuple[CutInput, ...], version: int) -> bytes:
    out = varint(len(inputs))
    for c in inputs:
        out += varint(c.axes) + varint(c.length) + varint(c.hop) + text_bytes(c.name)
        out += varint(len(c.header)) + b"".join(text_bytes(cell) for cell in c.header)
        out += varint(c.rate) + varint(c.frames) if version >= 4 else b""
    return out


def text_bytes(text: str) -> bytes:
    raw = text.encode()
    return varint(len(raw)) + raw


def read_text(data: bytes, pos: int, name: str) -> tuple[str, int]:
    size, pos = read_varint(data, pos, name)
    if pos + size > len(data):
        raise CodecError(f"{name}: the header is cut short or damaged")
    try:
        return bytes(data[pos : pos + size]).decode(), pos + size
    except UnicodeDecodeError:
        raise CodecError(f"{name}: damaged (a text in its header is not UTF-8)") from None


def read_inputs(data: bytes, pos: int, name: str, version: int) -> tuple[tuple[CutInput, ...], int]:
    n, pos = read_varint(data, pos, name)
    if n > MAX_COUNT:
        raise CodecError(f"{name}: a header that no latentzoo writes ({n} inputs)")
    found = []
    for _ in range(n):
        axes, pos = read_varint(data, pos, name)
        length, pos = read_varint(data, pos, name)
        hop, pos = read_varint(data, pos, name)
        text, pos = read_text(data, pos, name)
        cells, pos = read_varint(data, pos, name)
        if cells > 4096:
            raise CodecError(f"{name}: a header that no latentzoo writes ({cells} header cells)")
        header = []
        for _ in range(cells):
            cell, pos = read_text(data, pos, name)
            header.append(cell)
        rate = frames = 0
        if version >= 4:
            rate, pos = read_varint(data, pos, name)
            frames, pos = read_varint(data, pos, name)
        found.append(CutInput(text, axes, length, hop, tuple(header), rate, frames))
    return tuple(found), pos


def check_inputs(header: Header, name: str) -> None:
    """The inputs' windows must be the examples, and each name a plain file name."""
    if not header.inputs:
        return
    size = header.shape[-1]
    windows = 0
    for c in header.inputs:
        plain = c.name not in ("", ".", "..") and "/" not in c.name and "\\" not in c.name
        fits = c.axes in (1, 2) and 1 <= c.hop <= size and 2 <= c.length <= MAX_SIDE
        if c.rate or c.frames:  # a sound file's own rate and length: at most 64 times the run's
            near = c.frames <= 64 * c.length + 64 and c.length <= 64 * c.frames + 64
            fits = fits and 1 <= c.rate <= MAX_RATE and 1 <= c.frames and near
        if not (plain and len(c.name) <= 255 and fits):
            raise CodecError(f"{name}: a header that no latentzoo writes (input {c.name[:40]!r})")
        windows += 1 + max(0, -(-(c.length - size) // c.hop))  # len(starts(length, size, hop))
    if windows != header.count:
        raise CodecError(
            f"{name}: a header that no latentzoo writes ({header.count} examples, and its "
            f"inputs' windows number {windows})"
        )


def codes_checksum(codes_bytes: bytes) -> int:
    return zlib.crc32(codes_bytes)


__all__ = ["Header", "pack", "unpack", "codes_checksum", "FORMAT_VERSION", "MAGIC"]
