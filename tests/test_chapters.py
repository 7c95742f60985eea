"""Every chapter of the book executes under papermill in fast mode (as `make book` runs them)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((REPO_ROOT / "chapters").glob("*.md"))


def run_chapter(source: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO_ROOT / "scripts" / "run_chapter.py"), str(source), str(output), *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)


@pytest.mark.chapter
@pytest.mark.parametrize("source", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_executes_in_fast_mode(source: Path, tmp_path: Path) -> None:
    output = tmp_path / f"{source.stem}.ipynb"
    result = run_chapter(source, output, "-p", "fast", "true")
    assert result.returncode == 0, result.stderr[-3000:]
    notebook = json.loads(output.read_text())
    errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert json.loads(output.with_suffix(".json").read_text())["parameters"] == {"fast": True}


def test_there_are_chapters() -> None:
    assert CHAPTERS, "no chapters found in chapters/"
