"""`make student`: every chapter as a notebook, exercises kept, solutions (text and code) removed."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from student_edition import without_solutions, write_student_edition  # noqa: E402


def test_the_student_edition_keeps_exercises_and_drops_solutions(tmp_path: Path) -> None:
    written = {path.stem: json.loads(path.read_text()) for path in write_student_edition(tmp_path)}
    text = json.dumps(written["pass_at_k"])
    assert "{exercise}" in text and "ex-passk-unbiased" in text
    assert "solution" not in text and "pass_at_k_unbiased(20, 3, 5)" not in text
    assert "learning goals" in text.lower()
    problems = json.dumps(written["problem_set"])  # the problem set keeps its problems, not its answer key
    assert problems.count("{exercise}") == 6 and "ps_answers_needed" not in problems and "solution" not in problems
    chapters = {p.stem for p in (Path(__file__).resolve().parent.parent / "chapters").glob("*.md")}
    assert set(written) == chapters


def test_a_student_notebook_runs_from_the_repository_root_wherever_in_it_it_is_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parent.parent
    notebook = json.loads(write_student_edition(tmp_path)[0].read_text())
    first = "".join(notebook["cells"][0]["source"])
    monkeypatch.chdir(root / "chapters")  # e.g. _build/student/, two levels down
    exec(first, {})
    assert Path.cwd() == root and Path("data/t2_suite").is_dir()  # the chapters' relative paths resolve
    monkeypatch.chdir(tmp_path)  # outside any checkout: one line saying what to do
    with pytest.raises(SystemExit, match="inside a checkout of the book's repository"):
        exec(first, {})


def test_an_unpaired_solution_fence_is_refused() -> None:
    with pytest.raises(SystemExit, match="x.md: a solution-start fence without its solution-end"):
        without_solutions("```{solution-start} ex\n:class: dropdown\n```\ntext\n", Path("x.md"))
