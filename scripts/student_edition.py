"""Write the chapters as notebooks for students: exercises kept, solutions removed.

    python scripts/student_edition.py OUT_DIR EXECUTED_DIR        (make student)

A solution is everything from a ```{solution-start} fence to its ```{solution-end} fence,
code cells included (sphinx-exercise's gated solutions). Each chapter becomes OUT_DIR/NAME.ipynb,
unexecuted; a chapter whose solution fences do not pair up is refused, naming it. Each notebook
opens with a cell that moves to the repository root, where the chapters' data paths start, so it
runs wherever in a checkout it is opened.

Jupyter does not render MyST, so the prose is written as plain Markdown: each glued number is the
value the book printed, 2.6×10¹⁹ rather than 2.56e+19 (read from the chapter executed by `make book`, in EXECUTED_DIR), figures
and exercises carry the book's numbers, a figure's caption follows the cell that draws it, and
cross-references, glossary terms, citations and admonitions become text, links and quotes.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import yaml
from myst_nb.core.variables import format_plain_text

from t2lib.book.formatting import powers_of_ten  # as the book's pages print numbers (_ext/t2book_assets.py)

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTION = re.compile(r"^```\{solution-start\}.*?^```\{solution-end\}\n```\n?", re.S | re.M)
TO_THE_ROOT = """\
# The chapter's data paths start at the repository root: run from there, wherever in it this notebook is.
import os
from pathlib import Path

root = next((folder for folder in [Path.cwd(), *Path.cwd().parents]
             if (folder / "t2lib").is_dir() and (folder / "data").is_dir()), None)
if root is None:
    raise SystemExit("Open this notebook inside a checkout of the book's repository "
                     "(`make student` writes it to _build/student/).")
os.chdir(root)"""

ROLE = re.compile(r"\{(glue:text|term|doc|numref|ref|cite:t|cite:p)\}`([^`]+)`")
TITLED = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)  # "text <target>"
EXERCISE = re.compile(r"^```\{exercise\}[ \t]*([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)\n?(.*?)^```[ \t]*$", re.S | re.M)
ADMONITION = re.compile(r"^:::\{admonition\}[ \t]*([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)(.*?)^:::[ \t]*$", re.S | re.M)
TARGET_LINE = re.compile(r"^\([\w-]+\)=[ \t]*\n", re.M)
GLUE_MIME = "application/papermill.record/text/plain"


def without_solutions(text: str, source: Path) -> str:
    """The chapter's MyST text with every gated solution removed."""
    stripped = SOLUTION.sub("", text)
    if "{solution-start}" in stripped or "{solution-end}" in stripped:
        raise SystemExit(f"{source}: a solution-start fence without its solution-end (or the reverse)")
    return stripped


@dataclass
class Book:
    """What the prose's cross-references point at, across every page."""
    root: Path
    titles: dict[str, str]   # page (path from the root, no suffix) -> its title
    numbers: dict[str, str]  # figure or exercise label -> "Figure 4.1", "Exercise 1"
    sections: dict[str, str]  # section label -> its heading
    citations: dict[str, tuple[str, str]]  # bibtex key -> (authors as cited, year)


def pages_in_order(toc: dict) -> list[tuple[str, int | None]]:
    """Each page of the table of contents with its chapter number, counted through the numbered
    parts as Sphinx counts them (None: an unnumbered page)."""
    pages: list[tuple[str, int | None]] = [(toc["root"], None)]
    count = 0
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            count += bool(part.get("numbered"))
            pages.append((chapter["file"], count if part.get("numbered") else None))
    return pages


def labelled_items(notebook: nbformat.NotebookNode) -> dict[str, list[str]]:
    """A page's figure labels and exercise labels, each in the order they appear."""
    items: dict[str, list[str]] = {"Figure": [], "Exercise": []}
    for cell in notebook.cells:
        name = cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
        if name:
            items["Figure"].append(name)
        if cell.cell_type == "markdown":
            items["Exercise"] += [label.group(1) for _, options, _ in EXERCISE.findall(cell.source)
                                  if (label := re.search(r":label:\s*(\S+)", options))]
    return items


def bibliography(text: str) -> dict[str, tuple[str, str]]:
    """Each bibtex entry's key -> (surnames as an author-year citation writes them, year)."""
    entries = {}
    for key, body in re.findall(r"@\w+\{([^,\s]+),(.*?)\n\}", text, re.S):
        surnames = [name.split(",")[0].strip() for name in
                    re.search(r"author\s*=\s*\{(.*?)\},?\n", body, re.S).group(1).split(" and ")]
        authors = (surnames[0] if len(surnames) == 1 else " and ".join(surnames)
                   if len(surnames) == 2 else f"{surnames[0]} et al.")
        entries[key] = (authors, re.search(r"year\s*=\s*\{?(\d{4})", body).group(1))
    return entries


