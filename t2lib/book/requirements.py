"""What each chapter needs of a suite, and the settings it uses when the paper's do not apply.

Every chapter calls `resolve(chapter, suite, **parameters)` in its first code cell. It either
returns the settings the chapter runs with — the parameters given, or, where a parameter is
left at None, the paper's value if the suite has it and else one derived from the suite (each
such choice comes with a sentence saying so) — or raises `SuiteRequirementError`, whose
message is one sentence naming what the suite lacks and how to provide it. The same registry
(`CHAPTER_NEEDS`) is shown as a table in the bring-your-own-data chapter.

`comparability` says whether a run's results can be set beside the paper's numbers at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.book.report import admonition, data_note
from t2lib.data.seeds import has_seeds, seed_averaged
from t2lib.data.suite import BUDGET_RTOL, Suite, budget_levels, load_suite
from t2lib.data.training import TRAINING_RECORDS, grid_progress, post_training_progress
from t2lib.laws.analysis import FIT_KS
from t2lib.laws.forecast import MIN_SWEEP_SIZES
from t2lib.laws.sweep import hindcast_level

# The paper's settings (its cost model, data and tables), used as defaults where a suite has them.
PAPER_C_TRAIN = 2.56e19  # the budget of Tables 1 and 2
PAPER_C_INF = 2e9  # inference budget of Figures 3-5 and Tables 1-2
PAPER_C_INF_FORECAST = 1.4e11  # inference budget of the Figure 2 forecasts
PAPER_TASK = "lambada_openai"
PAPER_SPLIT = ("porian", "overtrained")  # checkpoints.csv sources of Figure 4's fit and held-out sets
PAPER_DATA = Path(__file__).resolve().parents[2] / "data" / "paper"
PAPER_LARGEST = 901e6  # the paper's largest model (Figure 8's 901M)
# A suite whose largest model is this many times smaller than the paper's, and whose smallest
# would draw more samples than any fit has seen, has its inference budgets scaled down with its
# sizes (the paper's would buy each model far more samples than the paper's models).
SMALL_SUITE_FACTOR = 10.0
# Fitting a law needs more checkpoints than it has parameters, over several sizes and budgets.
MIN_FIT_CHECKPOINTS, MIN_FIT_SIZES, MIN_FIT_BUDGETS = 7, 3, 2  # fit_chinchilla needs 7 points
# Without the paper's sources, the extrapolation holds out the checkpoints above this quantile
# of tokens per parameter (the most overtrained quarter) and fits on the rest.
SPLIT_QUANTILE = 0.75


class SuiteRequirementError(ValueError):
    """A chapter cannot run on this suite; the message is one sentence naming what is missing."""


@dataclass
class Resolved:
    """The settings a chapter runs with, and a sentence for each one not given or not the paper's."""

    chapter: str
    suite: Suite
    values: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> object:
        return self.values[name]

    @cached_property
    def cells(self) -> Suite:
        """The suite as its laws see it: on a suite with seeds, its cells (`seeds.seed_averaged`),
        so that counts, splits and choices are of cells, not of seeds."""
        return seed_averaged(self.suite)

    @cached_property
    def answered(self) -> dict[str, np.ndarray]:
        """The checkpoints (cells) with NLLs on each task (unique values first: isin over millions of rows is slow)."""
        return {task: group.unique() for task, group in self.cells.nll.groupby("task", sort=False)["checkpoint"]}

    @cached_property
    def base_with_nll(self) -> pd.DataFrame:
        """The base checkpoints (cells) that answered at least one task."""
        base = self.cells.base
        return base[base["checkpoint"].isin(np.unique(np.concatenate(list(self.answered.values()))))]

    def markdown(self) -> str:
        """A MyST note listing the settings derived from the suite (empty if none were)."""
        if not self.notes:
            return ""
        items = "\n".join(f"- {note}" for note in self.notes)
        return f":::{{admonition}} Settings derived from this suite\n:class: note\n{items}\n:::\n"


