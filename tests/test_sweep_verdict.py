"""The second suite's column of the verdict page (t2lib.book.sweep_verdict): on a planted, judged
sweep, each cell's verdict is the one its rule states, in every branch."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib.book.sweep_verdict import (_error, sweep_beats_cell, sweep_errors, sweep_extrapolation_cell,
                                      sweep_forecast_cell, sweep_overtraining_cell)
from t2lib.book.formatting import format_number
from t2lib.book.tables import size_label
from t2lib.laws.sweep import DuelSummary
from test_sweep_report import planted_judgement


def with_outcomes(judgement, pass_outcome: str, skill_outcome: str):
    """`judgement` with its primary comparison's outcomes on pass@k and skill set as given."""
    duels = judgement.duels.copy()
    primary = duels["opponent"] == "Chinchilla (task NLL, k = 1)"
    duels.loc[primary & (duels["measure"] == "pass_at_k"), "outcome"] = pass_outcome
    duels.loc[primary & (duels["measure"] == "skill"), "outcome"] = skill_outcome
    return replace(judgement, duels=duels)


@pytest.mark.parametrize(("pass_outcome", "skill_outcome", "verdict"),
                         [("win", "win", "holds"), ("win", "tie", "inconclusive"), ("win", "loss", "fails"),
                          ("loss", "win", "fails"), ("tie (difference below 0.01)", "win", "inconclusive"),
                          ("win", "not measurable: guessing reaches 0.99", "inconclusive")])
def test_the_sweeps_beats_cell_holds_only_when_won_on_pass_and_skill(tmp_path: Path, pass_outcome: str,
                                                                      skill_outcome: str, verdict: str) -> None:
    suite, _, judgement = planted_judgement(tmp_path)
    cell_N = dict(zip(suite.base["cell"], suite.base["params"]))
    cell = sweep_beats_cell(with_outcomes(judgement, pass_outcome, skill_outcome), cell_N)
    assert cell.verdict == verdict
    assert cell.value.startswith("primary, at C_inf 800,000: the 40K T² model against the 160K Chinchilla choice, pass@k +")
    assert f", a {pass_outcome} (guessing alone: " in cell.value
    passed = judgement.duels[(judgement.duels["opponent"] == "Chinchilla (task NLL, k = 1)")
                             & (judgement.duels["measure"] == "pass_at_k")].iloc[0]
    assert (f"(guessing alone: {format_number(passed['guess_t2'], 2)} and {format_number(passed['guess_opponent'], 2)} "
            "at their k); skill") in cell.value
    if skill_outcome.startswith("not measurable"):
        assert "skill above guessing not measured (not measurable: guessing reaches 0.99)" in cell.value


def test_the_sweeps_beats_cell_is_no_test_without_the_primary_or_with_a_larger_t2_model(tmp_path: Path) -> None:
    suite, _, judgement = planted_judgement(tmp_path)
    cell_N = dict(zip(suite.base["cell"], suite.base["params"]))
    other = judgement.duels[judgement.duels["opponent"] != "Chinchilla (task NLL, k = 1)"]
    missing = sweep_beats_cell(replace(judgement, duels=other), cell_N)
    assert missing.verdict == "not a test" and missing.value == (
        "the primary comparison was not made (there is no head-to-head with the task-loss Chinchilla choice)")
    undecided = with_outcomes(judgement, "not measurable: guessing reaches 0.99", "tie")
    assert sweep_beats_cell(undecided, cell_N).value == (
        "the primary comparison was not made (at C_inf 800,000, not measurable: guessing reaches 0.99)")
    t2_cell = judgement.duels["t2_cell"].iloc[0]
    larger = sweep_beats_cell(judgement, {**cell_N, t2_cell: 3e5})  # a T² model larger than the Chinchilla choice
    assert larger.verdict == "not tested" and larger.value.endswith(
        "; so no test of overtraining: the T² model is not smaller than the Chinchilla choice; no smaller T² model "
        "was set against a Chinchilla choice")
    # The T² model that is also the LM-loss Chinchilla choice sets the two Chinchilla rules against each other.
    duels = judgement.duels.copy()
    duels.loc[duels["opponent"] == "Chinchilla (LM loss)", "outcome"] = "same model"
    both = sweep_beats_cell(replace(judgement, duels=duels), {**cell_N, t2_cell: 3e5})
    assert "not smaller than the Chinchilla choice and is the LM-loss law's Chinchilla choice;" in both.value
    # The other forecast's comparison is reported beside the primary one and does not enter the verdict.
    beside = sweep_beats_cell(judgement, {**cell_N, t2_cell: 3e5}, other=judgement)
    assert beside.verdict == "not tested" and "; secondary, the other forecast's (fitted to pooled seeds) 300K T² " \
        "model, not smaller than its 160K Chinchilla choice, at C_inf 800,000: pass@k +" in beside.value
    assert "; secondary, the other forecast's comparison was not made (there is no head-to-head" in sweep_beats_cell(
        judgement, cell_N, other=replace(judgement, duels=other)).value
    no_skill = replace(judgement, duels=judgement.duels[judgement.duels["measure"] != "skill"])  # no guess levels
    assert sweep_beats_cell(no_skill, cell_N).verdict == "inconclusive"


