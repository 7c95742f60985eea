"""The verdict page's cells: for each claim of the paper and each kind of evidence, a number
with its uncertainty and a verdict — holds, fails, inconclusive, not tested, or not a test.
The page measures with the same functions as the chapter each cell comes from; one function
here per cell turns those measurements into words and applies the cell's rule.

Verdicts follow `report.DECISION_RULE` where a difference has an interval; the rules for the
others are stated with each cell (`Cell.rule`). "not a test" marks a comparison whose outcome
was built in (a simulator calibrated to the very table, a choice that cannot lose by
construction, a direction that follows from an assumption).
"""

from __future__ import annotations

import re

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import pandas as pd

from t2lib.book.formatting import format_number, interval, signed
from t2lib.book.tables import size_label
from t2lib.data.suite import STAGES, Suite
from t2lib.laws import analysis
from t2lib.laws.bootstrap import bootstrap_fits, laws_of, percentile_band
from t2lib.laws.forecast import SNAP_FACTOR
from t2lib.laws.frontier import frontier
from t2lib.laws.paired import PairedDifference
from t2lib.laws.sweep import DuelSummary

CLAIMS = {
    "overtraining": "the optimum moves into overtraining once inference is counted",
    "extrapolation": "laws fitted near Chinchilla extrapolate to overtrained models with small error",
    "beats": "overtrained models beat Chinchilla-optimal ones at equal training and inference budgets",
    "forecast": "a forecast of the optimum is borne out by training the models it names",
    "post_training": "the recommendation survives post-training",
    "approaches": "the two approaches agree on the optimum",
}
EVIDENCE = {
    "simulation": "paper-calibrated simulation",
    "public": "public real runs",
    "grid": "the book's first miniature grid",
    "validation": "the first suite's validation models",
    "second": "the book's second suite (guessing out of reach, seeded)",
}
SOURCES = {"grid": "testing_the_forecast", "second": "second_sweep"}  # where a cell's forecast is explained
VERDICTS = ("holds", "fails", "inconclusive", "not tested", "not a test", "pending")
APPROACHES = ("Approach 1", "Approach 2")
SMALL_ERROR = 0.10  # "small" extrapolation error: at most 10% (an assumption; the paper reports 2.8% and 8.4%)


@dataclass(frozen=True)
class Cell:
    """One claim on one kind of evidence: the measurement in words, the verdict, the rule that
    gave it, and the chapter it comes from."""

    claim: str
    evidence: str
    value: str
    verdict: str
    rule: str
    source: str

    def __post_init__(self) -> None:
        if self.claim not in CLAIMS or self.evidence not in EVIDENCE or self.verdict not in VERDICTS:
            raise ValueError(f"a cell needs a known claim, evidence and verdict; got {self.claim!r}, "
                             f"{self.evidence!r}, {self.verdict!r}")


def not_tested(claim: str, evidence: str, why: str) -> Cell:
    """A claim this kind of evidence cannot speak to, and why."""
    return Cell(claim, evidence, why, "not tested", "", "")


def pending(claim: str, evidence: str, why: str) -> Cell:
    """A claim this kind of evidence can speak to, not measured or judged yet, and why."""
    return Cell(claim, evidence, why, "pending", "", "")


def head_to_head_verdict(pass_outcome: str, skill_outcome: str) -> str:
    """A head-to-head on a suite whose answers can be guessed holds only if it is won both on
    pass@k and above guessing, fails if it is lost on either, and is otherwise inconclusive."""
    if "loss" in (pass_outcome, skill_outcome):
        return "fails"
    if pass_outcome == "win" and skill_outcome == "win":
        return "holds"
    return "inconclusive"


