"""The helpers that carry numbers into the chapters' prose and "Paper vs this book" tables."""

import numpy as np
import pandas as pd
import pytest

from t2lib.book import report


def test_number_row_states_both_values_their_difference_and_the_rule() -> None:
    row = report.number_row("relative error (%)", 2.8, np.float64(3.3), ".2g", basis="independent")
    assert row["paper"] == "2.8" and row["this book"] == "3.3"
    assert row["difference"] == "+0.5 (1.2× the paper's): differs"
    assert report.number_row("q", 2.0, 2.5, ".2g", basis="independent", whose="the published")["difference"] \
        == "+0.5 (1.2× the published): differs"
    assert report.number_row("n", 100, 109, ".0f", basis="independent")["difference"].endswith(": close (no band)")
    assert report.number_row("n", 100, 111, ".0f", basis="independent")["difference"].endswith(": differs")
    assert row["basis"] == "independent"
    noise = report.number_row("margin", 0.0123, 0.0123 - 2.2e-10, ".3g", basis="by construction")
    assert noise["difference"] == "0 at the digits shown: close (no band)", "floating-point noise is not a difference"


def test_rows_refuse_a_non_finite_value_or_an_unknown_basis() -> None:
    with pytest.raises(ValueError, match="relative error: our value is not finite"):
        report.number_row("relative error", 2.8, float("nan"), basis="independent")
    with pytest.raises(ValueError, match="basis must be one of independent, by construction, simulated, not comparable"):
        report.claim_row("b", "yes", "yes", True, basis="roughly")


def test_a_range_agrees_only_inside_the_papers() -> None:
    assert report.range_row("nll", 10, 20, 11, 19, basis="independent")["difference"] == "agrees"
    assert report.range_row("nll", 10, 20, 7.6, 14.3, basis="independent")["difference"] == "differs"


def test_a_finding_the_data_cannot_tell_or_that_is_built_in_is_labelled_so() -> None:
    assert report.claim_row("b", "yes", "12 of 21", None, basis="independent")["difference"] == "inconclusive"
    assert report.claim_row("b", "yes", "yes", True, basis="independent", built_in=True)["difference"] == "not a test"
    assert "inconclusive" in report.AGREEMENT_RULE and "not a test" in report.AGREEMENT_RULE


def test_paper_vs_book_has_one_row_per_quantity() -> None:
    table = report.paper_vs_book([report.number_row("a", 1, 2, basis="independent"),
                                  report.claim_row("b", "yes", "no", False, basis="by construction")])
    assert list(table.columns) == ["paper", "this book", "difference", "basis", "note"]
    assert table.loc["b", "difference"] == "differs" and table.loc["b", "basis"] == "by construction"
    labelled = report.paper_vs_book([report.number_row("a", 1, 2, basis="independent")], "not comparable: x")
    assert labelled.loc["a", "basis"] == "not comparable" and labelled.columns.name == "not comparable: x"
    with pytest.raises(ValueError, match="at least one row"):
        report.paper_vs_book([])


def test_table_rows_name_each_task_by_its_display_name_where_given() -> None:
    comparison = pd.DataFrame([{"task": "arc_easy", "winner_paper": "overtrained", "winner_ours": "Chinchilla",
                                **{f"{cell}_{what}_{side}": value for cell in ("best_overtrained", "chinchilla_opt")
                                   for side in ("paper", "ours")
                                   for what, value in (("pass_at_k", 0.5), ("size", "84M"))}}])
    names = pd.Series({"arc_easy": "ARC-Easy"})  # as a suite's display_names
    named = report.paper_vs_book(report.table_rows(comparison, "FT, ", basis="independent", names=names))
    assert list(named.index) == ["FT, ARC-Easy: best overtrained pass@k", "FT, ARC-Easy: best overtrained size",
                                 "FT, ARC-Easy: Chinchilla-optimal pass@k", "FT, ARC-Easy: Chinchilla-optimal size",
                                 "FT, ARC-Easy: winner"]
    assert named.loc["FT, ARC-Easy: winner", "difference"] == "differs"
    assert report.paper_vs_book(report.table_rows(comparison, basis="independent")).index[0].startswith("arc_easy: ")


