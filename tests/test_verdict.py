"""The verdict page: its cells follow their rules, every (claim, evidence) pair appears once,
it is linked from the introduction's first paragraph and from the README, and each number it
shares with a chapter is the chapter's own (executed in fast mode, compared glue by glue)."""

import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest

import pandas as pd

from t2lib.book.cache import CACHE_ENV
from t2lib.book.verdict import (CLAIMS, EVIDENCE, Cell, StageOptima, approaches_cell, approaches_verdict, below_verdict,
                                error_verdict, forecast_cell, forecast_optimum_cell, forecast_verdict,
                                head_to_head_cell, head_to_head_verdict, not_tested, post_training_duel_cell,
                                post_training_optimum_cell, post_training_verdict, public_extrapolation_cell,
                                refit_optima_sentence, refit_optima_table,
                                simulated_optimum_cell, trained_extrapolation_cell, verdict_counts, verdict_table)
from t2lib.laws.paired import PairedDifference
from test_chapters import REPO_ROOT, VERDICT_CHAPTERS, run_fast

# verdict page's glue key → (chapter, that chapter's glue key): the same number on both pages.
SHARED = {
    "passk_difference": ("testing_the_forecast", "pass_at_k_difference"),
    "passk_low": ("testing_the_forecast", "pass_at_k_low"),
    "skill_difference": ("testing_the_forecast", "skill_difference"),
    "n_reversed": ("testing_the_forecast", "n_reversed"),
    "n_degenerate": ("testing_the_forecast", "n_degenerate"),
    "n_below_band": ("testing_the_forecast", "post_below_band"),
    "weakest_difference": ("testing_the_forecast", "weakest_difference"),
    "sardana_mean": ("real_overtrained", "held_mean"),
    "gadre_mean": ("real_overtrained", "gadre_mean"),
    "table1_higher": ("overtrained_vs_chinchilla", "n_wins"),
    "olmo_fitted_to": ("real_passk_bounds", "ladder_max_ratio"),
    "olmo_worst": ("real_passk_bounds", "macro_worst_abs"),
    "hindcast_wins": ("second_forecast", "n_wins"),
    "hindcast_losses": ("second_forecast", "n_losses"),
    "hindcast_ties": ("second_forecast", "n_ties"),
    "hindcast_away": ("second_forecast", "away"),
    "pooled_hindcast_wins": ("second_forecast", "pooled_n_wins"),
    "pooled_hindcast_losses": ("second_forecast", "pooled_n_losses"),
    "pooled_hindcast_ties": ("second_forecast", "pooled_n_ties"),
    "pooled_hindcast_away": ("second_forecast", "pooled_away"),
}


def glued(notebook: Path) -> dict[str, object]:
    """Every value a notebook glued, by name."""
    values = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if record:
                values[record["name"]] = ast.literal_eval(output["data"]["application/papermill.record/text/plain"])
    return values


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """The pages executed in fast mode, sharing one build cache as `make book` does: the verdict
    page, run last, reuses the fits its chapters made with the same inputs (the cache keys on every
    input, so a number the verdict computes differently is still computed, and compared)."""
    folder = tmp_path_factory.mktemp("verdict")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder / "cache"))
        return {stem: glued(run_fast(REPO_ROOT / "chapters" / f"{stem}.md", folder))
                for stem in sorted(VERDICT_CHAPTERS - {"verdict"}) + ["verdict"]}


def test_the_chapters_executed_here_are_the_verdicts_and_those_it_shares_numbers_with() -> None:
    assert VERDICT_CHAPTERS == {"verdict", *(chapter for chapter, _ in SHARED.values())}


@pytest.mark.chapter
def test_every_number_the_verdict_shares_with_a_chapter_is_the_chapters(pages: dict) -> None:
    for key, (chapter, their_key) in SHARED.items():
        assert pages["verdict"][key] == pytest.approx(pages[chapter][their_key], rel=1e-12), (key, chapter)


def test_the_page_is_linked_from_the_introductions_first_paragraph_and_the_readme() -> None:
    first_paragraph = (REPO_ROOT / "intro.md").read_text().split("\n\n")[1]
    assert "{doc}`chapters/verdict`" in first_paragraph
    assert "chapters/verdict.md" in (REPO_ROOT / "README.md").read_text()


