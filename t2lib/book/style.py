"""The book's one plotting style, so every chapter's figures look alike."""

from __future__ import annotations

import os

import matplotlib as mpl
import seaborn as sns

# One meaning per colour across the book. The paper's: Approach 1 in blue, Approach 2 in red,
# Chinchilla in black; Hoffmann et al.'s law in grey. Fits to all of a suite's runs and fits
# that extrapolate from a cutoff (real overtrained runs) in teal and brown; a measured pass@k
# beside pass@1 in purple; budgets and sizes in the viridis colour map.
APPROACH1 = "#1f5fa8"
APPROACH2 = "#c0392b"
CHINCHILLA = "#111111"
HOFFMANN = "#7f7f7f"
ALL_RUNS = "#01665e"
FROM_CUTOFF = "#8c510a"
SAMPLED = "#7b3294"  # a measured pass@k with several samples, beside pass@1 in black
# Post-training stages: colour and line style, the same in every figure that shows them.
STAGE_STYLES = {"base": ("black", "-"), "ft": ("#1b9e77", "--"), "sft": ("#d95f02", "-.")}


# `make figures` sets this to export every figure for slides at a higher PNG resolution.
SLIDE_FORMATS_VARIABLE = "T2BOOK_SLIDE_FIGURES"
SLIDE_DPI = 200
# The width of the page's text column in inches (about 770 pixels): a wider figure is shrunk to
# it, so its text is enlarged by the square root of the ratio, which keeps tick labels at 9 pt or
# more on the page for figures up to 13 inches wide without crowding their panels.
COLUMN_INCHES = 7.0


def legible(fig: mpl.figure.Figure) -> mpl.figure.Figure:
    """Enlarge a wide figure's text (once per figure) by the square root of its width over the
    text column's, so that its tick labels, labels, titles and legends stay legible once the page
    shrinks it to the column."""
    factor = (fig.get_figwidth() / COLUMN_INCHES) ** 0.5
    if factor <= 1.0 or getattr(fig, "_t2_legible", False):
        return fig
    fig._t2_legible = True
    texts = set(fig.texts)
    if fig._suptitle is not None:
        texts.add(fig._suptitle)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = axis.get_majorticklabels() or [mpl.text.Text()]
            axis.set_tick_params(which="both", labelsize=labels[0].get_fontsize() * factor)
            texts.add(axis.label)
        texts.update([ax.title, ax._left_title, ax._right_title, *ax.texts])
        if ax.get_legend() is not None:
            texts.update([*ax.get_legend().get_texts(), ax.get_legend().get_title()])
    for legend in fig.legends:
        texts.update([*legend.get_texts(), legend.get_title()])
    for text in texts:
        text.set_fontsize(text.get_fontsize() * factor)
    return fig


def _display_legibly() -> None:
    """In a notebook kernel: show figures as SVG (sharp at any zoom) and PNG (for downloads and
    `make figures`), each made legible first."""
    from IPython import get_ipython  # only in a notebook kernel
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    shell = get_ipython()
    if shell is None:
        return
    set_matplotlib_formats("png", "svg", metadata={"Date": None})  # no build date: the same figure, the same bytes
    for mime in ("image/png", "image/svg+xml"):
        formatter = shell.display_formatter.formatters[mime]
        draw = formatter.lookup_by_type(mpl.figure.Figure)
        formatter.for_type(mpl.figure.Figure, lambda fig, draw=draw: draw(legible(fig)))


def use_house_style() -> None:
    """Apply the book's seaborn theme and figure defaults; figures are shown as SVG and PNG,
    their text enlarged with their width (`legible`); with T2BOOK_SLIDE_FIGURES=1 in the
    environment (`make figures`), PNG at slide resolution."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 4.2),
            "figure.dpi": 110,
            "figure.constrained_layout.use": True,
            "savefig.dpi": 110,
            "axes.titlesize": "medium",
            "axes.titleweight": "bold",
            "legend.frameon": False,
            "svg.hashsalt": "t2-book",
        }
    )
    if os.environ.get(SLIDE_FORMATS_VARIABLE) == "1":
        mpl.rcParams.update({"figure.dpi": SLIDE_DPI, "savefig.dpi": SLIDE_DPI})
    try:
        _display_legibly()
    except ImportError:  # plain Python: nothing is displayed
        pass
