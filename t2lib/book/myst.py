"""MyST prose as plain Markdown, for reading the chapters outside the built book.

Jupyter renders CommonMark, not MyST: a role such as {doc}`pass_at_k` or an admonition fence shows
as written. `PlainMarkdown` rewrites them as the book resolves them: figures and exercises by their
numbers, pages as links or titles, glossary terms and citations as text, admonitions and exercises
as block quotes. The student edition (scripts/student_edition.py) converts the chapters' prose with
it, and `Markdown` converts what a chapter displays when its notebook runs in Jupyter rather than
in the book's build (the student edition's first cell sets PLAIN_MARKDOWN to say so).
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from t2lib.book.formatting import powers_of_ten

if TYPE_CHECKING:
    import IPython.display

# The folder of the notebook being run, set where chapters display plain Markdown (student edition).
PLAIN_MARKDOWN = "T2BOOK_PLAIN_MARKDOWN"

ROLE = re.compile(r"\{(glue:text|term|doc|numref|ref|cite:t|cite:p)\}`([^`]+)`")
TITLED = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)  # "text <target>"
EXERCISE = re.compile(r"^```\{exercise\}[ \t]*([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)\n?(.*?)^```[ \t]*$", re.S | re.M)
ADMONITION = re.compile(r"^:::\{(?:admonition|note|warning|tip)\}[ \t]*([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)(.*?)^:::[ \t]*$",
                        re.S | re.M)
TARGET_LINE = re.compile(r"^\([\w-]+\)=[ \t]*\n", re.M)
INCLUDE = re.compile(r"^```\{include\}[ \t]*(\S+)", re.M)
ACCENT = re.compile(r"\{?\\([\"'`^~])\{?([A-Za-z])\}?\}?")
COMBINING = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303"}


@dataclass(frozen=True)
class Book:
    """What the prose's cross-references point at, across every page of the book at `root`."""
    root: Path
    titles: dict[str, str]    # page (path from the root, no suffix) -> its title
    chapters: dict[str, int]  # page -> its chapter number, numbered pages only
    numbers: dict[str, str]   # figure or exercise label -> "Figure 4.1", "Exercise 1"
    sections: dict[str, str]  # section label -> its heading
    includes: dict[str, str]  # page built around an included file -> that file (path from the root)
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


def labelled_items(notebook) -> dict[str, list[str]]:
    """A page's figure labels and exercise labels (jupytext notebook), each in the order they appear."""
    items: dict[str, list[str]] = {"Figure": [], "Exercise": []}
    for cell in notebook.cells:
        name = cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
        if name:
            items["Figure"].append(name)
        if cell.cell_type == "markdown":
            items["Exercise"] += [label.group(1) for _, options, _ in EXERCISE.findall(cell.source)
                                  if (label := re.search(r":label:\s*(\S+)", options))]
    return items


def latex_to_text(text: str) -> str:
    """BibTeX text as a reader sees it: M{\\"a}chler -> Mächler, braces dropped."""
    accented = ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + COMBINING[m.group(1)]), text)
    return accented.replace("{", "").replace("}", "")


def bibliography(text: str) -> dict[str, tuple[str, str]]:
    """Each bibtex entry's key -> (surnames as an author-year citation writes them, year)."""
    entries = {}
    for key, body in re.findall(r"@\w+\{([^,\s]+),(.*?)\n\}", text, re.S):
        authors = re.search(r"author\s*=\s*\{(.*?)\},?\n", body, re.S).group(1)
        surnames = [latex_to_text(name.split(",")[0].strip()) for name in authors.split(" and ")]
        cited = (surnames[0] if len(surnames) == 1 else " and ".join(surnames)
                 if len(surnames) == 2 else f"{surnames[0]} et al.")
        entries[key] = (cited, re.search(r"year\s*=\s*\{?(\d{4})", body).group(1))
    return entries


@functools.lru_cache(maxsize=4)
def read_book(root: Path) -> Book:
    """Titles, section labels and the numbers Sphinx gives figures and exercises: numbered per
    chapter ("Figure 4.1"), and counted through all unnumbered pages together ("Exercise 1")."""
    import jupytext  # the book's environment
    import yaml

    titles, chapters, numbers, sections, includes = {}, {}, {}, {}, {}
    counters: dict[tuple[str, int | None], int] = {}
    for page, chapter in pages_in_order(yaml.safe_load((root / "_toc.yml").read_text())):
        text = (root / f"{page}.md").read_text()
        heading = re.search(r"^# (.+)$", text, re.M)
        titles[page] = heading.group(1).strip() if heading else page
        if chapter:
            chapters[page] = chapter
        sections.update(re.findall(r"^\(([\w-]+)\)=[ \t]*\n#+ (.+)$", text, re.M))
        if included := INCLUDE.search(text):
            includes[page] = os.path.normpath(Path(page).parent / included.group(1))
        for kind, labels in labelled_items(jupytext.reads(text, fmt="md:myst")).items():
            for label in labels:
                counters[kind, chapter] = index = counters.get((kind, chapter), 0) + 1
                numbers[label] = f"{kind} {chapter}.{index}" if chapter else f"{kind} {index}"
    return Book(root, titles, chapters, numbers, sections, includes,
                bibliography((root / "references.bib").read_text()))


