"""The subcommands by name: `COMMANDS[name](args) -> exit status` (latentzoo.cli.run_commands and
latentzoo.cli.job_commands hold them)."""

from __future__ import annotations

from .job_commands import (
    cmd_app,
    cmd_compress,
    cmd_decompress,
    cmd_denoise,
    cmd_encode,
    cmd_interpolate,
    cmd_reconstruct,
    cmd_sample,
    cmd_score,
)
from .run_commands import (
    cmd_bench,
    cmd_demo,
    cmd_eval,
    cmd_report,
    cmd_train,
    cmd_train_prior,
    cmd_zoo,
)

COMMANDS = {
    "bench": cmd_bench,
    "report": cmd_report,
    "train": cmd_train,
    "train-prior": cmd_train_prior,
    "eval": cmd_eval,
    "encode": cmd_encode,
    "score": cmd_score,
    "compress": cmd_compress,
    "decompress": cmd_decompress,
    "reconstruct": cmd_reconstruct,
    "sample": cmd_sample,
    "denoise": cmd_denoise,
    "interpolate": cmd_interpolate,
    "demo": cmd_demo,
    "zoo": cmd_zoo,
    "app": cmd_app,
}
