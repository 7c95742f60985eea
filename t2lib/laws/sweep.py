"""The seeded isoFLOP sweep, the second suite's validation: at each inference budget of a committed
sweep forecast (`forecast.make_sweep_forecast`), the isoFLOP curve that the trained sizes measure
(`measured_curve`), its optimum against each approach's forecast one (`optimum_against_forecast`),
and the T² model against the two Chinchilla choices (`sweep_duels`).

The sweep's suite holds one cell per trained size, each at several seeds (`cell` and `seed`
columns). On the curve, a size's value is the quantity the forecast's laws were fitted to: its
measure computed from each question's probability averaged over its seeds (`seeds.seed_averaged`:
an ensemble's), or the mean of each seed's measure (each run: one trained model's). Its
interval comes from bootstrap draws that resample each task's questions (the same questions for
every size, so that one draw compares all sizes on the same test) and each cell's seeds (the same
seeds for every task: a seed is one training run scored on every task). The measured optimum is
the size best on the point estimates; a size is tied with it when the interval of their paired
difference, over the same draws, holds zero (`report.decide`). Two seeds understate the seed
spread (see `paired`), so these intervals are floors.

The head-to-heads (`sweep_duels`) use `paired.paired_difference`: each model's value is the mean
over its seeds of the measure (what training the recipe once scores, on average). `judge` does all
of it for one forecast.

`grid_slice` asks the same question of a grid's own cells, with no law and no forecast: at the
training budget with the most sizes, does the best size shrink as the inference budget grows?
`hindcast` makes a sweep forecast from a grid's cells below one of its budgets and judges it on
the cells at that budget, with the same functions: the sweep's test on models already trained
(so not preregistered), one budget level up instead of beyond the grid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from t2lib.book.cache import memoized
from t2lib.book.report import decide
from t2lib.book.formatting import format_number
from t2lib.data.seeds import runs_as_checkpoints, seed_averaged, seed_rows
from t2lib.data.suite import BUDGET_RTOL, Suite, budget_levels
from t2lib.data.training import complete_levels
from t2lib.laws import analysis
from t2lib.laws.forecast import (FITTED_TO, MIN_SWEEP_SIZES, SWEEP_SAMPLES, inference_budget, lm_chinchilla,
                                 sweep_forecast_rows)
from t2lib.laws.paired import DECISION_LEVEL, HIGHER_IS_BETTER, macro_guess, paired_difference, per_question
from t2lib.laws.plan import APPROACHES
from t2lib.laws.saved import saved_from
from t2lib.laws.validation import MEASURED_COLUMN, duel_row, trainable_rows

CHINCHILLA_ROLES = {"Chinchilla (task NLL, k = 1)": "Chinchilla choice (task NLL",
                    "Chinchilla (LM loss)": "Chinchilla choice (LM loss)"}
CURVE_MEASURES = ("pass_at_k", "task_nll")  # what each approach predicts (validation.MEASURED_COLUMN)
REPEATED = "same model as the other Chinchilla choice"  # a head-to-head already made at this budget
# The smallest difference in macro pass@k (or skill) a head-to-head counts as a win or a loss: one
# whose interval excludes zero but which is smaller (two models both at their ceiling, or both at
# guessing's level) is a tie, labelled NEGLIGIBLE. Part of the sweep's preregistered rule.
MIN_EFFECT = 0.01
# A size at C_inf = 2N to rounding draws one sample (budgets are often set at exactly 2N).
ONE_SAMPLE_TOLERANCE = 1e-12
NEGLIGIBLE = f"tie (difference below {MIN_EFFECT:g})"
DECIDED = ("win", "loss", "tie", NEGLIGIBLE)  # the outcomes of a head-to-head that was made
# How a curve scores a size trained at several seeds, matching what a forecast's laws were fitted
# to: each run's own score, or the seeds' mean probability per question (`forecast.FITTED_TO`'s
# seeded kinds, in its order).
SCORED = FITTED_TO[1:]


def optimum_role(key: str, c_inf: float) -> str:
    """The role a sweep forecast gives the model trained for approach `key`'s optimum at `c_inf`."""
    return f"Approach {key} optimum at C_inf {format_number(c_inf)}"


