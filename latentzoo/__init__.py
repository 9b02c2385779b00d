"""latentzoo: the autoencoder family (AE, DAE, VAE, CVAE, VQ-VAE) on MNIST and on your own images
and signals, as a library and a CLI.

    import latentzoo
    cfg = latentzoo.make_config("vae", epochs=10)
    run = latentzoo.train(cfg, "runs/vae")
    model = latentzoo.load(run)

The package is layered; a module imports only from layers below its own (tests/test_layers.py
enforces it, imports inside functions included):

    errors, version
    files, console, device, noise,     safe files, logging and progress, devices, corruption,
    distributed, windows, measures,    data-parallel training, sliding windows, quality measures,
    jpeg_cells                         what a decoded JPEG tells of its clean photo
    zoo                                trained models shipped in the package, found by name
    signal_noise, photo_noise          the noise kinds of signals (SNR in dB, hum, wander, ...)
                                       and of photos (shot noise, JPEG)
    sets                               examples in memory and their splits
    data                               IDX reader, MNIST lookup, the built-in data sets
    sources                            your own data: image folders, IDX folders, .npy/.npz
    lazy                               the same, read batch by batch (data larger than memory)
    inputs                             files that the jobs read and write (images, arrays, IDX)
    series                             your own signals: arrays, tables, recordings in windows
    recordings                         long recordings read and written in chunks of windows
    audio                              audio files (WAV, FLAC, OGG) read, resampled and written
    signal_inputs                      the signal files that the jobs read and write
    sounds                             sound: audio files as training windows and the jobs' files
    photos                             photos of any size: training patches, tiles for the jobs
    examples                           example data in those layouts, from scikit-learn's images
    config                             the run config, defaults per model kind, file versions
    nn                                 torch building blocks with explicit arguments
    kinds                              the kinds of data (image, photo, signal, sound)
    models                             the model kinds behind one interface; the code prior
    codec                              a VQ-VAE and its prior as an image codec
    runs                               run folders and `load`
    loop                               the one training loop
    eval                               metrics, the MNIST classifier, evaluation
    training                           training a model or a prior into a run folder
    jobs                               encode, reconstruct, denoise, score and sample files
    viz                                pictures and the HTML report
    bench                              the benchmark table
    workflows                          `train` as the command line does it, pictures included
    app                                the interactive web page (Gradio, an optional extra)
    cli, __main__                      the command line
"""

from . import jobs
from .config import Config, make_config
from .data import load_dataset
from .errors import LatentzooError
from .models import AE, CVAE, DAE, VAE, VQVAE, ModelOutput, VQVAEWithPrior, build_model
from .noise import corrupt, parse_noise
from .runs import load
from .sources import load_source
from .training import train_prior
from .version import __version__
from .workflows import train

__all__ = [
    "Config",
    "make_config",
    "load_dataset",
    "load_source",
    "jobs",
    "LatentzooError",
    "AE",
    "DAE",
    "VAE",
    "CVAE",
    "VQVAE",
    "VQVAEWithPrior",
    "ModelOutput",
    "build_model",
    "corrupt",
    "parse_noise",
    "load",
    "train",
    "train_prior",
    "__version__",
]