def error_verdict(errors: list[float], inside: list[bool] | None = None) -> str:
    """Extrapolation errors (relative, signed) hold as "small" when every |error| ≤ SMALL_ERROR
    (and, where bands exist, every measurement lies inside its band); fail when the mean |error|
    exceeds it; otherwise inconclusive."""
    worst = max(abs(e) for e in errors)
    mean = sum(abs(e) for e in errors) / len(errors)
    if worst <= SMALL_ERROR and (inside is None or all(inside)):
        return "holds"
    return "fails" if mean > SMALL_ERROR else "inconclusive"


def forecast_verdict(n_inside: int, n_measured: int, n_reversed: int) -> str:
    """A forecast holds if every measurement lies inside its band and no ordering of the trained
    models is reversed; fails on any reversal or if most measurements fall outside."""
    if n_reversed or n_inside < n_measured / 2:
        return "fails"
    return "holds" if n_inside == n_measured else "inconclusive"


def below_verdict(pairs: list[tuple[float, float]], n_degenerate: int = 0) -> str:
    """The optimum has moved below the Chinchilla choice if, for every (top of an optimum's band,
    its Chinchilla choice's N) pair, the band lies below; inconclusive whenever a fit feeding the
    optima is degenerate."""
    if n_degenerate:
        return "inconclusive"
    return "holds" if all(high < chinchilla_N for high, chinchilla_N in pairs) else "fails"


def bands_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two (low, high) bands share any value."""
    return a[0] <= b[1] and b[0] <= a[1]


def approaches_verdict(a: tuple[float, float], b: tuple[float, float], n_degenerate: int = 0) -> str:
    """The two approaches agree if their optima's bands overlap; inconclusive whenever a fit is
    degenerate."""
    if n_degenerate:
        return "inconclusive"
    return "holds" if bands_overlap(a, b) else "fails"


def post_training_verdict(tuned_tokens_per_param: list[float], chinchilla_tokens_per_param: float,
                          n_degenerate: int) -> str:
    """The recommendation survives post-training if every post-trained optimum stays above ten
    times Chinchilla's tokens per parameter; inconclusive whenever a refit is degenerate."""
    if n_degenerate:
        return "inconclusive"
    return "holds" if min(tuned_tokens_per_param) > 10 * chinchilla_tokens_per_param else "fails"


def guessing_clause(guessing: tuple[float, float] | None) -> str:
    """What guessing alone scores at the two models' k, as a parenthesis ('' where unknown)."""
    return "" if guessing is None else (f" (guessing alone: {format_number(guessing[0], 2)} and "
                                        f"{format_number(guessing[1], 2)} at their k)")


def head_to_head_cell(passed: PairedDifference, skill: PairedDifference, task_nll: PairedDifference,
                      t2_params: float, chinchilla_params: float, guessing: tuple[float, float] | None = None) -> Cell:
    """The validation head-to-head: the T² stand-in against the Chinchilla model (`guessing`: the
    macro pass@k guessing alone reaches at each one's k)."""
    return Cell(
        "beats", "validation",
        f"pass@k {interval(passed.difference, passed.low, passed.high)}{guessing_clause(guessing)}, skill above guessing "
        f"{interval(skill.difference, skill.low, skill.high)}, task NLL "
        f"{interval(task_nll.difference, task_nll.low, task_nll.high, '+.2f')} nats "
        f"({size_label(t2_params)} T² stand-in against {size_label(chinchilla_params)}, one seed each, at the "
        "one inference budget the forecast chose)",
        head_to_head_verdict(passed.outcome, skill.outcome),
        "holds if won on pass@k and above guessing, fails if lost on either (the decision rule on each)",
        "testing_the_forecast")


