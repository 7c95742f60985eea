"""Suites trained at several seeds (the second miniature suite): each seed is a checkpoint whose
`cell` and `seed` columns say which cell of the grid it trains and with which seed. Laws are
fitted to the seeds' average probability per question; the seed spread says how far one seed
can be trusted, and whether a step to more data is a fall or seed noise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from t2lib.data.suite import GUESS_COLUMN, Suite, SuiteError

SEED_COLUMNS = ("cell", "seed")
# A step to more data "lowers pass@1" when it falls by more than this many seed standard deviations.
FALL_IN_SDS = 2.0
# A step whose two cells both score at most this multiple of the guessing level has learnt nothing to lose.
LEARNT = 3.0


def has_seeds(suite: Suite) -> bool:
    """Whether the suite records which cell and seed each checkpoint is."""
    return all(column in suite.checkpoints for column in SEED_COLUMNS)


def _require_seeds(suite: Suite) -> None:
    if not has_seeds(suite):
        raise SuiteError(f"{suite.path}/checkpoints.csv: no 'cell' and 'seed' columns; this suite has one seed per checkpoint")


def seed_averaged(suite: Suite) -> Suite:
    """The suite with each cell's seeds merged into one checkpoint named by the cell: its NLL on a
    question is −log of the seeds' mean probability, and its `seeds` column counts them. A
    suite without seed columns is returned as it is. Kept for the last few suites averaged (by
    checksum): every fit and measurement of a seeded suite asks for it."""
    if not has_seeds(suite):
        return suite
    if suite.sha256 not in _AVERAGED:
        while len(_AVERAGED) >= 4:
            _AVERAGED.pop(next(iter(_AVERAGED)))
        _AVERAGED[suite.sha256] = _average_seeds(suite)
    return replace(_AVERAGED[suite.sha256], path=suite.path)


_AVERAGED: dict[str, Suite] = {}


def runs_as_checkpoints(suite: Suite) -> Suite:
    """The suite with each seed's run a checkpoint of its own (no cell and seed columns), so that a
    fit weighs every run alike and models what one trained model scores, not the seeds' pooled
    probabilities (an ensemble's)."""
    _require_seeds(suite)
    return replace(suite, checkpoints=suite.checkpoints.drop(columns=list(SEED_COLUMNS)),
                   sha256=runs_digest(suite.sha256))


def runs_digest(sha256: str) -> str:
    """The checksum that `runs_as_checkpoints` gives the suite whose checksum is `sha256` (what
    fits and forecasts made from it record as their suite's)."""
    return hashlib.sha256(f"{sha256} runs as checkpoints".encode()).hexdigest()


def _average_seeds(suite: Suite) -> Suite:
    rows = suite.checkpoints
    differing = rows.groupby("cell")[["params", "tokens", "stage"]].nunique().gt(1).any(axis=1)
    if differing.any():
        raise SuiteError(f"{suite.path}/checkpoints.csv: the seeds of cell {differing.idxmax()!r} differ in N, D or stage")
    cell_of = rows.set_index("checkpoint")["cell"]
    probabilities = suite.nll.assign(cell=suite.nll["checkpoint"].map(cell_of), p=np.exp(-suite.nll["nll"]))
    merged = probabilities.groupby(["cell", "task", "question"], sort=False)["p"].mean().reset_index()
    nll = pd.DataFrame({"checkpoint": merged["cell"], "task": merged["task"], "question": merged["question"],
                        "nll": -np.log(merged["p"].to_numpy())})
    first = rows.drop_duplicates("cell").set_index("cell")
    checkpoints = first.assign(checkpoint=first.index, seeds=rows.groupby("cell")["seed"].nunique(),
                               base_checkpoint=first["base_checkpoint"].map(cell_of).fillna(""))
    checkpoints = checkpoints.reset_index(drop=True).drop(columns="seed")
    digest = hashlib.sha256(f"{suite.sha256} seed-averaged".encode()).hexdigest()
    return replace(suite, checkpoints=checkpoints, nll=nll, sha256=digest)


def seed_rows(suite: Suite, task: str, stage: str, cells: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each seed's NLL matrix (seeds × questions, questions in `nll_matrices` order) and, per cell
    of `cells`, the rows of its seeds in seed order."""
    meta, nll = suite.nll_matrices(task, stage)
    groups = meta.reset_index(drop=True).sort_values("seed", kind="stable").groupby("cell").groups
    return nll, [np.asarray(groups[cell]) for cell in cells]


def seed_spread(suite: Suite, stage: str = "base") -> pd.DataFrame:
    """Per cell and task: the seeds, and the mean and standard deviation over seeds of pass@1
    (each seed's mean probability of the whole answer; sd NaN for a single seed), with the cell's
    N, D and training budget."""
    _require_seeds(suite)
    chosen = suite.checkpoints[suite.checkpoints["stage"] == stage]
    per_seed = (suite.nll[suite.nll["checkpoint"].isin(chosen["checkpoint"])]
                .assign(p=lambda t: np.exp(-t["nll"])).groupby(["checkpoint", "task"])["p"].mean()
                .rename("pass_at_1").reset_index()
                .merge(chosen[["checkpoint", "cell", "params", "tokens", "train_flops"]], on="checkpoint"))
    return (per_seed.groupby(["cell", "params", "tokens", "train_flops", "task"], sort=False)["pass_at_1"]
            .agg(seeds="size", mean="mean", sd="std").reset_index())


def _learnt(pass_at_1: ArrayLike, suite: Suite, task: str) -> NDArray[np.bool_]:
    """Whether each pass@1 is above LEARNT times the task's guessing level (tasks.csv's guess;
    True everywhere where it is not recorded)."""
    guess = suite.tasks.set_index("task")[GUESS_COLUMN].get(task, np.nan) if GUESS_COLUMN in suite.tasks else np.nan
    pass_at_1 = np.asarray(pass_at_1, dtype=float)
    return np.ones(pass_at_1.shape, bool) if not np.isfinite(guess) else pass_at_1 > LEARNT * guess


def learnt_cells(suite: Suite, task: str, stage: str = "base") -> list[str]:
    """The cells of `stage` whose seed-mean pass@1 on `task` is above LEARNT times the guessing
    level (`_learnt`): the cells that have learnt something of the task."""
    spread = seed_spread(suite, stage)
    rows = spread[spread["task"] == task]
    return rows.loc[_learnt(rows["mean"], suite, task), "cell"].tolist()


def steps_to_more_data(suite: Suite, stage: str = "base") -> pd.DataFrame:
    """Every step from one cell to the next-larger D at the same N, per task: pass@1 (seed mean)
    before and after, the pooled seed standard deviation of the two cells, whether the step
    lowers pass@1 by more than FALL_IN_SDS of it (False where either cell has a single seed), and
    whether either cell scores above LEARNT times the guessing level (tasks.csv's guess; True
    where it is not recorded): a fall between two cells that learnt nothing is noise about the
    guessing level, not lost skill, and is reported apart."""
    spread = seed_spread(suite, stage).sort_values(["task", "params", "tokens"])
    rows = []
    for (task, params), ladder in spread.groupby(["task", "params"], sort=False):
        for before, after in zip(ladder.iloc[:-1].itertuples(), ladder.iloc[1:].itertuples()):
            pooled = float(np.sqrt((before.sd ** 2 + after.sd ** 2) / 2))
            rows.append({"task": task, "params": params, "from_cell": before.cell, "to_cell": after.cell,
                         "from_tokens_per_param": before.tokens / params, "to_tokens_per_param": after.tokens / params,
                         "pass_at_1_before": before.mean, "pass_at_1_after": after.mean, "seed_sd": pooled,
                         "falls": bool(np.isfinite(pooled) and before.mean - after.mean > FALL_IN_SDS * pooled),
                         "learnt": bool(_learnt(max(before.mean, after.mean), suite, task))})
    return pd.DataFrame(rows)
