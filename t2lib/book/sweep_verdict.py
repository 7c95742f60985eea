"""The second suite's column of the verdict page, once its sweep is trained: each cell from the
judgement (`t2lib.laws.sweep.judge`) of the forecast fitted to each run, what one trained model
scores. Each function returns a `verdict.Cell` whose verdict follows the rule it states."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from t2lib.book.formatting import format_number, interval, signed
from t2lib.book.sweep_report import GOOD_VERDICTS, PRIMARY_OPPONENT, PRIMARY_ROLE, primary_caveat, primary_row
from t2lib.book.tables import size_label
from t2lib.book.verdict import SMALL_ERROR, Cell, duel_sentence, error_verdict, head_to_head_verdict
from t2lib.laws.forecast import SNAP_FACTOR
from t2lib.laws.paired import DECISION_LEVEL
from t2lib.laws.sweep import DECIDED, MIN_EFFECT, DuelSummary, Judgement, optimum_role, size_with_role

SWEEP = "second_sweep"


def sweep_beats_cell(judgement: Judgement, cell_N: Mapping[str, float], other: Judgement | None = None,
                     hindcast: DuelSummary | None = None) -> Cell:
    """The primary comparison (`primary_sentence`) as a verdict cell: won on pass@k and on skill
    above guessing holds, lost on either fails; beside it, as a secondary result, the same
    comparison for the `other` forecast (fitted to pooled seeds), which does not enter the verdict.
    Where the primary T² model is not the smaller, it does not test overtraining, and the
    `hindcast`'s head-to-heads on pass@k decide instead, if its T² model is smaller than its rivals:
    any loss fails, otherwise inconclusive (they have no skill measure, so nothing holds on them)."""
    duels = judgement.duels
    rule = ("the preregistered primary comparison: holds if the T² model wins on pass@k and on skill above guessing "
            f"({DECISION_LEVEL:.0%} interval over questions and seeds excluding zero, difference at least "
            f"{MIN_EFFECT:g}), fails if it loses on either, otherwise inconclusive; where its T² model is not smaller "
            "than the Chinchilla choice it does not test overtraining, and the hindcast's head-to-heads on pass@k "
            "decide (not preregistered; a smaller T² model against each Chinchilla choice): fails on any loss, "
            "otherwise inconclusive; the other forecast's comparison is reported, not counted")
    secondary = "" if other is None else f"; secondary, {secondary_clause(other, cell_N)}"
    passed = primary_row(duels)
    if isinstance(passed, str):
        return Cell("beats", "second", f"the primary comparison was not made ({passed}){secondary}", "not a test",
                    rule, SWEEP)
    skills = duels[(duels["opponent"] == PRIMARY_OPPONENT) & (duels["measure"] == "skill")
                   & np.isclose(duels["c_inf"], passed["c_inf"])]
    skill = skills.iloc[0] if len(skills) else None
    skill_outcome = skill["outcome"] if skill is not None else "no guessing levels"
    skill_text = (f"{interval(skill['difference'], skill['low'], skill['high'])}, a {skill_outcome}"
                  if skill_outcome in DECIDED else f"not measured ({skill_outcome})")
    t2_N, chinchilla_N = cell_N[passed["t2_cell"]], cell_N[passed["opponent_cell"]]
    value = (f"primary, at C_inf {format_number(passed['c_inf'])}: the {size_label(t2_N)} T² model against the "
             f"{size_label(chinchilla_N)} Chinchilla choice, pass@k "
             f"{interval(passed['difference'], passed['low'], passed['high'])}, a {passed['outcome']} (guessing alone: "
             f"{format_number(passed['guess_t2'], 2)} and {format_number(passed['guess_opponent'], 2)} at their k); skill above "
             f"guessing {skill_text}")
    if t2_N < chinchilla_N:
        return Cell("beats", "second", value + secondary, head_to_head_verdict(passed["outcome"], skill_outcome),
                    rule, SWEEP)
    value += f"; so no test of overtraining: {primary_caveat(duels, passed, cell_N, brief=True)}"
    if hindcast is None or not hindcast.decided or max(hindcast.t2_N) >= min(hindcast.rivals_N):
        return Cell("beats", "second", value + "; no smaller T² model was set against a Chinchilla choice"
                    + secondary, "not tested", rule, SWEEP)
    verdict = "fails" if hindcast.outcomes["loss"] else "inconclusive"
    return Cell("beats", "second", f"{value}; the hindcast's do (not preregistered): "
                f"{duel_sentence(hindcast, nearest=True)}{secondary}", verdict, rule, SWEEP)


def secondary_clause(other: Judgement, cell_N: Mapping[str, float]) -> str:
    """The other forecast's comparison of its T² model with the task-loss Chinchilla choice at its
    largest inference budget, in a clause, saying whether its T² model is the smaller one."""
    row = primary_row(other.duels)
    if isinstance(row, str):
        return f"the other forecast's comparison was not made ({row})"
    t2_N, chinchilla_N = cell_N[row["t2_cell"]], cell_N[row["opponent_cell"]]
    return (f"the other forecast's (fitted to pooled seeds) {size_label(t2_N)} T² model, "
            f"{'smaller than' if t2_N < chinchilla_N else 'not smaller than'} its {size_label(chinchilla_N)} "
            f"Chinchilla choice, at C_inf {format_number(row['c_inf'])}: pass@k "
            f"{interval(row['difference'], row['low'], row['high'])}, a {row['outcome']} (guessing alone: "
            f"{format_number(row['guess_t2'], 2)} and {format_number(row['guess_opponent'], 2)})")


FORECAST_RULE = ("holds if every size trained for an optimum is the measured optimum or tied with it (Approach 1 on "
                 "task NLL, Approach 2 on pass@k); fails if most are worse; a budget where every size ties is no test")


def forecast_tally(judgement: Judgement) -> tuple[int, int, int, int]:
    """Of a judged forecast's (approach, inference budget) pairs: how many the size trained for the
    optimum is the measured optimum or tied with it, how many are decisive (the sizes differ and
    it affords a sample), how many not, and at how many of the decisive it is a stand-in."""
    judged = judgement.judged
    decisive = judged[judged["decisive"] & (judged["verdict"] != "affords no sample")]
    return (int(decisive["verdict"].isin(GOOD_VERDICTS).sum()), len(decisive), len(judged) - len(decisive),
            int((decisive["away"] > SNAP_FACTOR).sum()))


def sweep_forecast_verdict(good: int, decisive: int) -> str:
    """FORECAST_RULE on a tally."""
    return ("not a test" if not decisive else "holds" if good == decisive else
            "fails" if good < decisive / 2 else "inconclusive")


def sweep_forecast_cell(judgement: Judgement, other: Judgement | None = None) -> Cell:
    """Whether the size trained for each approach's optimum is the measured optimum or tied with
    it (on its own measure), at every inference budget where not every size ties, for the primary
    forecast (fitted to each run); the `other` forecast's tally beside it, not counted."""
    if judgement.judged.empty:
        return Cell("forecast", "second", "no size was trained for an optimum", "not a test", FORECAST_RULE, SWEEP)
    good, decisive, undecided, stand_ins = forecast_tally(judgement)
    judged = judgement.judged
    counted = judged[judged["decisive"] & (judged["verdict"] != "affords no sample")]
    at_bound = int(np.isclose(counted["c_inf"] / (2 * counted["forecast_N"]), 1.0, rtol=1e-6).sum())
    value = (f"primary forecast (fitted to each run): the size trained for an optimum is the measured optimum or tied "
             f"with it at {good} of {decisive} (approach, inference budget) pairs where not every size trained ties"
             + (f" ({undecided} more where every size ties or none affords a sample)" if undecided else "")
             + (f"; at {stand_ins} of them it is a stand-in more than {SNAP_FACTOR:g}× from the optimum" if stand_ins
                else "")
             + (f"; at {at_bound} of them the optimum is the largest size that affords one sample, a bound the budget "
                "sets, which only a smaller size can beat" if at_bound else ""))
    if other is not None and not other.judged.empty:
        other_good, other_decisive, _, _ = forecast_tally(other)
        would = {"holds": "hold", "fails": "fail", "inconclusive": "be inconclusive", "not a test": "be no test"}
        value += (f"; secondary, the forecast fitted to pooled seeds: {other_good} of {other_decisive} (judged alone, "
                  f"it would {would[sweep_forecast_verdict(other_good, other_decisive)]})")
    return Cell("forecast", "second", value, sweep_forecast_verdict(good, decisive),
                FORECAST_RULE + "; judged on the preregistered primary forecast, the other reported beside it", SWEEP)