def read_book(root: Path) -> Book:
    """Titles, section labels and the numbers Sphinx gives figures and exercises: numbered per
    chapter ("Figure 4.1"), and counted through all unnumbered pages together ("Exercise 1")."""
    titles, numbers, sections = {}, {}, {}
    counters: dict[tuple[str, int | None], int] = {}
    for page, chapter in pages_in_order(yaml.safe_load((root / "_toc.yml").read_text())):
        text = (root / f"{page}.md").read_text()
        heading = re.search(r"^# (.+)$", text, re.M)
        titles[page] = heading.group(1).strip() if heading else page
        sections.update(re.findall(r"^\(([\w-]+)\)=[ \t]*\n#+ (.+)$", text, re.M))
        for kind, labels in labelled_items(jupytext.reads(text, fmt="md:myst")).items():
            for label in labels:
                counters[kind, chapter] = index = counters.get((kind, chapter), 0) + 1
                numbers[label] = f"{kind} {chapter}.{index}" if chapter else f"{kind} {index}"
    return Book(root, titles, numbers, sections, bibliography((root / "references.bib").read_text()))


def glued_values(executed: Path) -> dict[str, str]:
    """Every value an executed chapter glued (its text/plain representation), by name."""
    values = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and GLUE_MIME in output.get("data", {}):
                values[name] = output["data"][GLUE_MIME]
    return values


class Converter:
    """Turns one chapter's MyST prose into Markdown that Jupyter renders."""

    def __init__(self, book: Book, glued: dict[str, str], source: Path, out: Path) -> None:
        self.book, self.glued, self.source, self.out = book, glued, source, out

    def refuse(self, what: str) -> SystemExit:
        return SystemExit(f"{self.source}: {what}")

    def role(self, match: re.Match) -> str:
        kind, content = match.groups()
        titled = TITLED.match(content)
        text, target = titled.groups() if titled else (None, content)
        if kind == "glue:text":
            key, spec = content.rsplit(":", 1) if ":" in content else (content, "s")
            if key not in self.glued:
                raise self.refuse(f"the executed chapter glued no value '{key}' (run `make book` again)")
            return powers_of_ten(format_plain_text(self.glued[key], spec))
        if kind == "term":
            return text or target
        if kind == "doc":
            return self.link(text, target)
        if kind in ("numref", "ref"):
            number = self.book.numbers.get(target) or self.book.sections.get(target)
            if number is None:
                raise self.refuse(f"{{{kind}}} names '{target}', which no chapter defines")
            return text.replace("%s", number.split()[-1]) if text and kind == "numref" else text or number
        if target not in self.book.citations:
            raise self.refuse(f"cites '{target}', which references.bib lacks")
        authors, year = self.book.citations[target]
        return f"{authors} ({year})" if kind == "cite:t" else f"({authors}, {year})"

    def link(self, text: str | None, target: str) -> str:
        document = os.path.normpath(target.lstrip("/") if target.startswith("/") else f"chapters/{target}")
        if document not in self.book.titles:
            raise self.refuse(f"{{doc}} names '{target}', which is not a page of the book")
        if document.startswith("chapters/"):
            href = f"{Path(document).name}.ipynb"  # its own student notebook, beside this one
        else:
            href = os.path.relpath(self.book.root / f"{document}.md", self.out.resolve())
        return f"[{text or self.book.titles[document]}]({href})"

    def exercise(self, match: re.Match) -> str:
        title, options, body = match.groups()
        label = re.search(r":label:\s*(\S+)", options)
        heading = self.book.numbers[label.group(1)] if label else "Exercise"
        return quoted(f"**{heading}{f' ({title.strip()})' if title.strip() else ''}**\n\n{body.strip()}")

    def admonition(self, match: re.Match) -> str:
        title, _, body = match.groups()
        return quoted(f"**{title.strip()}**\n\n{body.strip()}" if title.strip() else body.strip())

    def markdown(self, text: str) -> str:
        text = TARGET_LINE.sub("", text)
        text = EXERCISE.sub(self.exercise, text)
        text = ADMONITION.sub(self.admonition, text)
        return ROLE.sub(self.role, text)


def quoted(text: str) -> str:
    """Text as a Markdown block quote."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def student_notebook(source: Path, executed: Path, book: Book, out: Path) -> nbformat.NotebookNode:
    """One chapter as a student's notebook: no solutions, plain Markdown, the book's numbers."""
    if not executed.is_file():
        raise SystemExit(f"{executed}: no executed copy of {source}; run `make book` first "
                         "(the student edition prints the numbers the book computed)")
    convert = Converter(book, glued_values(executed), source, out)
    notebook = jupytext.reads(without_solutions(source.read_text(), source), fmt="md:myst")
    cells = [nbformat.v4.new_code_cell(TO_THE_ROOT)]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = convert.markdown(cell.source)
        cells.append(cell)
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if figure.get("caption"):
            caption = convert.markdown(" ".join(figure["caption"].split()))
            cells.append(nbformat.v4.new_markdown_cell(f"**{book.numbers[figure['name']]}.** {caption}"))
    notebook.cells = cells
    return notebook


def write_student_edition(out: Path, executed_dir: Path, root: Path = REPO_ROOT) -> list[Path]:
    """Every chapter of the book at ROOT as OUT/NAME.ipynb; the glued values come from EXECUTED_DIR/NAME.ipynb."""
    book = read_book(root)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((root / "chapters").glob("*.md")):
        target = out / f"{source.stem}.ipynb"
        jupytext.write(student_notebook(source, executed_dir / f"{source.stem}.ipynb", book, out), target)
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    for path in write_student_edition(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
