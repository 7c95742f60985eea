"""What a page says and shows about a judged sweep forecast: every number in the sentences comes
from the tables given, and each sentence changes when what it describes does."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib.book.formatting import format_number, interval, signed
from t2lib.book.sweep_report import (approach1_sentence, direction_sentence, duel_table, optima_sentence, optima_table, outcome_sentence,
                                     finding_sentence, primary_clause, primary_sentence, ringed_sizes, slope_sentence, snap_sentence,
                                     verdict_table)
from t2lib.data.suite import load_suite
from t2lib.laws.sweep import judge


def forecast(chinchilla: float = 30_000.0, snapped: float = 37_600.0, priced: dict | None = None) -> pd.DataFrame:
    """A sweep forecast's rows: the Chinchilla choice, the sizes trained (with their roles), and
    Approach 2's price of each at one C_inf (`priced`: N → predicted pass@k)."""
    priced = priced or {16_000.0: 0.10, 37_600.0: 0.08, 75_000.0: 0.05}
    rows = [{"approach": "chinchilla", "priced_by": "1", "c_inf": 1e6, "N": chinchilla, "role": None}]
    for N, value in priced.items():
        role = "Chinchilla choice (task NLL, k = 1)" if N == snapped else "isoFLOP curve"
        rows.append({"approach": "trainable", "priced_by": "2", "c_inf": 1e6, "N": N, "value": value, "role": role})
    return pd.DataFrame(rows)


def judged(a1_trained=37_600.0, a1_verdicts=("worse", "tied with the measured optimum"), a2_forecast=(7_000.0, 8_000.0),
           a2_trained=16_000.0) -> pd.DataFrame:
    """Two inference budgets judged; a size trained is one for both budgets, or one per budget (a tuple)."""
    rows = []
    for i, (verdict, optimum) in enumerate(zip(a1_verdicts, a2_forecast)):
        first = a1_trained[i] if isinstance(a1_trained, tuple) else a1_trained
        second = a2_trained[i] if isinstance(a2_trained, tuple) else a2_trained
        c_inf = 1e6 * 10 ** i
        rows.append({"approach": "Approach 1", "c_inf": c_inf, "forecast_N": 35_000.0, "stand_in_N": first,
                     "away": max(first / 35_000.0, 35_000.0 / first), "verdict": verdict})
        rows.append({"approach": "Approach 2", "c_inf": c_inf, "forecast_N": optimum, "stand_in_N": second,
                     "away": max(second / optimum, optimum / second), "verdict": "worse"})
    return pd.DataFrame(rows)


def test_the_snap_names_both_neighbours_and_a_coin_toss_only_when_they_are_about_as_far() -> None:
    said = snap_sentence(forecast(chinchilla=30_000.0), [16_000.0, 24_000.0, 37_600.0])
    assert "picks 30K parameters, trained as 37.6K" in said
    assert "24K is 1.25× away and 37.6K is 1.25× away, so the snap is close to a coin toss" in said
    lopsided = snap_sentence(forecast(chinchilla=36_000.0), [16_000.0, 24_000.0, 37_600.0])
    assert "24K is 1.50× away and 37.6K is 1.04× away)." in lopsided and "coin toss" not in lopsided


@pytest.mark.parametrize("trained, forecast_N, smallest, expected", [
    (16_000.0, (7_000.0, 7_500.0), 16_000.0, "at 2 of the 2 budgets (smaller than the smallest size trained) the "
                                             "nearest size trained, 16K, stands in for it from up to 2.3 times away."),
    (16_000.0, (7_000.0, 7_500.0), 5_000.0, "at 2 of the 2 budgets the nearest size trained, 16K, stands in"),
    (10_000.0, (7_000.0, 8_000.0), 5_000.0, "each within 2× of the size trained for it (10K)."),
    # Optima on both sides of the smallest size: not all of them are smaller than it.
    ((16_000.0, 20_000.0), (7_000.0, 20_000.0), 16_000.0,
     "at 1 of the 2 budgets the nearest size trained, 16K, stands in for it from up to 2.3 times away; at the "
     "others it is within 2× of the size trained for it (20K)."),
])
def test_the_optima_say_where_approach_2s_optimum_is_and_what_stands_for_it(trained, forecast_N, smallest,
                                                                           expected: str) -> None:
    said = optima_sentence(judged(a2_trained=trained, a2_forecast=forecast_N), smallest)
    assert said.startswith("As inference grows, Approach 1 puts the optimum at 35K parameters, and Approach 2 at 7K to")
    assert expected in said
    assert optima_sentence(judged().iloc[:0], 1.0) == "The forecast names no optimum for either approach here."


