"""Fit quality: each fitted law classified, so that prose and plans can tell a benign bound from
a degenerate fit.

A fit that ends with a parameter on a bound is not automatically benign. Three classes:
- **converged**: no parameter on a bound, and an in-sample R² at least `R2_FLOOR`;
- **benign bound**: the only parameters on a bound are ones a saturating task is expected to
  put there (the irreducible loss E at its lower end: the task can be solved completely; the
  asymptote θ₂ at 1: every question is eventually answered), and R² at least the floor;
- **degenerate**: anything else — a size, data or sampling term fitted to zero (the law then
  ignores model size, training tokens or samples), an exponent on its search bound, E at the
  top of its range (no returns to scale left), too few points, or R² below the floor.

Each class comes with its reasons in words and, for a degenerate fit, the data that would fix
it, for the chapters and for the gate of `plan`/`forecast` (`check_laws`), which refuses a plan
that rests on a degenerate law unless the caller allows it, and then flags every row it touches.
A task needs `MIN_QUESTIONS` questions to be fitted at all (`require_questions`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from t2lib.laws.fit import FitResult

R2_FLOOR = 0.9
QUALITY_COLUMNS = ["task", "law", "quality", "r2", "points", "reasons"]  # `quality_table` as a reader needs it
MIN_POINTS = 7
# Fewer questions than this make pass@k so coarse (steps of 1/questions) that no law can be told
# from noise; a one-question task would pass through import, fit and plan as a 0/1 curve.
MIN_QUESTIONS = 20
BENIGN = {("E", "lower"): "E at its lower end (no irreducible task loss: the task can be solved completely)",
          ("theta2", "upper"): "θ₂ = 1 (pass@k tends to 1: every question is eventually answered)"}
TERMS = {"A": "the size term A is zero: the law does not depend on model size",
         "B": "the data term B is zero: the law does not depend on training tokens",
         "G": "the sampling term G is zero: more samples never help"}
EXPONENTS = {"alpha": "α", "beta": "β", "gamma": "γ"}
# Approach 2's concentration of per-question accuracy, ν = exp(θ₃ + θ₄·L̂), on a bound of its range.
SPREAD = {"lower": "θ₃ on its lower bound: questions are modelled as solved almost always or almost never, so "
                   "pass@k rises with k as slowly as the law allows",
          "upper": "θ₃ on its upper bound: every question is modelled as equally hard, so pass@k rises with k as "
                   "fast as the law allows"}
# What data would fix each kind of degenerate fit, in words.
REMEDIES = {"A": "checkpoints spanning a wider range of model sizes at each budget",
            "B": "checkpoints spanning a wider range of tokens per parameter",
            "G": "a task the models answer some of the time (too hard or too easy a task gains nothing from samples)",
            "exponent": "checkpoints at more budgets and sizes, so that the exponent is pinned down",
            "E": "larger budgets, at which the task still improves",
            "points": f"at least {MIN_POINTS} checkpoints of the task",
            "r2": "less noise: more questions per task or seeds per cell, or checkpoints whose task metric "
                  "improves with scale",
            "spread": "checkpoints that answer a task's questions some of the time, so that the spread of "
                      "per-question accuracy is measured",
            "optimiser": "a refit with --method paper, or a check of the data"}
_BOUND = re.compile(r"^(?P<name>\w+) = \S+ \((?P<side>lower|upper) bound\)$")


@dataclass(frozen=True)
class FitQuality:
    """A fit's class ("converged", "benign bound" or "degenerate"), why, and its in-sample R²."""

    status: str
    reasons: tuple[str, ...]
    r2: float
    remedies: tuple[str, ...] = ()  # for a degenerate fit: the data that would fix it

    @property
    def degenerate(self) -> bool:
        return self.status == "degenerate"


def r_squared(measured: ArrayLike, predicted: ArrayLike) -> float:
    """In-sample R² = 1 − SS_res/SS_tot of a law's predictions of its own fit targets."""
    measured, predicted = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    total = float(np.sum((measured - measured.mean()) ** 2))
    return float("nan") if total == 0 else 1.0 - float(np.sum((measured - predicted) ** 2)) / total


def bound_reason(hit: str) -> tuple[str | None, str]:
    """(remedy key, or None when benign; reason) for one entry of FitResult.on_bounds, e.g.
    "A = 0 (lower bound)"."""
    match = _BOUND.match(hit)
    if match is None:
        return "optimiser", f"on a bound: {hit}"
    name, side = match["name"], match["side"]
    if (name, side) in BENIGN:
        return None, BENIGN[(name, side)]
    if name in TERMS and side == "lower":
        return name, TERMS[name]
    if name in EXPONENTS:
        return "exponent", f"the exponent {EXPONENTS[name]} is on its search bound ({side}): its value is not determined"
    if name == "theta3":
        return "spread", SPREAD[side]
    if name == "E" and side == "upper":
        return "E", "E at the top of its range: the fit leaves no improvement with scale"
    return "optimiser", f"on a bound: {hit}"


