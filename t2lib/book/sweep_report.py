"""What a page says and shows about a sweep forecast judged on trained sizes (the hindcast
chapter, and the sweep's chapter after it): where the laws put each optimum and which trained
size stands for it, how close the Chinchilla choice's snap was, how Approach 1's size did,
whether the law has the curve's slope right, and the head-to-heads' outcome, as sentences; and
the optima and head-to-heads as display tables for `tables.show_table`. Each function takes what
`t2lib.laws.sweep` computes, every number computed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.book.formatting import format_number, interval
from t2lib.book.tables import size_label
from t2lib.book.verdict import duel_sentence
from t2lib.data.suite import Suite, load_suite
from t2lib.data.training import GRID
from t2lib.laws.forecast import SNAP_FACTOR, SWEEP_FORECAST_FILES, load_sweep_forecasts
from t2lib.laws.sweep import DECIDED, MIN_EFFECT, GridSlice, Judgement, optimum_role, size_with_role


@dataclass(frozen=True)
class SweepState:
    """What a sweep's folder holds so far: which forecasts are committed, and once all are with
    the plan, their provenance and rows (by what their laws were fitted to), the plan, and the
    suite of the runs scored so far (None before the first)."""

    present: list[str]
    forecasts: dict[str, tuple[dict, pd.DataFrame]]
    plan: pd.DataFrame
    trained: Suite | None

    @property
    def committed(self) -> bool:
        return bool(self.forecasts)

    @property
    def made(self) -> dict[str, str]:
        """When each committed forecast was made (ISO 8601, UTC), by what its laws were fitted to."""
        return {fitted_to: str(meta.get("made_at", meta["made"])) for fitted_to, (meta, _) in self.forecasts.items()}

    @property
    def started_after_forecasts(self) -> bool | None:
        """Whether the earliest scored run started after both forecasts were made (None: no run, no
        forecast, or runs that do not record when they started)."""
        if not self.committed or self.trained is None or "started_at" not in self.trained.base:
            return None
        return str(self.trained.base["started_at"].min()) > max(self.made.values())

    @property
    def done(self) -> pd.Series:
        """Seeds scored per cell."""
        return (self.trained.base.groupby("cell")["seed"].nunique() if self.trained is not None
                else pd.Series(dtype=int))

    @property
    def complete_cells(self) -> list[str]:
        done = self.done
        return [c for c, n in zip(self.plan["cell"], self.plan["seeds"]) if done.get(c, 0) >= n]

    @property
    def complete(self) -> bool:
        """Every planned size is scored at all its seeds."""
        return self.committed and len(self.complete_cells) == len(self.plan)

    @property
    def n_runs(self) -> int:
        return int(self.done.sum())

    @property
    def n_planned(self) -> int:
        return int(self.plan["seeds"].sum())

    @property
    def pending(self) -> str:
        """What is still missing, in words, as a clause."""
        if not self.committed:
            return "the forecasts are not made yet"
        return (f"{self.n_runs} of {self.n_planned} runs scored, {len(self.complete_cells)} of {len(self.plan)} sizes "
                "at all their seeds")


def sweep_state(folder: str | Path) -> SweepState:
    """Read a sweep's folder: its forecasts (`SWEEP_FORECAST_FILES`), its plan and its scored runs."""
    folder = Path(folder)
    files = {fitted_to: folder / name for fitted_to, name in SWEEP_FORECAST_FILES.items()}
    present = [fitted_to for fitted_to, path in files.items() if path.exists()]
    committed = len(present) == len(files) and (folder / GRID).exists()
    return SweepState(present=present, forecasts=load_sweep_forecasts(files) if committed else {},
                      plan=pd.read_csv(folder / GRID) if committed else pd.DataFrame(columns=["cell", "params",
                                                                                                "seeds"]),
                      trained=load_suite(folder) if (folder / "checkpoints.csv").exists() else None)


PRIMARY_ROLE = "Chinchilla choice (task NLL, k = 1)"  # the role of the size trained for the task-loss choice
COIN_TOSS = 1.1  # a snap whose two nearest sizes are within this factor of equally far is close to a coin toss
GOOD_VERDICTS = ("the measured optimum", "tied with the measured optimum")


