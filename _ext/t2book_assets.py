"""A Sphinx extension for the book: every page loads each script once, every figure's image
has its caption as alt text, and numbers in prose read 2.6×10¹⁹, not 2.56e+19.

Jupyter Book 1 adds some scripts twice — the sphinx-thebe and sphinx-togglebutton settings,
and every .js file under _static — and a second copy of a `const` declaration is a console
error (MathJax and the Font Awesome subset live in _extra, which is copied, not loaded). This
keeps the first occurrence of each script file and of each inline script body. Images of executed
figures carry their hashed file name as alt text; a screen reader should read the caption.
Numbers glued into the prose with a format such as `:.3g` come out in Python's e-notation; the
prose, not code or its output, gets them as powers of ten.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx

from t2lib.book.formatting import powers_of_ten  # the book's own library, installed in its environment


def keep_first_of_each_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = str(script.filename) if script.filename else ("body", script.attributes.get("body", ""))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


# TeX a caption's math may use, as the plain text a screen reader can say.
TEX_SYMBOLS = {r"\infty": "∞", r"\propto": "∝", r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\theta": "θ",
               r"\le": "≤", r"\leq": "≤", r"\ge": "≥", r"\geq": "≥", r"\times": "×", r"\cdot": "·",
               r"\approx": "≈", r"\hat": "", r"\bar": "", r"\log": "log", r"\ln": "ln", r"\,": " ", r"\;": " "}


def tex_to_text(tex: str) -> str:
    """Inline TeX as plain text: \\mathrm{inf} → inf, \\frac{a}{b} → a/b, Greek letters and
    relations as their symbols, braces and the remaining backslashes dropped."""
    text = re.sub(r"\\(?:mathrm|text|mathit|mathbf|operatorname)\{([^{}]*)\}", r"\1", tex)
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", text)
    for command, symbol in sorted(TEX_SYMBOLS.items(), key=lambda item: -len(item[0])):
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", symbol, text)
    return re.sub(r"\\([A-Za-z]+)", r"\1", text).replace("{", "").replace("}", "")


def plain_text(node: nodes.Node) -> str:
    """A caption's text with its math as plain text."""
    if isinstance(node, nodes.math):
        return tex_to_text(node.astext())
    if isinstance(node, nodes.Text):
        return node.astext()
    return "".join(plain_text(child) for child in node.children)


def caption_as_alt_text(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        text = " ".join(plain_text(captions[0]).split())
        for image in figure.findall(nodes.image):
            image["alt"] = text


# Where text is code, its output or typeset math, and must stay as it is.
VERBATIM = (nodes.literal, nodes.literal_block, nodes.raw, nodes.math, nodes.math_block, nodes.FixedTextElement)


def powers_of_ten_in_prose(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for text in list(doctree.findall(nodes.Text)):
        parent = text.parent
        if parent is None or any(isinstance(node, VERBATIM) for node in _ancestors(parent)):
            continue
        written = powers_of_ten(text.astext())
        if written != text.astext():
            parent.replace(text, nodes.Text(written))


def _ancestors(node: nodes.Node):
    while node is not None:
        yield node
        node = node.parent


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", keep_first_of_each_script, priority=900)
    app.connect("doctree-resolved", caption_as_alt_text)
    app.connect("doctree-resolved", powers_of_ten_in_prose)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
