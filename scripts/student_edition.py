"""Write the chapters as notebooks for students: exercises kept, solutions removed.

    python scripts/student_edition.py OUT_DIR        (make student)

A solution is everything from a ```{solution-start} fence to its ```{solution-end} fence,
code cells included (sphinx-exercise's gated solutions). Each chapter becomes OUT_DIR/NAME.ipynb,
unexecuted; a chapter whose solution fences do not pair up is refused, naming it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTION = re.compile(r"^```\{solution-start\}.*?^```\{solution-end\}\n```\n?", re.S | re.M)


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
        target = out / f"{source.stem}.ipynb"
        jupytext.write(notebook, target)
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for path in write_student_edition(Path(sys.argv[1])):
        print(path)