def _fail(chapter: str, suite: Suite, lacks: str, how: str) -> SuiteRequirementError:
    return SuiteRequirementError(f"The chapter '{chapter}' cannot run on the suite {suite.path}: {lacks}; {how}.")


def _budgets(frame: pd.DataFrame) -> np.ndarray:
    """The distinct training-budget levels of some checkpoints (`suite.budget_levels`), ascending."""
    return np.unique(budget_levels(frame["train_flops"]))


def at_budget(frame: pd.DataFrame, c_train: float) -> pd.DataFrame:
    """The checkpoints of `frame` trained with `c_train` FLOPs (within BUDGET_RTOL)."""
    return frame[np.isclose(frame["train_flops"].to_numpy(dtype=float), c_train, rtol=BUDGET_RTOL)]


def _need_base(resolved: Resolved, params: dict) -> None:
    if resolved.base_with_nll.empty:
        raise _fail(resolved.chapter, resolved.suite, "it has no base checkpoint with NLLs",
                    "add rows with stage 'base' to checkpoints.csv and their NLLs to nll.parquet")


def _need_task(resolved: Resolved, params: dict) -> None:
    tasks = list(resolved.suite.tasks["task"])
    task = params.get("task")
    if task is None:
        task = PAPER_TASK if PAPER_TASK in tasks else tasks[0]
        if task != PAPER_TASK:
            resolved.notes.append(f"task: {task!r}, the suite's first task (the paper's {PAPER_TASK!r} is not in it).")
    elif task not in tasks:
        raise _fail(resolved.chapter, resolved.suite, f"it has no task {task!r}",
                    f"pass -p task with one of {', '.join(tasks)}")
    resolved.values["task"] = task


def _round_up(value: float) -> float:
    """`value` rounded up to two significant digits (1.43e10 → 1.5e10)."""
    scale = 10.0 ** (np.floor(np.log10(value)) - 1)
    return float(np.ceil(value / scale) * scale)


def _need_c_inf(resolved: Resolved, params: dict, paper: float = PAPER_C_INF) -> None:
    largest = float(resolved.base_with_nll["params"].max())
    c_inf = params.get("c_inf")
    if c_inf is None:
        c_inf = paper
        smallest = float(resolved.base_with_nll["params"].min())
        if largest * SMALL_SUITE_FACTOR < PAPER_LARGEST and paper / (2 * smallest) > FIT_KS.max():
            c_inf = _round_up(paper * largest / PAPER_LARGEST)
            resolved.notes.append(
                f"c_inf: {c_inf:.3g} FLOPs, the paper's {paper:.3g} scaled by this suite's largest checkpoint over the "
                f"paper's ({largest:.3g} / {PAPER_LARGEST:.3g} parameters) and rounded up to two significant digits, so "
                f"that a checkpoint affords as many "
                f"samples as the paper's of the same relative size (at the paper's {paper:.3g}, this suite's smallest "
                f"checkpoint would draw k = {paper / (2 * smallest):.3g}, beyond the fitted k ≤ {FIT_KS.max():.0f}).")
        elif largest > paper / 2:
            c_inf = _round_up(2 * largest)
            resolved.notes.append(f"c_inf: {c_inf:.3g} FLOPs, so that the largest checkpoint ({largest:.3g} "
                                  f"parameters) affords one sample (the paper's {paper:.3g} affords none).")
    elif c_inf < 2 * largest:
        raise _fail(resolved.chapter, resolved.suite,
                    f"c_inf = {c_inf:.3g} buys fewer than one sample for its largest checkpoint ({largest:.3g} "
                    "parameters)", f"pass -p c_inf with at least {2 * largest:.3g}")
    resolved.values["c_inf"] = float(c_inf)


def _need_c_inf_forecast(resolved: Resolved, params: dict) -> None:
    _need_c_inf(resolved, params, PAPER_C_INF_FORECAST)


