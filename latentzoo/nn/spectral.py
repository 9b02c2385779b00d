"""A spectral mask as the full-size block of an AE's skip around its code sequence (`skip mask`),
for signals and sound: the input's short-time Fourier transform times a mask in [0, 1], taken back
to a waveform with the input's phase. This is the common design of speech enhancement by masking
(Wang & Chen 2018, "Supervised Speech Separation Based on Deep Learning: An Overview"): the noisy
phase is kept, and the network only decides how much of each time-frequency cell to keep.

The mask comes from a stack of 1-D convolutions over the frames, dilated 1, 2, 4 and 8 frames
(about 30 frames of context), that sees the log-magnitudes of the input and of the decoder's
output. Its last layer starts at zero with a bias that keeps almost everything, so the block starts
near the identity; it returns the correction from the input to the masked input."""

from __future__ import annotations

import torch
from torch import nn

from .layers import activation

OPEN = 4.0  # the mask's starting bias: sigmoid(4), about 0.98, keeps nearly the whole input
FLOOR = 1e-4  # added to magnitudes before their logarithm


class SpectralMask(nn.Module):
    """(B, 2, T): the decoder's output and the input -> a correction (B, 1, T), so that input plus
    correction is the masked input."""

    window: torch.Tensor  # a buffer (n_fft,)

    def __init__(self, *, n_fft: int, hop: int, width: int, act: str):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        bins = n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        layers: list[nn.Module] = [nn.Conv1d(2 * bins, width, 3, padding=1), activation(act)]
        for d in (1, 2, 4, 8):
            layers += [nn.Conv1d(width, width, 3, padding=d, dilation=d), activation(act)]
        self.net = nn.Sequential(*layers)
        self.out = nn.Conv1d(width, bins, 1)
        nn.init.zeros_(self.out.weight)
        assert self.out.bias is not None
        nn.init.constant_(self.out.bias, OPEN)

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, F, frames) complex."""
        return torch.stft(
            x, self.n_fft, self.hop, window=self.window, center=True, return_complex=True
        )

    def forward(self, both: torch.Tensor) -> torch.Tensor:
        estimate, x = both[:, 0], both[:, 1]  # (B, T) each
        spec = self.spectrum(x)  # (B, F, frames)
        feats = torch.cat(
            [(spec.abs() + FLOOR).log(), (self.spectrum(estimate).abs() + FLOOR).log()], 1
        )  # (B, 2F, frames)
        mask = torch.sigmoid(self.out(self.net(feats)))  # (B, F, frames)
        y = torch.istft(
            spec * mask, self.n_fft, self.hop, window=self.window, center=True, length=x.shape[-1]
        )
        return (y - x)[:, None]  # (B, 1, T)