def trained_extrapolation_cell(t2_rows: pd.DataFrame, grid_tokens_per_param: float, budget_ratio: float,
                               n_degenerate: int = 0) -> Cell:
    """The forecast's error on the T² stand-in, one row per approach (`validation.against_forecast`),
    from laws of which `n_degenerate` are degenerate."""
    return Cell(
        "extrapolation", "validation",
        f"laws fitted on the whole grid (up to {grid_tokens_per_param:,.0f} tokens per parameter, not only near "
        f"Chinchilla), predicting the T² stand-in at {budget_ratio:.0f}× the grid's largest budget, "
        "predicted/measured − 1: "
        + ", ".join(f"{r.approach} {signed(r.relative_error, '+.1%')} ({'inside' if r.inside_band else 'outside'} its band)"
                    for r in t2_rows.itertuples())
        + " (task NLL for Approach 1, where below zero means too optimistic; pass@k for Approach 2, where above "
        "zero does)" + (f"; {n_degenerate} of the laws behind them degenerate" if n_degenerate else ""),
        "inconclusive" if n_degenerate else error_verdict(list(t2_rows["relative_error"]),
                                                          [bool(x) for x in t2_rows["inside_band"]]),
        f"inconclusive while a law behind the prediction is degenerate (it says what its form forces); otherwise "
        f"holds if every |error| ≤ {SMALL_ERROR:.0%} and inside its band, fails if the mean |error| exceeds "
        f"{SMALL_ERROR:.0%}, else inconclusive. Laws fitted on the whole grid, not near Chinchilla, test a weaker "
        "claim than the paper's", "testing_the_forecast")


def forecast_cell(comparison: pd.DataFrame, ranking: pd.DataFrame) -> Cell:
    """The forecast against the trained models (`against_forecast`, `forecast_order`)."""
    n_inside, n_reversed = int(comparison["inside_band"].sum()), int((ranking["order"] == "reversed").sum())
    return Cell(
        "forecast", "validation",
        f"{n_inside} of {len(comparison)} measurements inside the forecast's bands; {n_reversed} of {len(ranking)} "
        "orderings of the trained models reversed beyond their interval",
        forecast_verdict(n_inside, len(comparison), n_reversed),
        "holds if every measurement is inside its band and no ordering is reversed; fails on any reversal or if "
        "most measurements fall outside", "testing_the_forecast")


def survival_verdict(before: str, after: list[str]) -> str:
    """A recommendation survives post-training if its head-to-head holds before and after every
    variant; it fails if it fails after any; otherwise inconclusive (one that did not hold before
    has nothing to survive: a win after post-training alone is another finding)."""
    if "fails" in after:
        return "fails"
    return "holds" if before == "holds" and set(after) == {"holds"} else "inconclusive"


def post_training_duel_cell(post: Mapping[str, Mapping[str, PairedDifference]], before: str,
                            guessing: tuple[float, float] | None = None) -> Cell:
    """The head-to-head after each post-training variant (stage → {"pass_at_k", "skill",
    "task_nll"} → duel), against its verdict before post-training (`guessing` as in
    `head_to_head_cell`: fine-tuning leaves a question's guess probability as it was)."""
    after = [head_to_head_verdict(p["pass_at_k"].outcome, p["skill"].outcome) for p in post.values()]
    return Cell(
        "post_training", "validation",
        "both models fine-tuned on the four task formats (the fine-tuning compute not counted, as in the paper"
        + (f"; guessing alone scores {format_number(guessing[0], 2)} and {format_number(guessing[1], 2)} at their k"
           if guessing is not None else "") + "); "
        + "; ".join(f"after {stage}: pass@k {interval(p['pass_at_k'].difference, p['pass_at_k'].low, p['pass_at_k'].high)}, "
                    f"skill {interval(p['skill'].difference, p['skill'].low, p['skill'].high)}, task NLL "
                    f"{interval(p['task_nll'].difference, p['task_nll'].low, p['task_nll'].high, '+.2f')} nats "
                    f"(a {p['task_nll'].outcome})" for stage, p in post.items())
        + f"; before fine-tuning the same comparison {before}",
        survival_verdict(before, after),
        "holds if the head-to-head holds before post-training and after every variant; fails if it fails after "
        "any; otherwise inconclusive (a comparison lost before post-training has nothing to survive)",
        "testing_the_forecast")


