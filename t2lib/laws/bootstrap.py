"""Uncertainty by the bootstrap: refit the laws on resampled data and read percentile bands.

A replicate resamples, with replacement and from one seeded generator, (1) the checkpoints —
the same draw for every task when all tasks were answered by the same checkpoints, so a
replicate is one alternative grid (otherwise each task draws from its own) — and (2) the
questions of each task — the same draw for every checkpoint, so a question keeps its
difficulty across sizes — and, on a suite trained at several seeds (`t2lib.data.seeds`), (3) the
seeds of each drawn cell, whose mean probability per question is the cell's measurement, the
same draw for every task (a seed is one trained model). The seeds are drawn from a stream of
their own, so the cells and questions drawn are those of the same suite without its seeds.
Each replicate is refitted with the fast recipe, warm-started from the full-data fit
(`analysis.fit_task(start=...)`), and any quantity computed from its laws (a frontier, an
isoFLOP optimum, N∞, an extrapolation error) gets a percentile band across replicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from t2lib.book.cache import memoized
from t2lib.data.seeds import has_seeds, seed_averaged, seed_rows
from t2lib.data.suite import Suite
from t2lib.laws.analysis import FIT_KS, Measured, TaskFits, fit_task, log_pass_matrix, nll_of

BAND_LEVEL = 0.9  # the central probability of a band, unless a caller chooses another


@dataclass(frozen=True)
class Replicates:
    """The refitted laws of each bootstrap replicate, and what producing them cost."""

    fits: list[dict[str, TaskFits]]
    seed: int
    seconds: float

    def __len__(self) -> int:
        return len(self.fits)

    def statuses(self) -> dict[str, int]:
        """How the replicates' fits ended: count per status over every task and law."""
        counts: dict[str, int] = {}
        for replicate in self.fits:
            for fit in replicate.values():
                for result in fit.results().values():
                    counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    def collect(self, quantity: Callable[[dict[str, TaskFits]], ArrayLike]) -> NDArray[np.float64]:
        """`quantity` evaluated on every replicate, stacked: shape (replicates, *its shape)."""
        return np.array([np.asarray(quantity(fits), dtype=float) for fits in self.fits])


def bootstrap_fits(suite: Suite, fits: Mapping[str, TaskFits], *, resamples: int, seed: int,
                   ks: ArrayLike = FIT_KS, checkpoints: Collection[str] | None = None) -> Replicates:
    """Refit every task of `fits` (the full-data fits, which give stage and warm starts) on
    `resamples` bootstrap replicates of the suite, or of the named `checkpoints` only (the
    ones `fits` were fitted on)."""
    if resamples < 2:
        raise ValueError(f"resamples must be at least 2 to give a band; got {resamples}")
    key = {"suite": suite.sha256, "fits": repr([(task, fit.stage, [r.law for r in fit.results().values()])
                                                for task, fit in fits.items()]),
           "resamples": resamples, "seed": seed, "ks": [float(k) for k in np.atleast_1d(ks)],
           "checkpoints": None if checkpoints is None else sorted(checkpoints)}
    return memoized("bootstrap_fits", key, lambda: _refit_replicates(suite, fits, resamples, seed, ks, checkpoints))


def _refit_replicates(suite: Suite, fits: Mapping[str, TaskFits], resamples: int, seed: int, ks: ArrayLike,
                      checkpoints: Collection[str] | None) -> Replicates:
    started = time.perf_counter()
    stages = {task: fit.stage for task, fit in fits.items()}
    replicates = [{task: fit_task(measured, start=fits[task]) for task, measured in drawn.items()}
                  for drawn in resampled_measurements(suite, stages, resamples=resamples, seed=seed, ks=ks,
                                                      checkpoints=checkpoints)]
    return Replicates(replicates, seed, time.perf_counter() - started)