def _need_c_train(resolved: Resolved, params: dict) -> None:
    """A budget at which base checkpoints of at least two sizes were trained."""
    base = resolved.base_with_nll
    usable = [c for c in _budgets(base) if at_budget(base, c)["params"].nunique() >= 2]
    c_train = params.get("c_train")
    if c_train is None:
        if not usable:
            raise _fail(resolved.chapter, resolved.suite,
                        "no training budget has base checkpoints of two or more sizes",
                        "add checkpoints of different sizes trained with the same FLOPs (train_flops)")
        paper = [c for c in usable if np.isclose(c, PAPER_C_TRAIN, rtol=BUDGET_RTOL)]
        c_train = paper[0] if paper else usable[-1]
        if not paper:
            resolved.notes.append(f"c_train: {c_train:.3g} FLOPs, the suite's largest budget with two or more sizes "
                                  f"(the paper's {PAPER_C_TRAIN:.3g} is not in it).")
    elif not any(np.isclose(c, c_train, rtol=BUDGET_RTOL) for c in usable):
        listed = ", ".join(f"{c:.3g}" for c in usable) or "none"
        raise _fail(resolved.chapter, resolved.suite,
                    f"it has no base checkpoints of two or more sizes at c_train = {c_train:.3g} FLOPs",
                    f"pass -p c_train with one of its budgets that have ({listed})")
    resolved.values["c_train"] = float(c_train)


def _need_fit(resolved: Resolved, params: dict) -> None:
    """Enough base checkpoints per task to fit a law with five or more parameters."""
    base, answered = resolved.cells.base, resolved.answered
    for task in resolved.suite.tasks["task"]:
        chosen = base[base["checkpoint"].isin(answered[task])]
        shape = (len(chosen), chosen["params"].nunique(), len(_budgets(chosen)))
        short = [f"{have} {what}, {need} needed" for have, need, what in (
            (shape[0], MIN_FIT_CHECKPOINTS, "checkpoints"), (shape[1], MIN_FIT_SIZES, "sizes"),
            (shape[2], MIN_FIT_BUDGETS, "budget" if shape[2] == 1 else "budgets")) if have < need]
        if short:
            raise _fail(resolved.chapter, resolved.suite,
                        f"task {task!r} has too few base checkpoints to fit the laws ({'; '.join(short)})",
                        f"add checkpoints until each task has at least {MIN_FIT_CHECKPOINTS}, of "
                        f"{MIN_FIT_SIZES} sizes at {MIN_FIT_BUDGETS} budgets")


def _need_split(resolved: Resolved, params: dict) -> None:
    """Which checkpoints the laws are fitted on and which they must predict."""
    base = resolved.base_with_nll
    units = "cells" if has_seeds(resolved.suite) else "checkpoints"  # a seeded suite's laws see its cells
    fit_source, held_out_source = params.get("fit_source"), params.get("held_out_source")
    ratio = params.get("split_tokens_per_param")
    tpp = base["tokens"] / base["params"]
    sources = set(base["source"])
    if ratio is None and (fit_source is None) != (held_out_source is None):
        raise _fail(resolved.chapter, resolved.suite, "a split by source needs both fit_source and held_out_source",
                    "pass both, or -p split_tokens_per_param")
    if ratio is None and fit_source is None and set(PAPER_SPLIT) <= sources:
        fit_source, held_out_source = PAPER_SPLIT
    if ratio is None and fit_source is not None:
        missing = [s for s in (fit_source, held_out_source) if s not in sources]
        if missing:
            raise _fail(resolved.chapter, resolved.suite, f"no base checkpoint has source {missing[0]!r} "
                        f"(its sources: {', '.join(sorted(sources))})",
                        "pass -p fit_source and -p held_out_source with two of them, or -p split_tokens_per_param")
        fit_on, held_out = base["source"] == fit_source, base["source"] == held_out_source
        how = f"fitted on the {units} with source {fit_source!r}, predicting those with source {held_out_source!r}"
        resolved.values["paper_split"] = (fit_source, held_out_source) == PAPER_SPLIT
        if resolved.values["paper_split"]:
            how += " (the paper's split)"
    else:
        if ratio is None:
            ratio = float(np.quantile(tpp, SPLIT_QUANTILE))
            resolved.notes.append(f"split: fit at or below {ratio:.3g} tokens per parameter (the "
                                  f"{SPLIT_QUANTILE:.0%} quantile of this suite) and predict above it, since the "
                                  f"suite has no checkpoints with the paper's sources {PAPER_SPLIT}.")
        fit_on, held_out = tpp <= ratio, tpp > ratio
        resolved.values["paper_split"] = False
        how = f"fitted on the {units} at or below {ratio:.3g} tokens per parameter, predicting those above"
    chosen = base[fit_on]
    if len(chosen) < MIN_FIT_CHECKPOINTS or chosen["params"].nunique() < MIN_FIT_SIZES \
            or len(_budgets(chosen)) < MIN_FIT_BUDGETS or not held_out.any():
        raise _fail(resolved.chapter, resolved.suite,
                    f"the split ({how}) leaves {len(chosen)} {units} to fit and {int(held_out.sum())} to predict",
                    f"choose a split that leaves at least {MIN_FIT_CHECKPOINTS} checkpoints of {MIN_FIT_SIZES} sizes "
                    f"at {MIN_FIT_BUDGETS} budgets to fit and one or more to predict")
    resolved.values.update(fit=chosen, held_out=base[held_out], split=f"{how} ({len(chosen)} and "
                                                                      f"{int(held_out.sum())} {units})")