def forecast_optimum_cell(optima: Mapping[str, pd.Series], chinchilla: pd.Series, c_train: float,
                          n_degenerate: int, n_fits: int, guessing: Mapping[str, float] | None = None, *,
                          evidence: str = "grid", context: str = "") -> Cell:
    """Where the forecast puts each approach's optimum (approach key → its forecast row, with N
    bands) against the Chinchilla choice, on the fits to `evidence`'s grid; `guessing` (approach
    key → the macro pass@k guessing reaches at that optimum's k) where answers can be guessed;
    `context`, a clause on which forecast and budget this is."""
    optima_text = "; ".join(f"Approach {key}: {format_number(row['tokens_per_param'])} tokens per parameter "
                            f"(N {size_label(row['N'])} [{size_label(row['N_low'])}, {size_label(row['N_high'])}]"
                            + (f", k = {row['k']:,.0f}, where guessing alone reaches pass@k {format_number(guessing[key], 2)}"
                               if guessing else "") + ")"
                            for key, row in optima.items())
    larger = [f"Approach {key}'s" for key, row in optima.items() if float(row["N"]) > float(chinchilla["N"])]
    return Cell(
        "overtraining", evidence, f"{optima_text} against the Chinchilla choice's "
        f"{float(chinchilla['tokens_per_param']):,.0f} (N {size_label(chinchilla['N'])}), at {format_number(c_train)} "
        f"FLOPs{context}; {n_degenerate} of {n_fits} fits degenerate"
        + (f"; {' and '.join(larger)} optimum is larger than the Chinchilla choice, against the paper's direction"
           if larger else ""),
        below_verdict([(float(row["N_high"]), float(chinchilla["N"])) for row in optima.values()], n_degenerate),
        "inconclusive whenever a fit feeding the optima is degenerate (Approach 2 builds on the Chinchilla-stage fit, "
        "so all three laws of each task count); otherwise holds if both optima's 90% bands lie below the Chinchilla "
        "choice's size and fails if a band does not", SOURCES[evidence])


def verdict_counts(counts: Mapping[str, int]) -> str:
    """How many cells got each verdict, in words: "0 hold, 2 fail, 1 is inconclusive, 3 are not a
    test and 1 is pending" (`counts`: verdict → cells; "not tested" left out, and "pending" where
    no cell waits)."""
    def said(verdict: str, n: int) -> str:
        if verdict in ("holds", "fails"):
            return f"{n} {verdict if n == 1 else verdict[:-1]}"
        return f"{n} {'is' if n == 1 else 'are'} {verdict}"

    shown = [verdict for verdict in VERDICTS
             if verdict != "not tested" and (verdict != "pending" or counts.get(verdict, 0))]
    parts = [said(verdict, int(counts.get(verdict, 0))) for verdict in shown]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def verdict_table(cells: list[Cell]) -> pd.DataFrame:
    """Claims (rows, in CLAIMS order) by evidence (columns): "verdict: value" per cell, every
    (claim, evidence) pair present exactly once."""
    frame = pd.DataFrame([asdict(c) for c in cells])
    pairs = frame[["claim", "evidence"]].value_counts()
    if (pairs > 1).any() or len(pairs) != len(CLAIMS) * len(EVIDENCE):
        missing = sorted(set((c, e) for c in CLAIMS for e in EVIDENCE) - set(pairs.index))
        raise ValueError(f"the verdict needs each (claim, evidence) once; missing {missing[:3]}, "
                         f"repeated {list(pairs[pairs > 1].index)[:3]}")
    frame["cell"] = frame["verdict"] + ": " + frame["value"]
    table = frame.pivot(index="claim", columns="evidence", values="cell").loc[list(CLAIMS), list(EVIDENCE)]
    return table.rename(index=CLAIMS, columns=EVIDENCE)