def with_optima(chinchilla: float, first: list[float], second: list[float],
                band: tuple[float, float] = (0.5, 2.0)) -> pd.DataFrame:
    """`forecast(chinchilla)` with each approach's optimum at C_inf 1e6, 1e7, ... (bands `band` × N;
    k = C_inf/(2N), at least 1)."""
    rows = [{"approach": approach, "priced_by": approach, "c_inf": 1e6 * 10 ** i, "N": N,
             "N_low": N * band[0], "N_high": N * band[1], "k": max(1.0, 1e6 * 10 ** i / (2 * N))}
            for approach, sizes in (("1", first), ("2", second)) for i, N in enumerate(sizes)]
    return pd.concat([forecast(chinchilla=chinchilla), pd.DataFrame(rows)], ignore_index=True)


def test_the_direction_counts_optima_below_the_chinchilla_choice_and_names_those_outside_their_band() -> None:
    said = direction_sentence({"each run": with_optima(100_000.0, [50_000.0, 60_000.0, 70_000.0],
                                                       [90_000.0, 150_000.0, 200_000.0]),
                               "pooled seeds": with_optima(120_000.0, [40_000.0, 130_000.0], [30_000.0, 50_000.0])})
    assert ("with laws fitted to each run (Chinchilla choice 100K as fitted), Approach 1's at 3 of 3 (50K to 70K) and "
            "Approach 2's at 1 of 3 (90K to 200K)") in said
    assert "pooled seeds (Chinchilla choice 120K as fitted), Approach 1's at 1 of 2 (40K to 130K) and Approach 2's at 2 of 2" in said
    assert said.count(".") == 1  # every optimum inside its band and drawing more than one sample: nothing more
    outside = direction_sentence({"each run": with_optima(100_000.0, [50_000.0], [90_000.0], band=(1.1, 2.0))})
    assert ("Of the 2 optima, 2 lie outside their own bootstrap band (Approach 1's fitted to each run, at C_inf "
            "10⁶; Approach 2's fitted to each run, at C_inf 10⁶)") in outside
    assert "k = 1" not in outside
    bound = direction_sentence({"each run": with_optima(100_000.0, [50_000.0], [500_000.0])})  # k = 1e6/(2·5e5) = 1
    assert ("For Approach 2's fitted to each run at C_inf 10⁶, the optimum is the largest model that affords one "
            "sample (k = 1)") in bound


def test_approach_1_counts_its_good_budgets_and_says_when_it_is_the_chinchilla_choice() -> None:
    said = approach1_sentence(judged(), forecast())
    assert "at 1 of the 2 inference budgets; it is also the Chinchilla choice (37.6K)" in said
    other = approach1_sentence(judged(a1_trained=24_000.0, a1_verdicts=("worse", "worse")), forecast())
    assert other.endswith("at 0 of the 2 inference budgets.")
    mixed = approach1_sentence(judged(a1_trained=(37_600.0, 24_000.0)), forecast())  # the Chinchilla choice once
    assert mixed.endswith("at 1 of the 2 inference budgets.")
    assert approach1_sentence(judged().iloc[:0], forecast()) == "No size was trained for Approach 1's optimum here."