def chinchilla_sizes(forecast: pd.DataFrame) -> tuple[float, float | None]:
    """The task-loss law's Chinchilla choice at one sample, and the trained size it was snapped to."""
    chosen = float(forecast.loc[forecast["approach"] == "chinchilla", "N"].iloc[0])
    return chosen, size_with_role(forecast, PRIMARY_ROLE)


def optima(forecast: pd.DataFrame, approach: str) -> pd.DataFrame:
    """Approach `approach`'s ("1" or "2") optimum per inference budget, priced by its own law."""
    return forecast[(forecast["approach"] == approach) & (forecast["priced_by"] == approach)].sort_values("c_inf")


def direction_sentence(forecasts: Mapping[str, pd.DataFrame]) -> str:
    """Per forecast (by what its laws were fitted to), at how many inference budgets each
    approach's optimum is smaller than the Chinchilla choice (more tokens per parameter: the
    paper's direction), and which optima lie outside their own bootstrap band."""
    parts, outside, bounded = [], [], []
    for fitted_to, forecast in forecasts.items():
        chosen = chinchilla_sizes(forecast)[0]
        counts = []
        for approach in ("1", "2"):
            rows = optima(forecast, approach)
            counts.append(f"Approach {approach}'s at {int((rows['N'] < chosen).sum())} of {len(rows)} "
                          f"({_span(rows['N'])})")
            if {"N_low", "N_high"} <= set(rows):
                away = rows[(rows["N"] < rows["N_low"]) | (rows["N"] > rows["N_high"])]
                if not away.empty:
                    outside.append((len(away), f"Approach {approach}'s fitted to {fitted_to}, at C_inf "
                                    + " and ".join(format_number(c) for c in away["c_inf"])))
            one = rows[np.isclose(rows["k"], 1.0, rtol=1e-9)]
            bounded += [f"Approach {approach}'s fitted to {fitted_to} at C_inf {format_number(c)}"
                        for c in one["c_inf"]]
        parts.append(f"with laws fitted to {fitted_to} (Chinchilla choice {size_label(chosen)} as fitted), "
                     + " and ".join(counts))
    said = ("Each optimum is smaller than the Chinchilla choice, the paper's direction (more tokens per parameter), "
            "at this many of the inference budgets: " + "; ".join(parts) + ".")
    if outside:
        n_optima = sum(len(optima(f, a)) for f in forecasts.values() for a in ("1", "2"))
        n_outside = sum(n for n, _ in outside)
        said += (f" Of the {n_optima} optima, {n_outside} {'lies' if n_outside == 1 else 'lie'} outside "
                 "their own bootstrap band "
                 f"({'; '.join(where for _, where in outside)}): refits on resampled data mostly put the optimum "
                 "elsewhere, so the point is not a stable estimate, and a measured optimum anywhere in the band is "
                 "as consistent with the laws.")
    if bounded:
        said += (f" For {' and '.join(bounded)}, the optimum is the largest model that affords one sample (k = 1): "
                 "the law would take a larger one if the inference budget allowed, so that optimum is a bound the "
                 "budget sets, not one the law found.")
    return said


def primary_test_sentence(forecasts: Mapping[str, pd.DataFrame], c_infs: Mapping[str, Sequence[float]]) -> str:
    """What the primary comparison can show, read from the committed forecasts before any model is
    measured: whether the model each trains for Approach 2's optimum at its largest inference
    budget is smaller than the task-loss Chinchilla choice (more tokens per parameter, the paper's
    direction) or not."""
    sizes = {fitted_to: (size_with_role(forecast, optimum_role("2", max(c_infs[fitted_to]))),
                         size_with_role(forecast, PRIMARY_ROLE)) for fitted_to, forecast in forecasts.items()}
    t2, chinchilla = sizes["each run"]
    if t2 is None or chinchilla is None:
        return ("The per-run forecast names no size trained for "
                + ("Approach 2's optimum at its largest inference budget" if t2 is None else "the Chinchilla choice")
                + ", so its primary comparison cannot be made.")
    if t2 < chinchilla:
        return (f"At the largest inference budget the per-run forecast's T² model ({size_label(t2)}) is smaller than "
                f"the Chinchilla choice as trained ({size_label(chinchilla)}), so the primary comparison sets the more "
                "overtrained model against Chinchilla's, as the paper does.")
    others = [f"fitted to {f}, {size_label(a)} against {size_label(b)}" for f, (a, b) in sizes.items()
              if f != "each run"]
    return (f"**What the primary comparison can show, read from the committed forecasts alone:** at the largest "
            f"inference budget "
            f"the per-run forecast's T² model ({size_label(t2)}) is "
            + ("the Chinchilla choice itself" if t2 == chinchilla else f"larger than the Chinchilla choice as "
               f"trained ({size_label(chinchilla)}), trained on fewer tokens per parameter")
            + ". Whatever its outcome, it tests whether the laws' choice beats Chinchilla's rule, not whether "
            "overtraining does; the verdict page does not count it for the paper's claim"
            + (f" (the other forecast's T² model: {'; '.join(others)})" if others else "") + ".")


