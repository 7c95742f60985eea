"""Every chapter of the book executes under papermill in fast mode (as `make book` runs them)
on the default suite, and on small user-like suites (tests/user_suites.py) either produces its
results or stops with one sentence naming what the suite lacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from t2lib import load_suite
from t2lib.book.requirements import CHAPTERS_WITHOUT_SUITE
from user_suites import USER_SUITES, write_user_suite

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((REPO_ROOT / "chapters").glob("*.md"))
# Chapters that read a suite (t2lib.book.requirements.CHAPTERS_WITHOUT_SUITE says what the others read).
SUITE_CHAPTERS = [c for c in CHAPTERS if c.stem not in CHAPTERS_WITHOUT_SUITE]
# Chapters that write files take a `workdir`; each test gives its own, so that runs never share one.
WORKDIR_CHAPTERS = {"bring_your_own_data", "plan_your_run"}
# Each chapter's default suite: the simulated one, except where a chapter is about another.
DEFAULT_SUITES = {"miniature_suite": REPO_ROOT / "data" / "real" / "t2mini",
                  "second_suite": REPO_ROOT / "data" / "real" / "t2mini-v2",
                  "second_forecast": REPO_ROOT / "data" / "real" / "t2mini-v2"}


def run_chapter(source: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO_ROOT / "scripts" / "run_chapter.py"), str(source), str(output), *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)


def executed_without_errors(output: Path) -> dict:
    notebook = json.loads(output.read_text())
    errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    return json.loads(output.with_suffix(".json").read_text())


# The verdict page and the chapters whose numbers it shares execute once, in tests/test_verdict.py,
# which makes the same checks (`check_fast_run`) before comparing their numbers.
VERDICT_CHAPTERS = {"verdict", "testing_the_forecast", "real_overtrained", "overtrained_vs_chinchilla",
                    "real_passk_bounds", "second_forecast"}
EXECUTED_HERE = [c for c in CHAPTERS if c.stem not in VERDICT_CHAPTERS]


def run_fast(source: Path, folder: Path) -> Path:
    """Execute a chapter in fast mode into `folder` and check it as `check_fast_run` does; the notebook."""
    output = folder / f"{source.stem}.ipynb"
    extra = ("-p", "workdir", str(folder / "work")) if source.stem in WORKDIR_CHAPTERS else ()
    check_fast_run(source, output, run_chapter(source, output, "-p", "fast", "true", *extra))
    return output


@pytest.mark.chapter
@pytest.mark.parametrize("source", EXECUTED_HERE, ids=[c.stem for c in EXECUTED_HERE])
def test_chapter_executes_in_fast_mode(source: Path, tmp_path: Path) -> None:
    run_fast(source, tmp_path)


def stderr_on_the_page(output: Path) -> list[str]:
    """What the executed notebook's cells wrote to stderr (a warning, say), which the page would show."""
    notebook = json.loads(output.read_text())
    return ["".join(o["text"]) for c in notebook["cells"] for o in c.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stderr"]


def check_fast_run(source: Path, output: Path, result: subprocess.CompletedProcess) -> None:
    """The run succeeded without an error output or a warning on the page, in fast mode, on the
    chapter's default suite, and a paper chapter on its default suite is in the paper's setting."""
    assert result.returncode == 0, result.stderr[-3000:]
    record = executed_without_errors(output)
    assert not stderr_on_the_page(output), stderr_on_the_page(output)[0][:2000]
    assert record["parameters"]["fast"] is True
    if source in SUITE_CHAPTERS:
        default = DEFAULT_SUITES.get(source.stem, REPO_ROOT / "data" / "t2_suite")
        assert record["suite_sha256"] == load_suite(default).sha256
        if source.stem in PAPER_CHAPTERS:
            assert "not comparable: this run uses" not in output.read_text(), "the default suite is the paper's setting"


# Chapters that set the suite's results beside the paper's, on its default suite in the paper's setting.
PAPER_CHAPTERS = {c.stem for c in SUITE_CHAPTERS} - {"bring_your_own_data", "miniature_suite", "second_suite",
                                                     "second_forecast", "plan_your_run"}
# The user-like suites on which a chapter must stop with its named requirement; on every other
# (suite, chapter) pair it must produce its results.
EXPECTED_STOPS = {
    ("few_cells", chapter) for chapter in ("extrapolation", "frontiers", "isoflop_per_task", "isoflop_profiles",
                                           "plan_your_run")
} | {(spec.name, chapter) for spec in USER_SUITES for chapter in ("post_training", "miniature_suite",
                                                                                   "second_suite", "second_forecast")}


# Each user-like suite runs the chapters it was built to exercise: one_task (a user's single
# benchmark under a name that is not the paper's) every chapter that reads a suite; few_cells (too
# few cells to fit a law) the chapters that must refuse it, and Table 1, which fits nothing;
# large_models (models too large for the paper's inference budget) the chapters that derive an
# inference budget from the suite, one per kind of budget (c_inf, c_inf_forecast, with c_train).
USER_SUITE_CHAPTERS = {
    "one_task": {c.stem for c in SUITE_CHAPTERS},
    "few_cells": {chapter for name, chapter in EXPECTED_STOPS if name == "few_cells"} - {
        "post_training", "miniature_suite", "second_suite", "second_forecast"} | {"overtrained_vs_chinchilla"},
    "large_models": {"pass_at_k", "isoflop_profiles", "frontiers", "overtrained_vs_chinchilla"},
}
USER_SUITE_RUNS = [(source, spec.name) for spec in USER_SUITES for source in SUITE_CHAPTERS
                   if source.stem in USER_SUITE_CHAPTERS[spec.name]]


@pytest.fixture(scope="module")
def user_suites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("user_suites")
    return {spec.name: write_user_suite(spec, root / spec.name) for spec in USER_SUITES}


@pytest.mark.chapter
@pytest.mark.parametrize(("source", "name"), USER_SUITE_RUNS, ids=[f"{name}-{s.stem}" for s, name in USER_SUITE_RUNS])
def test_chapter_on_a_user_suite_runs_or_names_its_requirement(source: Path, name: str, user_suites: dict[str, Path],
                                                              tmp_path: Path) -> None:
    suite = user_suites[name]
    extra = ("-p", "workdir", str(tmp_path / "work")) if source.stem in WORKDIR_CHAPTERS else ()
    if "\nreal_suite = " in source.read_text():  # a user's rerun on their own data shows no suite beside it
        extra += ("-p", "real_suite", "")
    output = tmp_path / f"{source.stem}.ipynb"
    result = run_chapter(source, output, "-p", "suite", str(suite), "-p", "fast", "true", *extra)
    if (name, source.stem) in EXPECTED_STOPS:
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        assert result.returncode == 3, result.stderr[-3000:]
        assert message.startswith(f"The chapter '{source.stem}' cannot run on the suite {suite}: "), message
        assert message.endswith(".") and message.count(". ") == 0, message  # one sentence
        assert not output.exists()
        return
    assert result.returncode == 0, result.stderr[-3000:]
    record = executed_without_errors(output)
    assert record["suite_sha256"] == load_suite(suite).sha256
    assert str(suite) in output.read_text(), "the run did not read the user suite"
    if source.stem in PAPER_CHAPTERS:
        assert "not comparable: this run uses" in output.read_text(), "a user suite's comparison must say why it is not"


@pytest.mark.chapter
def test_the_documented_make_command_reruns_a_chapter(user_suites: dict[str, Path], tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "chapter", "NAME=overtrained_vs_chinchilla", f"DATA={user_suites['one_task']}",
                             f"OUT={tmp_path}", "FAST=1", "P=c_train=1.6e17 c_inf=1e9"],
                            capture_output=True, text=True, cwd=REPO_ROOT, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    executed_without_errors(tmp_path / "overtrained_vs_chinchilla.ipynb")
    record = json.loads((tmp_path / "overtrained_vs_chinchilla.json").read_text())
    assert record["parameters"] == {"suite": str(user_suites["one_task"]), "fast": True, "c_train": 1.6e17,
                                    "c_inf": 1e9}
    assert (tmp_path / "overtrained_vs_chinchilla-fig-table1.png").stat().st_size > 10_000


def test_there_are_chapters() -> None:
    assert CHAPTERS, "no chapters found in chapters/"


def test_every_chapter_that_reads_a_suite_runs_on_a_user_suite_and_every_refusal_is_exercised() -> None:
    assert USER_SUITE_CHAPTERS["one_task"] == {c.stem for c in SUITE_CHAPTERS}
    run = {(name, source.stem) for source, name in USER_SUITE_RUNS}
    assert {("few_cells", chapter) for name, chapter in EXPECTED_STOPS if name == "few_cells"} - run == {
        ("few_cells", "post_training"), ("few_cells", "miniature_suite"), ("few_cells", "second_suite"),
        ("few_cells", "second_forecast")}
