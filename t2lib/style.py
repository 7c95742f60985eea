"""The book's one plotting style, so every chapter's figures look alike."""

from __future__ import annotations

import matplotlib as mpl
import seaborn as sns

# Colours of the paper: Approach 1 in blue, Approach 2 in red, Chinchilla in black.
APPROACH1 = "#1f5fa8"
APPROACH2 = "#c0392b"
CHINCHILLA = "#111111"
HOFFMANN = "#7f7f7f"


def use_house_style() -> None:
    """Apply the book's seaborn theme and figure defaults (deterministic SVG-free PNG output)."""
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
