"""Write the book's Font Awesome script: only the icons its pages show, in place of the theme's
1.5 MB bundle of every icon.

    python scripts/icon_subset.py OUT.js        (make book writes _build/stage/_static/scripts/fontawesome.js)

The theme's pages mark icons as `<i class="fa-solid fa-bars">`, which Font Awesome's script
replaces with inline SVG. This reads each icon's path from the theme's own bundle (so the
shapes and their license are the theme's) and writes a small script that does the same
replacement for `ICONS` alone; Sphinx copies it over the theme's file of the same name. An icon
a page uses but `ICONS` lacks stays an empty element, which the browser check of the book finds.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pydata_sphinx_theme

# The icons the theme's buttons and this book's pages use (the browser check lists any other).
ICONS = ("angle-left", "angle-right", "arrow-up", "bars", "circle-half-stroke", "download", "expand", "file",
         "file-pdf", "list", "magnifying-glass", "moon", "outdent", "sun")
BUNDLE = Path(pydata_sphinx_theme.__file__).parent / "theme/pydata_sphinx_theme/static/scripts/fontawesome.js"
# Font Awesome's own sizing rules for inline SVG icons (from its core stylesheet), for the classes the theme uses.
STYLE = (".svg-inline--fa{display:var(--fa-display,inline-block);height:1em;overflow:visible;vertical-align:-.125em}"
         ".fa-lg{font-size:1.25em;line-height:.05em;vertical-align:-.075em}.fa-fw{text-align:center;width:1.25em}")
SCRIPT = """/* The book's Font Awesome icons: a subset of the theme's bundle (Font Awesome Free, icons CC BY 4.0,
   https://fontawesome.com/license/free), written by scripts/icon_subset.py. */
(() => {
  const ICONS = %s;
  const STYLE = %s;
  const SVG = "http://www.w3.org/2000/svg";
  function swap(element) {
    const name = [...element.classList].map(c => c.slice(3)).find(c => ICONS[c]);
    if (!name) return;
    const [width, height, path] = ICONS[name];
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "svg-inline--fa " + element.getAttribute("class"));
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("role", "img");
    const shape = document.createElementNS(SVG, "path");
    shape.setAttribute("fill", "currentColor");
    shape.setAttribute("d", path);
    svg.appendChild(shape);
    element.replaceWith(svg);
  }
  function swapAll(root) {
    root.querySelectorAll("i[class*='fa-'], span[class*='fa-']").forEach(swap);
  }
  function start() {
    const style = document.createElement("style");
    style.textContent = STYLE;
    document.head.appendChild(style);
    swapAll(document);
    new MutationObserver(changes => changes.forEach(change => change.addedNodes.forEach(node => {
      if (node.nodeType === 1) { swap(node); swapAll(node); }
    }))).observe(document.body, {childList: true, subtree: true});
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
"""


def icon_paths(bundle: str, names: tuple[str, ...]) -> dict[str, list]:
    """Each icon's [width, height, SVG path] from the solid set of a Font Awesome 6 bundle."""
    found = {}
    for name in names:
        key = f'"{name}"' if "-" in name else f'(?:"{name}"|\\b{name})'
        match = re.search(rf'{key}:\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","([^"]+)"\]', bundle)
        if match is None:
            raise SystemExit(f"{BUNDLE}: no icon {name!r} in the theme's Font Awesome bundle")
        found[name] = [int(match[1]), int(match[2]), match[3]]
    return found


def main(out: Path) -> None:
    icons = icon_paths(BUNDLE.read_text(encoding="utf-8"), ICONS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(SCRIPT % (json.dumps(icons, separators=(",", ":")), json.dumps(STYLE)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
