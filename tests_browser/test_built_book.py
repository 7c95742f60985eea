"""Checks of the built HTML book in a real browser (run by .ci/run after `make book`).

Headless Chromium loads each page from disk, lets MathJax typeset, and dumps the DOM (one
process per page, its console on stderr); one more Chromium, driven over the DevTools protocol,
lays every page out, measures its tables and keeps a screenshot in _build/screenshots for a
person to look at.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlparse

import pytest

from t2lib.book.formatting import E_NOTATION  # the pattern the book writes as powers of ten

if TYPE_CHECKING:
    from cdp import Browser

REPO_ROOT = Path(__file__).resolve().parent.parent
HTML = REPO_ROOT / "_build" / "html"
SHOTS = REPO_ROOT / "_build" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=15000",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
    return path


def content_pages(pages: list[Path]) -> list[Path]:
    """The pages a reader reads: all but the index of terms, the search page and the redirect to
    the introduction (which navigates away as it loads)."""
    return [page for page in pages if page.name not in ("genindex.html", "search.html")
            and not page.read_text(errors="replace").startswith('<meta http-equiv="Refresh"')]


@pytest.fixture(scope="module")
def pages() -> list[Path]:
    found = sorted(HTML.rglob("*.html"))
    if not found:
        pytest.fail(f"no built book under {HTML}; run `make book` first")
    return found


def test_index_renders_the_book_title(rendered: dict[str, tuple[str, list[str]]]) -> None:
    assert "Train-to-Test scaling laws" in rendered["intro.html"][0]


def test_chapter_renders_title_math_and_figure(rendered: dict[str, tuple[str, list[str]]]) -> None:
    dom = rendered["chapters/pass_at_k.html"][0]
    assert "pass@k from likelihoods" in dom
    assert re.search(r'<mjx-container[^>]*jax="CHTML"', dom), "MathJax did not typeset the math"
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.svg"', dom), "the chapter's figure is missing (or not SVG)"
    assert re.search(r"Figure \d+\.\d+", dom), "figures are not numbered by chapter"


# A console message that reports an error: an uncaught exception, or an Error object logged.
CONSOLE_ERROR = re.compile(r'INFO:CONSOLE[^\n]*"(?:Uncaught|[A-Za-z]*Error\b)[^\n]*')


@pytest.fixture(scope="module")
def rendered(pages: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, list[str]]]:
    """Every content page once through the browser: its DOM after MathJax, and its console errors."""
    profile = tmp_path_factory.mktemp("browser")
    found = {}
    for page in content_pages(pages):
        command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile / 'profile'}", "--enable-logging=stderr",
                   "--v=0", "--dump-dom", page.as_uri()]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        found[str(page.relative_to(HTML))] = (result.stdout, CONSOLE_ERROR.findall(result.stderr))
    return found


# Every table cell of a page: its text, whether it is a header, its width, and whether it is clipped.
MEASURE_TABLES = """JSON.stringify(Array.from(document.querySelectorAll("article table")).flatMap((table, t) =>
  Array.from(table.querySelectorAll("th, td")).map((cell) => ({
    table: t, head: cell.tagName === "TH", text: cell.innerText.trim(),
    width: cell.getBoundingClientRect().width, clipped: cell.scrollWidth > cell.clientWidth + 1}))))"""

# True once MathJax has typeset the page (at once on a page without MathJax); false if it has not
# within 30 seconds, so that a stalled typesetting is a failed check, never a hung one.
TYPESET = """window.MathJax?.startup?.promise ? Promise.race([MathJax.startup.promise.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), 30000))]) : true"""
# Chromium started afresh at most this many times when it fails on a page.
RESTARTS = 2


class LaidOut(NamedTuple):
    """A page after layout in a 1280 × 1600 window: its table cells, measured, and its screenshot."""

    cells: list[dict]
    screenshot: Path


@pytest.fixture(scope="module")
def laid_out(pages: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, LaidOut]:
    """Every content page in one browser, typeset and laid out: its table cells measured and a
    screenshot kept in _build/screenshots for a person to look at."""
    from cdp import Browser, BrowserError

    flags = [flag for flag in CHROMIUM_FLAGS if not flag.startswith("--virtual-time")] + ["--window-size=1280,1600"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    todo, found, stalls = content_pages(pages), {}, []
    while todo and len(stalls) <= RESTARTS:
        with Browser(chromium(), flags, tmp_path_factory.mktemp("layout")) as browser:
            for page in list(todo):
                name = page.relative_to(HTML).as_posix()
                try:
                    found[name] = lay_out(browser, page, name)
                except BrowserError as error:  # an error or no answer: a fresh Chromium for the pages left
                    stalls.append(f"{name}: {error}")
                    break
                todo.remove(page)
    assert not todo, f"Chromium failed {len(stalls)} times: " + "; ".join(stalls)
    return found


def lay_out(browser: Browser, page: Path, name: str) -> LaidOut:
    """One page in `browser`, typeset: its table cells measured and its screenshot taken."""
    browser.open(page.as_uri())
    assert browser.evaluate(TYPESET), f"{name}: MathJax did not finish typesetting in 30 s"
    shot = SHOTS / f"{name.removesuffix('.html').replace('/', '-')}.png"
    shot.write_bytes(base64.b64decode(browser.send("Page.captureScreenshot", session=True, format="png")["data"]))
    return LaidOut(json.loads(browser.evaluate(MEASURE_TABLES)), shot)


def test_every_icon_is_drawn(rendered: dict[str, tuple[str, list[str]]]) -> None:
    """The Font Awesome subset (scripts/icon_subset.py) has every icon a page asks for: none is
    left as an empty <i> or <span> element."""
    missing = {f"{name}: {icon}" for name, (dom, _) in rendered.items()
               for icon in re.findall(r'<(?:i|span)\b[^>]*class="([^"]*\bfa-[^"]*)"', dom)}
    assert not missing, "icons not drawn (add them to scripts/icon_subset.py's ICONS):\n" + "\n".join(sorted(missing))


# At most this many bytes of scripts and stylesheets on a chapter's first load.
FIRST_LOAD_LIMIT = 2_000_000


def first_load_bytes(page: Path) -> int:
    """An upper bound on what a page's first load fetches in scripts and stylesheets: the local
    files its <script src> and <link href> name (minus preloads of the same files), and every
    MathJax component the book ships (its loader fetches some of them)."""
    text = page.read_text()
    names = set(re.findall(r'<script\b[^>]*\bsrc="([^"?#]+)', text))
    names |= set(re.findall(r'<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"?#]+)', text))
    files = {(page.parent / name).resolve() for name in names if not urlparse(name).scheme}
    files |= set((HTML / "mathjax").rglob("*.js"))
    return sum(path.stat().st_size for path in files if path.is_file())


def test_a_chapters_first_load_stays_light(pages: list[Path]) -> None:
    chapters = [page for page in pages if page.parent.name == "chapters"]
    heavy = {page.name: first_load_bytes(page) for page in chapters}
    too_heavy = {name: size for name, size in heavy.items() if size > FIRST_LOAD_LIMIT}
    assert chapters and not too_heavy, f"scripts and stylesheets over {FIRST_LOAD_LIMIT:,} bytes: {too_heavy}"


def test_no_page_logs_a_console_error(rendered: dict[str, tuple[str, list[str]]]) -> None:
    found = {page: errors for page, (_, errors) in rendered.items() if errors}
    assert not found, "console errors:\n" + "\n".join(f"{page}: {e}" for page, errors in found.items() for e in errors)


# What a reader must never see: TeX that MathJax did not typeset, a table's bare 0, 1, 2, …
# row index, and a cell pandas cut short with "...".
RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\\(|\^\{|\\frac|\\mathrm")
HIDDEN = re.compile(r"<(script|style|pre|code|mjx-container|textarea|svg)\b.*?</\1>", re.S | re.I)


def visible_text(dom: str) -> str:
    """The page's text as a reader sees it, without code, scripts and typeset math."""
    return html.unescape(re.sub(r"<[^>]+>", " ", HIDDEN.sub(" ", dom)))