def slice_detail(found: GridSlice) -> str:
    """Where the single-sample best stands at each larger inference budget of a grid's slice: the
    optimum alone, the optimum with the sizes tied with it, or tied with a better optimum."""
    parts = []
    for samples, c_inf in zip(found.samples[1:], found.c_infs[1:]):
        at = found.curves[found.curves["c_inf"] == c_inf]
        best = at[at["optimum"]].iloc[0]
        others = at[at["tied_with_optimum"] & ~at["optimum"] & (at["cell"] != found.chinchilla_cell)]["N"]
        tied = ", ".join(size_label(n) for n in others)
        if best["cell"] == found.chinchilla_cell:
            state = f"tied with {tied}" if tied else "the optimum alone"
        else:
            state = f"tied with the optimum, {size_label(best['N'])}" + (f", as is {tied}" if tied else "")
        parts.append(f"at {samples:g} samples it is {state}")
    return f"{size_label(found.chinchilla_N)} is the single-sample best; " + "; ".join(parts)


def snap_sentence(forecast: pd.DataFrame, trained_sizes: Sequence[float]) -> str:
    """The Chinchilla choice, the size trained for it and how far its two nearest trained sizes are."""
    chosen, snapped = chinchilla_sizes(forecast)
    sizes = np.sort(np.asarray(trained_sizes, dtype=float))
    neighbours = list(sizes[sizes <= chosen][-1:]) + list(sizes[sizes > chosen][:1])
    factors = [max(n / chosen, chosen / n) for n in neighbours]
    close = len(factors) == 2 and max(factors) / min(factors) < COIN_TOSS
    return (f"At one sample the task-loss law picks {size_label(chosen)} parameters, trained as "
            f"{size_label(snapped)} (the nearest trained size; "
            + " and ".join(f"{size_label(n)} is {f:.2f}× away" for n, f in zip(neighbours, factors))
            + (", so the snap is close to a coin toss, and the inference budgets follow it" if close else "") + ").")


def optima_sentence(judged: pd.DataFrame, smallest: float) -> str:
    """Where each approach puts its optimum over the inference budgets, and what stands for
    Approach 2's at each (`judged` from `sweep.optimum_against_forecast`; `smallest`: the smallest
    size trained)."""
    first, second = (judged[judged["approach"] == name] for name in ("Approach 1", "Approach 2"))
    if first.empty or second.empty:
        return "The forecast names no optimum for " + ("either approach" if first.empty and second.empty else
                                                          "Approach 1" if first.empty else "Approach 2") + " here."
    beyond = second[second["away"] > SNAP_FACTOR]
    within = second[second["away"] <= SNAP_FACTOR]
    if beyond.empty:
        where = f"each within {SNAP_FACTOR:g}× of the size trained for it ({_sizes(within['stand_in_N'])})"
    else:
        below = " (smaller than the smallest size trained)" if second["forecast_N"].max() < smallest else ""
        where = (f"at {len(beyond)} of the {len(second)} budgets{below} the nearest size trained, "
                 f"{_sizes(beyond['stand_in_N'])}, stands in for it from up to {beyond['away'].max():.1f} times away"
                 + (f"; at the others it is within {SNAP_FACTOR:g}× of the size trained for it "
                    f"({_sizes(within['stand_in_N'])})" if not within.empty else ""))
    return (f"As inference grows, Approach 1 puts the optimum at {_span(first['forecast_N'])} parameters, and "
            f"Approach 2 at {_span(second['forecast_N'])}: {where}.")


