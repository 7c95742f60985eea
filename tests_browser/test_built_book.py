"""Checks of the built HTML book in a real browser (run by .ci/run after `make book`).

Headless Chromium loads the pages from disk, lets MathJax typeset, and dumps the DOM;
screenshots are kept in _build/screenshots for a person to look at.
"""

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

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


def browse(page: Path, *action: str, tmp_path: Path) -> str:
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *action, page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def rendered_dom(page: Path, tmp_path: Path) -> str:
    return browse(page, "--dump-dom", tmp_path=tmp_path)


def screenshot(page: Path, name: str, tmp_path: Path) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{name}.png"
    browse(page, f"--screenshot={target}", "--window-size=1280,1600", tmp_path=tmp_path)
    assert target.stat().st_size > 10_000, f"screenshot {target} is suspiciously small"
    return target


@pytest.fixture(scope="module")
def pages() -> list[Path]:
    found = sorted(HTML.rglob("*.html"))
    if not found:
        pytest.fail(f"no built book under {HTML}; run `make book` first")
    return found


def test_index_renders_the_book_title(tmp_path: Path) -> None:
    dom = rendered_dom(HTML / "intro.html", tmp_path)
    assert "Train-to-Test scaling laws" in dom
    screenshot(HTML / "intro.html", "index", tmp_path)


def test_chapter_renders_title_math_and_figure(tmp_path: Path) -> None:
    page = HTML / "chapters" / "pass_at_k.html"
    dom = rendered_dom(page, tmp_path)
    assert "pass@k from likelihoods" in dom
    assert re.search(r"<mjx-container[^>]*>\s*<svg", dom), "MathJax did not typeset math as SVG"
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', dom), "the chapter's figure is missing"
    assert "Figure 1" in dom, "figures are not numbered"
    screenshot(page, "chapter-pass_at_k", tmp_path)


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