def has_range_index(table: str) -> bool:
    """Whether the table's body rows start with header cells 0, 1, 2, …: pandas' default index."""
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S)
    if not body:
        return False
    firsts = re.findall(r"<tr[^>]*>\s*<th[^>]*>\s*([^<]*?)\s*</th>", body.group(1))
    return len(firsts) >= 2 and firsts == [str(i) for i in range(len(firsts))]


def test_no_page_shows_raw_tex_a_range_index_or_a_truncated_cell(rendered: dict[str, tuple[str, list[str]]]) -> None:
    problems = []
    for page, (dom, _) in rendered.items():
        text = visible_text(dom)
        problems += [f"{page}: raw TeX {match.group(0)[:40]!r}" for match in RAW_TEX.finditer(text)]
        for table in re.findall(r"<table\b.*?</table>", HIDDEN.sub(" ", dom), re.S):
            if has_range_index(table):
                problems.append(f"{page}: a table shows pandas' 0, 1, 2, … index")
            problems += [f"{page}: truncated cell {cell[-50:]!r}" for cell in re.findall(r"<td[^>]*>([^<]*)</td>", table)
                         if cell.rstrip().endswith("...")]
    assert not problems, "\n".join(problems)


def test_no_page_shows_a_warning_or_anything_written_to_stderr(pages: list[Path]) -> None:
    """A cell's stderr (a library's warning, say) is shown on the page as it is: none may be."""
    shown = [page.relative_to(HTML).as_posix() for page in pages if 'class="output stderr' in page.read_text()]
    assert not shown, f"pages that show a cell's stderr: {shown}"