def sizes_of(suite: Suite) -> pd.DataFrame:
    """The sweep's trained sizes: one row per base cell (cell, N, seeds), smallest first (a cell
    whose seeds differ in N is refused by `seeds.seed_averaged`)."""
    cells = seed_averaged(suite).base
    return (pd.DataFrame({"cell": cells["checkpoint"], "N": cells["params"], "seeds": cells["seeds"]})
            .sort_values("N", ignore_index=True))


def cell_nll(suite: Suite, cell: str, tasks: Sequence[str]) -> dict[str, np.ndarray]:
    """One cell's NLLs per task, an array of shape (seeds, questions), seeds in order."""
    if not (suite.base["cell"] == cell).any():
        raise KeyError(f"{suite.path}: no cell {cell!r}")
    found = {}
    for task in tasks:
        nll, (rows,) = seed_rows(suite, task, "base", [cell])
        found[task] = nll[rows]
    return found


def _cell_values(nll: np.ndarray, k: float, measure: str, questions: np.ndarray, chosen: np.ndarray,
                 scored: str) -> tuple[float, np.ndarray]:
    """One cell's macro `measure` at k from its NLLs (seeds × questions), and per draw over the
    drawn `questions` (draws × questions): each seed's measure averaged ("each run", over the
    draw's seeds `chosen`, draws × seeds), or each question's probability averaged over every seed
    first ("pooled seeds": an ensemble drawn with a seed twice is a smaller ensemble, which scores
    systematically lower, so its seeds are not resampled)."""
    if scored == "each run":
        per_seed = per_question(nll, k, measure)  # (seeds, questions)
        averaged = per_seed[chosen].mean(axis=1)  # (draws, questions)
        return float(per_seed.mean()), np.take_along_axis(averaged, questions, axis=1).mean(axis=1)
    pooled = per_question(-np.log(np.exp(-nll).mean(axis=0)), k, measure)  # (questions,)
    return float(pooled.mean()), pooled[questions].mean(axis=1)


def measured_curve(suite: Suite, tasks: Sequence[str], c_inf: float, *, measure: str = "pass_at_k",
                   guess: Mapping[str, float] | None = None, resamples: int = 1000, level: float = DECISION_LEVEL,
                   seed: int = 0, scored: str = "pooled seeds") -> pd.DataFrame:
    """The isoFLOP curve at inference budget `c_inf` on the macro `measure` (pass@k or task NLL):
    per trained size that affords a sample (N ≤ C_inf/2), its k = C_inf/(2N), its value (`scored`
    from its seeds' pooled probabilities or as the mean of each run's, `SCORED`) with a
    `level` interval (over questions, and over seeds where each run is scored: an ensemble's seeds
    are not resampled), the share of draws in which it is the best size (`p_best`, descriptive),
    whether it is the measured optimum, whether it is tied with it (the paired difference's
    interval holds zero or, on pass@k, the difference is below MIN_EFFECT, as in a head-to-head),
    and guessing's macro pass@k at its k."""
    if measure not in CURVE_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(CURVE_MEASURES)}; got {measure!r}")
    if scored not in SCORED:
        raise ValueError(f"scored must be one of {', '.join(SCORED)}; got {scored!r}")
    sizes = sizes_of(suite)
    sizes = sizes[sizes["N"] <= c_inf / 2 * (1 + ONE_SAMPLE_TOLERANCE)].reset_index(drop=True)
    if sizes.empty:
        raise ValueError(f"C_inf {c_inf:.4g}: no trained size affords one sample (the smallest has N = "
                         f"{sizes_of(suite)['N'].min():.0f}, needing C_inf ≥ 2N)")
    ks = c_inf / (2.0 * sizes["N"].to_numpy(dtype=float))
    rng, seed_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    chosen = [seed_rng.integers(0, n, size=(resamples, n)) for n in sizes["seeds"]]  # shared by the tasks
    point, draws = np.zeros(len(sizes)), np.zeros((len(sizes), resamples))
    for task in tasks:
        nll, members = seed_rows(suite, task, "base", list(sizes["cell"]))
        questions = rng.integers(0, nll.shape[1], size=(resamples, nll.shape[1]))
        for i, (rows, k) in enumerate(zip(members, ks)):
            value, drawn = _cell_values(nll[rows], k, measure, questions, chosen[i], scored)
            point[i] += value / len(tasks)
            draws[i] += drawn / len(tasks)
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=1)
    higher = HIGHER_IS_BETTER[measure]
    best = int(np.argmax(point) if higher else np.argmin(point))
    p_best = np.bincount(draws.argmax(axis=0) if higher else draws.argmin(axis=0), minlength=len(sizes)) / resamples
    smallest = MIN_EFFECT if measure == "pass_at_k" else 0.0
    tied = [i == best or abs(point[i] - point[best]) < smallest
            or decide(*np.quantile(draws[i] - draws[best], [(1 - level) / 2, (1 + level) / 2]),
                      higher_is_better=higher) == "tie" for i in range(len(sizes))]
    return sizes.assign(c_inf=c_inf, k=ks, measure=measure, value=point, low=low, high=high, p_best=p_best,
                        optimum=np.arange(len(sizes)) == best, tied_with_optimum=tied,
                        guess_at_k=[macro_guess(guess, tasks, k) for k in ks])