def test_the_slope_is_wrong_only_where_law_and_measurement_move_apart() -> None:
    measured = pd.DataFrame({"c_inf": 1e6, "N": [16_000.0, 37_600.0, 75_000.0], "value": [0.01, 0.1, 0.2]})
    wrong = slope_sentence(forecast(), measured, [1e6])
    assert "the forecast pass@k falls at 1 and rises at 0 of the 1 budgets, the measured pass@k falls at 0 and " \
           "rises at 1: at 1 they move in opposite directions" in wrong
    rising_law = forecast(priced={16_000.0: 0.01, 37_600.0: 0.05, 75_000.0: 0.09})
    assert "they never move in opposite directions" in slope_sentence(rising_law, measured, [1e6])
    # The smallest and the largest size compared, not the first two: a law that dips, then rises.
    dipping = forecast(priced={16_000.0: 0.05, 37_600.0: 0.01, 75_000.0: 0.09})
    assert "never move in opposite" in slope_sentence(dipping, measured, [1e6])
    # A flat law is no move, not a fall: it cannot move against the measurement.
    flat = forecast(priced={16_000.0: 0.05, 37_600.0: 0.05, 75_000.0: 0.0502})
    assert "falls at 0 and rises at 0 of the 1 budgets" in slope_sentence(flat, measured, [1e6])
    # Only sizes both priced and measured are compared: one measured size is no slope.
    assert "cannot be checked" in slope_sentence(forecast(), measured.iloc[:1], [1e6])


_PLANTED: dict[str, tuple] = {}  # one planted judgement per scoring, shared by the tests (they never change it)


def planted_judgement(tmp_path: Path, scored: str = "each run"):
    """The planted sweep (`test_sweep.sweep_suite`: 40K is best), its forecast, and its judgement."""
    from test_sweep import C_INF, GUESS, TASKS, planted_forecast, sweep_suite
    if scored not in _PLANTED:
        suite = load_suite(sweep_suite(tmp_path))
        forecast = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4)
        _PLANTED[scored] = suite, forecast, judge(suite, forecast, TASKS, [C_INF], scored=scored, guess=GUESS,
                                                  resamples=100, duel_resamples=200)
    suite, forecast, judgement = _PLANTED[scored]
    return suite, forecast.copy(), judgement


def test_the_outcome_says_what_the_planted_optimum_won_and_that_it_was_trained(tmp_path: Path) -> None:
    suite, forecast, judgement = planted_judgement(tmp_path)
    said = outcome_sentence(judgement)
    assert said.startswith("the 40K model, trained for Approach 2's 44K optimum, won both head-to-heads on pass@k")
    assert "against the Chinchilla choices (80K, 160K)" in said
    assert "Skill above guessing gives the same outcomes" in said and "within 2× of it at every" in said
    assert ringed_sizes(forecast, judgement.judged) == {"Chinchilla choice (task NLL, k = 1)": 1.6e5,
                                                        "Chinchilla choice (LM loss)": 8e4,
                                                        "trained for Approach 2's optimum (at its budget)": {8e5: 4e4}}


def test_the_tables_hold_every_forecast_and_drop_the_forecast_column_for_one(tmp_path: Path) -> None:
    suite, forecast, judgement = planted_judgement(tmp_path)
    pooled = planted_judgement(tmp_path / "pooled", "pooled seeds")[2]
    optima = optima_table({"each run": judgement, "pooled seeds": pooled})
    assert list(optima["fitted_to"]) == ["each run", "each run", "pooled seeds", "pooled seeds"]
    assert list(optima["measure"][:2]) == ["task NLL", "pass@k"] and set(optima["measured"]) == {"40K"}
    # The planted optima are 44K [28K, 64K]: the measured 40K lies inside.
    assert set(optima["forecast"]) == {"44K [28K, 64K]"} and set(optima["in_band"]) == {"yes"}
    cell_N = dict(zip(suite.base["cell"], suite.base["params"]))
    one = duel_table({"each run": judgement.duels}, cell_N)
    two = duel_table({"each run": judgement.duels, "pooled seeds": pooled.duels}, cell_N)
    assert "fitted_to" not in one and list(two.columns[:2]) == ["fitted_to", "c_inf"] and len(two) == 2 * len(one)
    assert one["t2"].iloc[0] == "40K, k = 10" and set(one["measure"]) == {"pass@k", "skill above guessing"}


