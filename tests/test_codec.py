"""The VQ-VAE codec: exact round trips, a file size that tracks the prior's cross-entropy, the
container's checks, and 100,000 hostile inputs against the decoder."""

import random
import struct
import zlib

import numpy as np
import pytest
import torch
from conftest import needs_mnist, tiny_prior

from latentzoo import codec
from latentzoo.cli import main
from latentzoo.codec.container import Header, pack, unpack
from latentzoo.errors import CodecError
from latentzoo.models import VQVAEWithPrior
from latentzoo.runs import load


@needs_mnist
def test_the_round_trip_is_exact_and_the_size_tracks_the_cross_entropy(vq_run, small_splits):
    model = load(vq_run)
    # 512 images: two chunks
    x = torch.cat([small_splits.val.tensors()[0], small_splits.test.tensors()[0]])
    blob = codec.compress(model, x)
    codes = codec.encode_images(model, x)
    assert torch.equal(codes, model.encode(x))  # the codes of `encode`
    assert torch.equal(codec.decompress_codes(model, blob), codes)
    # the images of decode(encode(x)), decoded in the codec's batches (a float kernel's result can
    # depend on the batch size)
    decoded = torch.cat([model.decode(c) for c in codes.split(codec.BATCH)])
    assert torch.equal(codec.decompress(model, blob), decoded)
    header, payload = unpack(blob)
    bits, xent = 8 * len(payload) / len(x), codec.cross_entropy_bits(model, codes)
    # within a word per file of the rate
    assert xent - 0.5 <= bits <= xent + 64 / len(x) + 0.5, (bits, xent)
    assert len(blob) - len(payload) == 21 and header.count == 512 and header.shape == (1, 28, 28)
    # format version 1 (no rank: every example an image) still reads
    head = blob[:2] + b"\x01" + blob[3:9] + blob[10:13]  # magic, version, model, count, C, H, W
    old = head + blob[13:17]  # the codes CRC
    old += struct.pack("<I", zlib.crc32(payload, zlib.crc32(old))) + payload
    assert torch.equal(codec.decompress_codes(model, old), codes)


@pytest.mark.cases(3)
@needs_mnist
def test_a_file_of_another_model_or_another_format_is_refused(vq_run, small_splits):
    model = load(vq_run)
    x, _ = small_splits.test.tensors(slice(0, 4))
    blob = codec.compress(model, x)
    other = VQVAEWithPrior(model.vqvae, tiny_prior(model, seed=1))
    with pytest.raises(CodecError, match="written by the model with fingerprint") as e:
        codec.decompress(other, blob, "f.lzc")
    both = (codec.fingerprint(model).hex(), codec.fingerprint(other).hex())
    assert both[0] != both[1] and all(f in str(e.value) for f in both)
    with pytest.raises(CodecError, match="format version 9"):
        codec.decompress(model, blob[:2] + b"\x09" + blob[3:])
    with pytest.raises(CodecError, match="needs a VQ-VAE with a prior"):
        codec.compress(model.vqvae, x)


@needs_mnist
def test_every_truncation_and_every_flipped_bit_is_caught(vq_run, small_splits, monkeypatch):
    """Each caught by the container's checks: the entropy decoder never runs."""
    model = load(vq_run)
    x, _ = small_splits.test.tensors(slice(0, 2))
    blob = codec.compress(model, x)

    def never(*args):
        raise AssertionError("decoding started")

    monkeypatch.setattr(codec, "decode_codes", never)
    for n in range(len(blob)):
        with pytest.raises(CodecError):
            codec.decompress(model, blob[:n])
    for i in range(8 * len(blob)):
        bad = bytearray(blob)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(CodecError):
            codec.decompress(model, bytes(bad))


HOSTILE_FILES = 100_000