def size_with_role(forecast: pd.DataFrame, role: str) -> float | None:
    """The N of the trained model whose roles include `role` (None when no model has it)."""
    trained = trainable_rows(forecast).drop_duplicates("N")
    chosen = trained[trained["role"].str.contains(role, regex=False)]
    return None if chosen.empty else float(chosen["N"].iloc[0])


def _cell_of(suite: Suite, N: float, role: str) -> str:
    """The suite's cell of size N (matched to the parameter), or the error naming the missing model."""
    sizes = sizes_of(suite)
    found = sizes[sizes["N"].round() == round(N)]
    if found.empty:
        raise ValueError(f"{suite.path}: no trained model of N = {N:.0f}, the forecast's {role!r} "
                         "(train the sweep's every size first)")
    return str(found["cell"].iloc[0])


def optimum_against_forecast(forecast: pd.DataFrame, curves: Mapping[str, pd.DataFrame], suite: Suite,
                             c_inf: float) -> pd.DataFrame:
    """Per approach at `c_inf`: the forecast optimum N with its band (NaN without one), the size
    trained in its place and how many times it is from the optimum (`away`), the measured optimum
    on the approach's own measure (`curves[measure]`, from `measured_curve`: task NLL for
    Approach 1, pass@k for Approach 2), the sizes tied with it, and the verdict on the stand-in:
    the measured optimum, tied with it, worse, or affording no sample. `decisive` is False where
    every size compared ties with the optimum (then the stand-in cannot be found worse: no test)."""
    rows = []
    for key, name in APPROACHES.items():
        measure = MEASURED_COLUMN[key]
        curve = curves[measure]
        curve = curve[np.isclose(curve["c_inf"], c_inf)]
        optimum = forecast[(forecast["approach"] == key) & (forecast["priced_by"] == key)
                           & np.isclose(forecast["c_inf"], c_inf)]
        role = optimum_role(key, c_inf)
        stand_in = size_with_role(forecast, role)
        if optimum.empty or stand_in is None:
            continue
        cell = _cell_of(suite, stand_in, role)
        forecast_row, best = optimum.iloc[0], curve[curve["optimum"]].iloc[0]
        tied = curve[curve["tied_with_optimum"]]
        at_stand_in = curve[curve["cell"] == cell]
        if at_stand_in.empty:
            verdict = "affords no sample"
        elif bool(at_stand_in["optimum"].iloc[0]):
            verdict = "the measured optimum"
        else:
            verdict = "tied with the measured optimum" if bool(at_stand_in["tied_with_optimum"].iloc[0]) else "worse"
        rows.append({"approach": name, "c_inf": c_inf, "measure": measure, "forecast_N": forecast_row["N"],
                     "forecast_N_low": forecast_row.get("N_low", np.nan),
                     "forecast_N_high": forecast_row.get("N_high", np.nan), "stand_in_N": stand_in,
                     "away": max(stand_in / forecast_row["N"], forecast_row["N"] / stand_in),
                     "stand_in_cell": cell, "measured_N": best["N"], "tied_sizes": ", ".join(
                         format_number(n) for n in tied["N"]), "sizes_compared": len(curve),
                     "decisive": len(tied) < len(curve), "verdict": verdict})
    return pd.DataFrame(rows)


