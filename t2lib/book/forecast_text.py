"""What a page says about a sweep forecast judged on measured isoFLOP curves (the hindcast
chapter, and the sweep's chapter after it): where the laws put each optimum and which trained
size stands for it, how close the Chinchilla choice's snap was, how Approach 1's size did, and
whether the law has the curve's slope right. Each function takes the tables `t2lib.laws.sweep`
computes and returns Markdown, every number computed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from t2lib.book.tables import size_label
from t2lib.laws.forecast import SNAP_FACTOR

COIN_TOSS = 1.1  # a snap whose two nearest sizes are within this factor of equally far is close to a coin toss
GOOD_VERDICTS = ("the measured optimum", "tied with the measured optimum")


def chinchilla_sizes(forecast: pd.DataFrame) -> tuple[float, float]:
    """The task-loss law's Chinchilla choice at one sample, and the trained size it was snapped to."""
    chosen = float(forecast.loc[forecast["approach"] == "chinchilla", "N"].iloc[0])
    trained = forecast[(forecast["approach"] == "trainable")
                       & forecast["role"].str.contains("Chinchilla choice (task NLL", regex=False, na=False)]
    return chosen, float(trained["N"].iloc[0])


def snap_sentence(forecast: pd.DataFrame, trained_sizes: Sequence[float]) -> str:
    """The Chinchilla choice, the size trained for it and how far its two nearest trained sizes are."""
    chosen, snapped = chinchilla_sizes(forecast)
    sizes = np.sort(np.asarray(trained_sizes, dtype=float))
    neighbours = list(sizes[sizes <= chosen][-1:]) + list(sizes[sizes > chosen][:1])
    factors = [max(n / chosen, chosen / n) for n in neighbours]
    close = len(factors) == 2 and max(factors) / min(factors) < COIN_TOSS
    return (f"At one sample the task-loss law picks {size_label(chosen)} parameters, trained as "
            f"{size_label(snapped)} (the nearest trained size; "
            + " and ".join(f"{size_label(n)} is {f:.2f}× away" for n, f in zip(neighbours, factors))
            + (", so the snap is close to a coin toss, and the inference budgets follow it" if close else "") + ").")


def optima_sentence(judged: pd.DataFrame, smallest: float) -> str:
    """Where each approach puts its optimum over the inference budgets, and what stands for
    Approach 2's (`judged` from `sweep.optimum_against_forecast`; `smallest`: the smallest size trained)."""
    first, second = (judged[judged["approach"] == name] for name in ("Approach 1", "Approach 2"))
    away = float(second["away"].max())
    stand_ins = ", ".join(size_label(n) for n in second["stand_in_N"].unique())
    if second["forecast_N"].max() < smallest:
        where = (f"smaller than the smallest size trained, {size_label(smallest)}, which stands in for it from up to "
                 f"{away:.1f} times away")
    elif away > SNAP_FACTOR:
        where = f"the nearest size trained, {stand_ins}, stands in for it from up to {away:.1f} times away"
    else:
        where = f"each within {SNAP_FACTOR:g}× of the size trained for it ({stand_ins})"
    return (f"As inference grows, Approach 1 puts the optimum at {_span(first['forecast_N'])} parameters, and "
            f"Approach 2 at {_span(second['forecast_N'])}: {where}.")


def _span(sizes: pd.Series) -> str:
    low, high = size_label(sizes.min()), size_label(sizes.max())
    return low if low == high else f"{low} to {high}"


def approach1_sentence(judged: pd.DataFrame, forecast: pd.DataFrame) -> str:
    """How the size trained for Approach 1's optimum did on task NLL, and whether it is the Chinchilla choice."""
    first = judged[judged["approach"] == "Approach 1"]
    good = int(first["verdict"].isin(GOOD_VERDICTS).sum())
    snapped = chinchilla_sizes(forecast)[1]
    same = bool(np.isclose(first["stand_in_N"], snapped).all())
    return (f"The size trained for Approach 1's optimum is the measured optimum or tied with it, on task NLL, at {good} "
            f"of the {len(first)} inference budgets"
            + (f"; it is also the Chinchilla choice ({size_label(snapped)}), so this says that Approach 1 agrees with "
               "Chinchilla's rule here, not that T² beats it." if same else "."))


def slope_sentence(forecast: pd.DataFrame, measured: pd.DataFrame, c_infs: Sequence[float]) -> str:
    """Whether Approach 2's law and the measured pass@k (`measured`, curves from
    `sweep.measured_curve`) move the same way from the smallest to the largest size it priced."""
    priced = forecast[(forecast["approach"] == "trainable") & (forecast["priced_by"] == "2")]
    falls = rises = opposite = compared = 0
    for c_inf in c_infs:
        law = priced[np.isclose(priced["c_inf"], c_inf)].sort_values("N")
        seen = measured[np.isclose(measured["c_inf"], c_inf) & measured["N"].isin(law["N"])].sort_values("N")
        if len(seen) < 2:
            continue
        law = law[law["N"].isin(seen["N"])]
        law_falls = law["value"].iloc[-1] < law["value"].iloc[0]
        seen_rises = seen["value"].iloc[-1] > seen["value"].iloc[0]
        falls, rises, compared = falls + law_falls, rises + seen_rises, compared + 1
        opposite += int(law_falls == seen_rises)
    if not compared:
        return "No inference budget has two priced sizes that draw a sample, so the law's slope cannot be checked."
    return (f"Over the sizes Approach 2's forecast priced, {size_label(priced['N'].min())} to "
            f"{size_label(priced['N'].max())}, the forecast pass@k falls with size at {falls} of the {compared} "
            f"budgets where two of them draw a sample, and the measured pass@k rises at {rises}"
            + (f": at {opposite} the two move in opposite directions (the dashed line against the points in the "
               "figure), so the law has the slope of the isoFLOP curve wrong there, not only its level."
               if opposite else ": they move the same way at every one of them."))