def _sizes(sizes: pd.Series) -> str:
    return ", ".join(size_label(n) for n in sizes.unique())


def _span(sizes: pd.Series) -> str:
    low, high = size_label(sizes.min()), size_label(sizes.max())
    return low if low == high else f"{low} to {high}"


def approach1_sentence(judged: pd.DataFrame, forecast: pd.DataFrame) -> str:
    """How the size trained for Approach 1's optimum did on task NLL, and whether it is the Chinchilla choice."""
    first = judged[judged["approach"] == "Approach 1"]
    if first.empty:
        return "No size was trained for Approach 1's optimum here."
    good = int(first["verdict"].isin(GOOD_VERDICTS).sum())
    snapped = chinchilla_sizes(forecast)[1]
    same = bool(np.isclose(first["stand_in_N"], snapped).all())
    return (f"The size trained for Approach 1's optimum is the measured optimum or tied with it, on task NLL, at {good} "
            f"of the {len(first)} inference budgets"
            + (f"; it is also the Chinchilla choice ({size_label(snapped)}), so this says that Approach 1 agrees with "
               "Chinchilla's rule here, not that T² beats it." if same else "."))


def slope_sentence(forecast: pd.DataFrame, measured: pd.DataFrame, c_infs: Sequence[float]) -> str:
    """Whether Approach 2's law and the measured pass@k (`measured`, curves from
    `sweep.measured_curve`) move the same way between the smallest and the largest size the
    forecast priced that draw a sample (a difference within `SAME_LEVEL` counts as no move)."""
    priced = forecast[(forecast["approach"] == "trainable") & (forecast["priced_by"] == "2")]
    moves = []
    for c_inf in c_infs:
        law = priced[np.isclose(priced["c_inf"], c_inf)].sort_values("N")
        seen = measured[np.isclose(measured["c_inf"], c_inf)].sort_values("N")
        both = [(a, b) for a, b in ((law.iloc[i], seen[np.isclose(seen["N"], law["N"].iloc[i])])
                                    for i in range(len(law))) if not b.empty]
        if len(both) < 2:
            continue
        (law_low, seen_low), (law_high, seen_high) = both[0], both[-1]
        moves.append((_direction(law_high["value"] - law_low["value"]),
                      _direction(seen_high["value"].iloc[0] - seen_low["value"].iloc[0])))
    if not moves:
        return "No inference budget has two priced sizes that draw a sample, so the law's slope cannot be checked."
    opposite = sum(law * seen < 0 for law, seen in moves)
    counts = {name: sum(law == sign for law, _ in moves) for sign, name in ((-1, "falls"), (1, "rises"))}
    seen_counts = {name: sum(seen == sign for _, seen in moves) for sign, name in ((-1, "falls"), (1, "rises"))}
    return (f"Between the smallest and the largest size Approach 2's forecast priced that draw a sample, the "
            f"forecast pass@k falls at {counts['falls']} and rises at {counts['rises']} of the {len(moves)} budgets, "
            f"the measured pass@k falls at {seen_counts['falls']} and rises at {seen_counts['rises']}"
            + (f": at {opposite} they move in opposite directions (the dashed line against the points in the "
               "figure), so the law has the slope of the isoFLOP curve wrong there, not only its level."
               if opposite else ": they never move in opposite directions."))


SAME_LEVEL = 1e-3  # pass@k differences smaller than this are no move in `slope_sentence`


def _direction(difference: float) -> int:
    return 0 if abs(difference) < SAME_LEVEL else int(np.sign(difference))


