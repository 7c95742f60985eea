"""The chapter runner never leaves a failed notebook behind and rejects malformed chapters."""

import os
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


def test_slide_figures_are_svg_and_png_named_by_label_with_their_caption(tmp_path: Path) -> None:
    plot = ("from t2lib.book.style import use_house_style\nimport matplotlib.pyplot as plt\nuse_house_style()\n"
            "plt.plot([1, 2])\nplt.show()")
    cell = ("\n```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    caption: |\n      A line,\n      rising.\n"
            f"    name: fig-line\n---\n{plot}\n```\n")
    source = write_chapter(tmp_path / "plot.md", cell)
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_chapter.py"), str(source),
                             str(tmp_path / "run" / "plot.ipynb"), "--figures", str(tmp_path / "figs")],
                            capture_output=True, text=True, cwd=REPO_ROOT,
                            env={**os.environ, "T2BOOK_SLIDE_FIGURES": "1"})
    assert result.returncode == 0, result.stderr
    stem = tmp_path / "figs" / "plot-fig-line"
    assert stem.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in stem.with_suffix(".svg").read_text()
    assert stem.with_suffix(".txt").read_text() == "A line, rising.\n"


TYPED = """
```{code-cell} ipython3
:tags: [parameters]

fast = False          # quick mode
seed = 0              # the seed
c_train = 2.56e19     # a budget (FLOPs)
c_inf = None          # None: derived from
                      # the suite
# a header comment is no one's meaning
label = "x"           # a name
```
"""


def typed_chapter(path: Path, body: str) -> Path:
    path.write_text(HEADER + TYPED + body)
    return path


def test_numbers_are_read_as_people_write_them(tmp_path: Path) -> None:
    check = code_cell("assert c_train == 1.6e18 and isinstance(c_train, float)\n"
                      "assert c_inf == 1e10 and seed == 3 and fast is True and label == '2024'")
    source = typed_chapter(tmp_path / "typed.md", check)
    result = run(source, tmp_path / "typed.ipynb", "-p", "c_train", "1.6e18", "-p", "c_inf", "1e10",
                 "-p", "seed", "3", "-p", "fast", "true", "-p", "label", "2024")
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_value_of_the_wrong_kind_is_refused_before_execution(tmp_path: Path) -> None:
    source = typed_chapter(tmp_path / "typed.md", code_cell("raise RuntimeError('must not run')"))
    for name, value, expected in (("c_train", "lots", "expected a number"), ("seed", "2.5", "expected a whole number"),
                                  ("fast", "maybe", "expected true or false")):
        result = run(source, tmp_path / "typed.ipynb", "-p", name, value)
        assert result.returncode == 2
        assert f"parameter '{name}': {expected}" in result.stderr and repr(value) in result.stderr
        assert "must not run" not in result.stderr


def test_parameters_are_listed_with_defaults_and_meaning(tmp_path: Path) -> None:
    source = typed_chapter(tmp_path / "typed.md", code_cell("pass"))
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_chapter.py"), str(source),
                             "--list-parameters"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert "c_train" in result.stdout and "2.56e+19" in result.stdout and "a budget (FLOPs)" in result.stdout
    assert "None: derived from the suite\n" in result.stdout, "an indented comment line continues the one above"
    assert "header" not in result.stdout


def test_a_missing_requirement_exits_3_with_its_sentence(tmp_path: Path) -> None:
    raising = code_cell("from t2lib.book.requirements import SuiteRequirementError\n"
                        "raise SuiteRequirementError('The chapter needs post-trained checkpoints.')")
    result = run(write_chapter(tmp_path / "needs.md", raising), tmp_path / "needs.ipynb")
    assert result.returncode == 3
    assert result.stderr.strip().endswith("The chapter needs post-trained checkpoints.")
    assert not (tmp_path / "needs.ipynb").exists()


def test_make_chapter_takes_any_parameter_and_lists_them(tmp_path: Path) -> None:
    environment = {"PATH": "/usr/bin:/bin"}
    listing = subprocess.run(["make", "--no-print-directory", "chapter", "NAME=frontiers", "HELP=1"],
                             capture_output=True, text=True, cwd=REPO_ROOT, env=environment)
    assert listing.returncode == 0, listing.stderr
    assert "c_inf" in listing.stdout and "inference budget" in listing.stdout
    dry = subprocess.run(["make", "-n", "chapter", "NAME=frontiers", "P=c_inf=1e10 fast=true"],
                         capture_output=True, text=True, cwd=REPO_ROOT, env=environment)
    assert "-p c_inf 1e10 -p fast true" in dry.stdout


def load_runner():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_chapter", REPO_ROOT / "scripts" / "run_chapter.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_kernel_that_dies_while_starting_is_started_once_more(tmp_path: Path, monkeypatch) -> None:
    import pytest

    runner = load_runner()
    calls = []

    def flaky(notebook, output, **kwargs):
        calls.append(output)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        Path(output).write_text("{}")

    monkeypatch.setattr(runner.papermill, "execute_notebook", flaky)
    source = write_chapter(tmp_path / "c.md", code_cell("x = 1"))
    runner.execute_chapter(source, tmp_path / "out" / "c.ipynb", {})
    assert len(calls) == 2 and (tmp_path / "out" / "c.ipynb").read_text() == "{}"

    def broken(notebook, output, **kwargs):
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(runner.papermill, "execute_notebook", broken)
    with pytest.raises(RuntimeError, match="kernel_info"):
        runner.execute_chapter(source, tmp_path / "out2" / "c.ipynb", {})
    assert not list((tmp_path / "out2").iterdir())  # no half-written notebook left behind