def test_paper_claims_come_from_the_data_folder() -> None:
    assert report.paper_claim("figure4_relative_error_approach1")["value"] == 2.8
    assert report.paper_claim("figure3_task_nll_axis")[["low", "high"]].tolist() == [10, 20]
    with pytest.raises(KeyError, match="no claim 'nope'"):
        report.paper_claim("nope")


def test_calibration_note_only_for_calibrated_tasks() -> None:
    class FakeSuite:
        tasks = pd.DataFrame({"task": ["x", "y"], "source": ["simulated; calibrated to the paper's Table 1", "real"]})

    note = report.calibration_note(FakeSuite, "Table 1")
    assert "by construction" in note and "(x)" in note
    assert report.calibration_note(FakeSuite, "Table 2") == ""


def test_a_checkpoint_keeps_its_suites_size_label() -> None:
    from t2lib.book.tables import checkpoint_size_label

    assert checkpoint_size_label(pd.Series({"params": 455_546_560, "size_label": "455M"})) == "455M"
    assert checkpoint_size_label(pd.Series({"params": 455_546_560})) == "456M"


def test_describe_sources_says_shared_parts_once_and_counts_variants() -> None:
    sources = pd.Series(["simulated (seed 0); calibrated to Table 1"] * 2 + ["simulated (seed 0); calibrated to Table 2"])
    assert report.describe_sources(sources) == \
        "simulated (seed 0); calibrated to Table 1 (2 tasks); calibrated to Table 2 (1 task)"
    assert report.describe_sources(pd.Series(["real: ours"] * 3)) == "real: ours"
    assert report.describe_sources(pd.Series(["", ""])) == "no source given in tasks.csv"


def test_source_revision_names_the_commit_or_says_why_not(tmp_path) -> None:
    from pathlib import Path

    revision = report.source_revision(Path(__file__).resolve().parent.parent)
    assert revision.startswith("unknown") or len(revision.split()[0]) == 40
    assert report.source_revision(tmp_path) == "unknown (not built from a git checkout)"


def test_first_commit_orders_two_files_or_says_why_not(tmp_path) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    assert report.first_commit(tmp_path, "forecast.json") == "unknown (not a git checkout)"
    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "T")
    (tmp_path / "forecast.json").write_text("{}")
    git("add", "forecast.json")
    git("commit", "-qm", "the forecast")
    (tmp_path / "results.csv").write_text("x\n")
    assert report.first_commit(tmp_path, "results.csv") == "unknown (results.csv is not committed)"
    git("add", "results.csv")
    git("commit", "-qm", "the results")
    (tmp_path / "forecast.json").write_text('{"changed": 1}')  # a later change keeps the first commit
    git("commit", "-qam", "an edit")
    forecast, results = report.first_commit(tmp_path, "forecast.json"), report.first_commit(tmp_path, "results.csv")
    assert forecast.subject == "the forecast" and results.subject == "the results"
    assert report.committed_before(tmp_path, forecast, results)
    assert not report.committed_before(tmp_path, results, forecast)
    assert not report.committed_before(tmp_path, forecast, forecast)


def test_search_edge_note_counts_the_optima_a_search_stopped_at() -> None:
    from t2lib.laws.frontier import frontier
    from t2lib.laws.laws import T2Loss

    laws = {"no size term": T2Loss(E=0.0, A=0.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4),
            "size term": T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)}
    optima = pd.concat([frontier(law, [1e18], 1e9).assign(law=name) for name, law in laws.items()]).set_index("law")
    at_edge = optima[["constraint"]] == "search edge"
    assert at_edge.loc["no size term", "constraint"] and not at_edge.loc["size term", "constraint"]
    note = report.search_edge_note(at_edge)
    assert note.startswith("In 1 of the 2 optima") and "1,000 parameters" in note
    assert report.search_edge_note(at_edge.loc[["size term"]]) == (
        "Every one of these optima lies inside the search's range of sizes.")
    padded = pd.DataFrame([[True, None], [False, False]])  # as pandas pads rows of unequal length
    with pytest.raises(TypeError, match="booleans"):
        report.search_edge_note(padded)


