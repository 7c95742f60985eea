"""Write the chapters as notebooks for students: exercises kept, solutions removed.

    python scripts/student_edition.py OUT_DIR EXECUTED_DIR        (make student)

A solution is everything from a ```{solution-start} fence to its ```{solution-end} fence,
code cells included (sphinx-exercise's gated solutions). Each chapter becomes an unexecuted
notebook in OUT_DIR, named and titled with its chapter number ("04-frontiers.ipynb"), so the
notebooks list in the book's order; a chapter whose solution fences do not pair up is refused,
naming it. The page of build statistics is left out (it reports the book's build, not a topic).

Jupyter does not render MyST, so the prose is written as plain Markdown (t2lib.book.myst): each
glued number is the value the book printed, 2.6×10¹⁹ rather than 2.56e+19 (read from the chapter
executed by `make book`, in EXECUTED_DIR, and said so at the top), figures and exercises carry the
book's numbers, a figure's caption follows the cell that draws it, and each exercise is followed by
an empty code cell for the answer. The code of cells the book hides starts collapsed. Each notebook
opens with a cell that moves to the repository root, where the chapters' data paths start, so it
runs wherever in a checkout it is opened, and asks the chapters to display plain Markdown too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat

from t2lib.book.myst import EXERCISE, PLAIN_MARKDOWN, Book, PlainMarkdown, read_book, student_notebook_name

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTION = re.compile(r"^```\{solution-start\}.*?^```\{solution-end\}\n```\n?", re.S | re.M)
LEFT_OUT = {"execution_statistics"}
HIDDEN = {"hide-input", "remove-cell", "remove-input"}
TO_THE_ROOT = f"""\
# The chapter's data paths start at the repository root: run from there, wherever in it this notebook is.
import os
from pathlib import Path

os.environ["{PLAIN_MARKDOWN}"] = str(Path.cwd())  # what the chapter displays, as Markdown Jupyter renders
root = next((folder for folder in [Path.cwd(), *Path.cwd().parents]
             if (folder / "t2lib").is_dir() and (folder / "data").is_dir()), None)
if root is None:
    raise SystemExit("Open this notebook inside a checkout of the book's repository "
                     "(`make student` writes it to _build/student/).")
os.chdir(root)"""
FROZEN = ("> The numbers in this notebook's text are those the book printed when it was built (`make book`). "
          "Running the cells computes them again; with other parameters they will differ from the text.")


def without_solutions(text: str, source: Path) -> str:
    """The chapter's MyST text with every gated solution removed."""
    stripped = SOLUTION.sub("", text)
    if "{solution-start}" in stripped or "{solution-end}" in stripped:
        raise SystemExit(f"{source}: a solution-start fence without its solution-end (or the reverse)")
    return stripped


def glued_values(executed: Path) -> dict[str, str]:
    """Every value an executed chapter glued (its text/plain representation), by name."""
    values = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            name, mime = scrapbook.get("name"), f"{scrapbook.get('mime_prefix', '')}text/plain"
            if name and mime in output.get("data", {}):
                values[name] = output["data"][mime]
    return values


def up_to_each_exercise(text: str) -> list[tuple[str, bool]]:
    """A Markdown cell's text cut after each exercise: (piece, whether it ends with an exercise)."""
    pieces, start = [], 0
    for match in EXERCISE.finditer(text):
        pieces.append((text[start:match.end()], True))
        start = match.end()
    tail = text[start:]
    return pieces + ([(tail, False)] if tail.strip() or not pieces else [])


def student_cells(cell: nbformat.NotebookNode, convert: PlainMarkdown, book: Book) -> list[nbformat.NotebookNode]:
    """One chapter cell as the student's cells: prose converted, with an answer cell after each
    exercise; code with its figure's caption after it, collapsed where the book hides it."""
    if cell.cell_type == "markdown":
        cells = []
        for piece, exercise in up_to_each_exercise(cell.source):
            cells.append(nbformat.v4.new_markdown_cell(convert.convert(piece).strip("\n")))
            if exercise:
                number = re.findall(r"\*\*(Exercise(?: [\d.]+)?)", cells[-1].source)[-1]
                cells.append(nbformat.v4.new_code_cell(f"# {number}: your answer"))
        return cells
    if HIDDEN & set(cell.metadata.get("tags", [])):
        cell.metadata["jupyter"] = {"source_hidden": True}
    figure = cell.metadata.get("mystnb", {}).get("figure", {})
    if not figure.get("caption"):
        return [cell]
    caption = convert.convert(" ".join(figure["caption"].split()))
    return [cell, nbformat.v4.new_markdown_cell(f"**{book.numbers[figure['name']]}.** {caption}")]


def student_notebook(source: Path, executed: Path, book: Book, out: Path) -> nbformat.NotebookNode:
    """One chapter as a student's notebook: no solutions, plain Markdown, the book's numbers."""
    if not executed.is_file():
        raise SystemExit(f"{executed}: no executed copy of {source}; run `make book` first "
                         "(the student edition prints the numbers the book computed)")
    convert = PlainMarkdown(book, out, glued=glued_values(executed), source=source)
    notebook = jupytext.reads(without_solutions(source.read_text(), source), fmt="md:myst")
    number = book.chapters.get(f"chapters/{source.stem}")
    cells = [nbformat.v4.new_code_cell(TO_THE_ROOT)]
    for cell in notebook.cells:
        cells += student_cells(cell, convert, book)
    title = next(i for i, cell in enumerate(cells) if cell.cell_type == "markdown")
    if number:
        cells[title].source = re.sub(r"^# ", f"# {number}. ", cells[title].source, count=1, flags=re.M)
    cells.insert(title + 1, nbformat.v4.new_markdown_cell(FROZEN))
    notebook.cells = cells
    return notebook


def write_student_edition(out: Path, executed_dir: Path, root: Path = REPO_ROOT) -> list[Path]:
    """Every chapter of the book at ROOT but the build statistics, in OUT (replacing an earlier
    edition's unnumbered notebook of it); the glued values come from EXECUTED_DIR/NAME.ipynb."""
    book = read_book(root)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((root / "chapters").glob("*.md")):
        target = out / student_notebook_name(source.stem, book)
        earlier = out / f"{source.stem}.ipynb"  # an earlier edition's name for it, unnumbered
        if earlier != target or source.stem in LEFT_OUT:
            earlier.unlink(missing_ok=True)
        if source.stem in LEFT_OUT:
            continue
        jupytext.write(student_notebook(source, executed_dir / f"{source.stem}.ipynb", book, out), target)
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    for path in write_student_edition(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