def quoted(text: str) -> str:
    """Text as a Markdown block quote."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


class PlainMarkdown:
    """Rewrites MyST prose of the book as Markdown that Jupyter renders.

    Links between chapters point at their student notebooks (`student_notebook_name`), in
    `notebook_dir`; `glued` gives the values of {glue:text} roles, printed as the book's pages print
    them. Strict: a reference that resolves to nothing, or a value not glued, is refused (SystemExit
    naming `source`); otherwise it is left as its target's text.
    """

    def __init__(self, book: Book, notebook_dir: Path, *, glued: dict[str, str] | None = None,
                 source: Path | None = None, strict: bool = True) -> None:
        self.book, self.notebook_dir = book, notebook_dir
        self.glued, self.source, self.strict = glued or {}, source, strict

    def unresolved(self, what: str, fallback: str) -> str:
        if self.strict:
            raise SystemExit(f"{self.source}: {what}")
        return fallback

    def role(self, match: re.Match) -> str:
        kind, content = match.groups()
        titled = TITLED.match(content)
        text, target = titled.groups() if titled else (None, content)
        if kind == "glue:text":
            key, spec = content.rsplit(":", 1) if ":" in content else (content, "s")
            if key not in self.glued:
                return self.unresolved(f"the executed chapter glued no value '{key}' (run `make book` again)", f"`{key}`")
            from myst_nb.core.variables import format_plain_text  # the book's environment, as {glue:text} formats

            return powers_of_ten(format_plain_text(self.glued[key], spec))  # as _ext/t2book_assets.py prints it
        if kind == "term":
            return text or target
        if kind == "doc":
            return self.link(text, target)
        if kind in ("numref", "ref"):
            number = self.book.numbers.get(target)
            if number is None and target in self.book.sections:
                return text or f"“{self.book.sections[target]}”"
            if number is None:
                return self.unresolved(f"{{{kind}}} names '{target}', which no page defines", text or target)
            return text.replace("%s", number.split()[-1]) if text and kind == "numref" else text or number
        if target not in self.book.citations:
            return self.unresolved(f"cites '{target}', which references.bib lacks", target)
        authors, year = self.book.citations[target]
        return f"{authors} ({year})" if kind == "cite:t" else f"({authors}, {year})"

    def link(self, text: str | None, target: str) -> str:
        """A page as a link: a chapter to its notebook, a page built around an included file (a
        README) to that file; another page (written for the web book) by its title."""
        page = os.path.normpath(target.lstrip("/") if target.startswith("/") else f"chapters/{target}")
        if page not in self.book.titles:
            return self.unresolved(f"{{doc}} names '{target}', which is not a page of the book", text or target)
        title = text or self.book.titles[page]
        if page.startswith("chapters/"):
            return f"[{title}]({student_notebook_name(Path(page).name, self.book)})"
        if page in self.book.includes:
            href = os.path.relpath(self.book.root / self.book.includes[page], self.notebook_dir.resolve())
            return f"[{title}]({href})"
        return f"{title} (a page of the built book, `{page}.md`)"

    def exercise(self, match: re.Match) -> str:
        title, options, body = match.groups()
        label = re.search(r":label:\s*(\S+)", options)
        heading = self.book.numbers.get(label.group(1), "Exercise") if label else "Exercise"
        return quoted(f"**{heading}{f' ({title.strip()})' if title.strip() else ''}**\n\n{body.strip()}")

    def admonition(self, match: re.Match) -> str:
        title, _, body = match.groups()
        return quoted(f"**{title.strip()}**\n\n{body.strip()}" if title.strip() else body.strip())

    def convert(self, text: str) -> str:
        text = TARGET_LINE.sub("", text)
        text = EXERCISE.sub(self.exercise, text)
        text = ADMONITION.sub(self.admonition, text)
        return ROLE.sub(self.role, text)


def student_notebook_name(chapter: str, book: Book) -> str:
    """A chapter's notebook in the student edition: numbered as in the book, so they list in its order."""
    number = book.chapters.get(f"chapters/{chapter}")
    return f"{number:02d}-{chapter}.ipynb" if number else f"{chapter}.ipynb"


def Markdown(text: str) -> IPython.display.Markdown:  # noqa: N802 (IPython.display.Markdown's name, so a chapter only changes its import)
    """IPython's Markdown of `text`: as it is in the book's build, as plain Markdown where the
    environment says a student notebook is running (its folder in PLAIN_MARKDOWN)."""
    from IPython.display import Markdown as IPythonMarkdown  # only in a notebook kernel

    notebook_dir = os.environ.get(PLAIN_MARKDOWN)
    if notebook_dir:
        book = read_book(Path.cwd())  # the student edition's first cell moved to the repository root
        text = PlainMarkdown(book, Path(notebook_dir), strict=False).convert(text)
    return IPythonMarkdown(text)