def test_a_number_with_a_band_agrees_only_when_the_papers_value_is_inside_it() -> None:
    inside = report.number_row("error (%)", 8.4, 3.2, ".2g", basis="simulated", band=(1.4, 9.0))
    outside = report.number_row("error (%)", 8.4, 8.3, ".2g", basis="simulated", band=(8.0, 8.35))
    assert inside["difference"].endswith("inside our band: agrees") and inside["this book"] == "3.2 [1.4, 9]"
    assert outside["difference"].endswith("outside our band: differs")  # within ±10%, yet outside the band


def planted_table1_suite(tmp_path, small_gain: float):
    """Two checkpoints at one budget: the larger one best at k = 1 (the Chinchilla-optimal
    one), the smaller drawing 4 samples, its pass@4 the larger's pass@1 plus `small_gain` plus
    zero-mean noise per question."""
    import numpy as np
    import pandas as pd

    import t2lib

    rng = np.random.default_rng(0)
    questions = 400
    p_large = rng.uniform(0.05, 0.6, questions)
    target = np.clip(p_large + small_gain + rng.normal(0, 0.1, questions), 0.01, 0.99)
    p_small = 1 - (1 - target) ** 0.25  # pass@4 of the small model = target
    checkpoints = pd.DataFrame({"checkpoint": ["small", "large"], "params": [1e6, 4e6], "tokens": [4e8, 1e8],
                                "train_flops": [2.4e15, 2.4e15], "source": "test", "stage": "base",
                                "base_checkpoint": ""})
    nll = pd.DataFrame({"checkpoint": np.repeat(["small", "large"], questions), "task": "t",
                        "question": np.tile(np.arange(questions), 2),
                        "nll": -np.log(np.concatenate([p_small, p_large]))})
    return t2lib.load_suite(t2lib.write_suite(tmp_path / f"gain{small_gain}", checkpoints, nll))


def test_table1_margins_are_clear_only_beyond_question_noise(tmp_path) -> None:
    from t2lib.book.tables import margin_bands

    clear = margin_bands(planted_table1_suite(tmp_path, 0.15), ["t"], c_train=2.4e15, c_inf=8e6, resamples=300)
    tie = margin_bands(planted_table1_suite(tmp_path, 0.0), ["t"], c_train=2.4e15, c_inf=8e6, resamples=300)
    assert clear["outcome"].iloc[0] == "clear" and 0.1 < clear["margin"].iloc[0] < 0.2
    assert tie["outcome"].iloc[0] == "within noise" and tie["margin_low"].iloc[0] == 0.0


def seeded_copy(suite, tmp_path, small_seeds):
    """`suite` (planted_table1_suite) with each checkpoint as seed 0 of its cell, and seeds 1, 2 of
    the small one whose probabilities are `small_seeds` times seed 0's."""
    import numpy as np
    import pandas as pd

    import t2lib

    checkpoints = suite.checkpoints.assign(cell=suite.checkpoints["checkpoint"], seed=0)
    extra = [checkpoints[checkpoints["checkpoint"] == "small"].assign(checkpoint=f"small-s{s}", seed=s)
             for s in (1, 2)]
    small = suite.nll[suite.nll["checkpoint"] == "small"]
    nll = [suite.nll] + [small.assign(checkpoint=f"small-s{s}", nll=small["nll"] - np.log(factor))
                         for s, factor in zip((1, 2), small_seeds)]
    return t2lib.load_suite(t2lib.write_suite(tmp_path / f"seeded{small_seeds}", pd.concat([checkpoints, *extra]),
                                              pd.concat(nll)))