def _need_post_trained(resolved: Resolved, params: dict) -> None:
    """Post-trained checkpoints (stage ft or sft) and the tasks they were evaluated on."""
    suite = resolved.cells
    post = suite.checkpoints[suite.checkpoints["stage"] != "base"]
    rows = suite.nll[suite.nll["checkpoint"].isin(post["checkpoint"])]
    if rows.empty:
        raise _fail(resolved.chapter, resolved.suite, "it has no post-trained checkpoints with NLLs",
                    "add rows with stage 'ft' or 'sft' to checkpoints.csv, each naming its base_checkpoint, "
                    "and their NLLs to nll.parquet")
    stages = post.set_index("checkpoint")["stage"]
    pairs = rows.assign(stage=rows["checkpoint"].map(stages))[["task", "stage", "checkpoint"]].drop_duplicates()
    shapes = {}
    for (task, stage), group in pairs.groupby(["task", "stage"]):
        chosen = post[post["checkpoint"].isin(group["checkpoint"])]
        shapes[task, stage] = (len(chosen), chosen["params"].nunique(), len(_budgets(chosen)))
    fittable = {key for key, shape in shapes.items()
                if shape[0] >= MIN_FIT_CHECKPOINTS and shape[1] >= MIN_FIT_SIZES and shape[2] >= MIN_FIT_BUDGETS}
    if not fittable:
        (task, stage), shape = max(shapes.items(), key=lambda item: item[1])
        raise _fail(resolved.chapter, resolved.suite,
                    f"its post-trained checkpoints are too few to fit the laws (at most {shape[0]} checkpoints of "
                    f"{shape[1]} sizes at {shape[2]} budgets, stage {stage!r} on task {task!r})",
                    f"post-train at least {MIN_FIT_CHECKPOINTS} checkpoints of {MIN_FIT_SIZES} sizes at "
                    f"{MIN_FIT_BUDGETS} budgets per stage and task")
    left_out = sorted(set(shapes) - fittable)
    if left_out:
        resolved.notes.append("post-training: left out, too few checkpoints to fit: " + "; ".join(
            f"stage {stage!r} on task {task!r} ({shapes[task, stage][0]} checkpoints)" for task, stage in left_out) + ".")
    kept = pd.DataFrame(sorted(fittable), columns=["task", "stage"])
    resolved.values["post_trained"] = kept.sort_values(["task", "stage"]).reset_index(drop=True)


def _need_subset_tasks(resolved: Resolved, params: dict) -> None:
    tasks = list(resolved.suite.tasks["task"])
    given = params.get("subset_tasks")
    if given is None:
        chosen = tasks[:4]
        resolved.notes.append(f"subset_tasks: the suite's first {len(chosen)} task(s), {', '.join(chosen)}.")
    else:
        chosen = _named_tasks(resolved, "subset_tasks", given)
    resolved.values["subset_tasks"] = chosen


