"""Figures shared by several chapters, drawn in the house style (t2lib.style)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle

from t2lib.style import APPROACH2, CHINCHILLA
from t2lib.suite import budget_levels


def budget_colours(budgets: np.ndarray) -> tuple[mpl.colors.Colormap, mpl.colors.Normalize]:
    """One colour per training budget, on a log scale, shared by every isoFLOP panel."""
    return mpl.colormaps["viridis"], mpl.colors.LogNorm(vmin=np.min(budgets), vmax=np.max(budgets))


def isoflop_panel(ax: plt.Axes, profiles: pd.DataFrame, optima: pd.DataFrame, observed: pd.DataFrame | None,
                  *, curve: str, chinchilla: str, t2: str | None, observed_column: str | None,
                  extrapolated: np.ndarray | None = None, colour: str = APPROACH2) -> None:
    """One isoFLOP panel: a fitted curve per budget (column `curve` of `profiles`), the
    measured checkpoints as dots, the single-pass choice in black and the T² optimum as a star in
    its approach's `colour` — hollow where `extrapolated` (a boolean per optimum) says it lies
    outside the fitted data."""
    cmap, norm = budget_colours(profiles["c_train"].to_numpy())
    for c, group in profiles.groupby("c_train"):
        ax.plot(group["N"], group[curve], color=cmap(norm(c)), lw=1.4)
    if observed is not None and observed_column is not None:
        ax.scatter(observed["params"], observed[observed_column], c=cmap(norm(observed["train_flops"])), s=14,
                   edgecolor="white", linewidth=0.4, zorder=3)
    ax.scatter(optima["chinchilla_N"], optima[chinchilla], marker="D", s=26, color=CHINCHILLA, zorder=4,
               label="Chinchilla choice (best at k = 1)")
    if t2 is not None:
        outside = np.zeros(len(optima), bool) if extrapolated is None else np.asarray(extrapolated, bool)
        ax.scatter(optima["t2_N"][~outside], optima[t2][~outside], marker="*", s=80, color=colour, zorder=5,
                   label="T² optimum")
        if outside.any():
            ax.scatter(optima["t2_N"][outside], optima[t2][outside], marker="*", s=80, facecolor="white",
                       edgecolor=colour, zorder=5, label="T² optimum outside the fitted data")
    ax.set_xscale("log")
    ax.set_xlabel("parameters $N$")


def power_of_ten(x: float, digits: int = 2) -> str:
    """A number for a figure's text, typeset: 2e9 as $2\\times10^{9}$, 1e11 as $10^{11}$."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return "$" + ("" if mantissa == "1" else mantissa + r"\times") + f"10^{{{int(exponent)}}}$"


def plain_log_ticks(axis: mpl.axis.Axis) -> None:
    """On a log axis spanning less than two decades, tick labels as plain numbers (20, 6) instead
    of 2×10¹ and 6×10⁰; wider axes keep their powers of ten."""
    low, high = sorted(axis.axes.get_ylim() if axis.axis_name == "y" else axis.axes.get_xlim())
    if low <= 0 or high / low >= 100:
        return
    plain = mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(mpl.ticker.FuncFormatter(
        lambda value, _: f"{value:g}" if round(value / 10 ** np.floor(np.log10(value)), 6) in (2, 3, 5) else ""))


def budget_colourbar(fig: plt.Figure, axes, budgets: np.ndarray) -> None:
    """A colour bar naming the training budget of each isoFLOP curve."""
    cmap, norm = budget_colours(budgets)
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.8, pad=0.02)
    bar.set_label(r"training budget $C_\mathrm{train}$ (FLOPs)")


def table_bars(ax: plt.Axes, comparison: pd.DataFrame, title: str = "",
               names: Mapping[str, str] | None = None) -> None:
    """Table 1/2 as bars: pass@k of the Chinchilla-optimal and the best overtrained checkpoint
    per task, this book's (filled) beside the paper's (outlined) when `comparison` holds both
    (`tables.compare_with_paper`), this book's alone for a table of ours only. `names` maps
    task ids to the names shown on the axis (default: the ids)."""
    x = np.arange(len(comparison))
    with_paper = "best_overtrained_pass_at_k_paper" in comparison
    width = 0.2 if with_paper else 0.4
    cells = (("chinchilla_opt", CHINCHILLA, "Chinchilla-optimal"), ("best_overtrained", APPROACH2, "best overtrained"))
    for i, (cell, colour, name) in enumerate(cells):
        if not with_paper:
            ax.bar(x + (i - 0.5) * width, comparison[f"{cell}_pass_at_k"], width, color=colour, label=name)
            continue
        ax.bar(x + (2 * i - 1.5) * width, comparison[f"{cell}_pass_at_k_ours"], width, color=colour,
               label=f"{name}, this book")
        ax.bar(x + (2 * i - 0.5) * width, comparison[f"{cell}_pass_at_k_paper"], width, facecolor="white",
               edgecolor=colour, hatch="//", label=f"{name}, paper")
    labels = [names.get(t, t) if names is not None else t for t in comparison["task"]]
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set(yscale="log", ylabel="pass@k at $k = C_\\mathrm{inf}/(2N)$", title=title)


def compact_count(value: float) -> str:
    """A cell label short enough to read on a slide: 37, 640, 1.3k, 13k, 2.1M; empty for NaN."""
    if np.isnan(value):
        return ""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale * 0.9995:  # what rounds to 1.0k is shown so, not as 1000
            shown = value / scale
            text = f"{shown:.1f}"
            return (text if float(text) < 10 else f"{shown:.0f}") + suffix
    return f"{value:.0f}"


def grid_heatmap(ax: plt.Axes, grid: pd.DataFrame, size_order: list[str], highlight: str | None = None) -> None:
    """Figure 8's layout: one cell per training budget (rows) and model size (columns, in
    `size_order`), annotated with its tokens per parameter and coloured on a log scale; cells
    whose boolean column `highlight` is true are outlined in red. `grid` needs train_flops,
    size_label and tokens_per_param; absent cells stay empty. Budgets are rows by level
    (`suite.budget_levels`: a run trained on whole batches misses its nominal budget slightly)."""
    grid = grid.assign(train_flops=budget_levels(grid["train_flops"]))
    budgets = np.sort(grid["train_flops"].unique())
    ratio = grid.pivot_table(index="train_flops", columns="size_label", values="tokens_per_param").reindex(
        index=budgets, columns=size_order)
    labels = ratio.map(compact_count)
    sns.heatmap(np.log10(ratio), annot=labels, fmt="", cmap="Blues", annot_kws={"fontsize": 10}, linewidths=0.5,
                linecolor="white", ax=ax, yticklabels=[power_of_ten(c, 3) for c in budgets],
                cbar_kws={"label": r"$\log_{10}$ tokens per parameter"})
    if highlight is not None:
        flags = grid.pivot_table(index="train_flops", columns="size_label", values=highlight,
                                 aggfunc="any").reindex(index=budgets, columns=size_order)
        for (i, j), flag in np.ndenumerate(flags.fillna(False).to_numpy(dtype=bool)):
            if flag:
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor=APPROACH2, lw=2))
    ax.set(xlabel="model size", ylabel=r"training budget $C_\mathrm{train}$ (FLOPs)")
    ax.invert_yaxis()
    ax.grid(False)
