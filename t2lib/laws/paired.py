"""Paired comparisons of two models on the same questions.

A head-to-head (the T² model against the Chinchilla model, each at its own k) is a difference
of macro averages over the same questions, so its uncertainty is that of the questions drawn:
`paired_difference` resamples questions within each task, the same draws for both models, and
returns the difference with its percentile interval and the outcome `report.decide` gives it
(a win or a loss only where the interval excludes zero; otherwise a tie). A model trained at
several seeds is given as an array of shape (seeds, questions): its value is the mean over its
seeds (what training the recipe once scores, on average), and each draw also resamples each
model's seeds, independently, from a stream of its own (so the questions drawn are those of the
same comparison without seeds). A seed is one training run scored on every task, so a draw's
seeds are the same for every task of a model. With one seed per model, the interval is a floor
under the true uncertainty; with two, the resampled seeds understate their spread by half its
variance (a bootstrap of n values has (n − 1)/n of their variance), so it is still a floor.

Measures, all means over questions of a per-question value (so the macro average is a mean
of task means):
- `pass_at_k`: 1 − (1 − p)^k with p = exp(−NLL), higher is better;
- `task_nll`: −log pass@k, Approach 1's target, lower is better;
- `skill`: pass@k above the guessing level at the same k, (pass@k − g_k)/(1 − g_k) with
  g_k = 1 − (1 − g)^k and g the task's guess probability (tasks.csv), higher is better; 0 is
  what guessing alone reaches. A task where guessing reaches more than 1 − SKILL_FLOOR at either
  model's k has no room left to measure skill, and is left out of the macro average (the result
  names the tasks it used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from t2lib.book.report import decide
from t2lib.laws.passk import log_pass_at_k, pass_at_k

HIGHER_IS_BETTER = {"pass_at_k": True, "task_nll": False, "skill": True}
DECISION_LEVEL = 0.95  # the interval a win or a loss must clear
# Skill is not measured where guessing alone reaches more than 1 − SKILL_FLOOR of pass@k: dividing
# by 1 − g_k would then blow tiny differences up without bound.
SKILL_FLOOR = 0.01


def per_question(nll: ArrayLike, k: float, measure: str, guess: float = np.nan) -> NDArray[np.float64]:
    """Each question's value of `measure` for one model drawing k samples."""
    if measure not in HIGHER_IS_BETTER:
        raise ValueError(f"measure must be one of {', '.join(HIGHER_IS_BETTER)}; got {measure!r}")
    log_pass = log_pass_at_k(np.asarray(nll, dtype=float), k)
    if measure == "task_nll":
        return -log_pass
    passed = np.exp(log_pass)
    if measure == "pass_at_k":
        return passed
    if not 0 < guess < 1:
        raise ValueError(f"skill above guessing needs the task's guess probability in (0, 1); got {guess}")
    level = pass_at_k(guess, k)  # guessing's pass@k
    if 1.0 - level < SKILL_FLOOR:
        raise ValueError(f"guessing alone reaches {level:.4f} at k = {k:g}: no room left to measure skill")
    return (passed - level) / (1.0 - level)


def macro_guess(guess: Mapping[str, float] | None, tasks: Sequence[str], k: float) -> float:
    """Guessing's macro pass@k over `tasks` from each task's guess probability (NaN without them)."""
    return float(np.mean([pass_at_k(guess[t], k) for t in tasks])) if guess is not None else float("nan")


@dataclass(frozen=True)
class PairedDifference:
    """Model a against model b on one measure: macro values, a − b with its interval, the outcome
    for a ("win", "loss" or "tie" under `report.decide`)."""

    measure: str
    a: float
    b: float
    difference: float
    low: float
    high: float
    level: float
    outcome: str
    tasks: tuple[str, ...]  # the tasks averaged (skill leaves out those guessing nearly solves)


def seed_draws(values: NDArray, questions: NDArray, chosen: NDArray) -> NDArray:
    """Per bootstrap draw: the mean of `values` (seeds × questions) over the draw's `questions`
    (draws × questions) and its `chosen` seeds (draws × seeds, drawn with replacement; the same
    for every task of a model, as a seed is one training run scored on every task)."""
    per_seed = values[:, questions].mean(axis=2)  # (seeds, draws)
    return np.take_along_axis(per_seed.T, chosen, axis=1).mean(axis=1)


def _seed_count(model: Mapping[str, ArrayLike], tasks: Sequence[str]) -> int:
    counts = {np.atleast_2d(np.asarray(model[task])).shape[0] for task in tasks}
    if len(counts) != 1:
        raise ValueError(f"a model has different numbers of seeds across tasks ({sorted(counts)})")
    return counts.pop()


def paired_difference(a: Mapping[str, ArrayLike], b: Mapping[str, ArrayLike], k_a: float, k_b: float, measure: str, *,
                      tasks: Sequence[str] | None = None, guess: Mapping[str, float] | None = None,
                      resamples: int = 2000, level: float = DECISION_LEVEL, seed: int = 0) -> PairedDifference:
    """Macro `measure` of model a (per-question NLLs `a[task]`, k_a samples; (seeds, questions)
    for several seeds) minus model b's, over `tasks` (default: all of a's), with a `level`
    percentile interval from `resamples` paired bootstrap draws of each task's questions (and of
    each model's seeds)."""
    tasks = list(a) if tasks is None else list(tasks)
    if measure == "skill" and guess is not None:
        tasks = [t for t in tasks if 1.0 - pass_at_k(guess[t], max(k_a, k_b)) >= SKILL_FLOOR]
        if not tasks:
            raise ValueError(f"guessing nearly solves every task at k = {max(k_a, k_b):g}: no skill left to compare")
    rng, seed_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    seeds_a, seeds_b = _seed_count(a, tasks), _seed_count(b, tasks)
    chosen_a = seed_rng.integers(0, seeds_a, size=(resamples, seeds_a))
    chosen_b = seed_rng.integers(0, seeds_b, size=(resamples, seeds_b))
    estimates, draws, values_a, values_b = [], [], [], []
    for task in tasks:
        nll_a, nll_b = np.atleast_2d(np.asarray(a[task], dtype=float)), np.atleast_2d(np.asarray(b[task], dtype=float))
        if nll_a.shape[1] != nll_b.shape[1] or nll_a.ndim != 2 or nll_b.ndim != 2:
            raise ValueError(f"task {task!r}: the two models answer different questions "
                             f"({np.shape(a[task])} and {np.shape(b[task])})")
        g = np.nan if guess is None else guess[task]
        va, vb = per_question(nll_a, k_a, measure, g), per_question(nll_b, k_b, measure, g)  # (seeds, questions)
        values_a.append(va.mean())
        values_b.append(vb.mean())
        estimates.append((va.mean(axis=0) - vb.mean(axis=0)).mean())
        questions = rng.integers(0, va.shape[1], size=(resamples, va.shape[1]))
        if seeds_a == 1 and seeds_b == 1:
            draws.append((va[0] - vb[0])[questions].mean(axis=1))
        else:
            draws.append(seed_draws(va, questions, chosen_a) - seed_draws(vb, questions, chosen_b))
    difference = float(np.mean(estimates))
    low, high = np.quantile(np.mean(draws, axis=0), [(1 - level) / 2, (1 + level) / 2])
    outcome = decide(float(low), float(high), higher_is_better=HIGHER_IS_BETTER[measure])
    return PairedDifference(measure, float(np.mean(values_a)), float(np.mean(values_b)), difference, float(low),
                            float(high), level, outcome, tuple(tasks))
