"""`make student`: every chapter as a notebook, exercises kept, solutions (text and code) removed,
its prose in Markdown that Jupyter renders, with the numbers the executed book printed."""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from student_edition import without_solutions, write_student_edition  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MYST_LEFT = re.compile(r"\{[\w:-]+\}`|^```\{|^:::|^\([\w-]+\)=", re.M)


def executed_notebook(glued: dict[str, str]) -> nbformat.NotebookNode:
    """A notebook whose one cell glued these values, as myst-nb's glue() records them."""
    outputs = [nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": value},
                                      metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})
               for name, value in glued.items()]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("glue(...)", outputs=outputs)])


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The student edition of the real chapters, each glued name given the value 1 (no chapter is executed)."""
    executed = tmp_path_factory.mktemp("executed")
    for source in (ROOT / "chapters").glob("*.md"):
        names = {match.split(":")[0] for match in re.findall(r"\{glue:text\}`([^`]+)`", source.read_text())}
        nbformat.write(executed_notebook({name: "1" for name in names}), executed / f"{source.stem}.ipynb")
    out = tmp_path_factory.mktemp("student")
    return {re.sub(r"^\d+-", "", path.stem): json.loads(path.read_text()) for path in write_student_edition(out, executed)}


def markdown_of(notebook: dict) -> str:
    return "\n\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")


def test_the_student_edition_keeps_exercises_and_drops_solutions(edition: dict[str, dict]) -> None:
    text = json.dumps(edition["pass_at_k"])
    assert "**Exercise 2.1**" in text and "unbiased" in text
    assert "solution" not in text and "pass_at_k_unbiased(20, 3, 5)" not in text
    assert "learning goals" in text.lower()
    problems = markdown_of(edition["problem_set"])  # the problem set keeps its problems, not its answer key
    assert re.findall(r"\*\*Exercise (\d)\*\*", problems) == list("123456")
    assert "ps_answers_needed" not in json.dumps(edition["problem_set"]) and "solution" not in problems
    assert set(edition) == {p.stem for p in (ROOT / "chapters").glob("*.md")} - {"execution_statistics"}


def test_its_prose_is_markdown_with_the_books_numbers(edition: dict[str, dict]) -> None:
    left = {name: MYST_LEFT.findall(markdown_of(notebook)) for name, notebook in edition.items()}
    assert {name: found for name, found in left.items() if found} == {}
    frontiers = markdown_of(edition["frontiers"])  # numbered as the built book numbers them
    assert "**Figure 4.1.** Compute-optimal allocation" in frontiers and "(Figure 4.1)" in frontiers
    assert "[A second suite, built to test T²](11-second_suite.ipynb)" in frontiers
    assert "Besiroglu et al. (2024)" in frontiers and "> **Learning goals**" in frontiers
    assert frontiers.startswith("# 4. Forecasts") and "# Exercise 4.1: your answer" in json.dumps(edition["frontiers"])
    assert "[The suite format](" in markdown_of(edition["bring_your_own_data"])  # the README the page shows
    cells = edition["frontiers"]["cells"]  # a figure's caption follows the cell that draws it
    caption = next(i for i, cell in enumerate(cells) if "".join(cell["source"]).startswith("**Figure 4.1.**"))
    assert cells[caption - 1]["cell_type"] == "code"


def test_a_chapter_becomes_a_numbered_notebook_with_its_printed_numbers_and_answer_cells(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_toc.yml").write_text("root: intro\nparts:\n  - numbered: true\n    chapters:\n"
                                       "      - file: chapters/a\n  - chapters:\n      - file: chapters/b\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "references.bib").write_text("")
    (tmp_path / "chapters" / "b.md").write_text("# Bee\n")
    (tmp_path / "chapters" / "a.md").write_text(
        "# Ay\n\nBudget {glue:text}`c:.3g` FLOPs on {glue:text}`name` ({numref}`fig-a`, {doc}`b`).\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\n\nglue()\n```\n\n"
        "```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    caption: |\n      A plot of\n      {glue:text}`name`.\n"
        "    name: fig-a\n---\nplot()\n```\n\n## Exercises\n\n```{exercise}\n:label: ex-a\n\nTry.\n```\n\n"
        "```{solution-start} ex-a\n:class: dropdown\n```\nAnswer.\n```{solution-end}\n```\n\n"
        "```{exercise}\n:label: ex-b\n\nAgain.\n```\n\nThe end.\n")
    executed = tmp_path / "executed"
    executed.mkdir()
    nbformat.write(executed_notebook({"c": "25600000000000000000.0", "name": "'w24d2'"}), executed / "a.ipynb")
    nbformat.write(executed_notebook({}), executed / "b.ipynb")
    out = tmp_path / "_build" / "student"
    out.mkdir(parents=True)
    (out / "a.ipynb").write_text("{}")  # an earlier edition's unnumbered notebook
    written = write_student_edition(out, executed, root=tmp_path)
    assert [path.name for path in written] == ["01-a.ipynb", "b.ipynb"]
    assert sorted(path.name for path in out.iterdir()) == ["01-a.ipynb", "b.ipynb"]
    cells = [(cell["cell_type"], "".join(cell["source"]), cell["metadata"].get("jupyter", {}))
             for cell in json.loads(written[0].read_text())["cells"]]
    assert cells[0][0] == "code" and "os.chdir(root)" in cells[0][1]
    assert [(kind, source) for kind, source, _ in cells[1:3]] == [
        ("markdown", "# 1. Ay\n\nBudget 2.56×10¹⁹ FLOPs on w24d2 (Figure 1.1, [Bee](b.ipynb))."),
        ("markdown", "> The numbers in this notebook's text are those the book printed when it was built "
                     "(`make book`). Running the cells computes them again; with other parameters they will "
                     "differ from the text.")]
    assert cells[3] == ("code", "glue()", {"source_hidden": True})  # hidden in the book: collapsed
    assert cells[4][:2] == ("code", "plot()") and cells[4][2] == {}
    assert cells[5:] == [
        ("markdown", "**Figure 1.1.** A plot of w24d2.", {}),
        ("markdown", "## Exercises\n\n> **Exercise 1.1**\n>\n> Try.", {}),
        ("code", "# Exercise 1.1: your answer", {}),
        ("markdown", "> **Exercise 1.2**\n>\n> Again.", {}),
        ("code", "# Exercise 1.2: your answer", {}),
        ("markdown", "The end.", {})]
    (executed / "a.ipynb").unlink()
    with pytest.raises(SystemExit, match="no executed copy of .*a.md; run `make book` first"):
        write_student_edition(out, executed, root=tmp_path)
    nbformat.write(executed_notebook({"c": "1"}), executed / "a.ipynb")
    with pytest.raises(SystemExit, match="a.md: the executed chapter glued no value 'name'"):
        write_student_edition(out, executed, root=tmp_path)


def test_a_student_notebook_runs_from_the_repository_root_wherever_in_it_it_is_opened(
        edition: dict[str, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = "".join(edition["pass_at_k"]["cells"][0]["source"])
    monkeypatch.chdir(ROOT / "chapters")  # e.g. _build/student/, two levels down
    exec(first, {})
    assert Path.cwd() == ROOT and Path("data/t2_suite").is_dir()  # the chapters' relative paths resolve
    monkeypatch.chdir(tmp_path)  # outside any checkout: one line saying what to do
    with pytest.raises(SystemExit, match="inside a checkout of the book's repository"):
        exec(first, {})


def test_an_unpaired_solution_fence_is_refused() -> None:
    with pytest.raises(SystemExit, match="x.md: a solution-start fence without its solution-end"):
        without_solutions("```{solution-start} ex\n:class: dropdown\n```\ntext\n", Path("x.md"))
