"""The one training loop, shared by the autoencoders, the code prior and the MNIST classifier.

- `fit`: the loop in named parts (restore, epoch, gather, end_epoch);
- `schedule`: seeding and learning-rate schedules; `checkpoint`: its files; `signals`: stopping.

Seeding, one scheme for every job: `init_seed(seed)` before the model is built fixes its
initialisation; at the start of every epoch the global generator is re-seeded from (seed, epoch),
and the data order comes from a generator with that same seed, so each epoch's order, noise and
random draws are fixed by the seed alone. Validation is re-seeded the same way. A run resumed from
its last checkpoint therefore continues exactly as if it had never stopped.

Files (each optional): `best` holds the weights of the epoch with the lowest validation value of
`select_by`; `last` holds weights, optimizer state, the epoch and the best value so far after
every epoch (resume from it); `history` gets one CSV row per epoch. With `checkpoint_every=N`,
`last` is also written every N steps inside an epoch, with the step, the running sums of the epoch's
loss terms and the global generator's state, so a resumed run continues exactly from that step.

Signals: SIGINT and SIGTERM let the current step finish, write `last` at that step and raise
`Interrupted` (exit status 128 + the signal's number), whose message says how to resume.

Safety: a NaN or infinite loss stops training with `TrainingDiverged` before anything more is saved;
checkpoints are written only when every weight is finite.

Data-parallel (latentzoo.distributed, under torchrun): `batches` yields this rank's rows of each
global batch and `step` runs the model wrapped for gradient averaging; the loop weights each rank's
loss by its share of the global batch, sums the epoch's terms over the ranks, checks after every
epoch that the ranks hold the same weights, and writes files and logs on rank 0 only.
"""

from .checkpoint import Files, all_finite, optimizer_state, restore_optimizer, save_last
from .fit import Fit, fit
from .schedule import cosine_lr, epoch_seed, init_seed, warmup_cosine_lr
from .signals import stop_on_signals, stopped

__all__ = [
    "Files",
    "Fit",
    "all_finite",
    "cosine_lr",
    "epoch_seed",
    "fit",
    "init_seed",
    "optimizer_state",
    "restore_optimizer",
    "save_last",
    "stop_on_signals",
    "stopped",
    "warmup_cosine_lr",
]