def test_the_verdict_per_budget_names_the_optimum_the_t2_model_and_each_outcome_with_its_interval(
        tmp_path: Path) -> None:
    _, _, judgement = planted_judgement(tmp_path)
    table = verdict_table(judgement)
    row = table.iloc[0]
    assert (row["measured"], row["t2"], row["verdict"]) == ("40K", "40K for 44K", "the measured optimum")
    duel = judgement.duels[(judgement.duels["measure"] == "pass_at_k")
                           & (judgement.duels["opponent"] == "Chinchilla (task NLL, k = 1)")].iloc[0]
    assert row["Chinchilla (task NLL, k = 1)"] == f"win: {duel['difference']:+.3g} [{duel['low']:+.3g}, {duel['high']:+.3g}]"
    assert row["Chinchilla (LM loss)"].startswith("win: +")


def test_each_budget_rings_its_own_t2_model() -> None:
    ringed = ringed_sizes(forecast(), judged(a2_trained=(16_000.0, 10_000.0)))
    assert ringed["trained for Approach 2's optimum (at its budget)"] == {1e6: 16_000.0, 1e7: 10_000.0}
    assert ringed["Chinchilla choice (task NLL, k = 1)"] == 37_600.0


def test_the_outcome_says_where_skill_disagrees_and_the_curves_are_scored_as_asked(tmp_path: Path) -> None:
    from dataclasses import replace

    from test_sweep import C_INF, TASKS
    from t2lib.laws.sweep import measured_curve
    suite, _, judgement = planted_judgement(tmp_path)
    duels = judgement.duels.copy()
    duels.loc[duels["measure"] == "skill", "outcome"] = "tie"
    assert "On skill above guessing the outcomes differ (table)." in outcome_sentence(replace(judgement, duels=duels))
    for scored in ("each run", "pooled seeds"):
        curves = planted_judgement(tmp_path / scored.replace(" ", "_"), scored)[2].curves["pass_at_k"]
        assert np.allclose(curves["value"], measured_curve(suite, TASKS, C_INF, scored=scored, resamples=10)["value"])


def test_the_head_to_heads_say_at_how_many_budgets_the_t2_model_stood_in() -> None:
    from dataclasses import replace

    from t2lib.book.verdict import duel_sentence
    from t2lib.laws.sweep import DuelSummary
    summary = DuelSummary(t2_N=(342_000.0, 484_000.0), rivals_N=(842_000.0,), optimum_N=(535_000.0, 530_000.0, 150_000.0),
                          aways=(1.1, 1.1, 2.3), below_all=False, outcomes={"win": 1, "loss": 0, "tie": 2},
                          unlosable=0, same=0)
    said = duel_sentence(summary)
    assert said.startswith("the 342K and 484K models, trained for Approach 2's optima of 150K to 535K and a stand-in "
                           "more than 2× from it at 1 of the 3 inference budgets (up to 2.3×), won 1, lost 0 "
                           "and tied 2 of the 3 head-to-heads")
    below = replace(summary, t2_N=(16_400.0,), optimum_N=(7_400.0, 7_470.0), aways=(2.2, 2.2), below_all=True,
                    outcomes={"win": 0, "loss": 2, "tie": 0})
    assert duel_sentence(below).startswith("the 16.4K model, standing in from 2.2× away for Approach 2's optima of "
                                           "7.4K to 7.47K, smaller than any size trained, lost both head-to-heads")


def test_a_band_holds_the_optimum_only_if_a_size_tied_with_it_lies_inside(tmp_path: Path) -> None:
    from dataclasses import replace
    _, _, judgement = planted_judgement(tmp_path)
    far = judgement.judged.assign(forecast_N_low=1e5, forecast_N_high=2e5)  # the 40K optimum is outside
    none = judgement.judged.assign(forecast_N_low=np.nan, forecast_N_high=np.nan)
    assert set(optima_table({"each run": replace(judgement, judged=far)})["in_band"]) == {"no"}
    table = optima_table({"each run": replace(judgement, judged=none)})
    assert set(table["in_band"]) == {"no band"} and set(table["forecast"]) == {"44K"}