def _named_tasks(resolved: Resolved, parameter: str, given: object) -> list[str]:
    """A comma-separated list of the suite's tasks, or the error naming the first it lacks."""
    tasks = list(resolved.suite.tasks["task"])
    chosen = [t.strip() for t in str(given).split(",") if t.strip()]
    unknown = [t for t in chosen if t not in tasks]
    if unknown or not chosen:
        raise _fail(resolved.chapter, resolved.suite, f"it has no task {unknown[0] if unknown else '(none given)'!r}",
                    f"pass -p {parameter} with a comma-separated list of {', '.join(tasks)}")
    return chosen


def _need_plan_tasks(resolved: Resolved, params: dict) -> None:
    """The tasks a plan is made for: named, or the paper's LAMBADA and ARC-Easy, or the first two."""
    tasks = list(resolved.suite.tasks["task"])
    given = params.get("tasks")
    if given is None:
        chosen = [t for t in (PAPER_TASK, "arc_easy") if t in tasks] or tasks[:2]
        if chosen != [PAPER_TASK, "arc_easy"]:
            resolved.notes.append(f"tasks: {', '.join(chosen)} (the paper's {PAPER_TASK} and arc_easy are not both in "
                                  "the suite).")
    else:
        chosen = _named_tasks(resolved, "tasks", given)
    resolved.values["tasks"] = chosen


def _need_training_records(resolved: Resolved, params: dict) -> None:
    """The records a suite trained with pretrain/ keeps beside its tables."""
    missing = [name for name in TRAINING_RECORDS if not (Path(resolved.suite.path) / name).exists()]
    if missing:
        remedy = ("build one with `python -m pretrain.grid run --grid pretrain/grid_v2.csv` and `python -m "
                  "pretrain.suite_v2 build`, or rerun the chapter on data/real/t2mini-v2"
                  if "seeds" in CHAPTER_NEEDS.get(resolved.chapter, []) else
                  "build one with `make pretrain` and `make pretrain-suite`, or rerun the chapter on data/real/t2mini")
        raise _fail(resolved.chapter, resolved.suite, f"it has no {missing[0]} (it was not trained with pretrain/)",
                    remedy)


def _need_seeds(resolved: Resolved, params: dict) -> None:
    """Cells trained at several seeds, each seed its own checkpoint (`cell` and `seed` columns)."""
    if not has_seeds(resolved.suite):
        raise _fail(resolved.chapter, resolved.suite, "its checkpoints.csv has no cell and seed columns",
                    "train each cell at two seeds or more (`python -m pretrain.grid run --seeds 0 1`), or rerun the "
                    "chapter on data/real/t2mini-v2")


def _need_hindcast_level(resolved: Resolved, params: dict) -> None:
    """A budget level to hindcast (`sweep.hindcast_level`), kept as `level`."""
    level = hindcast_level(resolved.suite)
    if level is None:
        raise _fail(resolved.chapter, resolved.suite, f"no budget level has every planned cell trained, at least "
                    f"{MIN_SWEEP_SIZES} sizes and a level of half its budget below it",
                    "train the grid's cells of one budget level and of the level below it")
    resolved.values["level"] = level


@dataclass(frozen=True)
class Need:
    """One requirement: what a chapter needs, in words, and the check that resolves it."""

    what: str
    check: Callable[[Resolved, dict], None]


