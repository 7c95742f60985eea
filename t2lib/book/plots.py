"""Figures shared by several chapters, drawn in the house style (t2lib.book.style)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle

from t2lib.book.style import APPROACH1, APPROACH2, CHINCHILLA
from t2lib.book.tables import size_label
from t2lib.data.suite import budget_levels
from t2lib.laws.frontier import extrapolation_flags


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
    of 2×10¹ and 6×10⁰, evenly spaced ones on an axis narrower than a factor of 3; wider axes keep
    their powers of ten."""
    low, high = sorted(axis.axes.get_ylim() if axis.axis_name == "y" else axis.axes.get_xlim())
    if low <= 0 or high / low >= 100:
        return
    plain = mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    axis.set_major_formatter(plain)
    if high / low < 3:  # too narrow for 1-2-3-5 ticks: a few evenly spaced plain ones
        axis.set_major_locator(mpl.ticker.MaxNLocator(nbins=4))
        axis.set_minor_formatter(mpl.ticker.NullFormatter())
        return
    axis.set_minor_formatter(mpl.ticker.FuncFormatter(
        lambda value, _: f"{value:g}" if _leading_digit(value) in (2, 3, 5) else ""))


def _leading_digit(value: float) -> float:
    """A minor log tick's multiple of its power of ten (2 for 20 or 2×10⁵)."""
    return round(value / 10 ** np.floor(np.log10(value)), 6)


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
    """A cell label short enough to read on a slide: 37, 640, 1.3K, 13K, 2.1M (the units of
    `tables.size_label`); empty for NaN."""
    if np.isnan(value):
        return ""
    for scale, suffix in ((1e6, "M"), (1e3, "K")):
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


def prediction_scatter(axes: tuple[plt.Axes, plt.Axes], predictions: pd.DataFrame) -> None:
    """Predicted against measured values (`analysis.predict_at_budget`), one dot per task and
    checkpoint and each checkpoint's macro average outlined, on log scales with the diagonal:
    Approach 1's task NLL on the first axes, Approach 2's pass@k on the second."""
    columns = ["task_nll", "predicted_task_nll", "pass_at_k", "predicted_pass_at_k"]
    macro = predictions.groupby("checkpoint")[columns].mean()
    for ax, (name, measured, predicted, colour) in zip(axes, (
            ("Approach 1: task NLL", "task_nll", "predicted_task_nll", APPROACH1),
            ("Approach 2: pass@k", "pass_at_k", "predicted_pass_at_k", APPROACH2))):
        ax.scatter(predictions[measured], predictions[predicted], s=12, color=colour, alpha=0.5,
                   label="task × checkpoint")
        ax.scatter(macro[measured], macro[predicted], s=45, facecolor="white", edgecolor=colour, lw=1.5,
                   label="macro average")
        both = np.concatenate([predictions[measured], predictions[predicted]])
        positive = both[both > 0]
        limits = (positive.min() / 1.5, positive.max() * 1.5)
        ax.plot(limits, limits, color="black", lw=1, ls="--")
        ax.set(xscale="log", yscale="log", xlim=limits, ylim=limits, xlabel="measured", ylabel="predicted", title=name)
        ax.legend()


