"""What chapters need of a suite: settings derived from it, one-sentence refusals, comparability."""

from pathlib import Path

import pandas as pd
import pytest

from t2lib import load_suite
from t2lib.book.requirements import (CHAPTER_NEEDS, CHAPTERS_WITHOUT_SUITE, SuiteRequirementError, comparability,
                                     needs_table, resolve, resolve_or_reason)
from user_suites import USER_SUITES, UserSuite, write_user_suite

REPO_ROOT = Path(__file__).resolve().parent.parent
SPECS = {spec.name: spec for spec in USER_SUITES}


@pytest.fixture(scope="module")
def suites(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("req")
    return {name: load_suite(write_user_suite(spec, root / name)) for name, spec in SPECS.items()}


@pytest.fixture(scope="module")
def default():
    return load_suite(REPO_ROOT / "data" / "t2_suite")


def test_the_paper_settings_are_kept_where_the_suite_has_them(default) -> None:
    settings = resolve("pass_at_k", default, task=None, c_train=None, c_inf=None)
    assert (settings["task"], settings["c_train"], settings["c_inf"]) == ("lambada_openai", 2.56e19, 2e9)
    assert settings.notes == [] and settings.markdown() == ""
    assert comparability(default, c_train=(2.56e19, 2.56e19), c_inf=(2e9, 2e9)) == ""


def test_missing_paper_settings_are_derived_and_said(suites) -> None:
    one_task = suites["one_task"]
    settings = resolve("pass_at_k", one_task, task=None, c_train=None, c_inf=None)
    assert settings["task"] == "my_benchmark" and settings["c_train"] == pytest.approx(6.4e17)
    assert settings["c_inf"] == 2e9
    assert any("c_train: 6.4e+17 FLOPs" in note for note in settings.notes)
    large = resolve("overtrained_vs_chinchilla", suites["large_models"], c_train=None, c_inf=None)
    assert large["c_inf"] >= 2 * 7e9 and "affords one sample" in large.markdown()


def test_a_suite_of_much_smaller_models_gets_its_inference_budget_scaled_with_its_sizes(tmp_path: Path) -> None:
    spec = UserSuite("tiny", sizes=(1e4, 1e5, 1e6), budgets=(1e12, 1e13, 1e14), tasks=("qa",))
    tiny = load_suite(write_user_suite(spec, tmp_path / "tiny"))
    settings = resolve("isoflop_profiles", tiny, c_inf=None)
    assert settings["c_inf"] == pytest.approx(2e9 * 1e6 / 901e6, rel=0.05)  # rounded up to two digits
    assert "scaled by this suite's largest checkpoint" in settings.markdown() and "k = 1e+05" in settings.markdown()
    assert resolve("isoflop_profiles", tiny, c_inf=5e6)["c_inf"] == 5e6  # a given budget is kept


def test_a_split_by_tokens_per_parameter_replaces_the_paper_sources(suites) -> None:
    settings = resolve("extrapolation", suites["one_task"], c_inf=None, fit_source=None, held_out_source=None,
                       split_tokens_per_param=None)
    fitted, held_out = settings["fit"], settings["held_out"]
    assert len(fitted) + len(held_out) == 20 and len(held_out) == 5
    assert (held_out["tokens"] / held_out["params"]).min() > (fitted["tokens"] / fitted["params"]).max()
    given = resolve("extrapolation", suites["one_task"], split_tokens_per_param=100.0)
    assert (given["fit"]["tokens"] / given["fit"]["params"]).max() <= 100 and not given["paper_split"]


def test_the_paper_split_is_kept_where_the_suite_has_it(default) -> None:
    settings = resolve("extrapolation", default, c_inf=None, fit_source=None, held_out_source=None,
                       split_tokens_per_param=None)
    assert settings["paper_split"] and (len(settings["fit"]), len(settings["held_out"])) == (85, 21)
    assert settings.notes == []


@pytest.mark.parametrize(("chapter", "suite", "parameters", "says"), [
    ("post_training", "one_task", {}, "it has no post-trained checkpoints with NLLs; add rows with stage 'ft'"),
    ("isoflop_profiles", "few_cells", {}, "task 'qa_alpha' has too few base checkpoints to fit the laws (6 checkpoints, 7 needed)"),
    ("pass_at_k", "one_task", {"task": "lambada_openai"}, "it has no task 'lambada_openai'; pass -p task with"),
    ("pass_at_k", "one_task", {"c_train": 1e20}, "no base checkpoints of two or more sizes at c_train = 1e+20"),
    ("pass_at_k", "large_models", {"c_inf": 2e9}, "c_inf = 2e+09 buys fewer than one sample"),
    ("extrapolation", "one_task", {"fit_source": "porian", "held_out_source": "overtrained"},
     "no base checkpoint has source 'porian'"),
    ("extrapolation", "one_task", {"fit_source": "user"}, "a split by source needs both fit_source and held_out_source"),
])
def test_a_lacking_suite_gets_one_sentence(chapter, suite, parameters, says, suites) -> None:
    with pytest.raises(SuiteRequirementError) as raised:
        resolve(chapter, suites[suite], **parameters)
    message = str(raised.value)
    assert message.startswith(f"The chapter '{chapter}' cannot run on the suite ") and says in message
    assert message.endswith(".") and message.count(". ") == 0


def test_user_suites_are_not_comparable_and_say_why(suites) -> None:
    reason = comparability(suites["one_task"], c_inf=(1e10, 2e9))
    assert reason.startswith("not comparable: this run uses its own checkpoint grid (20 base checkpoints")
    assert "tasks my_benchmark (not the paper's eight)" in reason and "c_inf = 1e+10 (the paper's: 2e+09)" in reason


def test_every_chapter_with_a_suite_has_its_needs_listed() -> None:
    chapters = {p.stem for p in (REPO_ROOT / "chapters").glob("*.md")} - set(CHAPTERS_WITHOUT_SUITE)
    assert set(CHAPTER_NEEDS) == chapters
    assert list(needs_table()["chapter"]) == list(CHAPTER_NEEDS)


def test_too_few_post_trained_checkpoints_to_fit_are_named(suites, tmp_path: Path) -> None:
    from t2lib import write_suite

    base = suites["one_task"]
    few = base.checkpoints.head(3)
    post = few.assign(checkpoint=few["checkpoint"] + "-ft", stage="ft", base_checkpoint=few["checkpoint"])
    nll = base.nll[base.nll["checkpoint"].isin(few["checkpoint"])]
    suite = load_suite(write_suite(tmp_path / "few_ft", pd.concat([base.checkpoints, post]),
                                   pd.concat([base.nll, nll.assign(checkpoint=nll["checkpoint"] + "-ft")]), base.tasks))
    with pytest.raises(SuiteRequirementError, match="post-trained checkpoints are too few to fit the laws "
                                                    r"\(at most 3 checkpoints"):
        resolve("post_training", suite)


def test_a_section_on_a_second_suite_gets_its_settings_or_the_sentence_why_not(suites) -> None:
    settings, reason = resolve_or_reason("pass_at_k", suites["one_task"], task=None, c_train=None, c_inf=None)
    assert settings["task"] == "my_benchmark" and reason == ""
    settings, reason = resolve_or_reason("second_suite", suites["one_task"])
    assert settings is None
    assert reason.startswith("The chapter 'second_suite' cannot run on the suite ") and "no grid.csv" in reason


def test_a_suite_shown_beside_says_what_it_is_or_why_it_is_not_shown(suites) -> None:
    from t2lib.book.requirements import suite_beside

    nothing = suite_beside("isoflop_profiles", "")
    assert nothing.suite is None and nothing.note().startswith("**Not shown.** no suite was given")
    shown = suite_beside("overtrained_vs_chinchilla", str(suites["one_task"].path), c_train=None, c_inf=None)
    assert shown.settings["c_train"] == pytest.approx(6.4e17) and shown.reason == ""
    assert shown.note().startswith(":::{admonition} Simulated data") and "c_train: 6.4e+17 FLOPs" in shown.note()
    lacking = suite_beside("post_training", str(suites["one_task"].path), c_train=None, c_inf=None)
    assert lacking.settings is None and "**Not shown.** The chapter 'post_training' cannot run" in lacking.note()