def approaches_cell(evidence: str, optima: Mapping[str, float], bands: Mapping[str, tuple[float, float]],
                    degenerate: tuple[int, int] | None = None) -> Cell:
    """Approach 1's optimal N against Approach 2's ("Approach 1", "Approach 2" → N and its band);
    `degenerate` is (degenerate fits, fits) where the fits were classified."""
    one, two = bands["Approach 1"], bands["Approach 2"]

    def banded(name: str) -> str:
        low, high = bands[name]
        return f"{size_label(optima[name])} [{size_label(low)}, {size_label(high)}] ({name})"

    value = (f"optimal N {banded('Approach 1')} against {banded('Approach 2')}: bands "
             f"{'overlap' if bands_overlap(one, two) else 'do not overlap'}")
    outside = [name for name in ("Approach 1", "Approach 2") if not bands[name][0] <= optima[name] <= bands[name][1]]
    if outside:
        value += (f"; {' and '.join(outside)}'s estimate lies outside its own band (the bootstrap refits disagree "
                  "with the fit on all data)")
    if degenerate is not None:
        value += f"; {degenerate[0]} of {degenerate[1]} fits degenerate"
    rule = "holds if the two optima's bands overlap" + (" and no fit is degenerate" if degenerate is not None else "")
    if evidence == "simulation":
        rule += "; a check of the simulator, not evidence"
    return Cell("approaches", evidence, value, approaches_verdict(one, two, degenerate[0] if degenerate else 0), rule,
                SOURCES.get(evidence, "isoflop_profiles"))


@dataclass(frozen=True)
class StageOptima:
    """The optimum at one budget of laws refitted to each post-training stage of a suite."""

    tuned: dict[tuple[str, str], float]  # (approach, ft or sft) → optimal tokens per parameter
    base: dict[str, float]  # approach → the base laws' optimal tokens per parameter
    base_low: dict[str, float]  # approach → the lower end of the base optimum's band over bootstrap refits
    quality: pd.DataFrame  # `analysis.fit_quality` of the post-trained stages' fits, with their `stage`

    @property
    def n_degenerate(self) -> int:
        return int((self.quality["quality"] == "degenerate").sum())

    @property
    def n_below_band(self) -> int:
        """How many post-trained optima lie below the base laws' band."""
        return sum(value < self.base_low[name] for (name, _), value in self.tuned.items())


def post_training_optima(suite: Suite, tasks: list[str], c_train: float, c_inf: float, *, resamples: int,
                         seed: int, level: float = 0.9) -> StageOptima:
    """Each approach's laws (over `tasks`) fitted to the base checkpoints of `suite` (a seeded
    suite's cells) and to those of each post-training stage it holds, and their optimal tokens per
    parameter at `c_train` and `c_inf`, with the base optimum's `level` band over `resamples`
    bootstrap refits."""
    held = set(suite.checkpoints["stage"])
    fits = {stage: analysis.fit_suite(suite, tasks, stage=stage, method="fast", seed=0)
            for stage in STAGES if stage == "base" or stage in held}
    base_refits = bootstrap_fits(suite, fits["base"], resamples=resamples, seed=seed)

    def optimum(laws: object) -> pd.Series:
        return frontier(laws, [c_train], c_inf)["tokens_per_param"]

    optima = {(name, stage): float(optimum(laws_of(stage_fits, name)).iloc[0])
              for name in APPROACHES for stage, stage_fits in fits.items()}
    return StageOptima(
        {key: value for key, value in optima.items() if key[1] != "base"},
        {name: optima[name, "base"] for name in APPROACHES},
        {name: float(percentile_band(base_refits.collect(lambda refit: optimum(laws_of(refit, name))), level)[0][0])
         for name in APPROACHES},
        pd.concat([analysis.fit_quality(suite, stage_fits).assign(stage=stage) for stage, stage_fits in fits.items()
                   if stage != "base"], ignore_index=True))