def test_the_rules() -> None:
    assert head_to_head_verdict("win", "win") == "holds" and head_to_head_verdict("win", "loss") == "fails"
    assert head_to_head_verdict("win", "tie") == "inconclusive"
    assert head_to_head_verdict("loss", "win") == "fails" and head_to_head_verdict("tie", "tie") == "inconclusive"
    assert error_verdict([0.05, -0.08]) == "holds" and error_verdict([0.05, -0.08], [True, False]) == "inconclusive"
    assert error_verdict([0.3, -0.2]) == "fails" and error_verdict([0.02, 0.15]) == "inconclusive"


def test_the_rules_of_forecasts_optima_and_post_training() -> None:
    assert forecast_verdict(6, 6, 0) == "holds" and forecast_verdict(4, 6, 0) == "inconclusive"
    assert forecast_verdict(6, 6, 1) == "fails" and forecast_verdict(2, 6, 0) == "fails"
    assert below_verdict([(1e5, 2e5), (1.5e5, 2e5)]) == "holds" and below_verdict([(1e5, 2e5), (3e5, 2e5)]) == "fails"
    assert below_verdict([(1e5, 2e5)], n_degenerate=1) == "inconclusive"
    assert approaches_verdict((1, 3), (2, 4)) == "holds" and approaches_verdict((1, 2), (3, 4)) == "fails"
    assert approaches_verdict((1, 3), (2, 4), n_degenerate=2) == "inconclusive"
    assert verdict_counts({"fails": 2, "inconclusive": 1, "pending": 1}) == (
        "0 hold, 2 fail, 1 is inconclusive, 0 are not a test and 1 is pending")
    assert verdict_counts({"holds": 1, "inconclusive": 2}) == "1 holds, 0 fail, 2 are inconclusive and 0 are not a test"
    assert post_training_verdict([250.0, 900.0], 20.0, 0) == "holds"
    assert post_training_verdict([150.0, 900.0], 20.0, 0) == "fails"
    assert post_training_verdict([250.0], 20.0, 1) == "inconclusive"


def duel_result(difference: float, outcome: str) -> PairedDifference:
    return PairedDifference("pass_at_k", 0.5 + difference, 0.5, difference, difference - 0.01, difference + 0.01, 0.95,
                            outcome, ("t",))