def contenders_at(forecast: pd.DataFrame, suite: Suite, c_inf: float) -> dict[str, str]:
    """The cells of the head-to-head at `c_inf`: "T²" (the model trained for Approach 2's optimum,
    the pass@k the duel is judged on) and each Chinchilla choice the forecast trained; a model the
    forecast named but the suite lacks is refused."""
    found = {}
    for name, role in {"T²": optimum_role("2", c_inf), **CHINCHILLA_ROLES}.items():
        N = size_with_role(forecast, role)
        if N is not None:
            found[name] = _cell_of(suite, N, role)
    if "T²" not in found:
        raise ValueError(f"C_inf {c_inf:.4g}: the forecast trains no model for {optimum_role('2', c_inf)!r}")
    return found


def _duel_rows(suite: Suite, t2: str, opponent: str, tasks: Sequence[str], k_a: float, k_b: float,
               measures: Sequence[str], guess: Mapping[str, float] | None, resamples: int, seed: int,
               labels: dict) -> list[dict]:
    """The rows of one head-to-head, one per measure (the labelled special cases included)."""
    if opponent == t2:
        return [{**labels, "measure": measure, "outcome": "same model"} for measure in measures]
    if k_a < 1 - ONE_SAMPLE_TOLERANCE:
        return [{**labels, "measure": measure, "outcome": "T² model affords no sample"} for measure in measures]
    if k_b < 1 - ONE_SAMPLE_TOLERANCE:  # the opponent draws nothing, so scores zero: the T² model cannot lose
        return [{**labels, "measure": measure, "outcome": "cannot lose by construction"} for measure in measures]
    rows = []
    for measure in measures:
        try:
            result = paired_difference(cell_nll(suite, t2, tasks), cell_nll(suite, opponent, tasks), k_a, k_b,
                                       measure, tasks=tasks, guess=guess, resamples=resamples, seed=seed)
        except ValueError as error:  # guessing nearly solves every task at this k: no skill left
            rows.append({**labels, "measure": measure, "outcome": f"not measurable: {error}"})
            continue
        used = list(result.tasks)
        row = duel_row(result, **labels)
        if row["outcome"] in ("win", "loss") and abs(row["difference"]) < MIN_EFFECT:
            row["outcome"] = NEGLIGIBLE
        rows.append({**row, "tasks": ", ".join(used),
                     "guess_t2": macro_guess(guess, used, k_a), "guess_opponent": macro_guess(guess, used, k_b)})
    return rows


