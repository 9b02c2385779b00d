"""Stopping on a signal: SIGINT and SIGTERM let the current step finish and a checkpoint be written
(`stop_on_signals`), then raise `Interrupted` with how to resume (`stopped`). `fault_point` is the
tests' hook for a signal at a chosen moment of training (instead of a sleep that may miss it)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

from ..errors import Interrupted


@contextlib.contextmanager
def stop_on_signals():
    """While training: SIGINT and SIGTERM set `flag["signum"]` instead of killing the process; the
    first one restores the usual handlers, so a second one acts at once."""
    flag: dict[str, int | None] = {"signum": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    # a signal the process was started to ignore (SIGINT in a background job) stays ignored
    old = {
        s: h
        for s in (signal.SIGINT, signal.SIGTERM)
        if (h := signal.getsignal(s)) is not signal.SIG_IGN
    }

    def handler(signum, _frame):
        flag["signum"] = signum
        for s, h in old.items():
            signal.signal(s, h)

    for s in old:
        signal.signal(s, handler)
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def stopped(signum: int, where: str, last: Path | None) -> None:
    name = signal.Signals(signum).name
    saved = (
        f"checkpoint written to {last}: continue with --resume"
        if last is not None
        else "no checkpoint kept"
    )
    raise Interrupted(f"stopped by {name} at {where}; {saved}", signum)


FAULT_ENV = "LATENTZOO_FAULT"  # for tests: "SIGNAL@POINT", e.g. "KILL@epoch 2, step 3"


def fault_point(point: str) -> None:
    """Where $LATENTZOO_FAULT names `point` (as `epoch E, step S` before that step, `end of epoch
    E` after its files are written, `report`; a prior's with `prior ` before), the process sends
    itself the signal named (KILL, TERM, INT), as a user or the system might at that moment."""
    name, _, at = os.environ.get(FAULT_ENV, "").partition("@")
    if at == point:
        os.kill(os.getpid(), signal.Signals[f"SIG{name}"])