def outcome_sentence(judgement: Judgement, *, nearest: bool = False) -> str:
    """The head-to-heads of one forecast: `verdict.duel_sentence` (`nearest`: of a hindcast, whose
    T² model is the size trained nearest to the optimum), whether skill above guessing agrees, and
    whether they test Approach 2's optimum or only the direction the laws point in."""
    duels, summary = judgement.duels, judgement.summary
    compared = duels[duels["outcome"].isin(DECIDED)]
    skill = list(compared.loc[compared["measure"] == "skill", "outcome"])
    on_pass = list(compared.loc[compared["measure"] == "pass_at_k", "outcome"])
    guesses = duels.reindex(columns=["guess_t2", "guess_opponent"]).to_numpy(dtype=float)
    largest_guess = float(np.nanmax(guesses)) if np.isfinite(guesses).any() else float("nan")
    pairs = duels.loc[(duels["measure"] == "pass_at_k") & duels["outcome"].isin(DECIDED), ["k_t2", "k_opponent"]]
    direction = ("a smaller model drawing more samples" if len(pairs) and (pairs["k_t2"] > pairs["k_opponent"]).all()
                 else "a larger model drawing fewer samples" if len(pairs) and (pairs["k_t2"] < pairs["k_opponent"]).all()
                 else "the sizes the laws chose")
    beyond = sum(a > SNAP_FACTOR for a in summary.aways)
    where = "" if beyond == len(summary.aways) else f" at {beyond} of the {len(summary.aways)} inference budgets"
    return (f"{duel_sentence(summary, nearest=nearest)}."
            + (" Skill above guessing gives the same outcomes (guessing's pass@k is at most "
               f"{format_number(largest_guess, 2)} at these k)." if skill and skill == on_pass
               else " On skill above guessing the outcomes differ (table)." if skill and len(skill) == len(on_pass) else
               " Skill above guessing could not be measured in every head-to-head (table)."
               if on_pass and (duels["measure"] == "skill").any() else "")
            + (f" Approach 2's optimum was not trained within {SNAP_FACTOR:g}×{where}, so there the head-to-heads "
               f"test the direction the laws point in ({direction}), not the optimum they name." if beyond else
               f" The size trained for Approach 2's optimum is within {SNAP_FACTOR:g}× of it at every inference budget."))


def ringed_sizes(forecast: pd.DataFrame, judged: pd.DataFrame) -> dict[str, float | dict[float, float]]:
    """The sizes a sweep figure rings: both Chinchilla choices and, at each inference budget, the
    size trained for Approach 2's optimum there."""
    trainable = forecast[forecast["approach"] == "trainable"]
    ringed = {}
    for label, role in (("Chinchilla choice (task NLL, k = 1)", "Chinchilla choice (task NLL"),
                        ("Chinchilla choice (LM loss)", "Chinchilla choice (LM loss)")):
        rows = trainable[trainable["role"].str.contains(role, regex=False, na=False)]
        if not rows.empty:
            ringed[label] = float(rows["N"].iloc[0])
    second = judged[judged["approach"] == "Approach 2"]
    if not second.empty:
        ringed["trained for Approach 2's optimum (at its budget)"] = {
            float(c): float(n) for c, n in zip(second["c_inf"], second["stand_in_N"])}
    return ringed


MEASURE_NAMES = {"pass_at_k": "pass@k", "task_nll": "task NLL", "skill": "skill above guessing"}
OPTIMA_HEADERS = {"fitted_to": "laws fitted to", "c_inf": "C_inf (FLOPs per answer token)",
                  "forecast": "forecast optimum [band]", "trained": "size trained for it",
                  "measured": "measured optimum", "tied": "sizes tied with the measured optimum",
                  "in_band": "band holds the optimum or a tie", "verdict": "the size trained for it is"}
DUEL_HEADERS = {"fitted_to": "forecast's laws fitted to", "c_inf": "C_inf (FLOPs per answer token)",
                "opponent": "against", "t2": "T² model", "rival": "Chinchilla model", "a": "T² model's score",
                "b": "Chinchilla model's score", "difference": "T² − Chinchilla [95% interval]",
                "outcome": "outcome for T²", "guess_t2": "guessing at the T² model's k (at most)",
                "guess_opponent": "guessing at the other's k (at most)"}
DUEL_FORMATS = {"c_inf": "{:.3g}", "a": "{:.3g}", "b": "{:.3g}", "difference": "{:+.3g}", "guess_t2": "{:.2g}",
                "guess_opponent": "{:.2g}"}