def sweep_duels(suite: Suite, forecast: pd.DataFrame, tasks: Sequence[str], c_infs: Sequence[float], *,
                guess: Mapping[str, float] | None = None, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """At each inference budget, the T² model against each Chinchilla choice on macro pass@k and,
    given the guess probabilities, on skill above guessing, each model at its own k, with paired
    intervals over questions and seeds (`paired.paired_difference`; guessing's pass@k at each
    model's k over the tasks compared); a win or loss smaller than MIN_EFFECT is a tie (NEGLIGIBLE). Labelled instead of compared: a Chinchilla choice that is
    the T² model itself ("same model"), one that is the other Chinchilla choice's model too
    (REPEATED: its head-to-head is not counted twice), one that affords no sample ("cannot lose by
    construction"), a T² model that affords none. Each budget and measure is its own comparison
    at DECISION_LEVEL, with no correction for their number."""
    sizes = sizes_of(suite).set_index("cell")["N"]
    measures = ["pass_at_k"] + (["skill"] if guess is not None else [])
    rows = []
    for c_inf in c_infs:
        found = contenders_at(forecast, suite, c_inf)
        t2 = found.pop("T²")
        k_a = c_inf / (2.0 * sizes[t2])
        met: set[str] = set()
        for opponent, cell in found.items():
            k_b = c_inf / (2.0 * sizes[cell])
            labels = dict(c_inf=c_inf, opponent=opponent, t2_cell=t2, opponent_cell=cell, k_t2=k_a, k_opponent=k_b)
            if cell in met and cell != t2:
                rows += [{**labels, "measure": measure, "outcome": REPEATED} for measure in measures]
                continue
            met.add(cell)
            rows += _duel_rows(suite, t2, cell, tasks, k_a, k_b, measures, guess, resamples, seed, labels)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DuelSummary:
    """What `sweep_duels` found on pass@k, for a page to say in a sentence: the sizes of the T²
    model (one per distinct cell) and of the rivals it was decided against, Approach 2's forecast
    optimum at each inference budget, how far the T² model is from the optimum it was trained for at each (`aways`;
    the largest, `away`), whether every optimum is smaller than every size trained, and the outcomes
    (win, loss, tie), besides those that cannot lose by construction, those against itself and
    those repeated (both Chinchilla choices one model)."""

    t2_N: tuple[float, ...]
    rivals_N: tuple[float, ...]
    optimum_N: tuple[float, ...]
    aways: tuple[float, ...]
    below_all: bool
    outcomes: dict[str, int]
    unlosable: int
    same: int
    repeated: int = 0

    @property
    def decided(self) -> int:
        return sum(self.outcomes.values())

    @property
    def away(self) -> float:
        return max(self.aways, default=1.0)


def duel_summary(forecast: pd.DataFrame, suite: Suite, duels: pd.DataFrame) -> DuelSummary:
    """`DuelSummary` of the head-to-heads `duels` (from `sweep_duels` on `suite` and `forecast`)."""
    N = sizes_of(suite).set_index("cell")["N"]
    on_pass = duels[duels["measure"] == "pass_at_k"]
    optima, aways = [], []
    for c_inf in sorted(on_pass["c_inf"].unique()):
        optimum = float(forecast.loc[(forecast["approach"] == "2") & (forecast["priced_by"] == "2")
                                     & np.isclose(forecast["c_inf"], c_inf), "N"].iloc[0])
        trained = size_with_role(forecast, optimum_role("2", c_inf))
        optima.append(optimum)
        aways.append(max(trained / optimum, optimum / trained))
    labels = on_pass["outcome"].value_counts()
    decided = on_pass[on_pass["outcome"].isin(DECIDED)]
    return DuelSummary(t2_N=tuple(sorted({float(N[c]) for c in on_pass["t2_cell"]})),
                       rivals_N=tuple(sorted({float(N[c]) for c in decided["opponent_cell"]})),
                       optimum_N=tuple(optima), aways=tuple(aways), below_all=bool(max(optima) < N.min()),
                       outcomes={"win": int(labels.get("win", 0)), "loss": int(labels.get("loss", 0)),
                                 "tie": int(labels.get("tie", 0)) + int(labels.get(NEGLIGIBLE, 0))},
                       unlosable=int(labels.get("cannot lose by construction", 0)),
                       same=int(labels.get("same model", 0)), repeated=int(labels.get(REPEATED, 0)))


@dataclass(frozen=True)
class GridSlice:
    """A grid's isoFLOP slice, measured: its training budget, the size best at one sample each
    (the measured Chinchilla choice), the inference budgets where that size draws `samples`
    samples, and the measured curve at each (`measured_curve`, pass@k)."""

    c_train: float
    chinchilla_cell: str
    chinchilla_N: float
    samples: tuple[float, ...]
    c_infs: tuple[float, ...]
    curves: pd.DataFrame


def _base_part(suite: Suite, keep: np.ndarray, name: str) -> Suite:
    """The suite's base checkpoints where `keep` (over `suite.base`) holds, as a suite whose
    checksum adds `name`."""
    chosen = suite.base.loc[keep, "checkpoint"]
    digest = hashlib.sha256(f"{suite.sha256} {name}".encode()).hexdigest()
    return replace(suite, checkpoints=suite.checkpoints[suite.checkpoints["checkpoint"].isin(chosen)],
                   nll=suite.nll[suite.nll["checkpoint"].isin(chosen)], sha256=digest)


def at_budget(suite: Suite, level: float) -> Suite:
    """The suite's base checkpoints trained at one budget level (`suite.budget_levels`), as a suite."""
    return _base_part(suite, budget_levels(suite.base["train_flops"]) == level, f"at {level!r}")


def widest_level(suite: Suite, candidates: Sequence[float] | None = None) -> float:
    """The budget level with the most sizes among `candidates` (default: every level), the higher
    on a tie: the slice a grid measures best."""
    levels = budget_levels(suite.base["train_flops"])
    sizes = {float(level): suite.base.loc[levels == level, "params"].nunique()
             for level in (np.unique(levels) if candidates is None else candidates)}
    return max(sizes, key=lambda level: (sizes[level], level))


def single_sample_best(suite: Suite, tasks: Sequence[str]) -> str:
    """The cell with the highest macro pass@1 (each question's probability averaged over seeds)."""
    cells = list(sizes_of(suite)["cell"])
    score = np.zeros(len(cells))
    for task in tasks:
        nll, members = seed_rows(suite, task, "base", cells)
        score += [np.exp(-nll[rows]).mean(axis=0).mean() / len(tasks) for rows in members]
    return cells[int(np.argmax(score))]


def grid_slice(suite: Suite, tasks: Sequence[str], *, samples: Sequence[float] = SWEEP_SAMPLES,
               guess: Mapping[str, float] | None = None, resamples: int = 1000, seed: int = 0,
               scored: str = "each run") -> GridSlice:
    """The measured isoFLOP curve of a seeded grid at the training budget with the most sizes (the
    larger budget on a tie), at the inference budgets where the size best at one sample draws
    `samples` samples, each size `scored` (`measured_curve`; by default what one trained model
    scores, so that the intervals cover its seeds): the sweep's question asked of the grid's own
    cells, with no law."""
    level = widest_level(suite)
    sliced = at_budget(suite, level)
    if sizes_of(sliced).shape[0] < 2:
        raise ValueError(f"{suite.path}: no training budget has two sizes; a slice needs at least two")
    best = single_sample_best(sliced, tasks)
    N = float(sizes_of(sliced).set_index("cell").loc[best, "N"])
    c_infs = tuple(2.0 * N * k for k in samples)
    curves = pd.concat([measured_curve(sliced, tasks, c_inf, guess=guess, resamples=resamples, seed=seed,
                                       scored=scored) for c_inf in c_infs], ignore_index=True)
    return GridSlice(level, best, N, tuple(samples), c_infs, curves)


def slice_shift(found: GridSlice) -> tuple[str, list[float]]:
    """Which way the measured optimum moves from the single-sample best as inference grows:
    ("smaller", samples) where a smaller size is the optimum and the single-sample best is worse
    beyond the interval (as T² predicts), ("larger", samples) where a larger one is, else
    ("none", []) — every budget's optimum is the single-sample best or tied with it."""
    curves = found.curves
    moves: dict[str, list[float]] = {"smaller": [], "larger": []}
    for samples, c_inf in zip(found.samples, found.c_infs):
        at = curves[curves["c_inf"] == c_inf]
        optimum = at[at["optimum"]].iloc[0]
        chinchilla = at[at["cell"] == found.chinchilla_cell].iloc[0]
        if not chinchilla["tied_with_optimum"]:
            moves["smaller" if optimum["N"] < found.chinchilla_N else "larger"].append(samples)
    for direction in ("smaller", "larger"):
        if moves[direction]:
            return direction, moves[direction]
    return "none", []


@dataclass(frozen=True)
class Hindcast:
    """A sweep forecast at training budget `c_train`, a level of the grid, made from the laws
    fitted to the grid's cells below it (up to `fitted_up_to`: `fits`, their classes in `quality`;
    to what, `fitted_to`), and the cells trained at `c_train` that judge it (`tested`)."""

    c_train: float
    fitted_up_to: float
    c_infs: tuple[float, ...]
    forecast: pd.DataFrame
    fits: dict[str, analysis.TaskFits]
    quality: pd.DataFrame
    tested: Suite
    fitted_to: str


def below_budget(suite: Suite, level: float) -> Suite:
    """The suite's base checkpoints trained below one budget level, as a suite."""
    return _base_part(suite, budget_levels(suite.base["train_flops"]) < level, f"below {level!r}")


def hindcast_level(suite: Suite, minimum: int = MIN_SWEEP_SIZES, factor: float = 2.0) -> float | None:
    """The budget level a hindcast tests: `widest_level` among the levels at which every planned
    cell is trained at all its seeds (`training.complete_levels`), with at least `minimum` sizes,
    and whose next level down is `factor` times smaller (the sweep's factor: the forecast reaches
    that far past its data); None if there is none."""
    levels = budget_levels(suite.base["train_flops"])
    eligible = []
    for level in complete_levels(suite):
        lower = levels[levels < level]
        if (lower.size and np.isclose(lower.max(), level / factor, rtol=BUDGET_RTOL)
                and suite.base.loc[levels == level, "params"].nunique() >= minimum):
            eligible.append(level)
    return widest_level(suite, eligible) if eligible else None


def hindcast(suite: Suite, tasks: Sequence[str], level: float, *, samples: Sequence[float] = SWEEP_SAMPLES,
             lm_loss: str = "validation_loss", minimum: int = MIN_SWEEP_SIZES, seed: int = 0,
             fitted_to: str = "pooled seeds") -> Hindcast:
    """The sweep's forecast rule (`forecast.sweep_forecast_rows`: C_inf where the Chinchilla
    choice draws each of `samples`, both approaches' optima, both Chinchilla choices, at least
    `minimum` sizes) applied at budget `level` to the laws fitted to the cells below it (to their
    seeds' pooled probabilities, or to each run as a model of its own: `fitted_to`, one of
    SCORED), choosing among the sizes trained at `level`. Degenerate laws are allowed, their rows
    flagged."""
    if fitted_to not in SCORED:
        raise ValueError(f"fitted_to must be one of {', '.join(SCORED)}; got {fitted_to!r}")
    fitted, tested = below_budget(suite, level), at_budget(suite, level)
    if fitted_to == "each run":
        fitted = runs_as_checkpoints(fitted)
    fits = analysis.fit_suite(fitted, tasks, method="fast", seed=seed)
    saved = saved_from(fits, suite=fitted, ks=analysis.FIT_KS)
    sizes = sizes_of(tested)["N"].to_numpy(dtype=float)
    c_infs = tuple(inference_budget(saved, level, k, tasks=tasks, sizes=sizes) for k in samples)
    extra = {"Chinchilla choice (LM loss)": lm_chinchilla(fitted, level, lm_loss)[0]}
    forecast = sweep_forecast_rows(saved, level, c_infs, sizes=sizes, extra=extra, tasks=tasks,
                                   allow_degenerate=True, minimum=minimum)
    return Hindcast(float(level), float(budget_levels(fitted.base["train_flops"]).max()), c_infs, forecast, fits,
                    analysis.fit_quality(fitted, fits), tested, fitted_to)


@dataclass(frozen=True)
class Judgement:
    """A sweep forecast judged on trained sizes: the measured curves per measure (pass@k, task
    NLL) at each of its inference budgets, scored as its laws were fitted (`scored`), each
    approach's optimum against them (`judged`), and the head-to-heads (`duels`, seed by seed, with
    their `summary`)."""

    scored: str
    curves: dict[str, pd.DataFrame]
    judged: pd.DataFrame
    duels: pd.DataFrame
    summary: DuelSummary


def same_contenders(suite: Suite, forecast: pd.DataFrame, c_infs: Sequence[float], other: pd.DataFrame,
                    other_c_infs: Sequence[float]) -> bool:
    """Whether two forecasts set the same models against each other at the same inference budgets
    (`contenders_at`), so that their head-to-heads, scored seed by seed, are the same."""
    return (len(c_infs) == len(other_c_infs) and np.allclose(c_infs, other_c_infs)
            and all(contenders_at(forecast, suite, c) == contenders_at(other, suite, c) for c in c_infs))


def judge(suite: Suite, forecast: pd.DataFrame, tasks: Sequence[str], c_infs: Sequence[float], *, scored: str,
          guess: Mapping[str, float] | None = None, resamples: int = 1000, duel_resamples: int = 2000,
          seed: int = 0, duels: pd.DataFrame | None = None) -> Judgement:
    """`Judgement` of `forecast` on the sizes trained in `suite`: `measured_curve` at every C_inf on
    both measures (`resamples` draws), `optimum_against_forecast`, `sweep_duels` (`duel_resamples`
    draws; or `duels` already made for the same contenders, `same_contenders`) and `duel_summary`,
    all with one `seed`. Cached by the build (`memoized`): the sweep's chapter and the verdict page
    judge the same forecast alike."""
    key = {"suite": suite.sha256, "forecast": _frame_digest(forecast), "tasks": list(tasks),
           "c_infs": [float(c) for c in c_infs], "scored": scored, "guess": None if guess is None else sorted(guess.items()),
           "resamples": resamples, "duel_resamples": duel_resamples, "seed": seed,
           "duels": None if duels is None else _frame_digest(duels)}
    return memoized("judge", key, lambda: _judge(suite, forecast, tasks, c_infs, scored, guess, resamples,
                                                 duel_resamples, seed, duels))


def judge_forecasts(forecasts: Mapping[str, tuple[Suite, pd.DataFrame, Sequence[float]]], tasks: Sequence[str], *,
                    guess: Mapping[str, float] | None = None, resamples: int = 1000, duel_resamples: int = 2000,
                    seed: int = 0) -> dict[str, Judgement]:
    """`judge` each forecast (what its laws were fitted to → the suite that tests it, its rows and
    its inference budgets), scored as its laws were fitted, in the order given; one that sets the
    same models against each other at the same budgets of the same suite as one judged before it
    (`same_contenders`) reuses that one's head-to-heads."""
    judgements: dict[str, Judgement] = {}
    for fitted_to, (suite, forecast, c_infs) in forecasts.items():
        earlier = next((judgements[f] for f, (other_suite, other, other_c_infs) in forecasts.items()
                        if f in judgements and other_suite.sha256 == suite.sha256
                        and same_contenders(suite, other, other_c_infs, forecast, c_infs)), None)
        judgements[fitted_to] = judge(suite, forecast, tasks, c_infs, scored=fitted_to, guess=guess,
                                      resamples=resamples, duel_resamples=duel_resamples, seed=seed,
                                      duels=None if earlier is None else earlier.duels)
    return judgements


def _frame_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def _judge(suite: Suite, forecast: pd.DataFrame, tasks: Sequence[str], c_infs: Sequence[float], scored: str,
           guess: Mapping[str, float] | None, resamples: int, duel_resamples: int, seed: int,
           duels: pd.DataFrame | None) -> Judgement:
    curves = {measure: pd.concat([measured_curve(suite, tasks, c_inf, measure=measure, guess=guess, resamples=resamples,
                                                 seed=seed, scored=scored) for c_inf in c_infs], ignore_index=True)
              for measure in CURVE_MEASURES}
    judged = pd.concat([optimum_against_forecast(forecast, curves, suite, c_inf) for c_inf in c_infs],
                       ignore_index=True)
    if duels is None:
        duels = sweep_duels(suite, forecast, tasks, c_infs, guess=guess, resamples=duel_resamples, seed=seed)
    return Judgement(scored, curves, judged, duels, duel_summary(forecast, suite, duels))