def test_prose_and_tables_write_powers_of_ten_not_e_notation(rendered: dict[str, tuple[str, list[str]]]) -> None:
    """Outside code and its output, 2.56e+19 reads 2.56×10¹⁹ (the tables by t2lib.book.formatting, the
    prose by the book's Sphinx extension)."""
    found = [f"{page}: {match.group(0)!r}" for page, (dom, _) in rendered.items()
             for match in E_NOTATION.finditer(visible_text(dom))]
    assert not found, "\n".join(found[:20])


def test_no_script_or_style_comes_from_another_host(pages: list[Path]) -> None:
    pattern = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', re.I)
    external = []
    for page in pages:
        for url in pattern.findall(page.read_text(errors="replace")):
            parsed = urlparse(url)
            if parsed.scheme in ("http", "https") or url.startswith("//"):
                external.append(f"{page.relative_to(HTML)}: {url}")
    assert not external, "assets loaded from other hosts:\n" + "\n".join(external)


def test_each_chapter_offers_its_executed_notebook(pages: list[Path]) -> None:
    chapters = [p for p in pages if p.parent.name == "chapters"]
    assert chapters
    for page in chapters:
        notebook = HTML / "_sources" / "chapters" / f"{page.stem}.ipynb"
        assert notebook.exists(), f"no downloadable notebook for {page.name}"
        assert f"_sources/chapters/{page.stem}.ipynb" in page.read_text()


