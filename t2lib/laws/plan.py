"""The training plan: for given budgets, the (N, D, k) each approach recommends and what it gains.

For each training budget C_train and inference budget C_inf, `plan` gives one row per choice:
- approach "1" and "2": the T² optimum of Approach 1 (macro task NLL, lower is better) and of
  Approach 2 (macro pass@k, higher is better), at k = C_inf/(2N);
- approach "chinchilla": the size the fitted Chinchilla laws (the k = 1 task NLL) choose, given
  the k = C_inf/(2N) its size affords and priced by each approach's law (`priced_by`).
Every row carries `flags` naming what lies outside the data the laws were fitted on (N, D or k
beyond the fitted ranges; a Chinchilla choice too large for one sample; a bootstrap band that
reaches the edge of the size search), and, when bootstrap replicates are given, a band for N, D,
k, tokens per parameter and the value.

The plan passes the fit-quality gate first (`fitquality.check_laws`): a plan that rests on a
degenerate law is refused, or, with `allow_degenerate`, every row that rests on one says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from t2lib.book.formatting import format_number
from t2lib.book.tables import size_label
from t2lib.data import checks
from t2lib.laws.bootstrap import BAND_LEVEL, Replicates, laws_of, percentile_band
from t2lib.laws.fitquality import check_laws
from t2lib.laws.frontier import N_MIN, frontier, value_at
from t2lib.laws.passk import pass_at_k
from t2lib.laws.saved import SavedFits

APPROACHES = {"1": "Approach 1", "2": "Approach 2"}
CHINCHILLA = "Chinchilla (k = 1)"
QUANTITIES = ("N", "D", "k", "tokens_per_param", "value")


def range_flags(N: float, D: float, k: float, saved: SavedFits, tasks: list[str]) -> str:
    """What of (N, D, k) lies outside the ranges the fits of `tasks` were fitted on, in words."""
    flags = []
    for quantity, value in (("N", N), ("D", D), ("k", k)):
        low, high = saved.fitted_range(quantity, tasks)
        if not np.isfinite(value):
            continue
        if value < low * (1 - 1e-9):
            flags.append(f"{quantity} below the fitted range ({format_number(value)} < {format_number(low)})")
        elif value > high * (1 + 1e-9):
            flags.append(f"{quantity} above the fitted range ({format_number(value)} > {format_number(high)})")
    return "; ".join(flags)


def laws_behind(approach: str, priced_by: str, tasks: list[str]) -> list[tuple[str, str]]:
    """The (task, law) pairs a plan row rests on: an approach's own laws (Approach 2's law holds
    the Chinchilla stage), and for the Chinchilla choice its laws and those that price it."""
    keys = [CHINCHILLA] if approach == "chinchilla" else []
    keys += [APPROACHES[priced_by]] + ([CHINCHILLA] if priced_by == "2" else [])
    return [(task, key) for key in dict.fromkeys(keys) for task in tasks]


def quality_flags(saved: SavedFits, table: pd.DataFrame, tasks: list[str], allow_degenerate: bool) -> list[str]:
    """The gate over a plan's rows: refuses (DegenerateFitError) a row resting on a degenerate law
    unless `allow_degenerate`; else the flag of each row ("" where its laws are sound)."""
    source = str(saved.path) if saved.path is not None else "fits"
    return [check_laws(saved.quality, laws_behind(row.approach, row.priced_by, tasks),
                       allow_degenerate=allow_degenerate, source=source) for row in table.itertuples()]


def join_flags(*flags: str) -> str:
    """Flags of one row joined into one string, empty ones left out."""
    return "; ".join(flag for flag in flags if flag)


def _choices(fits: dict, tasks: list[str], c_train: np.ndarray, c_inf: float, approaches: list[str]) -> pd.DataFrame:
    """The rows of a plan for one set of fitted laws (the full fit, or one bootstrap replicate)."""
    chosen = {t: fits[t] for t in tasks}
    laws = {key: laws_of(chosen, APPROACHES[key]) for key in approaches}
    rows = [frontier(laws[key], c_train, c_inf).assign(approach=key, priced_by=key) for key in approaches]
    chinchilla = frontier([fit.chinchilla.law for fit in chosen.values()], c_train)
    affordable = chinchilla["N"].to_numpy() <= c_inf / 2
    for key in approaches:
        value = np.full(len(c_train), np.nan)
        if affordable.any():
            value[affordable] = value_at(laws[key], chinchilla["N"].to_numpy()[affordable], c_train[affordable], c_inf)
        rows.append(chinchilla.assign(approach="chinchilla", priced_by=key, c_inf=c_inf, k=c_inf / (2 * chinchilla["N"]),
                                      value=value))
    return pd.concat(rows, ignore_index=True)[["approach", "priced_by", "c_train", "c_inf", "N", "D", "k",
                                               "tokens_per_param", "value", "constraint"]]


def edge_flag(constraint: str, n_low: float = np.nan) -> str:
    """A flag when the size search stopped at its edge, or a bootstrap band of N reaches it."""
    if constraint == "search edge":
        return (f"N at the edge of the size search ({N_MIN:,.0f} parameters, or one token): a bound the search "
                "imposed, not an optimum")
    if n_low <= N_MIN * (1 + 1e-6):
        return f"the band of N reaches the size search's floor ({N_MIN:,.0f} parameters): its low end is not measured"
    return ""


def guessing_level(saved: SavedFits, tasks: list[str], table: pd.DataFrame) -> NDArray[np.float64]:
    """For each row priced by pass@k (Approach 2), the macro pass@k of guessing at its whole k
    (each task's `guess`; NaN where a task records none, and for rows priced by task NLL)."""
    guess = np.array([saved.guess.get(task, np.nan) for task in tasks])
    if not np.isfinite(guess).all():
        return np.full(len(table), np.nan)
    k = np.array([whole_samples(value) for value in table["k"]])
    level = np.array([np.mean(pass_at_k(guess, max(kk, 1.0))) if np.isfinite(kk) else np.nan for kk in k])
    return np.where((table["priced_by"] == "2").to_numpy() & (k >= 1), level, np.nan)


def plan(saved: SavedFits, c_train: ArrayLike, c_inf: float, *, tasks: Sequence[str] | None = None,
         approach: str = "both", replicates: Replicates | None = None, band_level: float = BAND_LEVEL,
         allow_degenerate: bool = False) -> pd.DataFrame:
    """The plan for each budget in `c_train` at inference budget `c_inf` (see the module docstring);
    DegenerateFitError if a row rests on a degenerate law, unless `allow_degenerate`."""
    c_train = np.atleast_1d(checks.positive("c_train", c_train)).astype(float)
    c_inf = float(checks.positive("c_inf", c_inf))
    tasks = list(saved.fits) if tasks is None else list(tasks)
    unknown = [t for t in tasks if t not in saved.fits]
    if unknown or not tasks:
        raise ValueError(f"tasks: no fits for task {unknown[0] if unknown else '(none given)'!r}; "
                         f"the fits have {', '.join(saved.fits)}")
    if approach not in ("1", "2", "both"):
        raise ValueError(f"approach must be '1', '2' or 'both'; got {approach!r}")
    approaches = ["1", "2"] if approach == "both" else [approach]
    table = _choices(saved.fits, tasks, c_train, c_inf, approaches)
    gate = quality_flags(saved, table, tasks, allow_degenerate)
    if replicates is not None:
        stacked = np.array([_choices(fits, tasks, c_train, c_inf, approaches)[list(QUANTITIES)].to_numpy()
                            for fits in replicates.fits])
        lower, upper = percentile_band(stacked, band_level)
        for i, quantity in enumerate(QUANTITIES):
            table[f"{quantity}_low"], table[f"{quantity}_high"] = lower[:, i], upper[:, i]
    n_low = table["N_low"] if "N_low" in table else pd.Series(np.nan, index=table.index)
    unaffordable = (table["approach"] == "chinchilla") & (table["N"] > c_inf / 2)
    table["metric"] = table["priced_by"].map(PRICED_BY)
    table["guess_at_k"] = guessing_level(saved, tasks, table)
    table["flags"] = [join_flags(quality, range_flags(r.N, r.D, r.k, saved, tasks),
                                 edge_flag(r.constraint, low),
                                 "unaffordable: N > C_inf/2, not one sample" if too_big else "")
                      for quality, r, low, too_big in zip(gate, table.itertuples(), n_low, unaffordable)]
    return table.drop(columns="constraint")


def whole_samples(k: float) -> float:
    """The whole number of samples a budget affords: k rounded down (k = 1.02 draws one sample)."""
    return float(np.floor(k * (1 + 1e-9))) if np.isfinite(k) else float("nan")


def _samples(k: float) -> str:
    if not np.isfinite(k):
        return "-"
    return format_number(whole_samples(k))


def _caveat(*rows: pd.Series) -> str:
    return " (rests on a degenerate fit)" if any("degenerate fit" in str(row["flags"]) for row in rows) else ""


def gain_in_words(table: pd.DataFrame) -> list[str]:
    """One sentence per budget and approach: the T² choice against the Chinchilla choice."""
    sentences = []
    for (c_train, key), rows in table.groupby(["c_train", "priced_by"], sort=False):
        t2 = rows[rows["approach"] == key].iloc[0]
        chin = rows[rows["approach"] == "chinchilla"].iloc[0]
        name = APPROACHES[key]
        what = "macro task NLL" if key == "1" else "macro pass@k"
        head = (f"At C_train = {format_number(c_train)} FLOPs, {name} trains {size_label(t2['N'])} parameters on "
                f"{format_number(t2['tokens_per_param'])} tokens per parameter with k = {_samples(t2['k'])} samples")
        if not np.isfinite(chin["value"]):
            sentences.append(f"{head}; the Chinchilla choice ({size_label(chin['N'])}) cannot afford one sample"
                             f"{_caveat(t2, chin)}.")
            continue
        if t2["value"] == chin["value"]:
            change = "the same"
        elif key == "1":
            change = f"{(chin['value'] - t2['value']) / chin['value']:.1%} lower by the law's own prediction"
        else:
            change = (f"{t2['value'] / chin['value']:.3g}× higher" if chin["value"] > 0 else "higher") + \
                " by the law's own prediction"
        guessing = t2.get("guess_at_k", np.nan)
        guessed = (f"; guessing alone reaches {format_number(guessing)} at k = {_samples(t2['k'])}"
                   if np.isfinite(guessing) else "")
        sentences.append(f"{head}: predicted {what} {format_number(t2['value'], 4)} against "
                         f"{format_number(chin['value'], 4)} for the Chinchilla choice ({size_label(chin['N'])}, "
                         f"k = {_samples(chin['k'])}), {change}{guessed}{_caveat(t2, chin)}.")
    return sentences


GLOSSARY = (
    "N: model parameters. D: training tokens (D/N: tokens per parameter). k: samples drawn per question, the "
    "answer scored by pass@k (at least one of k samples right); k = C_inf/(2N), shown rounded down to whole samples.",
    "C_train: training budget, FLOPs (6·N·D). C_inf: inference budget, FLOPs per token of each question (2·N·k).",
    "Approach 1: the N that minimises the predicted macro task NLL (−log pass@k, averaged over questions, then "
    "tasks; nats, lower is better). Approach 2: the N that maximises the predicted macro pass@k (higher is better).",
    "Chinchilla choice: the N a Chinchilla law of the single-sample task NLL picks, blind to inference, priced at "
    "the k its size affords by each approach's law.",
    "Gain (\"lower\", \"higher\"): the law's own prediction for its optimum against the Chinchilla choice; an "
    "optimum cannot lose on its own law, so the gain is a forecast to test by training, not evidence.",
)
CHOICES = {"1": "Approach 1 optimum", "2": "Approach 2 optimum", "chinchilla": "Chinchilla choice",
           "1 neighbour": "Approach 1 neighbour", "2 neighbour": "Approach 2 neighbour", "trainable": "to train"}
PRICED_BY = {"1": "task NLL", "2": "pass@k"}


def _banded(row: pd.Series, quantity: str, show) -> str:
    """A number as text, with its band "[low, high]" when the row has one."""
    value = row[quantity]
    if not np.isfinite(value):
        return "-"
    low, high = row.get(f"{quantity}_low", np.nan), row.get(f"{quantity}_high", np.nan)
    band = f" [{show(low)}, {show(high)}]" if np.isfinite(low) and np.isfinite(high) else ""
    return show(value) + band


def _guessing(row: pd.Series) -> str:
    level = row.get("guess_at_k", np.nan)
    return f" (guessing {format_number(level, 2)})" if np.isfinite(level) else ""


def numbered_notes(flags: pd.Series) -> tuple[list[str], list[str]]:
    """Each row's flags as note numbers ("1, 3"), and the notes, each distinct flag once."""
    notes: dict[str, int] = {}
    numbers = []
    for text in flags.fillna(""):
        parts = [part.strip() for part in str(text).split("; ") if part.strip()]
        numbers.append(", ".join(str(notes.setdefault(part, len(notes) + 1)) for part in parts))
    return numbers, [f"[{n}] {part}" for part, n in notes.items()]


def readable_plan(table: pd.DataFrame, provenance: str = "", band_level: float = BAND_LEVEL) -> str:
    """A plan (or a forecast's rows) as text a non-expert can read: units, sizes as 1.6K/1.6M/1.6B,
    whole samples, bands as "value [low, high]", flags as numbered notes under the table, what
    each row gains over the Chinchilla choice, and what every symbol means."""
    numeric = [c for c in table.columns if c not in ("approach", "priced_by", "flags", "role")]
    table = table.assign(**{c: pd.to_numeric(table[c], errors="coerce") for c in numeric})  # null from JSON: NaN
    roles = table.get("role", pd.Series([None] * len(table), index=table.index))
    # What a model to train stands for can be long (a sweep's size may stand for several optima): a note.
    flags = [("; ".join(filter(None, [f"stands for: {role}" if isinstance(role, str) else "",
                                      flag if isinstance(flag, str) else ""])))
             for role, flag in zip(roles, table["flags"])]
    numbers, notes = numbered_notes(pd.Series(flags, index=table.index))
    shown = pd.DataFrame({
        "choice": [CHOICES.get(a, a) for a in table["approach"]],
        "priced by": table["priced_by"].map(PRICED_BY),
        "C_train FLOPs": table["c_train"].map(format_number),
        "N params": [_banded(row, "N", size_label) for _, row in table.iterrows()],
        "D tokens": [_banded(row, "D", size_label) for _, row in table.iterrows()],
        "D/N": [_banded(row, "tokens_per_param", format_number) for _, row in table.iterrows()],
        "k samples": [_banded(row, "k", _samples) for _, row in table.iterrows()],
        "predicted": [_banded(row, "value", format_number) + _guessing(row) for _, row in table.iterrows()],
        "notes": numbers,
    })
    if table["c_inf"].nunique() > 1:  # a sweep: say which budget each row is at
        shown.insert(3, "C_inf FLOPs/token", table["c_inf"].map(format_number))
    c_inf = ", ".join(format_number(c) for c in table["c_inf"].unique())
    lines = [f"C_inf = {c_inf} FLOPs per token", shown.to_string(index=False), ""]
    if notes:
        lines += ["Notes:", *notes, ""]
    lines += gain_in_words(table) + [""] + list(GLOSSARY)
    if "guess_at_k" in table and table["guess_at_k"].notna().any():
        lines.append("guessing: the pass@k a guesser reaches at the same whole k (from the suite's guess column); a "
                     "predicted pass@k near it is no evidence of skill.")
    if "N_low" in table or "value_low" in table:
        lines.append(f"[low, high]: the {band_level:.0%} bootstrap band over refits on resampled questions.")
    if provenance:
        lines.append(provenance)
    return "\n".join(lines)