def test_the_primary_comparison_is_the_largest_budgets_t2_model_against_the_task_loss_choice(tmp_path: Path) -> None:
    from dataclasses import replace
    suite, _, judgement = planted_judgement(tmp_path)
    cell_N = dict(zip(suite.base["cell"], suite.base["params"]))
    said = primary_sentence(judgement, cell_N)
    row = judgement.duels[(judgement.duels["opponent"] == "Chinchilla (task NLL, k = 1)")
                          & (judgement.duels["measure"] == "pass_at_k")].iloc[0]
    assert said.startswith("**The primary comparison**, at the largest inference budget (C_inf = 800,000): the T² "
                           "model (40K, k = 10) scores")
    assert (f"where guessing alone scores {format_number(row['guess_t2'], 2)} and "
            f"{format_number(row['guess_opponent'], 2)}: difference "
            f"{row['difference']:+.3g} [{row['low']:+.3g}, {row['high']:+.3g}], a **win** for T².") in said
    assert said.endswith("for T².")  # the T² model is the smaller: no caveat
    t2_cell = row["t2_cell"]
    larger = primary_sentence(judgement, {**cell_N, t2_cell: 3e5})
    assert larger.endswith("for T². The T² model is not smaller than the Chinchilla choice, so this tests whether "
                           "the laws' choice beats Chinchilla's rule, not whether overtraining does.")
    other = judgement.duels[judgement.duels["opponent"] != "Chinchilla (task NLL, k = 1)"]
    assert "was not made" in primary_sentence(replace(judgement, duels=other), cell_N)
    assert primary_clause(judgement, cell_N) == (
        f"primary comparison (at C_inf 800,000) was a win for the 40K T² model on pass@k against the 160K task-loss "
        f"Chinchilla choice ({interval(row['difference'], row['low'], row['high'])})")
    tied = replace(judgement, duels=judgement.duels.assign(outcome="tie", low=-0.01))
    assert primary_clause(tied, cell_N).endswith(
        f"[−0.010, {signed(row['high'])}]: its interval includes zero, so the sweep cannot tell the two models apart)")
    assert primary_clause(judgement, {**cell_N, t2_cell: 3e5}).endswith(
        ", but the T² model is not smaller than the Chinchilla choice, so this tests whether the laws' choice beats "
        "Chinchilla's rule, not whether overtraining does")
    assert primary_clause(replace(judgement, duels=other), cell_N).startswith("primary comparison was not made")


def test_the_finding_says_how_the_t2_model_scored_and_where_the_measured_optimum_went(tmp_path: Path) -> None:
    from test_sweep import C_INF, GUESS, TASKS, planted_forecast, sweep_suite
    from t2lib.laws.sweep import optimum_role
    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4).assign(value=0.3)
    # Both budgets' optima at 40K; a trained size's role names every budget it stands for, as a forecast's do.
    roles = forecast["role"]
    for key in ("1", "2"):
        roles = roles.str.replace(optimum_role(key, C_INF), f"{optimum_role(key, C_INF)}, {optimum_role(key, 2e5)}",
                                  regex=False)
    both = pd.concat([forecast.assign(role=roles, c_inf=2e5), forecast.assign(role=roles)], ignore_index=True)
    judgement = judge(suite, both, TASKS, [2e5, C_INF], scored="each run", guess=GUESS, resamples=100,
                      duel_resamples=100)
    cell_N = dict(zip(suite.base["cell"], suite.base["params"]))
    said = finding_sentence(judgement, both, cell_N)
    best = judgement.duels.loc[judgement.duels["measure"] == "pass_at_k", "a"].max()
    assert said.startswith(f"The T² model (40K) scored at most {best:.3g} macro pass@k (")
    assert "where the law had forecast 0.3 to 0.3 for it." in said
    assert said.endswith("With no law, the measured optimum on pass@k did not move as the inference budget grew: "
                         "40K at C_inf = 200,000, 40K at C_inf = 800,000.")
    # At 120,000 FLOPs per token the 40K optimum is the largest size that draws a sample: capped, not evidence.
    capped = pd.concat([both[both["c_inf"] == C_INF].assign(c_inf=1.2e5), both[both["c_inf"] == C_INF]])
    capped["role"] = capped["role"].str.replace("C_inf 200,000", "C_inf 120,000", regex=False)
    judged_capped = judge(suite, capped, TASKS, [1.2e5, C_INF], scored="each run", resamples=50, duel_resamples=50)
    assert finding_sentence(judged_capped, capped, cell_N).endswith(
        "cannot show a direction (fewer than two budgets leave it free): 40K at C_inf = 120,000, 40K at C_inf = "
        "800,000 (at C_inf = 120,000 it is the largest size that draws one sample, capped by the budget, so the "
        "direction is read from the others).")