def test_table1_on_a_seeded_suite_compares_cells_and_resamples_their_seeds(tmp_path) -> None:
    from t2lib.book.tables import margin_bands, overtrained_vs_chinchilla

    plain = planted_table1_suite(tmp_path, 0.15)
    budgets = dict(c_train=2.4e15, c_inf=8e6)
    agreeing = seeded_copy(plain, tmp_path, (1.0, 1.0))
    table = overtrained_vs_chinchilla(agreeing, ["t"], **budgets)
    assert table.equals(overtrained_vs_chinchilla(plain, ["t"], **budgets))  # identical seeds: the cells themselves
    pd.testing.assert_frame_equal(margin_bands(agreeing, ["t"], resamples=300, **budgets),
                                  margin_bands(plain, ["t"], resamples=300, **budgets), rtol=1e-12)
    seeded = seeded_copy(plain, tmp_path, (0.5, 1.2))
    spread = margin_bands(seeded, ["t"], resamples=300, **budgets)
    twice = margin_bands(seeded, ["t", "t"], resamples=300, **budgets)  # a task's draws do not depend on its neighbours
    pd.testing.assert_frame_equal(twice.iloc[[1]].reset_index(drop=True), spread.reset_index(drop=True))
    narrow = margin_bands(plain, ["t"], resamples=300, **budgets)
    width = lambda band: float(band["margin_high"].iloc[0] - band["margin_low"].iloc[0])
    assert width(spread) > 1.5 * width(narrow)
    # Pooling seeds scores like an ensemble: run by run, the small cell's pass@k is lower (pass@k is concave in p).
    pooled = overtrained_vs_chinchilla(seeded, ["t"], **budgets).iloc[0]
    assert pooled["best_overtrained_size"] != pooled["chinchilla_opt_size"]
    assert spread["best_per_run"].iloc[0] < pooled["best_overtrained_pass_at_k"] - 1e-3
    assert spread["chinchilla_per_run"].iloc[0] == pytest.approx(pooled["chinchilla_opt_pass_at_k"])  # one seed


def test_the_sentences_under_table_2_name_per_run_scores_ceilings_and_the_copies_shift() -> None:
    from t2lib.book.tables import (COMMITTED_BASE, FINE_TUNED_BASE, SAME_CHECKPOINT, base_shift_sentence,
                                   ceiling_sentence, per_run_sentence)

    shown = pd.DataFrame({"method": [COMMITTED_BASE, COMMITTED_BASE, FINE_TUNED_BASE, FINE_TUNED_BASE],
                          "task": ["Knowledge", "Reasoning"] * 2,
                          "best_overtrained_pass_at_k": [0.99, 0.41, 0.985, 0.01],
                          "chinchilla_opt_pass_at_k": [0.97, 0.41, 0.96, 0.01],
                          "best_per_run": [0.97, 0.2, 0.95, 0.01], "chinchilla_per_run": [0.96, 0.2, 0.955, 0.01],
                          "best_overtrained_size": ["174K", "342K", "174K", "74.8K"],
                          "chinchilla_opt_size": ["342K", "342K", "342K", "74.8K"],
                          "gap": ["within noise", SAME_CHECKPOINT, "within noise", SAME_CHECKPOINT]})
    assert per_run_sentence(shown).endswith("point estimate is ahead of the Chinchilla choice's in 1 of the 2 rows "
                                            "where they differ, by at most 0.01 (no interval is computed run by run).")
    assert per_run_sentence(shown.drop(columns=["best_per_run", "chinchilla_per_run"])) == ""
    assert ceiling_sentence(shown) == ("On Knowledge both checkpoints score above 0.95 (2 rows): there no margin can "
                                       "exceed 0.04, whatever the sizes.")
    assert ceiling_sentence(shown[shown["task"] == "Reasoning"]) == ""
    assert base_shift_sentence(shown).startswith("The two base rows differ by up to 0.400 in pass@$k$ (the best "
                                                 "checkpoint on Reasoning: 0.410 for the committed runs, 0.010 for "
                                                 "the weights fine-tuned (342K and 74.8K: the two sets of weights "
                                                 "pick different sizes))")
    assert base_shift_sentence(shown[shown["method"] == COMMITTED_BASE]) == ""


def test_a_chapter_is_titled_by_its_first_heading(tmp_path) -> None:
    (tmp_path / "grid.md").write_text("---\njupytext: {}\n---\n\n# The checkpoint grid\n\n## A section\n")
    assert report.chapter_title("grid", tmp_path) == "The checkpoint grid"
    assert report.chapter_title("verdict") == "What the evidence says"  # the book's own, from the repository root
    (tmp_path / "empty.md").write_text("no heading\n")
    with pytest.raises(ValueError, match="no '# ' heading"):
        report.chapter_title("empty", tmp_path)