NEEDS = {
    "base": Need("base checkpoints with NLLs", _need_base),
    "task": Need("the task named by `task` (default: lambada_openai if present, else the suite's first task)",
                 _need_task),
    "c_train": Need("base checkpoints of two or more sizes at `c_train` (default: the paper's 2.56e19 if present, "
                    "else the suite's largest such budget)", _need_c_train),
    "c_inf": Need("`c_inf` ≥ 2·N of the largest checkpoint, so each affords k ≥ 1 (default: the paper's 2e9, "
                  "raised to 2·N of the largest checkpoint if that is larger, scaled down with the sizes of a suite "
                  "of models ten times smaller than the paper's whose smallest would draw k > 1024)", _need_c_inf),
    "c_inf_forecast": Need("`c_inf` ≥ 2·N of the largest checkpoint (default: the paper's 1.4e11, raised or scaled "
                           "likewise)", _need_c_inf_forecast),
    "fit": Need(f"per task, at least {MIN_FIT_CHECKPOINTS} base checkpoints of {MIN_FIT_SIZES} sizes at "
                f"{MIN_FIT_BUDGETS} budgets (to fit the laws)", _need_fit),
    "split": Need("a fit set and a held-out set: sources `fit_source`/`held_out_source` (the paper's porian/"
                  "overtrained), or a split at `split_tokens_per_param` (default: the most overtrained quarter "
                  "is held out)", _need_split),
    "post_trained": Need("post-trained checkpoints (stage ft or sft) with NLLs, enough to fit the laws for at least "
                         "one stage and task", _need_post_trained),
    "subset_tasks": Need("the tasks named by `subset_tasks` (default: the suite's first four)", _need_subset_tasks),
    "plan_tasks": Need("the tasks named by `tasks` (default: lambada_openai and arc_easy if present, else the "
                       "suite's first two)", _need_plan_tasks),
    "seeds": Need("cells at several seeds, each seed its own checkpoint (columns cell and seed)", _need_seeds),
    "hindcast_level": Need(f"a training-budget level at which every cell grid.csv plans is trained, with at least "
                           f"{MIN_SWEEP_SIZES} sizes and a level of half its budget below it", _need_hindcast_level),
    "training_records": Need("the training records of a suite trained with pretrain/ (grid.csv, curves.csv, "
                             "questions/)", _need_training_records),
}

# Chapters that read no suite, and what they read instead (they take no `suite` parameter).
CHAPTERS_WITHOUT_SUITE = {
    "execution_statistics": "the build's execution records",
    "problem_set": "the simulated suite data/t2_suite and the first miniature suite data/real/t2mini",
    "real_overtrained": "the public training runs in data/real/sardana2024 and data/real/gadre2024",
    "real_passk_bounds": "the OLMo 2 ladder's final evaluations in data/real/olmo-ladder",
    "second_sweep": "the committed forecasts and the sweep trained to test them in data/real/t2mini-v2-validation, "
                    "and, until the forecasts are made, the progress of the grid data/real/t2mini-v2",
    "testing_the_forecast": "the forecast and the models trained to test it in data/real/t2mini-validation, "
                            "and the fine-tuned grid in data/real/t2mini",
    "verdict": "every kind of evidence the book has: the simulated suite, the public runs, the miniature grid and "
               "its validation models, and how far the second miniature suite has got",
}

CHAPTER_NEEDS: dict[str, list[str]] = {
    "checkpoint_grid": ["base"],
    "pass_at_k": ["base", "task", "c_train", "c_inf"],
    "isoflop_profiles": ["base", "fit", "c_inf"],
    "frontiers": ["base", "fit", "c_inf_forecast"],
    "extrapolation": ["base", "fit", "split", "c_inf"],
    "overtrained_vs_chinchilla": ["base", "c_train", "c_inf"],
    "post_training": ["base", "post_trained", "fit", "c_train", "c_inf"],
    "bring_your_own_data": ["base", "subset_tasks"],
    "isoflop_per_task": ["base", "fit", "c_inf"],
    "miniature_suite": ["base", "training_records"],
    "second_suite": ["base", "training_records", "seeds"],
    "second_forecast": ["base", "training_records", "seeds", "fit", "hindcast_level"],
    "plan_your_run": ["base", "fit", "c_inf", "plan_tasks"],
}


