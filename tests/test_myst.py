"""t2lib.book.myst: the book's MyST prose as Markdown that Jupyter renders, references resolved as the built book resolves them."""

from pathlib import Path

import pytest

from t2lib.book.myst import PLAIN_MARKDOWN, Markdown, PlainMarkdown, bibliography, read_book, student_notebook_name

ROOT = Path(__file__).resolve().parent.parent


def small_book(root: Path) -> Path:
    """A two-chapter book: chapter 1 numbered, chapter b not, an appendix built around an included README."""
    (root / "chapters").mkdir()
    (root / "appendix").mkdir()
    (root / "_toc.yml").write_text("root: intro\nparts:\n  - numbered: true\n    chapters:\n      - file: chapters/a\n"
                                   "      - file: appendix/format\n  - chapters:\n      - file: chapters/b\n")
    (root / "intro.md").write_text("# Intro\n")
    (root / "appendix" / "format.md").write_text("# The format\n\nAs kept in the repository:\n\n"
                                                 "```{include} ../data/README.md\n:start-line: 1\n```\n")
    (root / "references.bib").write_text('@article{x2020,\n  author = {M{\\"a}chler, Li and Yi, Mo and Zhu, Wen},\n'
                                         "  year = {2020}\n}\n@book{y2021,\n  author = {Yi, Mo},\n  year = {2021}\n}\n")
    (root / "chapters" / "b.md").write_text("# Bee\n\n```{exercise}\n:label: ex-b\n\nDo it.\n```\n")
    (root / "chapters" / "a.md").write_text(
        "# Ay\n\n(sec-a)=\n## Part\n\n```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    caption: A plot.\n"
        "    name: fig-a\n---\nplot()\n```\n\n```{exercise} Hard\n:label: ex-a\n\nTry.\n```\n")
    return root


def test_numbers_follow_sphinx_per_chapter_and_across_unnumbered_pages(tmp_path: Path) -> None:
    book = read_book(small_book(tmp_path))
    assert book.numbers == {"fig-a": "Figure 1.1", "ex-a": "Exercise 1.1", "ex-b": "Exercise 1"}
    assert book.chapters == {"chapters/a": 1, "appendix/format": 2} and book.sections == {"sec-a": "Part"}
    assert book.includes == {"appendix/format": "data/README.md"}
    assert student_notebook_name("a", book) == "01-a.ipynb" and student_notebook_name("b", book) == "b.ipynb"
    real = read_book(ROOT)  # as the built book numbers them
    assert real.numbers["fig-frontiers"] == "Figure 4.1" and real.numbers["ex-ps-passk"] == "Exercise 1"


def test_roles_and_blocks_become_markdown(tmp_path: Path) -> None:
    book = read_book(small_book(tmp_path))
    convert = PlainMarkdown(book, tmp_path / "_build" / "student", glued={"c": "2.5"})
    text = ("(sec-a)=\n## Part\n\n{glue:text}`c:.2f` ({numref}`fig-a`, {numref}`Panel %s <fig-a>`, {ref}`sec-a`, "
            "{ref}`ex-b`), a {term}`cell <Cell>`, {doc}`b`, {doc}`the format <../appendix/format>`, {doc}`/intro`, "
            "{cite:t}`x2020`, {cite:p}`y2021`.\n\n:::{admonition} Goals\n:class: tip\nLearn.\n:::\n\n"
            "```{exercise} Hard\n:label: ex-a\n\nTry.\n```\n")
    assert convert.convert(text) == (
        "## Part\n\n2.50 (Figure 1.1, Panel 1.1, “Part”, Exercise 1), a cell, [Bee](b.ipynb), "
        "[the format](../../data/README.md), Intro (a page of the built book, `intro.md`), Mächler et al. (2020), "
        "(Yi, 2021).\n\n> **Goals**\n>\n> Learn.\n\n> **Exercise 1.1 (Hard)**\n>\n> Try.\n")
    with pytest.raises(SystemExit, match="x.md: the executed chapter glued no value 'd'"):
        PlainMarkdown(book, tmp_path, glued={}, source=Path("x.md")).convert("{glue:text}`d:.1f`")
    with pytest.raises(SystemExit, match="x.md: {numref} names 'fig-z', which no page defines"):
        PlainMarkdown(book, tmp_path, source=Path("x.md")).convert("{numref}`fig-z`")
    lenient = PlainMarkdown(book, tmp_path, strict=False)  # what a running notebook does with the unknown
    assert lenient.convert("{numref}`fig-z` {glue:text}`d:.1f` {cite:p}`nobody`") == "fig-z `d` nobody"


def test_bibtex_names_are_read_as_printed() -> None:
    cited = bibliography((ROOT / "references.bib").read_text())
    assert cited["maechler2012log1mexp"] == ("Mächler", "2012")
    assert cited["hoffmann2022chinchilla"] == ("Hoffmann et al.", "2022")


def test_a_chapter_displays_myst_in_the_book_and_markdown_in_a_student_notebook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    note = ":::{admonition} Real data\n:class: note\nSee {doc}`second_sweep`.\n:::\n"
    monkeypatch.delenv(PLAIN_MARKDOWN, raising=False)
    assert Markdown(note).data == note  # the book's build renders the MyST itself
    monkeypatch.setenv(PLAIN_MARKDOWN, str(ROOT / "_build" / "student"))
    monkeypatch.chdir(ROOT)  # where the student notebook's first cell moved
    assert Markdown(note).data == ("> **Real data**\n>\n> See "
                                   "[The forecast, tested by training](13-second_sweep.ipynb).\n")