# Each paper chapter: its title, the figures (by their numbered-figure labels) it must show,
# and whether it ends with a "Paper vs this book" table.
CHAPTERS = {
    "verdict": ("What the evidence says", [], False),
    "checkpoint_grid": ("The checkpoint grid", ["fig-checkpoint-grid"], True),
    "pass_at_k": ("pass@k from likelihoods", ["fig-p-distribution", "fig-jensen-gap", "fig-power-law",
                                              "fig-k-tradeoff"], True),
    "isoflop_profiles": ("IsoFLOP profiles", ["fig-approach1-residuals", "fig-isoflop-profiles",
                                              "fig-isoflop-profiles-real"], True),
    "frontiers": ("Forecasts to", ["fig-frontiers", "fig-growing-c-inf", "fig-c-inf-sweep", "fig-chinchilla-priced",
                                   "fig-frontiers-real"], True),
    "extrapolation": ("Do the laws extrapolate", ["fig-extrapolation", "fig-extrapolation-real"], True),
    "overtrained_vs_chinchilla": ("Best overtrained against Chinchilla-optimal", ["fig-table1"], True),
    "post_training": ("After post-training", ["fig-post-training", "fig-table2"], True),
    "isoflop_per_task": ("isoFLOP profiles per task", ["fig-isoflop-task-a1", "fig-isoflop-task-a2"], True),
    "miniature_suite": ("A suite trained for this book", ["fig-mini-grid", "fig-mini-curves", "fig-mini-tasks",
                                                          "fig-mini-difficulty"], True),
    "second_suite": ("A second suite, built to test T²", ["fig-second-grid", "fig-second-returns"], False),
    "second_forecast": ("The forecast, one budget up", ["fig-hindcast", "fig-hindcast-pooled"], False),
    "second_sweep": ("The forecast, tested by training", ["fig-sweep", "fig-sweep-pooled"], False),
    "testing_the_forecast": ("Testing the forecast", ["fig-validation-curves", "fig-forecast-test",
                                                      "fig-inference-sweep", "fig-post-training-mini"], True),
    "bring_your_own_data": ("Bring your own data", [], False),
    "plan_your_run": ("Plan your training run", [], False),
    "problem_set": ("Problem set", [], False),
    "real_overtrained": ("Do laws fitted near Chinchilla predict overtrained models?",
                         ["fig-real-extrapolation", "fig-real-downstream", "fig-real-t2"], True),
    "real_passk_bounds": ("What public suites can say about pass@k",
                          ["fig-olmo-chinchilla-stage", "fig-olmo-passk-range"], True),
    "execution_statistics": ("Execution statistics", [], False),
}


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_each_chapter_shows_its_figures_and_comparison(name: str, rendered: dict[str, tuple[str, list[str]]],
                                                      laid_out: dict[str, LaidOut]) -> None:
    title, figures, compares = CHAPTERS[name]
    dom = rendered[f"chapters/{name}.html"][0]
    assert title in dom
    for figure in figures:
        block = re.search(rf'<figure[^>]*id="{figure}".*?</figure>', dom, re.S)
        assert block, f"{name}: figure {figure} is missing"
        assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.svg"', block.group(0)), f"{name}: {figure} is not an SVG"
        assert re.search(r"Figure \d+\.\d+", block.group(0)), f"{name}: {figure} is not numbered by chapter"
        alt = re.search(r'<img[^>]+alt="([^"]*)"', block.group(0))
        assert alt and len(alt.group(1)) > 20 and ".svg" not in alt.group(1), f"{name}: {figure} has no caption as alt text"
        assert not re.search(r"\\[A-Za-z]|\^\{|\$", html.unescape(alt.group(1))), \
            f"{name}: {figure}'s alt text carries TeX: {alt.group(1)[:80]!r}"
    if compares:
        section = dom[dom.index('id="paper-vs-this-book"'):]
        assert re.search(r"<table", section), f"{name}: no Paper vs this book table"
    assert "Traceback" not in dom, f"{name}: an error traceback is on the page"
    assert laid_out[f"chapters/{name}.html"].screenshot.stat().st_size > 10_000, f"{name}: the screenshot is nearly empty"


def test_every_chapter_is_in_the_table_of_contents() -> None:
    sources = {p.stem for p in (REPO_ROOT / "chapters").glob("*.md")}
    assert sources == set(CHAPTERS), "update CHAPTERS here when a chapter is added"
    toc = (REPO_ROOT / "_toc.yml").read_text()
    for name in sources:
        assert f"chapters/{name}" in toc, f"{name} is not in _toc.yml"


def test_the_verdict_page_has_every_claim_and_kind_of_evidence_and_the_introduction_links_it(
        rendered: dict[str, tuple[str, list[str]]]) -> None:
    from t2lib.book.verdict import CLAIMS, EVIDENCE, VERDICTS

    dom = rendered["chapters/verdict.html"][0]
    table = re.search(r"<table.*?</table>", dom, re.S).group(0)
    assert all(claim in table for claim in CLAIMS.values()) and all(kind in table for kind in EVIDENCE.values())
    verdicts = "|".join(VERDICTS)
    assert len(re.findall(rf">\s*({verdicts}):", table)) == len(CLAIMS) * len(EVIDENCE)
    intro = rendered["intro.html"][0]
    first_paragraph = re.search(r"<p>.*?</p>", intro[intro.index("<h1"):], re.S).group(0)
    assert 'href="chapters/verdict.html"' in first_paragraph


