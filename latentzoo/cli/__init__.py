"""The `latentzoo` command line (also `python -m latentzoo`).

    latentzoo train {ae,dae,vae,cvae,vqvae} --out DIR   a model trained into a run folder
                                          (--data SOURCE: your own images)
    latentzoo train-prior DIR             a prior over a VQ-VAE's codes
    latentzoo eval DIR [--json]           test-set metrics of a run
    latentzoo encode DIR INPUT... --out FEATURES.npy
                                          latent means or code grids of your images
    latentzoo score DIR INPUT... --out scores.csv [--fpr 0.01]
                                          anomaly scores, a calibrated threshold, flags
    latentzoo reconstruct DIR [INPUT...] --out OUTDIR|FILE.png
                                          your images reconstructed (or test images)
    latentzoo denoise DIR [INPUT...] --out OUTDIR|FILE.png
                                          your images denoised (or test images, --noise)
    latentzoo sample DIR -n 64 --out FILE.png|FILE.npy|OUTDIR
                                          new images [--digit D]
    latentzoo interpolate DIR --out FILE.png
                                          walks between test images
    latentzoo report DIR [--out FILE.html]
                                          HTML page: settings, metrics, plots
    latentzoo bench [--quick]             the benchmark table (results.json, RESULTS.md)
    latentzoo demo [--out DIR]            a short VAE run with pictures

`train`'s options, help and defaults come from the Config fields (latentzoo.config). A user mistake
prints one line to stderr and exits with status 2; no traceback. `parser` builds the options,
`commands` holds one function per subcommand."""

from __future__ import annotations

import sys

from ..errors import LatentzooError
from ..files import check_writable
from .commands import COMMANDS
from .options import one_line
from .parser import build_parser

__all__ = ["main", "build_parser"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        out = getattr(args, "out", None)
        # an output that can never be written fails before the work, not after it
        if out is not None:
            check_writable(out, folder=args.command in ("train", "bench", "demo") or not out.suffix)
        return COMMANDS[args.command](args)
    except LatentzooError as e:
        print(f"latentzoo: error: {e}", file=sys.stderr)  # one line already (LatentzooError)
        return e.exit_code
    except KeyboardInterrupt:
        print(
            "latentzoo: interrupted (a training run continues from "
            "its last checkpoint with --resume)",
            file=sys.stderr,
        )
        return 130
    except OSError as e:
        print(
            one_line(f"latentzoo: error: {e.strerror or e}: {e.filename or ''}".rstrip(": ")),
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
