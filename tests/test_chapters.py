"""Every chapter of the book executes under papermill in fast mode (as `make book` runs them),
on the default suite and on a second, smaller suite given the way the book documents."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from t2lib import load_suite
from t2lib.suite import write_subset

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((REPO_ROOT / "chapters").glob("*.md"))
# Chapters that read a suite (the execution-statistics page reads the build records instead).
SUITE_CHAPTERS = [c for c in CHAPTERS if c.stem != "execution_statistics"]


def run_chapter(source: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO_ROOT / "scripts" / "run_chapter.py"), str(source), str(output), *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)


def executed_without_errors(output: Path) -> dict:
    notebook = json.loads(output.read_text())
    errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    return json.loads(output.with_suffix(".json").read_text())


@pytest.fixture(scope="module")
def second_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second suite: four of the default suite's tasks, 60 questions each, every checkpoint."""
    default = load_suite(REPO_ROOT / "data" / "t2_suite")
    return write_subset(default, tmp_path_factory.mktemp("second") / "suite",
                        tasks=["lambada_openai", "arc_easy", "sciq", "openbookqa"], max_questions=60, seed=1)


@pytest.mark.chapter
@pytest.mark.parametrize("source", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_executes_in_fast_mode(source: Path, tmp_path: Path) -> None:
    output = tmp_path / f"{source.stem}.ipynb"
    result = run_chapter(source, output, "-p", "fast", "true")
    assert result.returncode == 0, result.stderr[-3000:]
    record = executed_without_errors(output)
    assert record["parameters"] == {"fast": True}
    if source in SUITE_CHAPTERS:
        assert record["suite_sha256"] == load_suite(REPO_ROOT / "data" / "t2_suite").sha256


@pytest.mark.chapter
@pytest.mark.parametrize("source", SUITE_CHAPTERS, ids=[c.stem for c in SUITE_CHAPTERS])
def test_chapter_reruns_on_a_second_suite(source: Path, second_suite: Path, tmp_path: Path) -> None:
    output = tmp_path / f"{source.stem}.ipynb"
    result = run_chapter(source, output, "-p", "suite", str(second_suite), "-p", "fast", "true")
    assert result.returncode == 0, result.stderr[-3000:]
    record = executed_without_errors(output)
    assert record["suite_sha256"] == load_suite(second_suite).sha256
    assert str(second_suite) in output.read_text(), "the rerun did not read the second suite"


@pytest.mark.chapter
def test_the_documented_make_command_reruns_a_chapter(second_suite: Path, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "chapter", "NAME=checkpoint_grid", f"DATA={second_suite}", f"OUT={tmp_path}",
                             "FAST=1"], capture_output=True, text=True, cwd=REPO_ROOT, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    executed_without_errors(tmp_path / "checkpoint_grid.ipynb")
    assert (tmp_path / "checkpoint_grid-fig1.png").stat().st_size > 10_000


def test_there_are_chapters() -> None:
    assert CHAPTERS, "no chapters found in chapters/"