# Tables, as t2lib.book.tables.show_table draws them: what no table cell or header may show.
RAW_CELL = re.compile(r"nan|NaN|None|True|False|<NA>|−?-?[\d,]+\.0")
SNAKE_CASE = re.compile(r"\b\w+_\w+\b")


def test_tables_show_headers_in_words_and_no_raw_values(laid_out: dict[str, LaidOut]) -> None:
    problems = []
    for page, layout in laid_out.items():
        for cell in layout.cells:
            if cell["head"] and SNAKE_CASE.search(cell["text"]):
                problems.append(f"{page}: raw column name {cell['text']!r}")
            elif not cell["head"] and RAW_CELL.fullmatch(cell["text"]):
                problems.append(f"{page}: raw cell {cell['text']!r}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_no_table_cell_is_clipped_or_squeezed(laid_out: dict[str, LaidOut]) -> None:
    """A cell is clipped when its content is wider than the cell, squeezed when more than 30
    characters of text are wrapped into a column narrower than 120 pixels."""
    problems = [f"{page}: {'clipped' if cell['clipped'] else 'squeezed'} cell {cell['text'][:50]!r}"
                for page, layout in laid_out.items() for cell in layout.cells
                if cell["clipped"] or (len(cell["text"]) > 30 and cell["width"] < 120)]
    assert not problems, "\n".join(problems)


def test_the_interactive_figure_answers_its_controls_without_the_network(tmp_path: Path) -> None:
    from cdp import Browser

    read = ("JSON.stringify(Object.fromEntries(Array.from(document.querySelectorAll('.t2-explorer [data-field]'))"
            ".map((e) => [e.dataset.field, e.textContent])))")
    move = ("(() => {{ const c = document.querySelector(\".t2-explorer input[{}]\"); {}; "
            "c.dispatchEvent(new Event('input', {{bubbles: true}})); }})()")
    with Browser(chromium(), CHROMIUM_FLAGS[:-1], tmp_path / "profile") as browser:
        browser.open((HTML / "chapters" / "frontiers.html").as_uri())
        first = json.loads(browser.evaluate(read))
        assert first["N"] and first["Value"] and "FLOPs" in first["c_train"], f"the figure drew nothing: {first}"
        assert browser.evaluate("document.querySelectorAll('.t2-explorer svg path').length") == 3  # Chinchilla, T² twice
        dotted = browser.evaluate("document.querySelector('.t2-explorer svg path.beyond').getAttribute('d')")
        assert dotted or "beyond the data" not in first["Value"], "an optimum flagged beyond the data, no dotted line"
        browser.evaluate(move.format("name='c_inf'", "c.value = 0"))
        cheaper = json.loads(browser.evaluate(read))
        assert cheaper["c_inf"] != first["c_inf"] and cheaper["N"] != first["N"], "the inference slider did nothing"
        browser.evaluate(move.format("value='Approach 2'", "c.checked = true"))
        other_law = json.loads(browser.evaluate(read))
        assert "pass@k" in other_law["measure"] and other_law["N"] != cheaper["N"], "the law choice did nothing"
        remote = [url for url in browser.requested_urls() if not url.startswith(("file:", "data:"))]
    assert not remote, f"the page asked the network for {remote}"


def test_a_page_that_never_answers_fails_within_the_timeout(tmp_path: Path) -> None:
    """The DevTools-protocol driver waits on Chromium's pipe with a deadline: a promise that never
    settles is an error after the timeout, not a check that hangs CI."""
    import time

    from cdp import Browser, BrowserError

    with Browser(chromium(), CHROMIUM_FLAGS[:-1], tmp_path / "profile") as browser:
        browser.open((HTML / "intro.html").as_uri())
        browser.timeout = 3.0
        started = time.monotonic()
        with pytest.raises(BrowserError, match="stopped answering"):
            browser.evaluate("new Promise((resolve) => { window.neverCalled = resolve; })")  # kept, never settled
        assert time.monotonic() - started < 10
