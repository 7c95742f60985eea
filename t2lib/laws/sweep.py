"""The seeded isoFLOP sweep, the second suite's validation: at each inference budget of a committed
sweep forecast (`forecast.make_sweep_forecast`), the isoFLOP curve that the trained sizes measure
(`measured_curve`), its optimum against each approach's forecast one (`optimum_against_forecast`),
and the T² model against the two Chinchilla choices (`sweep_duels`).

The sweep's suite holds one cell per trained size, each at several seeds (`cell` and `seed`
columns). A size's value is the mean over its seeds of the macro measure: what training that
recipe once scores, on average. Its interval comes from bootstrap draws that resample each
task's questions (the same questions for every size, so that one draw compares all sizes on the
same test) and each cell's seeds (`paired.seed_draws`). The measured optimum is the size best on
the point estimates; the sizes the data cannot tell from it are the smallest set that is best in
BEST_SET_LEVEL of the draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from t2lib.book.formatting import format_number
from t2lib.data.seeds import seed_rows
from t2lib.data.suite import Suite
from t2lib.laws.paired import HIGHER_IS_BETTER, paired_difference, per_question, seed_draws
from t2lib.laws.passk import pass_at_k
from t2lib.laws.plan import APPROACHES
from t2lib.laws.validation import MEASURED_COLUMN, duel_row

BEST_SET_LEVEL = 0.95
CHINCHILLA_ROLES = {"Chinchilla (task NLL, k = 1)": "Chinchilla choice (task NLL",
                    "Chinchilla (LM loss)": "Chinchilla choice (LM loss)"}


def optimum_role(key: str, c_inf: float) -> str:
    """The role a sweep forecast gives the model trained for approach `key`'s optimum at `c_inf`."""
    return f"Approach {key} optimum at C_inf {format_number(c_inf)}"


def sizes_of(suite: Suite) -> pd.DataFrame:
    """The sweep's trained sizes: one row per base cell (cell, N, seeds), smallest first."""
    base = suite.base
    return (base.groupby("cell", sort=False).agg(N=("params", "first"), seeds=("seed", "nunique"))
            .reset_index().sort_values("N", ignore_index=True))


def cell_nll(suite: Suite, cell: str, tasks: Sequence[str]) -> dict[str, np.ndarray]:
    """One cell's NLLs per task, an array of shape (seeds, questions), seeds in order."""
    rows = suite.base[suite.base["cell"] == cell].sort_values("seed")
    if rows.empty:
        raise KeyError(f"{suite.path}: no cell {cell!r}")
    return {task: np.stack([suite.task_nll(checkpoint, task) for checkpoint in rows["checkpoint"]]) for task in tasks}


def _guess_level(guess: Mapping[str, float] | None, tasks: Sequence[str], k: float) -> float:
    """Guessing's macro pass@k (NaN when the guess probabilities are not given)."""
    return float(np.mean([pass_at_k(guess[t], k) for t in tasks])) if guess is not None else float("nan")


