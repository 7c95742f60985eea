"""A Sphinx extension for the book: every page loads each script once, and every figure's image
has its caption as alt text.

Jupyter Book 1 adds some scripts twice — the sphinx-thebe and sphinx-togglebutton settings,
and every .js file under _static — and a second copy of a `const` declaration is a console
error (MathJax and the Font Awesome subset live in _extra, which is copied, not loaded). This
keeps the first occurrence of each script file and of each inline script body. Images of executed
figures carry their hashed file name as alt text; a screen reader should read the caption.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx


def keep_first_of_each_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = str(script.filename) if script.filename else ("body", script.attributes.get("body", ""))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def caption_as_alt_text(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            image["alt"] = text


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", keep_first_of_each_script, priority=900)
    app.connect("doctree-resolved", caption_as_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
