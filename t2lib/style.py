"""The book's one plotting style, so every chapter's figures look alike."""

from __future__ import annotations

import os

import matplotlib as mpl
import seaborn as sns

# Colours of the paper: Approach 1 in blue, Approach 2 in red, Chinchilla in black.
APPROACH1 = "#1f5fa8"
APPROACH2 = "#c0392b"
CHINCHILLA = "#111111"
HOFFMANN = "#7f7f7f"


# `make figures` sets this to export every figure for slides: SVG, and PNG at this resolution.
SLIDE_FORMATS_VARIABLE = "T2BOOK_SLIDE_FIGURES"
SLIDE_DPI = 200


def use_house_style() -> None:
    """Apply the book's seaborn theme and figure defaults: PNG output in the book; with
    T2BOOK_SLIDE_FIGURES=1 in the environment (`make figures`), SVG and high-resolution PNG."""
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
        from matplotlib_inline.backend_inline import set_matplotlib_formats  # only in a notebook kernel

        mpl.rcParams.update({"figure.dpi": SLIDE_DPI, "savefig.dpi": SLIDE_DPI})
        set_matplotlib_formats("png", "svg")