def resolve(chapter: str, suite: Suite, **parameters: object) -> Resolved:
    """The settings `chapter` runs with on `suite`, or a SuiteRequirementError naming what it lacks."""
    if chapter not in CHAPTER_NEEDS:
        raise KeyError(f"no requirements registered for chapter {chapter!r}; known: {', '.join(CHAPTER_NEEDS)}")
    resolved = Resolved(chapter, suite, values=dict(parameters))
    for name in CHAPTER_NEEDS[chapter]:
        NEEDS[name].check(resolved, parameters)
    return resolved


def resolve_or_reason(chapter: str, suite: Suite, **parameters: object) -> tuple[Resolved | None, str]:
    """`resolve`, for a section that shows a second suite: its settings and "", or None and the
    sentence naming what the suite lacks."""
    try:
        return resolve(chapter, suite, **parameters), ""
    except SuiteRequirementError as error:
        return None, str(error)


@dataclass(frozen=True)
class Beside:
    """A suite a chapter shows beside its own (the book's real models): the suite, the settings
    the chapter runs with on it, or why it is not shown."""

    suite: Suite | None
    settings: Resolved | None
    reason: str

    def note(self) -> str:
        """Markdown heading the section: the suite's data note, how much of its grid is trained,
        the settings derived from it, or the sentence saying why it is not shown."""
        if self.suite is None:
            return f"**Not shown.** {self.reason}"
        return (data_note(self.suite) + admonition("In progress", grid_progress(self.suite))
                + (self.settings.markdown() if self.settings is not None else f"**Not shown.** {self.reason}"))


def suite_beside(chapter: str, path: str, **parameters: object) -> Beside:
    """The suite at `path` ("" for none) as `chapter` would run on it (`resolve_or_reason`); a
    chapter that needs post-trained checkpoints waits, with a reason, while a planned suite's
    post-training of the runs at its training budget is under way (`post_training_progress`)."""
    if not path:
        return Beside(None, None, "no suite was given to show beside this one (the parameter real_suite is empty).")
    suite = load_suite(path)
    settings, reason = resolve_or_reason(chapter, suite, **parameters)
    c_train = settings["c_train"] if settings is not None and "c_train" in CHAPTER_NEEDS[chapter] else None
    progress = post_training_progress(suite, c_train) if "post_trained" in CHAPTER_NEEDS[chapter] else ""
    if progress:
        return Beside(suite, None, f"The chapter '{chapter}' does not run on the suite {path} yet: {progress}; it "
                                   "does when every such run is.")
    return Beside(suite, settings, reason)


def needs_table() -> pd.DataFrame:
    """What each chapter requires of a suite, one row per chapter (for the book)."""
    return pd.DataFrame([{"chapter": chapter, "needs": "; ".join(NEEDS[n].what for n in names)}
                         for chapter, names in CHAPTER_NEEDS.items()])


def comparability(suite: Suite, other: list[str] | None = None, **settings: tuple[float, float]) -> str:
    """'' when a run matches the paper's setting (its 106-checkpoint grid, its eight tasks and
    its budgets), else "not comparable: this run uses …" naming every difference. `settings`
    maps a budget's name to (the value used, the paper's value); `other` lists further
    differences the chapter knows of, in words."""
    differences = []
    paper_grid = pd.read_csv(PAPER_DATA / "figure8_grid.csv")
    base = suite.base
    paper_cells = {(round(float(c), -14), s) for c, s in zip(paper_grid["train_flops"], paper_grid["size_label"])}
    if "size_label" not in base or {(round(float(c), -14), s) for c, s in
                                    zip(base["train_flops"], base["size_label"])} != paper_cells:
        differences.append(f"its own checkpoint grid ({len(base)} base checkpoints, not the paper's {len(paper_grid)})")
    tasks = set(suite.tasks["task"])
    if tasks != set(pd.read_csv(PAPER_DATA / "table1.csv")["task"]):
        differences.append(f"tasks {', '.join(sorted(tasks))} (not the paper's eight)")
    for name, (used, paper) in settings.items():
        if not np.isclose(used, paper, rtol=BUDGET_RTOL):
            differences.append(f"{name} = {used:.3g} (the paper's: {paper:.3g})")
    differences += other or []
    return "not comparable: this run uses " + "; ".join(differences) if differences else ""