def classify(result: FitResult, r2: float = float("nan"), *, min_points: int = MIN_POINTS,
             r2_floor: float = R2_FLOOR) -> FitQuality:
    """The class of one fit from its bounds, its number of points and its in-sample R² (NaN:
    not measured, which does not by itself make a fit degenerate)."""
    reasons, remedies, benign = [], [], []
    for hit in result.on_bounds:
        remedy, reason = bound_reason(hit)
        if remedy is None:
            benign.append(reason)
        else:
            reasons.append(reason)
            remedies.append(REMEDIES[remedy])
    if result.n_points < min_points:
        reasons.append(f"{result.n_points} points, fewer than {min_points}")
        remedies.append(REMEDIES["points"])
    if np.isfinite(r2) and r2 < r2_floor:
        reasons.append(f"in-sample R² {r2:.3f}, below {r2_floor:g}")
        remedies.append(REMEDIES["r2"])
    if result.status not in ("converged", "hit a bound"):
        reasons.append(f"the optimiser ended with status {result.status!r}")
        remedies.append(REMEDIES["optimiser"])
    if reasons:
        return FitQuality("degenerate", tuple(reasons + [f"{reason} (benign)" for reason in benign]), r2,
                          tuple(dict.fromkeys(remedies)))
    return FitQuality("benign bound" if benign else "converged", tuple(benign), r2)


def task_r_squared(fits, measured) -> dict[str, float]:
    """In-sample R² of the three laws of one task (`analysis.TaskFits`) on their own targets
    (`analysis.Measured`): the Chinchilla stage on the task NLL at k = 1, Approach 1 on the task
    NLL over the grid of k, Approach 2 on pass@k over it."""
    single = int(np.flatnonzero(measured.ks == 1.0)[0])
    N, D, k = measured.long()
    loss_k1 = measured.task_nll[:, single]
    return {"Chinchilla (k = 1)": r_squared(loss_k1, fits.chinchilla.law.loss(measured.N, measured.D)),
            "Approach 1": r_squared(measured.task_nll.ravel(), fits.approach1.law.loss(N, D, k)),
            "Approach 2": r_squared(measured.pass_at_k.ravel(), fits.approach2.law.pass_at_k(N, D, k))}


def quality_table(fits: Mapping[str, object], r2: Mapping[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """One row per task and law of `fits` (task → analysis.TaskFits): class, reasons, points and
    in-sample R² (from `r2`, keyed by (task, law), where given)."""
    rows = []
    for task, fit in fits.items():
        for law, result in fit.results().items():
            quality = classify(result, (r2 or {}).get((task, law), float("nan")))
            rows.append({"task": task, "law": law, "quality": quality.status, "reasons": "; ".join(quality.reasons),
                         "r2": quality.r2, "points": result.n_points})
    return pd.DataFrame(rows)


class DegenerateFitError(ValueError):
    """A plan or forecast asked of a degenerate law; the message says which, why and what data would fix it."""


def require_questions(counts: Mapping[str, int], minimum: int = MIN_QUESTIONS) -> None:
    """Refuse to fit a task (counts: task → questions) with fewer than `minimum` questions."""
    few = {task: n for task, n in counts.items() if n < minimum}
    if few:
        task, n = next(iter(few.items()))
        raise ValueError(f"task {task!r} has {n} question{'s' if n != 1 else ''}; a law needs at least {minimum} per "
                         f"task (pass@k of fewer moves in steps too coarse to fit) — leave it out with --tasks, or "
                         f"evaluate more questions")


def check_laws(quality: Mapping[tuple[str, str], FitQuality], used: Sequence[tuple[str, str]], *,
               allow_degenerate: bool, source: str) -> str:
    """The gate: given each law's quality keyed by (task, law) and the laws a result rests on,
    raise DegenerateFitError naming the first degenerate one (with why and the data that would
    fix it) unless `allow_degenerate`; then return the flags for that result, one per degenerate
    law, "; "-separated ("" when none is)."""
    bad = [key for key in dict.fromkeys(used) if quality[key].degenerate]
    if not bad:
        return ""
    if not allow_degenerate:
        task, law = bad[0]
        first = quality[(task, law)]
        others = f" ({len(bad) - 1} more law(s) of this plan are degenerate too)" if len(bad) > 1 else ""
        remedy = f"what would fix it: {first.remedies[0]}; or " if first.remedies else ""
        raise DegenerateFitError(
            f"{source}: the {law} law of task {task!r} is degenerate ({_first_reason(first)}){others}; a plan from it "
            f"cannot be trusted — {remedy}pass --allow-degenerate to go ahead with every affected row flagged")
    return "; ".join(f"degenerate fit: {law} of {task} ({_first_reason(quality[(task, law)])})" for task, law in bad)


def _first_reason(quality: FitQuality) -> str:
    return quality.reasons[0] if quality.reasons else "no reason recorded"
