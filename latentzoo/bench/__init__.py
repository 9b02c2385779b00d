"""`latentzoo bench`: the project's benchmark table, with published numbers beside ours.

Trains (or reuses, when a run folder already holds the same finished run) the benchmark models
with the configs and budgets in `settings.BUDGETS`, computes every metric of `latentzoo.eval` (a
run's likelihood once, kept in its folder: `run.run_likelihood`), and writes `results.json` and
`RESULTS.md` into the output folder: one table per job, units and protocol stated, the published
anchors (`settings.ANCHORS`) beside our numbers. `--quick` uses small budgets, recorded as such in
both files; its numbers show that the pipeline works, not how good the models are. With `--data`
the bench runs on the user's labelled images (the tables that do not follow an MNIST protocol).

- `settings`: the anchors, the likelihood rows' networks and the budgets;
- `run`: the jobs, one `Bench` method per table;
- `tables`: the tables by name, and those kept from an earlier results.json (`--tables`);
- `rows`: rows that several tables share;
- `markdown`: RESULTS.md, one function per table.
"""

from __future__ import annotations

from pathlib import Path

from ..console import Log, stderr_log
from ..files import atomic_write, write_json
from .markdown import markdown
from .run import Bench, run_likelihood
from .settings import ANCHORS, BUDGETS, FLOOR, FLOOR_OWN


def run_bench(
    out: str | Path,
    quick: bool = False,
    data_dir=None,
    device=None,
    log: Log = stderr_log,
    source=None,
    tables: str | None = None,
) -> dict:
    """The bench on MNIST, or with `source` on those labelled images, written into `out`;
    `tables` (comma-separated names) measures only those and keeps the rest from `out`."""
    out = Path(out)
    res = Bench(out, quick, data_dir, device, log, source).run(tables)
    # unsorted: RESULTS.md written again from the file shows the rows in the order measured
    write_json(out / "results.json", res, sort_keys=False)
    atomic_write(out / "RESULTS.md", markdown(res))
    return res


__all__ = [
    "run_bench",
    "markdown",
    "Bench",
    "run_likelihood",
    "ANCHORS",
    "BUDGETS",
    "FLOOR",
    "FLOOR_OWN",
]