def test_comparison_rows_write_large_numbers_as_powers_of_ten() -> None:
    row = report.number_row("tokens per parameter", 1.3e4, 11_070.0, ".4g", basis="independent")
    assert row["paper"] == "1.3×10⁴" and row["this book"] == "1.107×10⁴" and "e+" not in row["difference"]
    claim = report.claim_row("budget", "2.56e19 FLOPs", "1e+25 FLOPs", True, basis="independent")
    assert claim["paper"] == "2.56×10¹⁹ FLOPs" and claim["this book"] == "10²⁵ FLOPs"


def test_most_needs_the_share_beyond_a_coin_flip() -> None:
    assert report.most_of(12, 21) is None and report.most_of(19, 21) is True and report.most_of(2, 21) is False
    assert report.most_of(60, 100) is None and report.most_of(70, 100) is True


def test_an_admonition_is_shown_only_with_something_to_say() -> None:
    assert report.admonition("In progress", "") == ""
    assert report.admonition("In progress", "Half done.") == ":::{admonition} In progress\n:class: warning\nHalf done.\n:::\n"


def test_table1_is_shown_with_guessing_at_each_k_and_said_with_its_construction(tmp_path) -> None:
    import numpy as np
    import pandas as pd
    import pytest

    import t2lib
    from t2lib.book.tables import gap_sentence, margin_bands, overtrained_vs_chinchilla, with_margins_and_guessing

    plain = planted_table1_suite(tmp_path, 0.15)
    tasks = pd.DataFrame({"task": ["t"], "display_name": ["Planted"], "group": ["synthetic"], "n_questions": [400],
                          "source": ["planted"], "guess": [0.01]})
    suite = t2lib.load_suite(t2lib.write_suite(tmp_path / "guessed", plain.checkpoints, plain.nll, tasks))
    budgets = dict(c_train=2.4e15, c_inf=8e6)
    shown = with_margins_and_guessing(suite, overtrained_vs_chinchilla(suite, ["t"], **budgets),
                                      margin_bands(suite, ["t"], resamples=200, **budgets))
    row = shown.iloc[0]
    assert row["task"] == "Planted" and row["best_overtrained_k"] == pytest.approx(4.0)
    assert row["guess_best"] == pytest.approx(1 - 0.99**4) and row["guess_chinchilla"] == pytest.approx(0.01)
    assert row["gap"] == "clear"
    sentence = gap_sentence(shown)
    assert "Chinchilla choice itself in 0 of 1 rows. In 0 of the other 1, one of the two scores no more than" in sentence
    assert "Of the remaining 1, the margin's interval excludes zero in 1." in sentence
    assert "cannot lose by construction" in sentence
    guessed = with_margins_and_guessing(
        t2lib.load_suite(t2lib.write_suite(tmp_path / "easy", plain.checkpoints, plain.nll, tasks.assign(guess=0.5))),
        overtrained_vs_chinchilla(suite, ["t"], **budgets), margin_bands(suite, ["t"], resamples=200, **budgets))
    assert guessed["gap"].iloc[0] == "at the guessing level"  # guessing's pass@4 is 0.94: above both checkpoints
    assert "In 1 of the other 1, one of the two scores no more than guessing" in gap_sentence(guessed)
    table = overtrained_vs_chinchilla(suite, ["t"], **budgets)
    same = with_margins_and_guessing(suite, table.assign(best_overtrained_size=table["chinchilla_opt_size"]),
                                     margin_bands(suite, ["t"], resamples=200, **budgets))
    assert same["gap"].iloc[0] == "same checkpoint"  # no margin to judge, whatever its interval
    assert "itself in 1 of 1 rows. In 0 of the other 0," in gap_sentence(same) and "remaining 0," in gap_sentence(same)
    unrecorded = with_margins_and_guessing(plain, overtrained_vs_chinchilla(plain, ["t"], **budgets),
                                           margin_bands(plain, ["t"], resamples=200, **budgets))
    assert unrecorded["gap"].iloc[0] == "clear" and np.isnan(unrecorded["guess_best"].iloc[0])  # no guess column