def optima_table(judgements: Mapping[str, Judgement]) -> pd.DataFrame:
    """Per forecast (keyed by what its laws were fitted to), inference budget and approach: the
    forecast optimum with its band, the size trained for it (how far, beyond SNAP_FACTOR), the
    measured optimum, the sizes tied with it, whether the band holds the measured optimum or a
    size tied with it, and the verdict, for `show_table` with OPTIMA_HEADERS."""
    rows = []
    for fitted_to, judgement in judgements.items():
        judged, curves = judgement.judged, judgement.curves
        tied = [curves[m].loc[np.isclose(curves[m]["c_inf"], c) & curves[m]["tied_with_optimum"], "N"]
                for m, c in zip(judged["measure"], judged["c_inf"])]
        rows.append(judged.assign(
            fitted_to=fitted_to,
            forecast=[size_label(n) + (f" [{size_label(low)}, {size_label(high)}]" if np.isfinite([low, high]).all()
                                       else "")
                      for n, low, high in zip(judged["forecast_N"], judged["forecast_N_low"].astype(float),
                                              judged["forecast_N_high"].astype(float))],
            in_band=["no band" if not np.isfinite([low, high]).all() else
                     "yes" if ((sizes >= low) & (sizes <= high)).any() else "no"
                     for sizes, low, high in zip(tied, judged["forecast_N_low"].astype(float),
                                                 judged["forecast_N_high"].astype(float))],
            trained=[size_label(s) + (f" ({a:.1f}× away)" if a > SNAP_FACTOR else "")
                     for s, a in zip(judged["stand_in_N"], judged["away"])],
            measured=[measured_label(curves[m][np.isclose(curves[m]["c_inf"], c)], n)
                      for m, c, n in zip(judged["measure"], judged["c_inf"], judged["measured_N"])],
            tied=[", ".join(size_label(n) for n in sizes if not np.isclose(n, optimum)) or "none"
                  for sizes, optimum in zip(tied, judged["measured_N"])],
            measure=judged["measure"].map(MEASURE_NAMES)))
    return pd.concat(rows, ignore_index=True)[["fitted_to", "c_inf", "approach", "measure", "forecast", "trained",
                                                "measured", "tied", "in_band", "verdict"]]


def duel_table(duels: Mapping[str, pd.DataFrame], cell_N: Mapping[str, float]) -> pd.DataFrame:
    """The head-to-heads of each forecast (keyed by what its laws were fitted to; `cell_N`: each
    cell's N) as one table for `show_table` with DUEL_HEADERS, DUEL_FORMATS and the band
    ("low", "high") on the difference; without the forecast column when there is one forecast."""
    table = pd.concat([d.assign(fitted_to=fitted_to) for fitted_to, d in duels.items()], ignore_index=True)
    table = table.assign(
        t2=[f"{size_label(cell_N[c])}, k = {k:.3g}" for c, k in zip(table["t2_cell"], table["k_t2"])],
        rival=[f"{size_label(cell_N[c])}, k = {k:.3g}" for c, k in zip(table["opponent_cell"], table["k_opponent"])],
        measure=table["measure"].map(MEASURE_NAMES))
    columns = ["c_inf", "opponent", "measure", "t2", "rival", "a", "b", "difference", "low", "high", "outcome",
               "guess_t2", "guess_opponent"]
    return table.reindex(columns=(["fitted_to"] if len(duels) > 1 else []) + columns)


EDGE_NOTE = ("A measured optimum marked smallest or largest measured is at the edge of the sizes that draw a sample "
             "at that budget: the true optimum may lie beyond it, so it bounds the optimum rather than locates it.")


def measured_label(curve: pd.DataFrame, N: float) -> str:
    """The measured optimum N among the sizes of `curve` (one inference budget), flagged where it
    is the smallest or the largest size measured there (EDGE_NOTE)."""
    edge = (" (smallest measured)" if N <= curve["N"].min() and len(curve) > 1
            else " (largest measured)" if N >= curve["N"].max() else "")
    return size_label(N) + edge