def sweep_overtraining_cell(judgement: Judgement, forecast: pd.DataFrame, single_sample_N: float,
                            smallest_N: float) -> Cell:
    """With no law: whether the measured optimum on pass@k at the largest inference budget is
    smaller than the size trained for the Chinchilla choice (worse beyond the interval) and than
    `single_sample_N`, the size best at one sample each (pass@1: inference not counted), among
    sizes of which the smallest is `smallest_N`."""
    rule = ("holds if, at the largest inference budget, the measured optimum on pass@k is smaller than both the "
            "Chinchilla choice and the size best at one sample each (pass@1, inference not counted), and the "
            "Chinchilla choice is worse beyond the interval; fails if it is the Chinchilla choice or larger and no "
            "smaller size ties with it; not a test if the size best at one sample is already the smallest trained "
            "(no smaller size to move to); otherwise inconclusive")
    curve = judgement.curves["pass_at_k"]
    chinchilla = size_with_role(forecast, PRIMARY_ROLE)
    top = curve[np.isclose(curve["c_inf"], curve["c_inf"].max())]
    at_chinchilla = top[np.isclose(top["N"], chinchilla)] if chinchilla is not None else top.iloc[:0]
    if at_chinchilla.empty:
        return Cell("overtraining", "second", "the Chinchilla choice was not measured at the largest inference budget",
                    "not a test", rule, SWEEP)
    best = top[top["optimum"]].iloc[0]
    chinchilla_tied = bool(at_chinchilla["tied_with_optimum"].iloc[0] or at_chinchilla["optimum"].iloc[0])
    smaller_tied = bool((top["tied_with_optimum"] & (top["N"] < chinchilla)).any())
    cornered = single_sample_N <= smallest_N
    if best["N"] < min(chinchilla, single_sample_N) and not chinchilla_tied:
        verdict = "holds"
    elif best["N"] >= chinchilla and not smaller_tied:
        verdict = "fails"
    else:
        verdict = "not a test" if cornered else "inconclusive"
    tied = top[top["tied_with_optimum"] & ~top["optimum"]]["N"]
    value = (f"measured, no law: at C_inf {format_number(best['c_inf'])} the best size on pass@k is "
             f"{size_label(best['N'])} (k = {best['k']:.3g}) against the Chinchilla choice's {size_label(chinchilla)}, "
             + ("which is " + ("the optimum" if at_chinchilla["optimum"].iloc[0] else "tied with it")
                if chinchilla_tied else "which is worse beyond the interval")
             + (f"; tied with the optimum: {', '.join(size_label(n) for n in tied)}" if len(tied) else "")
             + f"; at one sample each (pass@1, inference not counted) the best size is {size_label(single_sample_N)}"
             + (", the smallest trained, so no smaller size was there to move to" if cornered else ""))
    return Cell("overtraining", "second", value, verdict, rule, SWEEP)


