"""The chapter runner never leaves a failed notebook behind and rejects malformed chapters."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A test chapter
"""

PARAMETERS = """
```{code-cell} ipython3
:tags: [parameters]

fast = False
```
"""


def write_chapter(path: Path, body: str, with_parameters: bool = True) -> Path:
    path.write_text(HEADER + (PARAMETERS if with_parameters else "") + body)
    return path


def code_cell(source: str) -> str:
    return f"\n```{{code-cell}} ipython3\n{source}\n```\n"


def run(source: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO_ROOT / "scripts" / "run_chapter.py"), str(source), str(output), *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)


def test_a_raising_cell_fails_and_leaves_no_notebook(tmp_path: Path) -> None:
    source = write_chapter(tmp_path / "broken.md", code_cell("raise RuntimeError('planted failure')"))
    output = tmp_path / "out" / "broken.ipynb"
    result = run(source, output)
    assert result.returncode != 0
    assert "planted failure" in result.stderr
    assert not output.exists()
    assert list(output.parent.iterdir()) == []  # no temporary file left either


def test_a_failed_rerun_keeps_the_previous_notebook(tmp_path: Path) -> None:
    source = write_chapter(tmp_path / "flaky.md", code_cell("assert not fast, 'fails in fast mode'"))
    output = tmp_path / "flaky.ipynb"
    assert run(source, output).returncode == 0
    before = output.read_bytes()
    assert run(source, output, "-p", "fast", "true").returncode != 0
    assert output.read_bytes() == before


def test_a_chapter_without_parameters_cell_is_rejected(tmp_path: Path) -> None:
    source = write_chapter(tmp_path / "plain.md", code_cell("x = 1"), with_parameters=False)
    result = run(source, tmp_path / "plain.ipynb")
    assert result.returncode != 0
    assert "parameters" in result.stderr


def test_an_unknown_parameter_is_rejected_by_name(tmp_path: Path) -> None:
    source = write_chapter(tmp_path / "ok.md", code_cell("y = 2"))
    result = run(source, tmp_path / "ok.ipynb", "-p", "fsat", "true")
    assert result.returncode != 0
    assert "'fsat'" in result.stderr


def test_figures_are_exported(tmp_path: Path) -> None:
    plot = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"
    source = write_chapter(tmp_path / "plot.md", code_cell(plot))
    result = run(source, tmp_path / "run" / "plot.ipynb", "--figures", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    figures = list((tmp_path / "figs").glob("plot-fig*.png"))
    assert len(figures) == 1
    assert figures[0].read_bytes().startswith(b"\x89PNG")