def measured_curve(suite: Suite, tasks: Sequence[str], c_inf: float, *, measure: str = "pass_at_k",
                   guess: Mapping[str, float] | None = None, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The isoFLOP curve at inference budget `c_inf`: per trained size that affords a sample
    (N ≤ C_inf/2), its k = C_inf/(2N), the seed-mean macro `measure` with its percentile interval
    (BEST_SET_LEVEL), the share of draws in which it is the best size (`p_best`), whether it is
    in the best set, whether it is the measured optimum, and guessing's macro pass@k at its k."""
    sizes = sizes_of(suite)
    sizes = sizes[sizes["N"] <= c_inf / 2].reset_index(drop=True)
    if sizes.empty:
        raise ValueError(f"C_inf {c_inf:.4g}: no trained size affords one sample (the smallest has N = "
                         f"{sizes_of(suite)['N'].min():.0f}, needing C_inf ≥ 2N)")
    ks = c_inf / (2.0 * sizes["N"].to_numpy(dtype=float))
    rng, seed_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    point, draws = np.zeros(len(sizes)), np.zeros((len(sizes), resamples))
    for task in tasks:
        nll, members = seed_rows(suite, task, "base", list(sizes["cell"]))
        g = np.nan if guess is None else guess[task]
        questions = rng.integers(0, nll.shape[1], size=(resamples, nll.shape[1]))
        for i, (rows, k) in enumerate(zip(members, ks)):
            values = per_question(nll[rows], k, measure, g)  # (seeds, questions)
            point[i] += values.mean() / len(tasks)
            draws[i] += seed_draws(values, questions, seed_rng) / len(tasks)
    low, high = np.quantile(draws, [(1 - BEST_SET_LEVEL) / 2, (1 + BEST_SET_LEVEL) / 2], axis=1)
    higher = HIGHER_IS_BETTER[measure]
    winners = draws.argmax(axis=0) if higher else draws.argmin(axis=0)
    p_best = np.bincount(winners, minlength=len(sizes)) / resamples
    order = np.argsort(-p_best, kind="stable")
    in_set = np.zeros(len(sizes), dtype=bool)
    in_set[order[:int(np.searchsorted(np.cumsum(p_best[order]), BEST_SET_LEVEL - 1e-12)) + 1]] = True
    best = int(np.argmax(point) if higher else np.argmin(point))
    return sizes.assign(c_inf=c_inf, k=ks, measure=measure, value=point, low=low, high=high, p_best=p_best,
                        in_best_set=in_set, optimum=np.arange(len(sizes)) == best,
                        guess_at_k=[_guess_level(guess, tasks, k) for k in ks])


def _trained_sizes(forecast: pd.DataFrame) -> pd.DataFrame:
    trained = forecast[forecast["approach"] == "trainable"].drop_duplicates("N")
    if trained.empty:
        raise ValueError("the forecast has no 'trainable' rows (it was made without --sizes): no sweep to judge")
    return trained


def size_with_role(forecast: pd.DataFrame, role: str) -> float | None:
    """The N of the trained model whose roles include `role` (None when no model has it)."""
    trained = _trained_sizes(forecast)
    chosen = trained[trained["role"].str.contains(role, regex=False)]
    return None if chosen.empty else float(chosen["N"].iloc[0])


def optimum_against_forecast(forecast: pd.DataFrame, curves: Mapping[str, pd.DataFrame], c_inf: float) -> pd.DataFrame:
    """Per approach at `c_inf`: the forecast optimum N with its band (NaN without one), the size
    trained in its place, the measured optimum and best set on the approach's own measure
    (`curves[measure]`, from `measured_curve`: task NLL for Approach 1, pass@k for Approach 2),
    the share of draws in which the trained stand-in is best, and whether the best set holds the
    stand-in."""
    rows = []
    for key, name in APPROACHES.items():
        curve = curves[MEASURED_COLUMN[key]]
        curve = curve[np.isclose(curve["c_inf"], c_inf)]
        optimum = forecast[(forecast["approach"] == key) & (forecast["priced_by"] == key)
                           & np.isclose(forecast["c_inf"], c_inf)]
        stand_in = size_with_role(forecast, optimum_role(key, c_inf))
        if optimum.empty or curve.empty or stand_in is None:
            continue
        forecast_row, best = optimum.iloc[0], curve[curve["optimum"]].iloc[0]
        best_set = curve.loc[curve["in_best_set"], "N"]
        trained = curve[np.isclose(curve["N"], stand_in)]
        rows.append({"approach": name, "c_inf": c_inf, "measure": MEASURED_COLUMN[key],
                     "forecast_N": forecast_row["N"], "forecast_N_low": forecast_row.get("N_low", np.nan),
                     "forecast_N_high": forecast_row.get("N_high", np.nan), "stand_in_N": stand_in,
                     "measured_N": best["N"], "best_set_low": best_set.min(), "best_set_high": best_set.max(),
                     "stand_in_p_best": float(trained["p_best"].iloc[0]) if not trained.empty else 0.0,
                     "stand_in_in_best_set": bool(trained["in_best_set"].iloc[0]) if not trained.empty else False})
    return pd.DataFrame(rows)


def contenders_at(forecast: pd.DataFrame, suite: Suite, c_inf: float) -> dict[str, str]:
    """The cells of the head-to-head at `c_inf`: "T²" (the model trained for Approach 2's optimum,
    the pass@k the duel is judged on) and each Chinchilla choice the forecast trained."""
    cells = sizes_of(suite).set_index(sizes_of(suite)["N"].round().astype(np.int64))["cell"]
    found = {}
    for name, role in {"T²": optimum_role("2", c_inf), **CHINCHILLA_ROLES}.items():
        N = size_with_role(forecast, role)
        if N is not None and round(N) in cells.index:
            found[name] = cells.loc[round(N)]
    if "T²" not in found:
        raise ValueError(f"C_inf {c_inf:.4g}: the suite has no model trained for {optimum_role('2', c_inf)!r}")
    return found


def sweep_duels(suite: Suite, forecast: pd.DataFrame, tasks: Sequence[str], c_infs: Sequence[float], *,
                guess: Mapping[str, float] | None = None, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """At each inference budget, the T² model against each Chinchilla choice on macro pass@k and,
    given the guess probabilities, on skill above guessing, each model at its own k, with paired
    intervals over questions and seeds; a Chinchilla choice that is the T² model itself is one
    row with outcome "same model"."""
    sizes = sizes_of(suite).set_index("cell")["N"]
    measures = ["pass_at_k"] + (["skill"] if guess is not None else [])
    rows = []
    for c_inf in c_infs:
        found = contenders_at(forecast, suite, c_inf)
        t2 = found.pop("T²")
        k_a = c_inf / (2.0 * sizes[t2])
        for opponent, cell in found.items():
            k_b = c_inf / (2.0 * sizes[cell])
            labels = dict(c_inf=c_inf, opponent=opponent, t2_cell=t2, opponent_cell=cell, k_t2=k_a, k_opponent=k_b,
                          guess_t2=_guess_level(guess, tasks, k_a), guess_opponent=_guess_level(guess, tasks, k_b))
            if cell == t2:
                rows.extend({**labels, "measure": measure, "outcome": "same model"} for measure in measures)
                continue
            for measure in measures:
                result = paired_difference(cell_nll(suite, t2, tasks), cell_nll(suite, cell, tasks), k_a, k_b,
                                           measure, tasks=tasks, guess=guess, resamples=resamples, seed=seed)
                rows.append(duel_row(result, **labels))
    return pd.DataFrame(rows)
