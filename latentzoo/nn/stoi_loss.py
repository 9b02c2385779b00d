"""An intelligibility loss for sound (`--stoi W`): one minus STOI's short-time correlation of
one-third-octave band envelopes between output and clean target (Taal et al. 2011, "An Algorithm
for Intelligibility Prediction of Time-Frequency Weighted Noisy Speech"), made differentiable so
that a DAE trains on it, as Fu et al. (2018, "End-to-End Waveform Utterance Enhancement for Direct
Evaluation Metrics Optimization") and Kolbæk et al. (2020) did.

It follows STOI's steps with pystoi's constants and band matrix (Hann frames of 25.6 ms every
12.8 ms, 15 bands from 150 Hz, the output's envelopes clipped at 15 dB above the target's, segments
of 30 frames), with three differences that a training window asks for: it is taken at the run's
sample rate (bands above the Nyquist frequency dropped) instead of resampling to 10 kHz; a window
shorter than 30 frames is one segment of all its frames; and frames more than 40 dB below the
loudest frame of the target's window are left out by a weight rather than cut. Use pystoi to
measure.

torch_stoi (Pariente) implements the same but needs torchaudio, which has no build for every torch
that latentzoo runs on."""

from __future__ import annotations

import numpy as np
import torch
from pystoi.stoi import BETA, DYN_RANGE, FS, MINFREQ, N_FRAME, NUMBAND, N
from pystoi.utils import thirdoct
from torch import nn

from ..errors import ConfigError

TINY = 1e-20  # keeps the square root's gradient finite at zero
FRAME_SECONDS = N_FRAME / FS  # STOI's frame, 25.6 ms
SEGMENT = N  # frames per intermediate-intelligibility segment
MIN_FRAMES = 8  # a window shorter than this has too few frames to correlate


def frame_length(rate: float) -> int:
    """STOI's frame at `rate` Hz, in samples."""
    return max(4, round(FRAME_SECONDS * rate))


def frames_in(length: int, rate: float | None) -> int:
    """How many of STOI's frames (half-overlapping) a window of `length` samples holds (none
    without a sample rate)."""
    if rate is None:
        return 0
    n = frame_length(rate)
    return 0 if length < n else (length - n) // (n // 2) + 1


class StoiLoss(nn.Module):
    """(B, 1, T) decoder output and clean target at `rate` Hz -> (1 - correlation) * T per
    example (B,): summed over the window's values as every loss term of latentzoo.models.base."""

    bands: torch.Tensor  # (bands, nfft/2+1) one-third-octave band matrix
    window: torch.Tensor  # (frame,) Hann

    def __init__(self, rate: float | None, length: int):
        super().__init__()
        if rate is None:
            raise ConfigError("--stoi needs a sample rate: it applies to sound")
        self.frame = frame_length(rate)
        self.segment = min(SEGMENT, frames_in(length, rate))
        nfft = 2 * self.frame
        bands = thirdoct(rate, nfft, NUMBAND, MINFREQ)[0]
        bands = bands[bands.sum(axis=1) > 0]  # bands above the Nyquist frequency are empty
        self.register_buffer("bands", torch.from_numpy(bands).float(), persistent=False)
        window = np.hanning(self.frame + 2)[1:-1]
        self.register_buffer("window", torch.from_numpy(window).float(), persistent=False)
        self.nfft = nfft
        self.clip = 10 ** (-BETA / 20)

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) -> Hann-windowed half-overlapping frames (B, frames, frame)."""
        return x.unfold(-1, self.frame, self.frame // 2) * self.window

    def envelopes(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, frames, frame) -> one-third-octave band envelopes (B, bands, frames)."""
        spectrum = torch.fft.rfft(frames, n=self.nfft).abs().pow(2)  # (B, frames, nfft/2+1)
        return (spectrum @ self.bands.T + TINY).sqrt().transpose(1, 2)

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        frames = self.frames(target.flatten(1).float())
        clean = self.envelopes(frames)
        got = self.envelopes(self.frames(out.flatten(1).float()))
        # STOI's silent frames: more than its dynamic range below the window's loudest
        level = 20 * torch.log10(frames.norm(dim=-1) + TINY)  # (B, frames)
        speech = (level > level.amax(-1, keepdim=True) - DYN_RANGE).float()[:, None]
        clean = (clean * speech).unfold(-1, self.segment, 1)  # (B, bands, segments, N)
        got = (got * speech).unfold(-1, self.segment, 1)
        scale = clean.norm(dim=-1, keepdim=True) / (got.norm(dim=-1, keepdim=True) + TINY)
        got = torch.minimum(got * scale, clean * self.clip)
        clean = clean - clean.mean(-1, keepdim=True)
        got = got - got.mean(-1, keepdim=True)
        corr = (got * clean).sum(-1) / (got.norm(dim=-1) * clean.norm(dim=-1) + TINY)
        return (1 - corr.mean((1, 2))) * target[0].numel()  # (B,)