@pytest.mark.parametrize(("outcomes", "t2_N", "verdict"), [
    ({"win": 0, "loss": 5, "tie": 0}, 16_400.0, "fails"), ({"win": 2, "loss": 0, "tie": 1}, 16_400.0, "inconclusive"),
    ({"win": 0, "loss": 5, "tie": 0}, 50_000.0, "not tested")])  # a hindcast T² model not smaller either
def test_where_the_primary_t2_model_is_larger_the_hindcasts_head_to_heads_decide(
        tmp_path: Path, outcomes: dict[str, int], t2_N: float, verdict: str) -> None:
    suite, _, judgement = planted_judgement(tmp_path)
    cell_N = {**dict(zip(suite.base["cell"], suite.base["params"])), judgement.duels["t2_cell"].iloc[0]: 3e5}
    hindcast = DuelSummary(t2_N=(t2_N,), rivals_N=(37_600.0, 74_800.0), optimum_N=(16_000.0,), aways=(1.0,),
                           below_all=False, outcomes=outcomes, unlosable=0, same=0)
    cell = sweep_beats_cell(judgement, cell_N, hindcast=hindcast)
    assert cell.verdict == verdict
    if verdict != "not tested":
        assert "; the hindcast's do (not preregistered): the 16.4K model, the size trained nearest to Approach 2's " \
               "16K optimum, " in cell.value and "against the Chinchilla choices (37.6K, 74.8K)" in cell.value


@pytest.mark.parametrize(("verdicts", "decisive", "verdict"), [
    (["the measured optimum", "tied with the measured optimum"], [True, True], "holds"),
    (["the measured optimum", "worse", "worse"], [True, True, True], "fails"),
    (["the measured optimum", "worse"], [True, True], "inconclusive"),
    (["the measured optimum", "worse"], [True, False], "holds"),  # a budget where every size ties is no test
    (["worse", "worse"], [False, False], "not a test")])
def test_the_sweeps_forecast_cell_counts_the_optima_borne_out(tmp_path: Path, verdicts: list, decisive: list,
                                                             verdict: str) -> None:
    _, _, judgement = planted_judgement(tmp_path)
    judged = pd.DataFrame({"approach": "Approach 2", "c_inf": 1e6, "verdict": verdicts, "decisive": decisive,
                           "away": 1.1, "forecast_N": 1e5})
    assert sweep_forecast_cell(replace(judgement, judged=judged)).verdict == verdict
    assert sweep_forecast_cell(replace(judgement, judged=judged.iloc[:0])).verdict == "not a test"
    bounded = judged.assign(forecast_N=[5e5] + [1e5] * (len(judged) - 1))  # k = 1 at the first: a bound
    said = sweep_forecast_cell(replace(judgement, judged=bounded)).value
    assert ("; at 1 of them the optimum is the largest size that affords one sample" in said) == decisive[0]


def top_curve(top: dict) -> pd.DataFrame:
    """A measured pass@k curve at two inference budgets, of which only the largest, 1e7, is judged:
    `top` maps each size to (optimum, tied with it) there."""
    sizes = [2e4, 4e4, 8e4, 1.6e5]
    first = pd.DataFrame({"c_inf": 1e6, "N": sizes, "k": [1e6 / (2 * n) for n in sizes], "optimum": False,
                          "tied_with_optimum": False})
    later = pd.DataFrame({"c_inf": 1e7, "N": list(top), "k": [1e7 / (2 * n) for n in top],
                          "optimum": [o for o, _ in top.values()], "tied_with_optimum": [t for _, t in top.values()]})
    return pd.concat([first, later], ignore_index=True)