def verdict_table(judgement: Judgement) -> pd.DataFrame:
    """Per inference budget of one judged forecast: the measured optimum on pass@k (`measured_label`)
    and the sizes tied with it, the size trained for Approach 2's optimum and its verdict, and the
    T² model's outcome against each Chinchilla choice on pass@k with the paired difference and its
    interval (`CHINCHILLA_ROLES`' names as columns)."""
    second = judgement.judged[judgement.judged["approach"] == "Approach 2"]
    on_pass = judgement.duels[judgement.duels["measure"] == "pass_at_k"]
    curves = judgement.curves["pass_at_k"]
    rows = []
    for row in second.itertuples():
        stand_in = f", a stand-in {row.away:.1f}× away" if row.away > SNAP_FACTOR else ""
        curve = curves[np.isclose(curves["c_inf"], row.c_inf)]
        tied = curve.loc[curve["tied_with_optimum"] & ~curve["optimum"], "N"]
        entry = {"c_inf": row.c_inf, "measured": measured_label(curve, row.measured_N),
                 "tied": ", ".join(size_label(n) for n in tied) or "none",
                 "t2": f"{size_label(row.stand_in_N)} for {size_label(row.forecast_N)}{stand_in}", "verdict": row.verdict}
        for duel in on_pass[np.isclose(on_pass["c_inf"], row.c_inf)].itertuples():
            difference = (f": {interval(duel.difference, duel.low, duel.high)}"
                          if np.isfinite(getattr(duel, "difference", np.nan)) else "")
            entry[duel.opponent] = f"{duel.outcome}{difference}"
        rows.append(entry)
    return pd.DataFrame(rows)


PRIMARY_OPPONENT = "Chinchilla (task NLL, k = 1)"


def primary_row(duels: pd.DataFrame) -> pd.Series | str:
    """The primary comparison's pass@k row of `duels` (the T² model against the task-loss
    Chinchilla choice at the largest inference budget), or why it was not made."""
    rows = duels[(duels["opponent"] == PRIMARY_OPPONENT) & (duels["measure"] == "pass_at_k")]
    if rows.empty:
        return "there is no head-to-head with the task-loss Chinchilla choice"
    row = rows.loc[rows["c_inf"].idxmax()]
    return row if row["outcome"] in DECIDED else f"at C_inf {format_number(row['c_inf'])}, {row['outcome']}"


def primary_sentence(judgement: Judgement, cell_N: Mapping[str, float]) -> str:
    """The sweep's primary comparison, fixed before its forecasts: at the largest inference budget,
    the T² model against the task-loss Chinchilla choice on pass@k, with its interval and outcome
    (`cell_N`: each cell's N)."""
    row = primary_row(judgement.duels)
    if isinstance(row, str):
        return f"The primary comparison was not made: {row}."
    return (f"**The primary comparison**, at the largest inference budget (C_inf = {format_number(row['c_inf'])}): "
            f"the T² model ({size_label(cell_N[row['t2_cell']])}, k = {row['k_t2']:.3g}) scores {row['a']:.3g} pass@k against "
            f"the task-loss Chinchilla choice's {row['b']:.3g} ({size_label(cell_N[row['opponent_cell']])}, k = "
            f"{row['k_opponent']:.3g}), where guessing alone scores {format_number(row['guess_t2'], 2)} and "
            f"{format_number(row['guess_opponent'], 2)}: "
            f"difference {interval(row['difference'], row['low'], row['high'])}, a **{row['outcome']}** for "
            f"T²{tie_reason(row)}." + (f" {caveat[0].upper()}{caveat[1:]}."
                                       if (caveat := primary_caveat(judgement.duels, row, cell_N)) else ""))


def tie_reason(row: pd.Series) -> str:
    """Why a head-to-head (`row` of a judgement's duels) is a tie, as a clause ('' for a win or a loss)."""
    if row["outcome"] != "tie":
        return ""
    if row["low"] <= 0 <= row["high"]:
        return ": its interval includes zero, so the sweep cannot tell the two models apart"
    return f": the difference is smaller than the {MIN_EFFECT:g} that counts"


def primary_clause(judgement: Judgement, cell_N: Mapping[str, float]) -> str:
    """The primary comparison as a clause for a page's headline, after "the sweep's": at which
    budget, the outcome on pass@k with its interval, and what it does not test (`primary_caveat`)."""
    row = primary_row(judgement.duels)
    if isinstance(row, str):
        return f"primary comparison was not made ({row})"
    caveat = primary_caveat(judgement.duels, row, cell_N)
    return (f"primary comparison (at C_inf {format_number(row['c_inf'])}) was a {row['outcome']} for the "
            f"{size_label(cell_N[row['t2_cell']])} T² model on pass@k against the "
            f"{size_label(cell_N[row['opponent_cell']])} task-loss Chinchilla choice "
            f"({interval(row['difference'], row['low'], row['high'])}{tie_reason(row)})"
            + (f", but {caveat}" if caveat else ""))