def test_the_sweep_state_reads_what_its_folder_holds(tmp_path: Path) -> None:
    from t2lib.book.sweep_report import sweep_state
    from t2lib.laws.forecast import SWEEP_FORECAST_FILES

    empty = sweep_state(tmp_path)
    assert (empty.present, empty.committed, empty.complete, empty.trained) == ([], False, False, None)
    assert empty.pending == "the forecasts are not made yet"
    committed = sweep_state(Path(__file__).resolve().parents[1] / "data" / "real" / "t2mini-v2-validation")
    assert committed.committed and committed.present == list(SWEEP_FORECAST_FILES)
    assert committed.n_planned == int(committed.plan["seeds"].sum()) >= 10
    assert committed.pending.startswith(f"{committed.n_runs} of {committed.n_planned} runs scored, "
                                        f"{len(committed.complete_cells)} of {len(committed.plan)} sizes")


def test_a_judgement_is_cached_by_the_build_and_keyed_by_its_inputs(tmp_path: Path, monkeypatch) -> None:
    from test_sweep import C_INF, GUESS, TASKS, planted_forecast, sweep_suite
    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4)
    monkeypatch.setenv("T2LIB_CACHE", str(tmp_path / "cache"))
    first = judge(suite, forecast, TASKS, [C_INF], scored="each run", guess=GUESS, resamples=50, duel_resamples=50)
    again = judge(suite, forecast, TASKS, [C_INF], scored="each run", guess=GUESS, resamples=50, duel_resamples=50)
    assert len(list((tmp_path / "cache").glob("judge-*.pickle"))) == 1
    pd.testing.assert_frame_equal(first.duels, again.duels)
    judge(suite, forecast, TASKS, [C_INF], scored="pooled seeds", guess=GUESS, resamples=50, duel_resamples=50)
    judge(suite, forecast.assign(N_high=forecast["N_high"] * 1.01), TASKS, [C_INF], scored="each run", guess=GUESS,
          resamples=50, duel_resamples=50)
    judge(suite, forecast, TASKS, [C_INF], scored="each run", guess=GUESS, resamples=50, duel_resamples=50, seed=1)
    judge(suite, forecast, TASKS, [C_INF], scored="each run", guess=None, resamples=50, duel_resamples=50)
    # another scoring, another forecast, another seed, no guess levels: each its own result
    assert len(list((tmp_path / "cache").glob("judge-*.pickle"))) == 5


def test_the_primary_comparison_is_said_to_test_overtraining_only_where_the_t2_model_is_smaller() -> None:
    from t2lib.book.sweep_report import primary_test_sentence
    from t2lib.laws.sweep import optimum_role

    def planted(t2: float, chinchilla: float) -> pd.DataFrame:
        roles = {t2: optimum_role("2", 1e7), chinchilla: "Chinchilla choice (task NLL, k = 1)"}
        return pd.DataFrame([{"approach": "trainable", "priced_by": "2", "c_inf": 1e7, "N": N, "role": role}
                             for N, role in roles.items()])

    budgets = {"each run": [1e6, 1e7], "pooled seeds": [1e6, 1e7]}
    smaller = primary_test_sentence({"each run": planted(5e4, 1.7e5), "pooled seeds": planted(1e5, 1.7e5)}, budgets)
    assert smaller.startswith("At the largest inference budget the per-run forecast's T² model (50K) is smaller")
    larger = primary_test_sentence({"each run": planted(2.2e5, 1.7e5), "pooled seeds": planted(1e5, 1.7e5)}, budgets)
    assert "T² model (220K) is larger than the Chinchilla choice as trained (170K)" in larger
    assert "not whether overtraining does" in larger and "fitted to pooled seeds, 100K against 170K" in larger
