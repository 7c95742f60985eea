"""Write the chapters as notebooks for students: exercises kept, solutions removed.

    python scripts/student_edition.py OUT_DIR        (make student)

A solution is everything from a ```{solution-start} fence to its ```{solution-end} fence,
code cells included (sphinx-exercise's gated solutions). Each chapter becomes OUT_DIR/NAME.ipynb,
unexecuted; a chapter whose solution fences do not pair up is refused, naming it. Each notebook
opens with a cell that moves to the repository root, where the chapters' data paths start, so it
runs wherever in a checkout it is opened.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat

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


def without_solutions(text: str, source: Path) -> str:
    """The chapter's MyST text with every gated solution removed."""
    stripped = SOLUTION.sub("", text)
    if "{solution-start}" in stripped or "{solution-end}" in stripped:
        raise SystemExit(f"{source}: a solution-start fence without its solution-end (or the reverse)")
    return stripped


def write_student_edition(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((REPO_ROOT / "chapters").glob("*.md")):
        notebook = jupytext.reads(without_solutions(source.read_text(), source), fmt="md:myst")
        notebook.cells.insert(0, nbformat.v4.new_code_cell(TO_THE_ROOT))
        target = out / f"{source.stem}.ipynb"
        jupytext.write(notebook, target)
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for path in write_student_edition(Path(sys.argv[1])):
        print(path)