def isoflop_figure(panels: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], observed: pd.DataFrame,
                   sizes: np.ndarray, c_inf: float, *, smallest_N: float, largest_k: float,
                   bands: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> plt.Figure:
    """The paper's Figure 3: per approach ("Approach 1", "Approach 2": `analysis.isoflop_profiles`
    and `analysis.isoflop_optima`), its profiles at k = 1 (left) and at k = C_inf/(2N) (right) over
    the measured macro averages (`analysis.macro_measured`), with the Chinchilla choices, the T²
    optima (hollow beyond `smallest_N` or `largest_k`) and, where given, each optimum's band of
    sizes as a horizontal bar."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    columns = {"Approach 1": ("task_nll_single", "task_nll"), "Approach 2": ("pass_single", "pass_at_k")}
    for row, (name, (profiles, optima)) in enumerate(panels.items()):
        single_col, corrected_col = columns[name]
        isoflop_panel(axes[row, 0], profiles, optima, observed, curve="single_pass",
                      chinchilla="chinchilla_single_pass", t2=None, observed_column=single_col)
        outside = extrapolation_flags(optima["t2_N"], optima["t2_k"], smallest_N=smallest_N, largest_k=largest_k) != ""
        colour = APPROACH1 if name == "Approach 1" else APPROACH2
        isoflop_panel(axes[row, 1], profiles, optima, observed, curve="corrected", chinchilla="chinchilla_corrected",
                      t2="t2_corrected", observed_column=corrected_col, extrapolated=outside, colour=colour)
        if bands is not None:
            lower, upper = bands[name]
            axes[row, 1].errorbar(optima["t2_N"], optima["t2_corrected"], fmt="none", ecolor=colour, elinewidth=1,
                                  xerr=[np.maximum(optima["t2_N"] - lower, 0), np.maximum(upper - optima["t2_N"], 0)])
        label = "task NLL (nats, log scale)" if name == "Approach 1" else "pass@k"
        axes[row, 0].set_ylabel(f"{name}: {label}")
        if name == "Approach 1":
            for ax in axes[row]:
                ax.set_yscale("log")
                plain_log_ticks(ax.yaxis)
    axes[0, 0].set_xlim(sizes.min() / 1.3, sizes.max() * 1.3)  # shared: bands reaching further are cut at the edge
    axes[0, 0].set_title("single pass, $k = 1$")
    axes[0, 1].set_title(r"inference-corrected, $C_\mathrm{inf}$ = " + power_of_ten(c_inf))
    stars = [mpl.lines.Line2D([], [], ls="none", marker="*", markersize=11, color=c) for c in (APPROACH1, APPROACH2)]
    hollow = [mpl.lines.Line2D([], [], ls="none", marker="*", markersize=11, mfc="white", mec=c)
              for c in (APPROACH1, APPROACH2)]
    fig.legend([mpl.lines.Line2D([], [], ls="none", marker="D", color=CHINCHILLA), tuple(stars), tuple(hollow)],
               ["Chinchilla choice (best at k = 1)", "T² optimum (Approach 1, 2)", "T² optimum outside the fitted data"],
               handler_map={tuple: mpl.legend_handler.HandlerTuple(ndivide=None)}, loc="outside lower center", ncol=3)
    budget_colourbar(fig, axes, np.unique(np.concatenate([profiles["c_train"].unique()
                                                          for profiles, _ in panels.values()])))
    return fig


def sweep_figure(curves: pd.DataFrame, c_infs: list[float], *, forecast: pd.DataFrame | None = None,
                 marked: Mapping[str, float | Mapping[float, float]] | None = None) -> plt.Figure:
    """An isoFLOP sweep, one panel per inference budget: each trained size that affords a sample,
    its measured macro pass@k at its own k with its interval (`sweep.measured_curve`; filled where
    the size is tied with the measured optimum by their paired difference or the minimum effect,
    which overlapping bars do not show; a star on the measured optimum), guessing's pass@k at the same k, the sizes of
    `marked` (name → N, or → {C_inf: N} for a size that changes with the budget) ringed, and,
    given a sweep `forecast`,
    Approach 2's forecast for the same sizes with its band and its optimum's N with its band."""
    fig, axes = plt.subplots(1, len(c_infs), figsize=(4.4 * len(c_infs), 4.2), squeeze=False)
    for ax, c_inf in zip(axes[0], c_infs):
        curve = curves[np.isclose(curves["c_inf"], c_inf)]
        if forecast is not None:
            _forecast_on_panel(ax, forecast[np.isclose(forecast["c_inf"], c_inf)])
        ax.errorbar(curve["N"], curve["value"], yerr=[curve["value"] - curve["low"], curve["high"] - curve["value"]],
                    fmt="none", ecolor=CHINCHILLA, elinewidth=1, capsize=2)
        tied = curve["tied_with_optimum"].to_numpy(bool)
        ax.scatter(curve["N"][tied], curve["value"][tied], s=36, zorder=3, color=CHINCHILLA,
                   label="measured, tied with the optimum")
        ax.scatter(curve["N"][~tied], curve["value"][~tied], s=36, zorder=3, edgecolor=CHINCHILLA, facecolor="white",
                   label="measured, worse than the optimum")
        best = curve[curve["optimum"]]
        ax.scatter(best["N"], best["value"], marker="*", s=170, zorder=5, facecolor="white", edgecolor=CHINCHILLA,
                   lw=1.2, label="measured optimum")
        for (name, N), marker in zip((marked or {}).items(), ("D", "s", "o")):
            N = _at_budget(N, c_inf)
            chosen = curve[np.isclose(curve["N"], N)]
            ax.scatter(chosen["N"], chosen["value"], s=260, marker=marker, facecolor="none", edgecolor=CHINCHILLA,
                       lw=1, zorder=4, label=name)
        ax.plot(curve["N"], curve["guess_at_k"], color="0.5", lw=1, marker="x", ms=4, label="guessing at the same k")
        ax.set(xscale="log", xlabel="parameters $N$", title=r"$C_\mathrm{inf}$ = " + power_of_ten(c_inf))
        ax.margins(x=0.12)
        _size_ticks(ax.xaxis, curve["N"].to_numpy(float))
    axes[0, 0].set_ylabel("macro pass@k\nat $k = C_\\mathrm{inf}/(2N)$")
    legend = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(legend.values(), legend.keys(), loc="outside lower center", ncol=3)
    return fig


def _at_budget(N: float | Mapping[float, float], c_inf: float) -> float:
    """A ringed size: the same on every panel, or given per inference budget (NaN where not given)."""
    if not isinstance(N, Mapping):
        return float(N)
    return next((float(n) for c, n in N.items() if np.isclose(c, c_inf)), float("nan"))


def _size_ticks(axis: mpl.axis.Axis, sizes: np.ndarray) -> None:
    """Model sizes as 20K, 1.0M: on a panel of four sizes or fewer each size, labelled as the
    tables label it (16.4K), else the powers of ten with 2 and 5 (narrower than a decade and a
    half) or 3 (wider) between them."""
    compact = mpl.ticker.FuncFormatter(lambda value, _: compact_count(value))
    if len(sizes) <= 4:
        axis.set_major_locator(mpl.ticker.FixedLocator(sizes))
        axis.set_major_formatter(mpl.ticker.FuncFormatter(lambda value, _: size_label(value)))
        axis.set_minor_formatter(mpl.ticker.NullFormatter())
        return
    between = (2, 5) if sizes.max() / sizes.min() < 10 ** 1.5 else (3,)
    axis.set_major_formatter(compact)
    axis.set_minor_formatter(mpl.ticker.FuncFormatter(
        lambda value, _: compact_count(value) if _leading_digit(value) in between else ""))


def _forecast_on_panel(ax: plt.Axes, forecast: pd.DataFrame) -> None:
    """Approach 2's forecast for the trained sizes (dashed, with its band) and its optimum's N
    (dotted, with its band) on one sweep panel."""
    predicted = forecast[(forecast["approach"] == "trainable") & (forecast["priced_by"] == "2")].sort_values("N")
    optimum = forecast[(forecast["approach"] == "2") & (forecast["priced_by"] == "2")]
    ax.plot(predicted["N"], predicted["value"], color=APPROACH2, lw=1.5, ls="--", label="forecast (Approach 2)")
    if "value_low" in predicted and predicted["value_low"].notna().all():
        ax.fill_between(predicted["N"], predicted["value_low"], predicted["value_high"], color=APPROACH2,
                        alpha=0.12, lw=0)
    if not optimum.empty:
        row = optimum.iloc[0]
        ax.axvline(row["N"], color=APPROACH2, lw=1, ls=":", label="forecast optimum (Approach 2)")
        if np.isfinite(row.get("N_low", np.nan)):
            ax.axvspan(row["N_low"], row["N_high"], color=APPROACH2, alpha=0.07, lw=0)


def not_shown(reason: str) -> plt.Figure:
    """A small figure saying, in its place, why a numbered figure has nothing to show. Its text sits
    on a hidden axes: Jupyter draws no image for a figure without one. The axes is a subplot, so that
    the house style's constrained layout, which warns at an axes placed by hand, can lay it out."""
    fig, ax = plt.subplots(figsize=(11, 1.2))
    ax.set_axis_off()
    ax.text(0.5, 0.5, "Not shown: " + reason, ha="center", va="center", wrap=True, fontsize="small",
            transform=ax.transAxes)
    return fig