def refit_optima_table(optima: StageOptima) -> pd.DataFrame:
    """One row per approach: the base laws' optimal tokens per parameter, the lower end of its band,
    and each post-training variant's optimum, marked where it lies below that band."""
    stages = list(dict.fromkeys(stage for _, stage in optima.tuned))
    return pd.DataFrame([{"approach": name, "base": format_number(optima.base[name]),
                          "base band's lower end": format_number(optima.base_low[name]),
                          **{stage: format_number(optima.tuned[name, stage])
                             + (" (below the band)" if optima.tuned[name, stage] < optima.base_low[name] else "")
                             for stage in stages if (name, stage) in optima.tuned}}
                         for name in optima.base])


def reason_kind(reason: str) -> str:
    """A fit-quality reason without its fit's own numbers, so that like reasons count together."""
    return re.sub(r" = \S+", "", re.sub(r"in-sample R² \S+, below", "in-sample R² below", reason))


def refit_optima_sentence(optima: StageOptima, c_train: float, c_inf: float, share: str = "") -> str:
    """In words: where the post-trained optima lie against the base laws' band, how many refits
    are degenerate and why (benign reasons left out); `share` (how large the fine-tunings are)
    follows."""
    tuned = optima.tuned
    degenerate = optima.quality[optima.quality["quality"] == "degenerate"]
    reasons = degenerate["reasons"].str.split("; ").explode().map(reason_kind)
    reasons = reasons[~reasons.str.endswith("(benign)")].value_counts()
    return (f"At $C_\\text{{train}}$ = {format_number(c_train)} FLOPs and $C_\\text{{inf}}$ = {format_number(c_inf)} "
            f"FLOPs per token, the laws refitted after post-training put the optimum at "
            f"{format_number(min(tuned.values()))} to {format_number(max(tuned.values()))} tokens per parameter, the "
            f"base laws at {format_number(min(optima.base.values()))} to {format_number(max(optima.base.values()))}; "
            f"{optima.n_below_band} of the {len(tuned)} post-trained optima "
            f"{'lies' if optima.n_below_band == 1 else 'lie'} below the base optimum's band. "
            + (f"But {optima.n_degenerate} of the {len(optima.quality)} refits are degenerate (reasons, with how many "
               "refits give each: " + "; ".join(f"{reason} ({n})" for reason, n in reasons.items())
               + "), so these optima, and where they lie against the band, rest on laws that the data do not pin "
               "down. " if optima.n_degenerate else "No refit is degenerate. ")
            + share).strip()


def post_training_optimum_cell(optima: StageOptima, chinchilla_tokens_per_param: float, twenty: float, *,
                               evidence: str = "grid", context: str = "", note: str = "",
                               source: str | None = None) -> Cell:
    """The optimum after post-training against the base laws' band and ten times Chinchilla's
    `twenty` tokens per parameter; `context` says at which budgets, where it is not the chapter's,
    `note` adds a clause at the end, and `source` names the chapter that explains the cell."""
    tuned = optima.tuned
    (low_name, low_stage), (high_name, high_stage) = min(tuned, key=tuned.get), max(tuned, key=tuned.get)
    verdict = post_training_verdict(list(tuned.values()), twenty, optima.n_degenerate)
    alone = post_training_verdict(list(tuned.values()), twenty, 0)
    return Cell(
        "post_training", evidence,
        f"optimum after ft and sft{context}: {format_number(tuned[low_name, low_stage])} ({low_name}, {low_stage}) to "
        f"{format_number(tuned[high_name, high_stage])} ({high_name}, {high_stage}) tokens per parameter (base laws: "
        f"{format_number(min(optima.base.values()))} to {format_number(max(optima.base.values()))}; the base "
        f"Chinchilla choice: {format_number(chinchilla_tokens_per_param)}); below the base laws' 90% band in "
        f"{optima.n_below_band} of {len(tuned)}; {optima.n_degenerate} of {len(optima.quality)} refits degenerate"
        + (f" (on the optima alone it would {alone.removesuffix('s')})" if verdict != alone else "") + note,
        verdict,
        f"holds if every post-trained optimum stays above ten times Chinchilla's {twenty:.0f} tokens per parameter and "
        "no refit is degenerate, fails if one does not and none is degenerate, otherwise inconclusive "
        "(Chinchilla-stage refits count: Approach 2 builds on them)",
        source or SOURCES.get(evidence, "testing_the_forecast"))


