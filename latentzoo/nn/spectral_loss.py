"""The multi-resolution short-time Fourier transform loss for signals and sound (`--spectral W`):
spectral convergence plus the L1 distance of log magnitudes, averaged over several FFT sizes
(Yamamoto et al. 2020, "Parallel WaveGAN"; Défossez et al. 2022, "High Fidelity Neural Audio
Compression", use it beside the waveform loss). It weighs every frequency band by its shape rather
than its energy, so quiet high bands (consonants, what intelligibility rests on) count as much as
loud low ones, which a squared error on the waveform neglects.

The loss itself is auraloss's `MultiResolutionSTFTLoss`; it is taken per example, times the
example's number of values, so that it is summed per example as every loss term of
latentzoo.models.base is."""

from __future__ import annotations

import auraloss
import torch
from torch import nn

FFT_SIZES = (128, 256, 512)  # a window of FFT_SIZES[0] samples or more takes the loss


class SpectralLoss(nn.Module):
    """(B, C, T) decoder output and target -> the loss per example (B,)."""

    def __init__(self, length: int):
        super().__init__()
        sizes = [n for n in FFT_SIZES if n <= length]
        self.stft = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=sizes, hop_sizes=[n // 4 for n in sizes], win_lengths=sizes
        )

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        values = out[0].numel()
        # spectral convergence is a ratio of norms over its whole input: one example at a time
        per = [self.stft(o[None], t[None]) for o, t in zip(out, target, strict=True)]
        return torch.stack(per) * values  # (B,)