def test_each_cell_applies_its_rule_to_planted_measurements() -> None:
    won, lost = duel_result(0.04, "win"), duel_result(-0.03, "loss")
    cell = head_to_head_cell(won, lost, duel_result(0.5, "loss"), 106_000, 1_620_000)
    assert (cell.claim, cell.evidence, cell.verdict) == ("beats", "validation", "fails")
    assert "+0.040 [+0.030, +0.050]" in cell.value and "106K T² stand-in against 1.62M" in cell.value
    guessed = head_to_head_cell(won, lost, duel_result(0.5, "loss"), 106_000, 1_620_000, (0.583, 0.2))
    assert guessed.value.startswith("pass@k +0.040 [+0.030, +0.050] (guessing alone: 0.58 and 0.2 at their k), skill")
    rows = pd.DataFrame({"approach": ["Approach 1", "Approach 2"], "relative_error": [-0.02, 0.03],
                         "inside_band": [True, True]})
    assert trained_extrapolation_cell(rows, 8000, 4, 0).verdict == "holds"
    assert trained_extrapolation_cell(rows, 8000, 4, 3).verdict == "inconclusive"  # degenerate laws behind it
    comparison = pd.DataFrame({"inside_band": [True, True, True]})
    assert forecast_cell(comparison, pd.DataFrame({"order": ["as forecast"] * 3})).verdict == "holds"
    assert forecast_cell(comparison, pd.DataFrame({"order": ["tie", "reversed"]})).verdict == "fails"
    wins = {"pass_at_k": won, "skill": won, "task_nll": duel_result(-0.2, "win")}
    assert post_training_duel_cell({"ft": wins, "sft": wins}, "holds").verdict == "holds"
    assert post_training_duel_cell({"ft": wins, "sft": wins}, "fails").verdict == "inconclusive"  # nothing to survive
    assert post_training_duel_cell({"ft": wins, "sft": {**wins, "skill": lost}}, "holds").verdict == "fails"
    assert "task NLL −0.20 [−0.21, −0.19] nats (a win)" in post_training_duel_cell({"ft": wins}, "holds").value
    optima = {key: pd.Series({"tokens_per_param": 900.0, "N": 5e4, "N_low": 3e4, "N_high": high})
              for key, high in (("1", 8e4), ("2", 2e5))}
    chinchilla = pd.Series({"tokens_per_param": 20.0, "N": 1.5e5})
    assert forecast_optimum_cell(optima, chinchilla, 1e15, 0, 12).verdict == "fails"  # a band reaches past it
    assert forecast_optimum_cell(optima, chinchilla, 1e15, 3, 12).verdict == "inconclusive"
    second = forecast_optimum_cell(optima, chinchilla, 1e15, 3, 12, evidence="second", context=" by the sweep's laws")
    assert (second.evidence, second.source) == ("second", "second_sweep") and "FLOPs by the sweep's laws;" in second.value
    assert "against the paper's direction" not in second.value
    above = {**optima, "2": pd.Series({**optima["2"].to_dict(), "N": 2e5})}
    assert forecast_optimum_cell(above, chinchilla, 1e15, 0, 12).value.endswith(
        "; Approach 2's optimum is larger than the Chinchilla choice, against the paper's direction")
    assert approaches_cell("second", {"Approach 1": 5e4, "Approach 2": 6e4},
                           {"Approach 1": (3e4, 8e4), "Approach 2": (4e4, 2e5)}, (1, 12)).source == "second_sweep"
    assert approaches_cell("grid", {"Approach 1": 5e4, "Approach 2": 6e4},
                           {"Approach 1": (3e4, 8e4), "Approach 2": (4e4, 2e5)}, (0, 12)).verdict == "holds"
    assert approaches_cell("simulation", {"Approach 1": 5e4, "Approach 2": 6e5},
                           {"Approach 1": (3e4, 8e4), "Approach 2": (4e5, 9e5)}).verdict == "fails"
    unstable = approaches_cell("second", {"Approach 1": 5e4, "Approach 2": 1.74e5},
                               {"Approach 1": (3e4, 8e4), "Approach 2": (2.12e4, 1.5e5)}, (12, 12))
    assert unstable.value == ("optimal N 50K [30K, 80K] (Approach 1) against 174K [21.2K, 150K] (Approach 2): bands "
                              "overlap; Approach 2's estimate lies outside its own band (the bootstrap refits disagree "
                              "with the fit on all data); 12 of 12 fits degenerate")
    quality = pd.DataFrame({"quality": ["converged"] * 8})
    optima = StageOptima({("Approach 1", "ft"): 300.0, ("Approach 2", "sft"): 150.0},
                         {"Approach 1": 500.0, "Approach 2": 180.0}, {"Approach 1": 400.0, "Approach 2": 100.0}, quality)
    cell = post_training_optimum_cell(optima, 25.0, 20.0)
    assert cell.verdict == "fails" and "below the base laws' 90% band in 1 of 2" in cell.value
    assert cell.value.startswith("optimum after ft and sft: 150 (Approach 2, sft) to 300 (Approach 1, ft) tokens per "
                                 "parameter (base laws: 180 to 500;")
    assert (cell.evidence, cell.source) == ("grid", "testing_the_forecast")
    degenerate = replace(optima, tuned={("Approach 1", "ft"): 900.0},
                         quality=pd.DataFrame({"quality": ["converged", "degenerate"]}))
    second = post_training_optimum_cell(degenerate, 25.0, 20.0, evidence="second", context=" at the sweep's budgets")
    assert (second.evidence, second.source, second.verdict) == ("second", "second_sweep", "inconclusive")
    assert second.value.startswith("optimum after ft and sft at the sweep's budgets: 900 (Approach 1, ft) to 900")
    assert second.value.endswith("; 1 of 2 refits degenerate (on the optima alone it would hold)")  # 900 > 10 × 20
    low = post_training_optimum_cell(replace(degenerate, tuned={("Approach 2", "sft"): 15.0}), 25.0, 20.0,
                                     note="; fine-tuning adds 14%", source="post_training")
    assert low.value.endswith("1 of 2 refits degenerate (on the optima alone it would fail); fine-tuning adds 14%")
    assert (low.verdict, low.source) == ("inconclusive", "post_training")
    table = refit_optima_table(optima).set_index("approach")
    assert table.loc["Approach 2", "sft"] == "150" and table.loc["Approach 1", "ft"] == "300 (below the band)"
    assert table.loc["Approach 1", "base band's lower end"] == "400" and "sft" in table.columns
    reasons = pd.DataFrame({"quality": ["degenerate", "degenerate", "converged"],
                            "reasons": ["in-sample R² 0.585, below 0.9; on a bound: theta1 = 100 (upper bound); E at "
                                        "its lower end (benign)",
                                        "in-sample R² 0.3, below 0.9", ""]})
    said = refit_optima_sentence(replace(optima, quality=reasons), 1e13, 2e6, "Each fine-tuning sees 5 tokens.")
    assert said.startswith("At $C_\\text{train}$ = 10¹³ FLOPs and $C_\\text{inf}$ = 2×10⁶ FLOPs per token, the "
                           "laws refitted after post-training put the optimum at 150 to 300 tokens per parameter, the "
                           "base laws at 180 to 500; 1 of the 2 post-trained optima lies below")
    assert ("But 2 of the 3 refits are degenerate (reasons, with how many refits give each: in-sample R² below 0.9 "
            "(2); on a bound: theta1 (upper bound) (1))") in said and said.endswith("Each fine-tuning sees 5 tokens.")
    assert "No refit is degenerate." in refit_optima_sentence(replace(optima, quality=reasons.iloc[2:]), 1e13, 2e6)
    assert public_extrapolation_cell(pd.Series([-0.03, -0.05]), pd.Series([0.02])).verdict == "holds"
    assert public_extrapolation_cell(pd.Series([-0.3, -0.2]), pd.Series([0.02])).verdict == "fails"
    by_law = public_extrapolation_cell(pd.Series([-0.03]), pd.Series([-0.08, -0.12]),
                                       gadre_laws={"C4": pd.Series([-0.08]), "RedPajama": pd.Series([-0.12])})
    assert "(mean per dataset's law: C4 −8.0%, RedPajama −12.0%)" in by_law.value and by_law.verdict == "inconclusive"
    simulated = {name: pd.Series({"t2_N": 1e9, "chinchilla_N": 3e9}) for name in ("Approach 1", "Approach 2")}
    cell = simulated_optimum_cell(simulated, {"Approach 1": (5e8, 2e9), "Approach 2": (6e8, 2.5e9)}, 2.56e19)
    assert cell.verdict == "not a test" and "both bands below it" in cell.value  # the direction is built in