def grid_table1_cell(margins: pd.Series, guessing: pd.Series, c_train: float, c_inf: float) -> Cell:
    """Table 1 on the grid: per task, best overtrained pass@k minus the single-pass pick's, and what
    guessing reaches at the best checkpoint's k."""
    return Cell(
        "beats", "grid", f"Table 1 on the grid ({format_number(c_train)} FLOPs, C_inf {format_number(c_inf)}): "
        f"the best checkpoint under k = C_inf/(2N) is higher than the single-pass pick on {int((margins > 0).sum())} "
        f"of {len(margins)} tasks, by up to {margins.max():.3f}; it cannot be lower; guessing alone reaches "
        f"{guessing.min():.3f}–{guessing.max():.3f} at its k", "not a test",
        "the best of a set that includes the single-pass pick, on the same questions, cannot lose",
        "testing_the_forecast")


def public_extrapolation_cell(sardana: pd.Series, gadre: pd.Series, olmo: pd.Series | None = None,
                              olmo_fitted_to: float = float("nan"),
                              gadre_laws: Mapping[str, pd.Series] | None = None) -> Cell:
    """Held-out relative errors of a Chinchilla-form loss law on Sardana et al.'s and Gadre et al.'s
    runs (fitted near Chinchilla: the claim's test; `gadre_laws`, Gadre's errors by the dataset
    whose law made them, are reported, the rule pooling them); beside them, for the record, the OLMo 2
    ladder's macro task-loss errors on its targets, from a law fitted on runs up to
    `olmo_fitted_to` tokens per parameter (not near Chinchilla, so outside the claim's rule)."""
    both = pd.concat([sardana, gadre])
    per_law = ("" if not gadre_laws else " (mean per dataset's law: " + ", ".join(
        f"{name} {signed(100 * errors.mean(), '+.1f')}%" for name, errors in gadre_laws.items()) + ")")
    beside = ("" if olmo is None else
              f". Beside them, not counted (fitted on runs up to {olmo_fitted_to:,.0f} tokens per parameter, not near "
              f"Chinchilla): the OLMo 2 ladder's law misses its {len(olmo)} targets' macro task loss by "
              + " and ".join(f"{signed(100 * e, '+.1f')}%" for e in olmo))
    return Cell(
        "extrapolation", "public",
        f"LM loss (k = 1) only: Sardana {signed(100 * sardana.mean(), '+.1f')}% mean over {len(sardana)} held-out runs "
        f"(range {signed(100 * sardana.min(), '+.1f')}% to {signed(100 * sardana.max(), '+.1f')}%), Gadre "
        f"{signed(100 * gadre.mean(), '+.1f')}% over "
        f"{len(gadre)} (range {signed(100 * gadre.min(), '+.1f')}% to {signed(100 * gadre.max(), '+.1f')}%){per_law}; "
        f"{int((both < 0).sum())} of {len(both)} errors negative" + beside,
        error_verdict(list(both)),
        f"holds if every held-out run's |error| ≤ {SMALL_ERROR:.0%}; fails if their mean |error| exceeds it "
        "(runs fitted near Chinchilla only)", "real_overtrained")


