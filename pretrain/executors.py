"""Where the training jobs of a grid run: a local process pool, or submitit (Slurm job arrays on a
cluster; local subprocesses elsewhere).

    pool   (default) one process per worker on this machine, one thread each
    local  submitit's LocalExecutor: each job its own subprocess, at most `workers` at once
    slurm  submitit's SlurmExecutor: one job array of every pending job, `workers` running at
           once (--partition, --gpus-per-node, --cpus-per-task, --timeout-min)

Every kind runs the same job function, and every job checkpoints itself before its deadline (the
time budget on this machine; the job's --timeout-min less a margin on Slurm), so that running
the same command again continues where the last one stopped. submitit keeps each job's pickled
call, log and result in `<runs>/_submitit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("pool", "local", "slurm")
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Placement:
    """How and where jobs run; `timeout_min` bounds one job on Slurm (and submitit local)."""

    kind: str = "pool"
    workers: int = 2
    partition: str | None = None
    gpus_per_node: int = 0
    cpus_per_task: int = 1
    timeout_min: int = 240
    folder: Path = Path("runs/_submitit")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"--executor must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1; got {self.workers}")

    def job_seconds(self, seconds_left: float) -> float:
        """A job's own time limit: the budget left here, or its Slurm limit less 10 minutes."""
        return max(60.0, 60.0 * self.timeout_min - 600.0) if self.kind == "slurm" else seconds_left


def _submitit_executor(placement: Placement):
    import submitit  # only the submitit kinds need it

    executor = submitit.AutoExecutor(folder=placement.folder, cluster=placement.kind)
    executor.update_parameters(timeout_min=placement.timeout_min, gpus_per_node=placement.gpus_per_node)
    if placement.kind == "slurm":
        executor.update_parameters(slurm_partition=placement.partition, cpus_per_task=placement.cpus_per_task,
                                   slurm_array_parallelism=placement.workers,
                                   slurm_setup=["export OMP_NUM_THREADS=1"])
    return executor


def launch(function: Callable[[Any], Any], jobs: Iterable[Any], placement: Placement,
           deadline: float) -> Iterator[Any]:
    """Run `function(job)` for each job, yielding results as jobs end. Locally, at most
    `workers` run at once and no job starts after `deadline` (time.monotonic()); on Slurm every
    job is submitted at once as one array."""
    queue = iter(jobs)
    if placement.kind == "slurm":
        executor = _submitit_executor(placement)
        with executor.batch():
            running = [executor.submit(function, job) for job in queue]
        yield from _as_done(running, lambda: None)
        return
    if placement.kind == "pool":
        with ProcessPoolExecutor(placement.workers) as pool:
            yield from _keep_busy(pool.submit, function, queue, placement.workers, deadline)
        return
    yield from _keep_busy(_submitit_executor(placement).submit, function, queue, placement.workers, deadline)


def _keep_busy(submit: Callable, function: Callable, queue: Iterator, workers: int,
               deadline: float) -> Iterator[Any]:
    running: list = []

    def refill() -> None:
        while len(running) < workers and time.monotonic() < deadline:
            job = next(queue, None)
            if job is None:
                return
            running.append(submit(function, job))

    refill()
    yield from _as_done(running, refill)


def _as_done(running: list, refill: Callable[[], None]) -> Iterator[Any]:
    """Results of the jobs in `running` as they end, calling `refill` after each."""
    while running:
        done = next((j for j in running if j.done()), None)
        if done is None:
            time.sleep(POLL_SECONDS)
            continue
        running.remove(done)
        yield done.result()
        refill()