def sweep_errors(judgement: Judgement, forecast: pd.DataFrame) -> pd.DataFrame:
    """The forecast's prediction for each size trained for an optimum, at that optimum's budget,
    against its measurement on the approach's own measure (task NLL for Approach 1, pass@k for
    Approach 2): predicted/measured − 1, and whether the measurement lies in the prediction's band."""
    rows = []
    for key, measure in (("1", "task_nll"), ("2", "pass_at_k")):
        curve = judgement.curves[measure]
        priced = forecast[(forecast["approach"] == "trainable") & (forecast["priced_by"] == key)]
        for c_inf in sorted(curve["c_inf"].unique()):
            N = size_with_role(forecast, optimum_role(key, c_inf))
            law = priced[np.isclose(priced["c_inf"], c_inf) & np.isclose(priced["N"], N)] if N else priced.iloc[:0]
            seen = curve[np.isclose(curve["c_inf"], c_inf) & np.isclose(curve["N"], N)] if N else curve.iloc[:0]
            if law.empty or seen.empty:
                continue
            predicted, measured = float(law["value"].iloc[0]), float(seen["value"].iloc[0])
            low, high = (float(law[c].iloc[0]) if c in law else np.nan for c in ("value_low", "value_high"))
            rows.append({"approach": f"Approach {key}", "c_inf": c_inf, "N": N, "predicted": predicted,
                         "measured": measured, "relative_error": predicted / measured - 1,
                         "inside_band": None if np.isnan(low) or np.isnan(high) else bool(low <= measured <= high)})
    return pd.DataFrame(rows, columns=["approach", "c_inf", "N", "predicted", "measured", "relative_error",
                                       "inside_band"])


def _error(relative: float) -> str:
    """A relative error as a percentage, or as a ratio where it is ten times or more."""
    return signed(relative, "+.1%") if abs(relative) < 10 else f"{format_number(relative + 1)}× the measured value"


def sweep_extrapolation_cell(judgement: Judgement, forecast: pd.DataFrame, n_degenerate: int) -> Cell:
    """The laws' predictions for the sizes trained for their optima, against measurement
    (`sweep_errors`), from laws of which `n_degenerate` are degenerate."""
    errors = sweep_errors(judgement, forecast)
    rule = (f"inconclusive while a law behind the predictions is degenerate; otherwise holds if every |error| ≤ "
            f"{SMALL_ERROR:.0%} and inside its band, fails if the mean |error| exceeds {SMALL_ERROR:.0%}, else "
            "inconclusive. Laws fitted on the whole grid, not near Chinchilla, test a weaker claim than the paper's")
    if errors.empty:
        return Cell("extrapolation", "second", "no size trained for an optimum was measured at its budget",
                    "not a test", rule, SWEEP)
    parts = []
    for approach, rows in errors.groupby("approach"):
        low, high = _error(rows["relative_error"].min()), _error(rows["relative_error"].max())
        banded = rows["inside_band"].dropna()
        parts.append(f"{approach} {low if low == high else f'{low} to {high}'} ("
                     + (f"{int(banded.sum())} of {len(banded)} inside the band" if len(banded) else "no band") + ")")
    value = ("the committed laws, fitted on the whole grid, predicting the sizes trained for their optima at twice its "
             "largest budget, predicted/measured − 1: " + "; ".join(parts) + " (task NLL for Approach 1, where below "
             "zero means too optimistic; pass@k for Approach 2, where above zero does)"
             + (f"; {n_degenerate} of the laws behind them degenerate" if n_degenerate else ""))
    bands = [inside for inside in errors["inside_band"] if inside is not None]
    verdict = "inconclusive" if n_degenerate else error_verdict(list(errors["relative_error"]), bands or None)
    return Cell("extrapolation", "second", value, verdict, rule, SWEEP)