def simulated_optimum_cell(optima: Mapping[str, pd.Series], bands: Mapping[str, tuple[float, float]],
                           c_train: float) -> Cell:
    """The simulated suite's isoFLOP optima (approach → `analysis.isoflop_optima` row) with their N
    bands, each against its own k = 1 choice."""
    return Cell(
        "overtraining", "simulation",
        "; ".join(f"{name}: N {size_label(o['t2_N'])} [{size_label(bands[name][0])}, {size_label(bands[name][1])}] "
                  f"against its own k = 1 choice's {size_label(o['chinchilla_N'])}" for name, o in optima.items())
        + f" at {format_number(c_train)} FLOPs ("
        + ("both bands below it" if below_verdict([(bands[name][1], float(o["chinchilla_N"]))
                                                   for name, o in optima.items()]) == "holds" else "a band reaches it")
        + ")", "not a test",
        "the k = 1 choice is the same law without the inference budget, and a law that improves with k moves the "
        "optimum to smaller N once k = C_inf/(2N): the direction is built in, only its size is measured (and the "
        "data are simulated)", "isoflop_profiles")


def duel_sentence(summary: DuelSummary, *, nearest: bool = False) -> str:
    """The T² model's head-to-heads on pass@k in one clause: the model that played (a stand-in,
    and how far from the optimum, where beyond SNAP_FACTOR), what it did, against whom, and what
    could not be decided. `nearest`: the model was not trained for the optimum but is the size
    nearest to it among those already trained (a hindcast)."""
    t2 = " and ".join(size_label(n) for n in summary.t2_N) + (" models" if len(summary.t2_N) > 1 else " model")
    low, high = size_label(min(summary.optimum_N)), size_label(max(summary.optimum_N))
    optimum = f"{low} optimum" if low == high else f"optima of {low} to {high}"
    beyond = sum(a > SNAP_FACTOR for a in summary.aways)
    role = "the size trained nearest to" if nearest else "trained for"
    if beyond == len(summary.aways):
        spread = (f"{min(summary.aways):.1f}× to {summary.away:.1f}×" if f"{min(summary.aways):.1f}" != f"{summary.away:.1f}"
                  else f"{summary.away:.1f}×")
        model = (f"the {t2}, standing in from {spread} away for Approach 2's {optimum}"
                 + (", smaller than any size trained," if summary.below_all else ","))
    elif beyond:
        model = (f"the {t2}, {role} Approach 2's {optimum} and a stand-in more than {SNAP_FACTOR:g}× from it at "
                 f"{beyond} of the {len(summary.aways)} inference budgets (up to {summary.away:.1f}×),")
    else:
        model = f"the {t2}, {role} Approach 2's {optimum},"
    counts, n = summary.outcomes, summary.decided
    seen = [outcome for outcome, count in counts.items() if count]
    verbs = {"win": "won", "loss": "lost", "tie": "tied"}
    if not n:
        result = "decided none of its head-to-heads on pass@k"
    elif len(seen) == 1:
        every = "both" if n == 2 else "the one" if n == 1 else f"all {n}"
        result = f"{verbs[seen[0]]} {every} head-to-head{'s' if n > 1 else ''} on pass@k that could be decided"
    else:
        result = (f"won {counts['win']}, lost {counts['loss']} and tied {counts['tie']} of the {n} head-to-heads on "
                  "pass@k that could be decided")
    extra = [f"{'one' if count == 1 else count} more {what}" for count, what in (
        (summary.unlosable, "cannot be lost by construction (the Chinchilla model affords no sample there)"),
        (summary.same, "set it against itself (the Chinchilla choice is the same model)"),
        (summary.repeated, "duplicated one already counted (both Chinchilla choices are the same model)")) if count]
    rivals = (f", against the Chinchilla choice{'s' if len(summary.rivals_N) > 1 else ''} "
              f"({', '.join(size_label(n) for n in summary.rivals_N)})" if summary.rivals_N else "")
    return f"{model} {result}{rivals}" + "".join(f"; {e}" for e in extra)
