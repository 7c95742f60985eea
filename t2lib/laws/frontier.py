"""Optimal allocation of a training and an inference budget (the paper's optimisation; chapters/frontiers.md).

On the isoFLOP curve of C_train, a model of N parameters is trained on D = C_train/(6N)
tokens and, with an inference budget C_inf, may draw k = C_inf/(2N) samples (k ≥ 1, so
N ≤ C_inf/2). The optimum over N is found by scanning a log grid of N (which brackets the
global optimum) and refining it by golden-section search, for all budgets at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from t2lib.book.formatting import format_number
from t2lib.data import checks
from t2lib.laws.laws import Chinchilla, Law, T2Accuracy, T2Loss

# Smallest model considered (parameters), and the scan's density in points per decade of N.
N_MIN = 1e3
GRID_POINTS_PER_DECADE = 24
GOLDEN_ITERATIONS = 80
_INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class Allocation:
    """The optimal choice for one or more budgets; `value` is the law's loss or pass@k there.

    `constraint` says what limits the optimum: "interior", "k >= 1" (N at C_inf/2: the
    inference budget allows a single sample) or "search edge" (N at N_MIN or at D = 1 token).
    """

    c_train: NDArray[np.float64]
    c_inf: float | NDArray[np.float64] | None
    N: NDArray[np.float64]
    D: NDArray[np.float64]
    k: NDArray[np.float64]
    tokens_per_param: NDArray[np.float64]
    value: NDArray[np.float64]
    constraint: NDArray[np.object_]


def _as_laws(law_or_laws: Law | Sequence[Law]) -> tuple[Law, ...]:
    laws = (law_or_laws,) if isinstance(law_or_laws, (Chinchilla, T2Loss, T2Accuracy)) else tuple(law_or_laws)
    if not laws:
        raise ValueError("law_or_laws is empty; give a law or a sequence of laws (one per task)")
    for law in laws:
        if not isinstance(law, (Chinchilla, T2Loss, T2Accuracy)):
            raise ValueError(f"law_or_laws must hold Chinchilla, T2Loss or T2Accuracy laws; got {law!r}")
    kinds = {isinstance(law, T2Accuracy) for law in laws}
    if len(kinds) > 1:
        raise ValueError("law_or_laws mixes accuracy laws (maximised) with loss laws (minimised)")
    return laws


def _maximises(laws: tuple[Law, ...]) -> bool:
    return isinstance(laws[0], T2Accuracy)


def macro_value(law_or_laws: Law | Sequence[Law], N: ArrayLike, D: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """The macro average over laws of their predictions (loss, or pass@k) at N, D, k."""
    laws = _as_laws(law_or_laws)
    total = 0.0
    for law in laws:
        if isinstance(law, Chinchilla):
            total = total + np.broadcast_arrays(law.loss(N, D), np.asarray(k, dtype=float))[0]  # k has no effect
        elif isinstance(law, T2Loss):
            total = total + law.loss(N, D, k)
        else:
            total = total + law.pass_at_k(N, D, k)
    return total / len(laws)


def value_at(law_or_laws: Law | Sequence[Law], N: ArrayLike, c_train: ArrayLike,
             c_inf: float | None = None) -> NDArray[np.float64]:
    """The law's value for a model of size N on the isoFLOP curve of c_train, at k = C_inf/(2N).

    This is how a choice made by one criterion (e.g. the single-pass Chinchilla optimum) is
    priced under another: pass the N it chose and the inference budget it must live with.
    """
    N = checks.positive("N", N)
    c = checks.positive("c_train", c_train)
    k = np.ones_like(N) if c_inf is None else _samples(N, c_inf)
    return macro_value(law_or_laws, N, c / (6.0 * N), k)


def _samples(N: NDArray, c_inf: float | NDArray) -> NDArray:
    k = c_inf / (2.0 * N)
    limit = f"{c_inf / 2:g}" if np.ndim(c_inf) == 0 else "its budget's"
    checks.reject_first("N", N, k < 1.0 - 1e-12, f"<= c_inf / 2 = {limit} so that k >= 1")
    return np.maximum(k, 1.0)  # removes the rounding of c_inf / (2 · c_inf/2) just below 1


def _score(laws: tuple[Law, ...], log_n: NDArray, c: NDArray, c_inf: NDArray | None) -> NDArray:
    """What is minimised: the macro loss, or minus the macro pass@k."""
    N = 10.0**log_n
    k = np.ones_like(N) if c_inf is None else _samples(N, c_inf)
    value = macro_value(laws, N, c / (6.0 * N), k)
    return -value if _maximises(laws) else value


def optimal_allocation(law_or_laws: Law | Sequence[Law], c_train: ArrayLike,
                       c_inf: float | ArrayLike | None = None) -> Allocation:
    """The N (and D, k) that minimises a loss law or maximises an accuracy law on each isoFLOP curve.

    `c_inf=None` means a single pass (k = 1), the "standard Chinchilla" choice; an array of
    c_inf gives each budget its own (broadcast against c_train). A sequence of laws (one per
    task) is optimised through the macro average of their predictions.
    """
    laws = _as_laws(law_or_laws)
    c = np.atleast_1d(checks.positive("c_train", c_train)).astype(float)
    inference = None
    if c_inf is not None:
        c_inf = checks.positive("c_inf", c_inf)
        c, inference = np.broadcast_arrays(c, np.atleast_1d(c_inf).astype(float))
        c, inference = c.copy(), inference.copy()
        c_inf = float(c_inf) if np.ndim(c_inf) == 0 else inference
    log_lo = np.full_like(c, np.log10(N_MIN))
    log_hi = np.log10(c / 6.0)  # D >= 1 token
    checks.reject_first("c_train", c, log_hi <= log_lo,
                        f"large enough to train a model of {N_MIN:g} parameters on one token (> {6 * N_MIN:g} FLOPs)")
    if inference is not None:
        checks.reject_first("c_inf", inference, inference / 2.0 <= N_MIN,
                            f"large enough for one sample of a model of {N_MIN:g} parameters (> {2 * N_MIN:g} FLOPs "
                            "per token)")
        log_hi = np.minimum(log_hi, np.log10(inference / 2.0))

    # 1. Scan: a grid of equal density on every budget's own range brackets the global optimum.
    n_grid = int(np.ceil((log_hi - log_lo).max() * GRID_POINTS_PER_DECADE)) + 1
    fractions = np.linspace(0.0, 1.0, n_grid)
    grid = log_lo[:, None] + (log_hi - log_lo)[:, None] * fractions[None, :]
    scores = _score(laws, grid, c[:, None], None if inference is None else inference[:, None])
    best = np.nanargmin(scores, axis=1)
    rows = np.arange(len(c))
    a = grid[rows, np.maximum(best - 1, 0)]
    b = grid[rows, np.minimum(best + 1, n_grid - 1)]

    # 2. Refine: golden-section search inside each bracket, all budgets together.
    x1 = b - _INV_PHI * (b - a)
    x2 = a + _INV_PHI * (b - a)
    f1, f2 = _score(laws, x1, c, inference), _score(laws, x2, c, inference)
    for _ in range(GOLDEN_ITERATIONS):
        left = f1 <= f2  # the minimum lies in [a, x2]
        a = np.where(left, a, x1)
        b = np.where(left, x2, b)
        x_new = np.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        f_new = _score(laws, x_new, c, inference)
        x1, x2 = np.where(left, x_new, x2), np.where(left, x1, x_new)
        f1, f2 = np.where(left, f_new, f2), np.where(left, f1, f_new)
    candidates = np.stack([x1, x2, grid[rows, best]], axis=1)
    candidate_scores = np.stack([f1, f2, scores[rows, best]], axis=1)
    log_n = candidates[rows, np.argmin(candidate_scores, axis=1)]

    N = 10.0**log_n
    D = c / (6.0 * N)
    k = np.ones_like(N) if inference is None else _samples(N, inference)
    tolerance = 1e-6
    k_binds = np.log10(c / 6.0) > log_hi if inference is not None else np.zeros_like(c, dtype=bool)
    at_top = log_n >= log_hi - tolerance
    constraint = np.full(len(c), "interior", dtype=object)
    constraint[log_n <= log_lo + tolerance] = "search edge"
    constraint[at_top & k_binds] = "k >= 1"
    constraint[at_top & ~k_binds] = "search edge"
    return Allocation(c_train=c, c_inf=c_inf, N=N, D=D, k=k, tokens_per_param=D / N,
                      value=macro_value(laws, N, D, k), constraint=constraint)


def _without_data_term(law: T2Loss | T2Accuracy) -> T2Loss | T2Accuracy:
    if isinstance(law, T2Loss):
        return replace(law, B=0.0)
    return replace(law, chinchilla=replace(law.chinchilla, B=0.0))


def saturated_size(law_or_laws: T2Loss | T2Accuracy | Sequence[T2Loss | T2Accuracy], c_inf: float) -> float:
    """N∞(C_inf): the optimal model size at a fixed inference budget in the limit C_train → ∞.

    As C_train grows, D = C_train/(6N) grows without bound for every N, the data term B/D^β
    vanishes, and what is left — size against samples, k = C_inf/(2N) — does not involve
    C_train: the optimal N stops growing and every further FLOP goes into tokens, so tokens
    per parameter grows as C_train/(6·N∞²). Found by the same search as `optimal_allocation`,
    on the laws with B = 0 (for one T2Loss it equals the closed form `T2Loss.saturated_size`).
    """
    laws = _as_laws(law_or_laws)
    if any(isinstance(law, Chinchilla) for law in laws):
        raise ValueError("saturated_size needs T² laws: a Chinchilla law has no inference term, so its optimal N "
                         "grows without bound")
    c_inf = float(checks.positive("c_inf", c_inf))
    # Any budget with C_train/6 ≥ C_inf/2 leaves every affordable size N ≤ C_inf/2 open to the search.
    return float(optimal_allocation([_without_data_term(law) for law in laws], 3.0 * c_inf, c_inf).N[0])


def extrapolation_flags(N: ArrayLike, k: ArrayLike, *, smallest_N: float, largest_k: float) -> NDArray[np.object_]:
    """For each optimum, what it extrapolates beyond the data the laws were fitted on: '' when
    nothing, else 'k > largest_k' and/or 'N < smallest_N' (the smallest fitted checkpoint)."""
    N, k = np.broadcast_arrays(np.asarray(N, dtype=float), np.asarray(k, dtype=float))
    flags = np.full(N.shape, "", dtype=object)
    for mask, text in ((k > largest_k * (1 + 1e-9), f"k > {format_number(largest_k, 4)}"),
                       (N < smallest_N * (1 - 1e-9), f"N < {format_number(smallest_N)}")):
        flags[mask] = [f"{flag}; {text}" if flag else text for flag in flags[mask]]
    return flags


def frontier(law_or_laws: Law | Sequence[Law], c_train_values: ArrayLike, c_inf: float | ArrayLike | None = None, *,
             smallest_N: float | None = None, largest_k: float | None = None) -> pd.DataFrame:
    """The optimal allocation for each training budget, one row per budget; given the smallest
    fitted checkpoint and the largest fitted k, a column "outside data" flags each optimum that
    extrapolates beyond them (`extrapolation_flags`)."""
    allocation = optimal_allocation(law_or_laws, c_train_values, c_inf)
    table = pd.DataFrame({
        "c_train": allocation.c_train,
        "c_inf": np.nan if c_inf is None else c_inf,
        "N": allocation.N,
        "D": allocation.D,
        "k": allocation.k,
        "tokens_per_param": allocation.tokens_per_param,
        "value": allocation.value,
        "constraint": allocation.constraint,
    })
    if smallest_N is not None or largest_k is not None:
        table["outside data"] = extrapolation_flags(allocation.N, allocation.k,
                                                    smallest_N=0.0 if smallest_N is None else smallest_N,
                                                    largest_k=np.inf if largest_k is None else largest_k)
    return table


def single_pass_choice(law_or_laws: Law | Sequence[Law], c_train_values: ArrayLike, c_inf: float) -> pd.DataFrame:
    """The "standard Chinchilla" comparator (the paper's): N chosen by single-pass quality
    (the law at k = 1), then priced at the k = C_inf/(2N) the inference budget buys it.

    Where the chosen model is too large for even one sample (N > C_inf/2) it cannot be run
    within the budget: `affordable` is False and `value` is NaN rather than a made-up price.
    """
    c_inf = float(checks.positive("c_inf", c_inf))
    choice = frontier(law_or_laws, c_train_values)
    affordable = (choice["N"] <= c_inf / 2.0).to_numpy()
    value = np.full(len(choice), np.nan)
    if affordable.any():
        value[affordable] = value_at(law_or_laws, choice["N"].to_numpy()[affordable],
                                     choice["c_train"].to_numpy()[affordable], c_inf)
    return choice.assign(c_inf=c_inf, k=c_inf / (2.0 * choice["N"]), single_pass_value=choice["value"],
                         value=value, affordable=affordable)