def forge(blob: bytes, rng: random.Random) -> bytes:
    """A mutation of a valid file whose file checksum is made right again: it reaches the
    decoder."""
    header, payload = unpack(blob)
    payload = bytearray(payload)
    kind = rng.randrange(3)
    if kind == 0 and payload:
        payload[rng.randrange(len(payload))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        payload = payload[: 4 * rng.randrange(len(payload) // 4 + 1)] or bytearray(4)
    else:
        header = Header(header.model, rng.randrange(1, 8), header.shape, header.codes_crc)
    return pack(header, bytes(payload))


@pytest.mark.cases(HOSTILE_FILES)
@needs_mnist
def test_100000_hostile_inputs_get_a_codec_error_and_never_wrong_images(vq_run, small_splits):
    model = load(vq_run)
    x, _ = small_splits.test.tensors(slice(0, 3))
    blob = codec.compress(model, x)
    right = codec.decompress(model, blob)
    rng = random.Random(0)
    counts = {"random bytes": 0, "mutated": 0, "forged": 0}
    passed = dict.fromkeys(counts, 0)
    for i in range(HOSTILE_FILES):
        if i % 250 == 0:  # 400 forgeries with a right checksum: these run the entropy decoder
            data, kind = forge(blob, rng), "forged"
        elif i % 2:
            data, kind = bytes(rng.randrange(256) for _ in range(rng.randrange(40))), "random bytes"
            if rng.random() < 0.5:
                data = b"LZ\x01" + data
        else:
            bad = bytearray(blob)
            while bad == blob:  # one to three edits that change the file
                bad = bytearray(blob)
                for _ in range(rng.randrange(1, 4)):
                    op = rng.randrange(3)
                    pos = rng.randrange(len(bad) + 1)
                    if op == 0 and pos < len(bad):
                        bad[pos] = rng.randrange(256)
                    elif op == 1:
                        bad.insert(pos, rng.randrange(256))
                    else:
                        del bad[pos : pos + rng.randrange(1, 6)]
            data, kind = bytes(bad), "mutated"
        counts[kind] += 1
        try:
            out = codec.decompress(model, data)
        except CodecError:
            continue
        assert len(out) == len(right) and torch.equal(out, right), kind  # never other images
        # a forgery that left the codes as they were (slack bits of the last word)
        passed[kind] += 1
    assert sum(counts.values()) == 100_000 and counts["forged"] == 400
    # the file checksum stops every one of these
    assert passed["random bytes"] == passed["mutated"] == 0


def test_the_container_refuses_a_count_its_payload_cannot_hold():
    head = Header(b"\x00" * 4, 10_000, (1, 28, 28), 0)
    with pytest.raises(CodecError, match="cannot store"):
        pack(head, b"\x00" * 4)  # 32 bits, 32 images per bit: at most 1,024 images
    blob = pack(Header(b"\x00" * 4, 1024, (1, 28, 28), 0), b"\x00" * 4)
    assert unpack(blob)[0].count == 1024
    forged = bytearray(blob)
    forged[7:9] = bytes([0x81, 0x08])  # count 1025
    body = bytes(forged[:-8])
    crc = zlib.crc32(b"\x00" * 4, zlib.crc32(body))
    with pytest.raises(CodecError):
        unpack(body + struct.pack("<I", crc) + b"\x00" * 4)


@needs_mnist
def test_compress_and_decompress_on_the_command_line(vq_run, small_splits, tmp_path, capsys):
    np.save(tmp_path / "digits.npy", small_splits.test.images[:20, 0].numpy())
    out = tmp_path / "d.lzc"
    assert main(["compress", str(vq_run), str(tmp_path / "digits.npy"), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "20 images in" in said and "bits per image" in said and "cross-entropy" in said
    assert (
        main(["decompress", str(out), "--run", str(vq_run), "--out", str(tmp_path / "back.npy")])
        == 0
    )
    model = load(vq_run)
    x, _ = small_splits.test.tensors(slice(0, 20))
    expected = (
        (model.decode(model.encode(x)).clamp(0, 1) * 255).round().to(torch.uint8)[:, 0].numpy()
    )
    assert np.array_equal(np.load(tmp_path / "back.npy"), expected)
    assert (
        main(["decompress", str(out), "--run", str(vq_run), "--out", str(tmp_path / "pngs")]) == 0
    )
    assert len(list((tmp_path / "pngs").glob("image-*.png"))) == 20
    out.write_bytes(out.read_bytes()[:-3])
    capsys.readouterr()
    assert (
        main(["decompress", str(out), "--run", str(vq_run), "--out", str(tmp_path / "x.npy")]) == 2
    )
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "damaged or cut short" in err and not (tmp_path / "x.npy").exists()
    )


@needs_mnist
def test_a_decoder_that_computes_other_probabilities_says_so(vq_run, small_splits, monkeypatch):
    """As when another torch build or device decodes: the codes checksum catches it, no images come
    back."""
    from latentzoo.codec import entropy

    model = load(vq_run)
    x, _ = small_splits.test.tensors(slice(0, 8))
    blob = codec.compress(model, x)
    real = entropy.probabilities

    def drifted(logits):
        p = real(logits)
        p[:, 0] += 0.05  # a decoder whose numbers differ a little
        return p / p.sum(1, keepdims=True)

    monkeypatch.setattr(entropy, "probabilities", drifted)
    with pytest.raises(CodecError, match="the decoded codes fail their checksum"):
        codec.decompress(model, blob, "f.lzc")


def test_whole_inputs_in_the_header_round_trip_and_bad_ones_are_refused():
    """Format 3 records the recordings that the examples are windows of; format 2 stays for the
    rest, byte for byte."""
    from latentzoo.windows import CutInput

    cut = (CutInput("ecg.csv", 2, 100, 32, ("i", "ii")), CutInput("b.npy", 1, 20, 16))
    # windows of 32: 100 samples at hop 32 give 4 (0, 32, 64, 68); 20 samples one, padded
    header = Header(b"abcd", 5, (2, 32), 7, cut)
    blob = pack(header, b"\0" * 4)
    assert blob[2] == 3 and unpack(blob) == (header, b"\0" * 4)
    plain = pack(Header(b"abcd", 5, (2, 32), 7), b"\0" * 4)
    # the count, then per input its rank, length, hop, name's length and name, header cells
    assert plain[2] == 2 and len(blob) - len(plain) == 1 + (4 + 7 + 1 + 2 + 3) + (4 + 5 + 1)
    for n in range(len(blob)):  # every truncation, and a flipped bit in every header byte
        with pytest.raises(CodecError):
            unpack(blob[:n])
    for i in range(len(blob) - 4):
        with pytest.raises(CodecError):
            unpack(blob[:i] + bytes([blob[i] ^ 0x10]) + blob[i + 1 :])
    for bad, words in (
        ((CutInput("../x.csv", 2, 100, 32), cut[1]), "no latentzoo writes"),
        ((CutInput("ecg.csv", 2, 100, 33), cut[1]), "no latentzoo writes"),
        ((cut[0],), "inputs' windows number 4"),
    ):
        with pytest.raises(CodecError, match=words):
            pack(Header(b"abcd", 5, (2, 32), 7, bad), b"\0" * 4)