def test_the_table_needs_every_claim_on_every_kind_of_evidence_once() -> None:
    cells = [not_tested(claim, evidence, "why") for claim in CLAIMS for evidence in EVIDENCE]
    table = verdict_table(cells)
    assert table.shape == (len(CLAIMS), len(EVIDENCE)) and (table == "not tested: why").all().all()
    with pytest.raises(ValueError, match="each \\(claim, evidence\\) once"):
        verdict_table(cells[1:])
    with pytest.raises(ValueError, match="each \\(claim, evidence\\) once"):
        verdict_table(cells + cells[:1])
    with pytest.raises(ValueError, match="known claim"):
        Cell("beats", "validation", "x", "probably", "", "")


def test_the_refits_follow_the_post_training_stages_a_suite_holds(tmp_path: Path) -> None:
    import t2lib
    from t2lib.book.verdict import post_training_optima

    full = t2lib.load_suite(REPO_ROOT / "data" / "t2_suite")
    kept = full.checkpoints[full.checkpoints["stage"] != "sft"]
    task = full.nll.loc[full.nll["checkpoint"].str.endswith("/ft"), "task"].iloc[0]  # a post-trained task
    nll = full.nll[(full.nll["task"] == task) & full.nll["checkpoint"].isin(kept["checkpoint"])
                   & (full.nll["question"] < 200)]
    only_ft = t2lib.load_suite(t2lib.write_suite(tmp_path / "only-ft", kept, nll,
                                                 full.tasks[full.tasks["task"] == task].assign(n_questions=200)))
    optima = post_training_optima(only_ft, [task], 2.56e19, 2e9, resamples=2, seed=0)
    assert {stage for _, stage in optima.tuned} == {"ft"} and set(optima.quality["stage"]) == {"ft"}
    assert set(optima.base) == {"Approach 1", "Approach 2"} and len(optima.quality) == 3  # Chinchilla + 2 approaches
