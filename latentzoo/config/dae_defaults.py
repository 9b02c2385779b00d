"""The DAE's default training corruption and settings on each kind of data: one drawn per example
from a mixture of noise kinds at several strengths (latentzoo.noise, latentzoo.signal_noise,
latentzoo.photo_noise), clean examples among them so that a DAE learns to leave clean data alone.
latentzoo.config.model's `DAESettings` takes them as its defaults. Why each is what it is:
benchmarks/EXPERIMENTS.md."""

from __future__ import annotations

# The DAE's training corruption: the three kinds of latentzoo.noise at several strengths, one drawn
# per image, and a clean image among them (gaussian:0), so it learns to leave clean digits alone.
DAE_NOISE = (
    "gaussian:0|gaussian:0.1|gaussian:0.3|gaussian:0.5|mask:0.2|mask:0.4|mask:0.6|"
    "salt_pepper:0.05|salt_pepper:0.1|salt_pepper:0.2"
)
# The DAE's training corruption on signals: kinds that need no sample rate (latentzoo.signal_noise)
SIGNAL_DAE_NOISE = "white:0|white:10|white:20|impulse:0.01|dropout:0.1"
# The DAE's training corruption on sound: white, pink and brown noise and babble from -5 to 20 dB
# SNR, one drawn per window, and clean windows among them
SOUND_DAE_NOISE = "|".join(
    ["gaussian:0"]
    + [f"{k}:{db}" for k in ("white", "pink", "babble") for db in (-5, 0, 5, 10, 20)]
    + [f"brown:{db}" for db in (0, 10)]
)
# A DAE on sound: a code sequence, the input's spectrum masked (its phase kept), a spectral loss
SOUND_DAE = dict(latent="grid", skip="mask", noise=SOUND_DAE_NOISE, spectral=1.0)
# The DAE's training corruption on photographs: one blind model over gaussian noise of 5/255 to
# 55/255, a camera's shot and read noise, and JPEG artefacts (latentzoo.photo_noise)
PHOTO_DAE_NOISE = "|".join(
    [f"gaussian:{round(k / 255, 4)}" for k in range(5, 60, 5)]
    + ["poisson:0.005+gaussian:0.01", "poisson:0.01+gaussian:0.02", "poisson:0.02+gaussian:0.02"]
    + [f"jpeg:{q}" for q in (10, 20, 30, 40)]
)
# A photo DAE: fully convolutional, a full-size block at each end, the input plus a U-Net's
# correction (detail at full size never has to pass the grid), small batches (more steps for the
# same arithmetic), each batch flipped or turned (a photo so is still a photo)
PHOTO_DAE = dict(
    latent="grid",
    skip="unet",
    latent_dim=64,
    fine_blocks=1,
    noise=PHOTO_DAE_NOISE,
    batch_size=32,
    views=8,
)