FRONTIER_PANELS = (("tokens_per_param", "tokens per parameter $D/N$"), ("N", "parameters $N$"),
                   ("D", "training tokens $D$"))


def frontier_figure(frontiers: Mapping[str, pd.DataFrame], colours: Mapping[str, str], fitted_range: tuple[float, float],
                    *, bands: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]] | None = None,
                    saturated: Mapping[str, float] | None = None) -> tuple[plt.Figure, np.ndarray]:
    """Figure 2's three panels against the training budget (tokens per parameter, N, D), one line
    per `frontiers` table (`frontier.frontier`), dotted where its optimum lies outside the fitted
    data, shaded by its bootstrap `bands` where given, each `saturated` size N∞ dashed in the
    middle panel, and the budgets fitted on in grey."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for ax, (column, label) in zip(axes, FRONTIER_PANELS):
        for name, table in frontiers.items():
            inside = table["outside data"].eq("") if "outside data" in table else np.ones(len(table), bool)
            ax.plot(table["c_train"], table[column].where(inside), color=colours[name], lw=2, label=name)
            if not inside.all():
                ax.plot(table["c_train"], table[column].where(~inside | inside.shift(-1, fill_value=False)),
                        color=colours[name], lw=2, ls=":")
            if bands is not None and name in bands and column in bands[name]:
                ax.fill_between(table["c_train"], *bands[name][column], color=colours[name], alpha=0.15, lw=0)
        ax.axvspan(*fitted_range, color="0.9", zorder=0)
        ax.set(xscale="log", yscale="log", xlabel=r"training budget $C_\mathrm{train}$ (FLOPs)", ylabel=label)
    for name, size in (saturated or {}).items():
        axes[1].axhline(size, color=colours[name], ls="--", lw=1)
    return fig, axes


def frontier_legend(fig: plt.Figure, colours: Mapping[str, str], extra: list | None = None, ncol: int = 5) -> None:
    """The legend of `frontier_figure`: one line per law, then `extra` handles, then the line styles."""
    line = mpl.lines.Line2D
    fig.legend(handles=[*(line([], [], color=colour, lw=2, label=name) for name, colour in colours.items()),
                        *(extra or []),
                        # The line styles' keys in near-black, apart from every law's colour (Hoffmann's is grey).
                        line([], [], color="0.1", lw=1.5, label="T² optimum within the fitted data"),
                        line([], [], color="0.1", lw=1.5, ls=":", label="beyond the fitted k or N"),
                        line([], [], color="0.1", ls="--", lw=1, label=r"limit $N_\infty$ (middle)"),
                        mpl.patches.Patch(color="0.9", label="budgets fitted on")],
               loc="outside lower center", ncol=ncol)