def resampled_measurements(suite: Suite, stages: Mapping[str, str], *, resamples: int, seed: int,
                           ks: ArrayLike = FIT_KS, checkpoints: Collection[str] | None = None
                           ) -> Iterator[dict[str, Measured]]:
    """The fit targets of each bootstrap replicate, task by task (task → stage in `stages`): the
    draws the module docstring describes. On a suite with seeds, the checkpoints are its cells
    (`seeds.seed_averaged`) and `checkpoints` names cells."""
    cells = seed_averaged(suite)
    matrices = {task: nll_of(cells, task, stage, checkpoints) for task, stage in stages.items()}
    ks = np.asarray(ks, dtype=float)
    seeds = ({task: seed_rows(suite, task, stage, matrices[task][0]["checkpoint"]) for task, stage in stages.items()}
             if has_seeds(suite) else None)
    # log pass@k per (checkpoint, question, k), once per task: a replicate only re-averages it.
    log_pass = {} if seeds else {task: log_pass_matrix(nll, ks) for task, (_, nll) in matrices.items()}
    answered = [sorted(meta["checkpoint"]) for meta, _ in matrices.values()]
    joint = all(names == answered[0] for names in answered)  # else each task draws from its own checkpoints
    rng, seed_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    for _ in range(resamples):
        drawn = [answered[0][i] for i in rng.integers(0, len(answered[0]), len(answered[0]))] if joint else None
        seed_draws: dict[int, NDArray] = {}  # i-th drawn cell → positions among its seeds, shared by the tasks
        replicate = {}
        for task, (meta, nll) in matrices.items():
            position = {name: i for i, name in enumerate(meta["checkpoint"])}
            rows = (np.array([position[name] for name in drawn]) if joint
                    else rng.integers(0, len(position), len(position)))
            columns = rng.integers(0, nll.shape[1], nll.shape[1])
            if seeds:
                per_seed_nll, members = seeds[task]
                draws = [_seed_draw(seed_draws if joint else {}, i, len(members[row]), seed_rng)
                         for i, row in enumerate(rows)]
                picked_log_pass = log_pass_matrix(_mean_probability_nll(per_seed_nll, members, rows, draws)[:, columns], ks)
            else:
                picked_log_pass = log_pass[task][np.ix_(rows, columns)]
            replicate[task] = Measured(task, stages[task], meta.iloc[rows].reset_index(drop=True), ks,
                                       -picked_log_pass.mean(axis=1), np.exp(picked_log_pass).mean(axis=1))
        yield replicate


def _seed_draw(shared: dict[int, NDArray], i: int, seeds: int, rng: np.random.Generator) -> NDArray:
    """The i-th drawn cell's seeds (positions, with replacement): drawn once and shared by every
    task that has the same number of seeds for it."""
    if i not in shared or len(shared[i]) != seeds:
        shared[i] = rng.integers(0, seeds, seeds)
    return shared[i]


def _mean_probability_nll(per_seed_nll: NDArray, members: list[NDArray], rows: NDArray,
                          draws: list[NDArray]) -> NDArray:
    """For each drawn cell, −log of the mean probability over its drawn seeds, per question."""
    return np.stack([-(logsumexp(-per_seed_nll[members[row][draw]], axis=0) - np.log(len(draw)))
                     for row, draw in zip(rows, draws)])


def percentile_band(values: ArrayLike, level: float = BAND_LEVEL) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The central `level` percentile band of bootstrap values (axis 0: replicates), ignoring
    NaN entries (a replicate for which a quantity does not exist); NaN where none exists."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    values = np.asarray(values, dtype=float)
    tail = 100 * (1 - level) / 2
    lower, upper = np.full(values.shape[1:], np.nan), np.full(values.shape[1:], np.nan)
    present = np.isfinite(values).any(axis=0)
    if present.any():
        lower[present] = np.nanpercentile(values[:, present], tail, axis=0)
        upper[present] = np.nanpercentile(values[:, present], 100 - tail, axis=0)
    return lower, upper


def laws_of(replicate: Mapping[str, TaskFits], approach: str) -> Sequence:
    """The per-task laws of one replicate for "Approach 1" or "Approach 2"."""
    if approach not in ("Approach 1", "Approach 2"):
        raise ValueError(f"approach must be 'Approach 1' or 'Approach 2'; got {approach!r}")
    return [fit.approach1.law if approach == "Approach 1" else fit.approach2.law for fit in replicate.values()]
