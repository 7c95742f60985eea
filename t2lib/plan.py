"""The training plan: for given budgets, the (N, D, k) each approach recommends and what it gains.

For each training budget C_train and inference budget C_inf, `plan` gives one row per choice:
- approach "1" and "2": the T² optimum of Approach 1 (macro task NLL, lower is better) and of
  Approach 2 (macro pass@k, higher is better), at k = C_inf/(2N);
- approach "chinchilla": the size the fitted Chinchilla laws (the k = 1 task NLL) choose, given
  the k = C_inf/(2N) its size affords and priced by each approach's law (`priced_by`).
Every row carries `flags` naming what lies outside the data the laws were fitted on (N, D or k
beyond the fitted ranges; a Chinchilla choice too large for one sample), and, when bootstrap
replicates are given, a band for N, D, k, tokens per parameter and the value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from t2lib import checks
from t2lib.bootstrap import BAND_LEVEL, Replicates, laws_of, percentile_band
from t2lib.frontier import frontier, value_at
from t2lib.saved import SavedFits
from t2lib.tables import size_label

APPROACHES = {"1": "Approach 1", "2": "Approach 2"}
QUANTITIES = ("N", "D", "k", "tokens_per_param", "value")


def range_flags(N: float, D: float, k: float, saved: SavedFits, tasks: list[str]) -> str:
    """What of (N, D, k) lies outside the ranges the fits of `tasks` were fitted on, in words."""
    flags = []
    for quantity, value in (("N", N), ("D", D), ("k", k)):
        low, high = saved.fitted_range(quantity, tasks)
        if not np.isfinite(value):
            continue
        if value < low * (1 - 1e-9):
            flags.append(f"{quantity} below the fitted range ({value:.3g} < {low:.3g})")
        elif value > high * (1 + 1e-9):
            flags.append(f"{quantity} above the fitted range ({value:.3g} > {high:.3g})")
    return "; ".join(flags)


def _choices(fits: dict, tasks: list[str], c_train: np.ndarray, c_inf: float, approaches: list[str]) -> pd.DataFrame:
    """The rows of a plan for one set of fitted laws (the full fit, or one bootstrap replicate)."""
    chosen = {t: fits[t] for t in tasks}
    laws = {key: laws_of(chosen, APPROACHES[key]) for key in approaches}
    rows = [frontier(laws[key], c_train, c_inf).assign(approach=key, priced_by=key) for key in approaches]
    chinchilla = frontier([fit.chinchilla.law for fit in chosen.values()], c_train)
    affordable = chinchilla["N"].to_numpy() <= c_inf / 2
    for key in approaches:
        value = np.full(len(c_train), np.nan)
        if affordable.any():
            value[affordable] = value_at(laws[key], chinchilla["N"].to_numpy()[affordable], c_train[affordable], c_inf)
        rows.append(chinchilla.assign(approach="chinchilla", priced_by=key, c_inf=c_inf, k=c_inf / (2 * chinchilla["N"]),
                                      value=value))
    return pd.concat(rows, ignore_index=True)[["approach", "priced_by", "c_train", "c_inf", "N", "D", "k",
                                               "tokens_per_param", "value"]]


def plan(saved: SavedFits, c_train: ArrayLike, c_inf: float, *, tasks: Sequence[str] | None = None,
         approach: str = "both", replicates: Replicates | None = None, band_level: float = BAND_LEVEL) -> pd.DataFrame:
    """The plan for each budget in `c_train` at inference budget `c_inf` (see the module docstring)."""
    c_train = np.atleast_1d(checks.positive("c_train", c_train)).astype(float)
    c_inf = float(checks.positive("c_inf", c_inf))
    tasks = list(saved.fits) if tasks is None else list(tasks)
    unknown = [t for t in tasks if t not in saved.fits]
    if unknown or not tasks:
        raise ValueError(f"tasks: no fits for task {unknown[0] if unknown else '(none given)'!r}; "
                         f"the fits have {', '.join(saved.fits)}")
    if approach not in ("1", "2", "both"):
        raise ValueError(f"approach must be '1', '2' or 'both'; got {approach!r}")
    approaches = ["1", "2"] if approach == "both" else [approach]
    table = _choices(saved.fits, tasks, c_train, c_inf, approaches)
    table["flags"] = [range_flags(r.N, r.D, r.k, saved, tasks) for r in table.itertuples()]
    unaffordable = (table["approach"] == "chinchilla") & (table["N"] > c_inf / 2)
    table.loc[unaffordable, "flags"] = [f"{flag + '; ' if flag else ''}unaffordable: N > C_inf/2, not one sample"
                                        for flag in table.loc[unaffordable, "flags"]]
    if replicates is not None:
        stacked = np.array([_choices(fits, tasks, c_train, c_inf, approaches)[list(QUANTITIES)].to_numpy()
                            for fits in replicates.fits])
        lower, upper = percentile_band(stacked, band_level)
        for i, quantity in enumerate(QUANTITIES):
            table[f"{quantity}_low"], table[f"{quantity}_high"] = lower[:, i], upper[:, i]
    return table


def gain_in_words(table: pd.DataFrame) -> list[str]:
    """One sentence per budget and approach: the T² choice against the Chinchilla choice."""
    sentences = []
    for (c_train, key), rows in table.groupby(["c_train", "priced_by"], sort=False):
        t2 = rows[rows["approach"] == key].iloc[0]
        chin = rows[rows["approach"] == "chinchilla"].iloc[0]
        name = APPROACHES[key]
        what = "macro task NLL" if key == "1" else "macro pass@k"
        head = (f"At C_train = {c_train:.3g} FLOPs, {name} trains {size_label(t2['N'])} parameters on "
                f"{t2['tokens_per_param']:.3g} tokens per parameter with k = {t2['k']:.3g} samples")
        if not np.isfinite(chin["value"]):
            sentences.append(f"{head}; the Chinchilla choice ({size_label(chin['N'])}) cannot afford one sample.")
            continue
        if key == "1":
            change = f"{(chin['value'] - t2['value']) / chin['value']:.1%} lower"
        else:
            change = f"{t2['value'] / chin['value']:.3g}× higher" if chin["value"] > 0 else "higher"
        sentences.append(f"{head}: predicted {what} {t2['value']:.4g} against {chin['value']:.4g} for the Chinchilla "
                         f"choice ({size_label(chin['N'])}, k = {chin['k']:.3g}), {change}.")
    return sentences