def primary_caveat(duels: pd.DataFrame, row: pd.Series, cell_N: Mapping[str, float], brief: bool = False) -> str:
    """What the primary comparison (`row` of `duels`) does not test, as a clause ('' where it tests
    what it should): overtraining, where the T² model is not smaller than the Chinchilla choice,
    and the T² laws, where the T² model is also the LM-loss Chinchilla choice (`brief`: only
    which of the two it is, for a table cell)."""
    if cell_N[row["t2_cell"]] < cell_N[row["opponent_cell"]]:
        return ""
    same = len(duels[np.isclose(duels["c_inf"], row["c_inf"]) & (duels["opponent"] == "Chinchilla (LM loss)")
                     & (duels["outcome"] == "same model")]) > 0
    if brief:
        return ("the T² model is not smaller than the Chinchilla choice"
                + (" and is the LM-loss law's Chinchilla choice" if same else ""))
    return ("the T² model is not smaller than the Chinchilla choice, so this tests whether the laws' choice beats "
            "Chinchilla's rule, not whether overtraining does"
            + ("; and it is also the Chinchilla choice of the law fitted to the LM loss, so it sets one Chinchilla "
               "rule's choice against the other's" if same else ""))


def finding_sentence(judgement: Judgement, forecast: pd.DataFrame, cell_N: Mapping[str, float]) -> str:
    """What a judged forecast found, in two sentences: how the T² model scored against what the
    law forecast for it, and, with no law, whether the measured optimum on pass@k shrank, held or
    grew as the inference budget grew (`cell_N`: each cell's N)."""
    duels = judgement.duels
    played = duels[duels["outcome"].isin(DECIDED)]
    on_pass, skill = (played[played["measure"] == m] for m in ("pass_at_k", "skill"))
    said = []
    if not on_pass.empty:
        priced = forecast[(forecast["approach"] == "trainable") & (forecast["priced_by"] == "2")]
        law = [float(priced.loc[np.isclose(priced["c_inf"], c) & np.isclose(priced["N"], cell_N[t]), "value"].iloc[0])
               for c, t in zip(on_pass["c_inf"], on_pass["t2_cell"])
               if "value" in priced and (np.isclose(priced["c_inf"], c) & np.isclose(priced["N"], cell_N[t])).any()]
        t2 = " and ".join(dict.fromkeys(size_label(cell_N[c]) for c in on_pass["t2_cell"]))
        said.append(f"The T² model ({t2}) scored at most {on_pass['a'].max():.3g} macro pass@k"
                    + (f" ({skill['a'].max():.3g} above guessing)" if not skill.empty else "")
                    + (f", where the law had forecast {min(law):.2g} to {max(law):.2g} for it" if law else "") + ".")
    second = judgement.judged[judgement.judged["approach"] == "Approach 2"].sort_values("c_inf")
    if len(second) >= 2:
        curve = judgement.curves["pass_at_k"]
        measured = second["measured_N"].to_numpy(float)
        capped = np.array([np.isclose(n, curve.loc[np.isclose(curve["c_inf"], c), "N"].max())
                           for c, n in zip(second["c_inf"], measured)])
        steps = np.sign(np.diff(measured[~capped]))
        trend = ("cannot show a direction (fewer than two budgets leave it free)" if len(steps) == 0 else
                 "shrank as the inference budget grew, the direction T² predicts" if (steps <= 0).all() and
                 (steps < 0).any() else "grew as the inference budget grew, against T²" if (steps >= 0).all() and
                 (steps > 0).any() else "did not move as the inference budget grew" if not steps.any() else
                 "moved both ways as the inference budget grew")
        said.append(f"With no law, the measured optimum on pass@k {trend}: "
                    + ", ".join(f"{size_label(n)} at C_inf = {format_number(c)}" for c, n in zip(second["c_inf"], measured))
                    + (f" (at C_inf = {', '.join(format_number(c) for c in second['c_inf'][capped])} it is the largest "
                       "size that draws one sample, capped by the budget, so the direction is read from the others)"
                       if capped.any() else "") + ".")
    return " ".join(said)