@pytest.mark.parametrize(("top", "single", "verdict"), [
    ({2e4: (False, False), 4e4: (True, True), 8e4: (False, True), 1.6e5: (False, False)}, 1.6e5, "holds"),
    ({2e4: (False, False), 4e4: (True, True), 8e4: (False, False), 1.6e5: (False, True)}, 1.6e5, "inconclusive"),
    ({2e4: (False, False), 4e4: (False, False), 8e4: (False, False), 1.6e5: (True, True)}, 1.6e5, "fails"),
    ({2e4: (False, False), 4e4: (False, True), 8e4: (False, False), 1.6e5: (True, True)}, 1.6e5, "inconclusive"),
    # the size best at one sample each is already this small: inference did not move the optimum there
    ({2e4: (False, False), 4e4: (True, True), 8e4: (False, False), 1.6e5: (False, False)}, 4e4, "inconclusive"),
    # ... or is the smallest trained: no smaller size to move to, so the cell cannot hold
    ({2e4: (True, True), 4e4: (False, False), 8e4: (False, False), 1.6e5: (False, False)}, 2e4, "not a test"),
    ({2e4: (False, False), 4e4: (False, False), 8e4: (False, False), 1.6e5: (True, True)}, 2e4, "fails")])
def test_the_sweeps_overtraining_cell_needs_the_optimum_below_chinchilla_and_the_single_sample_best(
        tmp_path: Path, top: dict, single: float, verdict: str) -> None:
    _, forecast, judgement = planted_judgement(tmp_path)  # the Chinchilla choice is trained as 160K
    measured = replace(judgement, curves={**judgement.curves, "pass_at_k": top_curve(top)})
    cell = sweep_overtraining_cell(measured, forecast, single, 2e4)
    assert cell.verdict == verdict
    best = [n for n, (optimum, _) in top.items() if optimum][0]
    assert f"the best size on pass@k is {size_label(best)}" in cell.value
    assert f"at one sample each (pass@1, inference not counted) the best size is {size_label(single)}" in cell.value
    assert ("no smaller size was there to move to" in cell.value) == (single == 2e4)
    unmeasured = top_curve({n: v for n, v in top.items() if n != 1.6e5})
    assert sweep_overtraining_cell(replace(judgement, curves={**judgement.curves, "pass_at_k": unmeasured}),
                                   forecast, single, 2e4).verdict == "not a test"


@pytest.mark.parametrize(("factor", "degenerate", "verdict"), [(1.05, 0, "holds"), (1.05, 1, "inconclusive"),
                                                               (2.0, 0, "fails")])
def test_the_extrapolation_cell_sets_each_optimums_prediction_against_its_measurement(
        tmp_path: Path, factor: float, degenerate: int, verdict: str) -> None:
    suite, forecast, judgement = planted_judgement(tmp_path)
    measured = {key: judgement.curves[m].set_index("N")["value"] for key, m in (("1", "task_nll"), ("2", "pass_at_k"))}
    trained = forecast["approach"] == "trainable"
    value = [measured[key].get(N, np.nan) * factor if is_trained else np.nan
             for key, N, is_trained in zip(forecast["priced_by"], forecast["N"], trained)]
    priced = forecast.assign(value=value, value_low=np.array(value) / 1.5, value_high=np.array(value) * 1.5)
    errors = sweep_errors(judgement, priced)
    assert list(errors["approach"]) == ["Approach 1", "Approach 2"] and list(errors["N"]) == [4e4, 4e4]
    assert np.allclose(errors["relative_error"], factor - 1)
    cell = sweep_extrapolation_cell(judgement, priced, degenerate)
    inside = int(factor < 1.5)  # the band is the prediction ÷ and × 1.5
    assert cell.verdict == verdict and f"Approach 2 {factor - 1:+.1%} ({inside} of 1 inside the band)" in cell.value


def test_a_small_error_outside_its_band_or_with_no_band_is_judged_as_the_rule_says(tmp_path: Path) -> None:
    _, forecast, judgement = planted_judgement(tmp_path)
    measured = {key: judgement.curves[m].set_index("N")["value"] for key, m in (("1", "task_nll"), ("2", "pass_at_k"))}
    value = [measured[key].get(N, np.nan) * 1.05 if approach == "trainable" else np.nan
             for key, N, approach in zip(forecast["priced_by"], forecast["N"], forecast["approach"])]
    narrow = forecast.assign(value=value, value_low=np.array(value) * 1.01, value_high=np.array(value) * 1.02)
    assert sweep_extrapolation_cell(judgement, narrow, 0).verdict == "inconclusive"  # 5% off, but outside its band
    unbanded = sweep_extrapolation_cell(judgement, forecast.assign(value=value), 0)
    assert unbanded.verdict == "holds" and "Approach 2 +5.0% (no band)" in unbanded.value


def test_an_error_ten_times_the_measurement_or_more_is_a_ratio() -> None:
    assert (_error(0.05), _error(-0.5), _error(12.0), _error(2.47e27)) == (
        "+5.0%", "−50.0%", "13× the measured value", "2.47×10²⁷× the measured value")
