"""A suite trained with the book's own pipeline (pretrain/, e.g. data/real/t2mini): its training
records and its questions, read and summarised without torch.

Besides the suite files, such a folder holds `grid.csv` (the planned cells), `curves.csv` (each
checkpoint's training loss by step) and `questions/<task>.jsonl` (each test question's prompt,
answer, difficulty and the size of its answer's word class, whose log is the chance NLL).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.data.seeds import FALL_IN_SDS, LEARNT, has_seeds, steps_to_more_data
from t2lib.data.suite import GUESS_COLUMN, Suite, SuiteError, budget_levels, load_suite
from t2lib.data.tablecheck import TableCheck
from t2lib.laws.passk import pass_at_k

TASK_PREFIX = "t2mini_"  # harness task names are the question files' names with this prefix
GRID, CURVES, QUESTIONS = "grid.csv", "curves.csv", "questions"
TRAINING_RECORDS = (GRID, CURVES, QUESTIONS)  # what a suite trained with pretrain/ keeps beside its suite files
COPIES = "copies"  # the base scores of runs trained again whose fine-tunings start from the copy (a suite)
# What a miniature suite must show before it can test T² (the second suite's acceptance): guessing
# reaches at most GUESS_CEILING at pass@GUESS_K on every task, every cell has at least MIN_SEEDS
# seeds, and at most MAX_FALLS of the steps to more data that learnt something fall by more than
# FALL_IN_SDS seed standard deviations.
GUESS_K, GUESS_CEILING, MIN_SEEDS, MAX_FALLS = 1000, 0.01, 2, 0.10


@dataclass(frozen=True)
class TrainingRecords:
    """The grid plan, the loss curves and the questions of a trained suite."""

    grid: pd.DataFrame
    curves: pd.DataFrame
    questions: pd.DataFrame  # task, question, difficulty, answer_set, chance_nll, guess


def _required(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.exists():
        raise SuiteError(f"{path}: missing (a suite trained with pretrain/ has grid.csv, curves.csv and questions/; "
                         f"see data/real/t2mini/README.md)")
    return path


def read_questions(folder: Path) -> pd.DataFrame:
    """One row per test question, numbered in file order as the harness numbers its docs."""
    frames = []
    for path in sorted(_required(folder, QUESTIONS).glob("*.jsonl")):
        records = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise SuiteError(f"{path}: line {number}: not JSON ({error.msg})") from None
            missing = [key for key in ("difficulty", "answer_set") if key not in record]
            if missing:
                raise SuiteError(f"{path}: line {number}: no {missing[0]!r}")
            records.append(record)
        frame = pd.DataFrame(records).reindex(columns=["difficulty", "answer_set", "guess"])
        bad = np.flatnonzero(~(pd.to_numeric(frame["answer_set"], errors="coerce") >= 2))
        if bad.size:
            raise SuiteError(f"{path}: line {bad[0] + 1}: answer_set must be at least 2; "
                             f"got {records[bad[0]]['answer_set']!r}")
        frames.append(frame.assign(task=TASK_PREFIX + path.stem, question=np.arange(len(frame))))
    if not frames:
        raise SuiteError(f"{folder / 'questions'}: no question files (*.jsonl)")
    questions = pd.concat(frames, ignore_index=True)
    questions["chance_nll"] = np.log(questions["answer_set"].astype(float))
    # A question without a recorded guess probability is guessed uniformly within its answer class.
    questions["guess"] = pd.to_numeric(questions["guess"]).fillna(1.0 / questions["answer_set"].astype(float))
    return questions[["task", "question", "difficulty", "answer_set", "chance_nll", "guess"]]


def read_training_records(suite: Suite) -> TrainingRecords:
    """The training records beside a suite's tables; a SuiteError names the first missing file."""
    folder = Path(suite.path)
    return TrainingRecords(pd.read_csv(_required(folder, GRID)), pd.read_csv(_required(folder, CURVES)),
                           read_questions(folder))


def grid_progress(suite: Suite) -> str:
    """A sentence saying how much of its planned grid (grid.csv, with a seeds column) a seeded suite
    holds, "" where it holds all of it or keeps no plan."""
    plan = Path(suite.path) / GRID
    if not has_seeds(suite) or not plan.exists():
        return ""
    grid = pd.read_csv(plan)
    runs, cells = int(grid["seeds"].sum()), suite.base["cell"].nunique()
    if cells >= len(grid):
        return ""
    return (f"In progress: {len(suite.base)} of {runs} planned runs are trained, {cells} of the grid's {len(grid)} "
            "cells, each at all its seeds. The grid trains in chunks, cheapest cells first, so what is here is its "
            "small-budget part; every number of this suite will change as the rest arrive.")


def post_trained_runs(suite: Suite, stages: Sequence[str] | None = None) -> set[str]:
    """The suite's runs post-trained at every one of `stages` (by default, every stage it holds)."""
    rows = suite.checkpoints
    stages = sorted(set(rows["stage"]) - {"base"}) if stages is None else list(stages)
    tuned = [set(rows.loc[rows["stage"] == stage, "base_checkpoint"]) for stage in stages]
    return set.intersection(*tuned) if tuned else set()


def post_training_progress(suite: Suite, c_train: float | None = None) -> str:
    """A sentence saying how many of a planned, seeded suite's runs (those trained with `c_train`,
    within 1%, where given) are post-trained at every stage it holds, "" where no run of the suite
    is post-trained at any stage or every such run at every stage (or the suite keeps no plan: a
    user's suite post-trains whichever checkpoints it chooses)."""
    if not has_seeds(suite) or not (Path(suite.path) / GRID).exists():
        return ""
    rows = suite.checkpoints
    stages = sorted(set(rows["stage"]) - {"base"})
    runs = set(at_budget(suite.base, c_train)["checkpoint"])
    every = post_trained_runs(suite) & runs
    started = set(rows.loc[rows["stage"] != "base", "base_checkpoint"])
    if not started or every == runs:
        return ""
    some = started & runs
    cells = rows.loc[rows["checkpoint"].isin(every), "cell"].nunique()
    partly = len(some - every)
    scope = "" if c_train is None else f" trained with {c_train:.3g} FLOPs"
    return (f"its post-training has begun: {len(every)} of its {len(runs)} runs{scope} ({cells} cell"
            f"{'s' if cells != 1 else ''}) are post-trained at every stage ({', '.join(stages)})"
            + (f", {partly} more at some" if partly else "") + "; the others wait")


def retrained_bases(suite: Suite) -> pd.DataFrame:
    """The runs whose fine-tunings start from a copy trained again (the run's weights were not
    kept), told apart by the copy's validation loss, which a fine-tuning's row records for the
    weights it started from: per run, the copy's CPU and its validation loss minus the run's."""
    if "validation_loss" not in suite.checkpoints:
        return pd.DataFrame(columns=["run", "cpu", "gap"])
    tuned = suite.checkpoints[suite.checkpoints["stage"] != "base"].drop_duplicates("base_checkpoint")
    committed = suite.base.set_index("checkpoint")["validation_loss"].astype(float)
    gap = tuned["validation_loss"].astype(float).to_numpy() - committed[tuned["base_checkpoint"]].to_numpy()
    rows = pd.DataFrame({"run": tuned["base_checkpoint"].to_numpy(), "cpu": tuned["cpu"].to_numpy(), "gap": gap})
    return rows[rows["gap"].abs() > 1e-9].reset_index(drop=True)


def seed_validation_gap(suite: Suite, c_train: float | None = None) -> float:
    """The median absolute difference in validation loss between a seed and seed 0 of its cell
    (of the cells trained with `c_train`, within 1%, where given)."""
    base = at_budget(suite.base, c_train)
    first = base.groupby("cell")["validation_loss"].transform("first").astype(float)
    return float((base["validation_loss"].astype(float) - first)[base["seed"] > 0].abs().median())


def at_budget(runs: pd.DataFrame, c_train: float | None) -> pd.DataFrame:
    """The rows of `runs` trained with `c_train` FLOPs (within 1%); all of them where it is None."""
    return runs if c_train is None else runs[np.isclose(runs["train_flops"].astype(float), c_train, rtol=0.01)]


def retrained_sentence(suite: Suite, c_train: float | None = None) -> str:
    """In words: how many fine-tuned runs (of those trained with `c_train`, where given) start from
    a copy trained again, and how far the copies are from the committed runs next to how far a
    cell's seeds are from each other."""
    copies = retrained_bases(suite)
    budget = at_budget(suite.base, c_train)
    copies = copies[copies["run"].isin(budget["checkpoint"])]
    tuned = post_trained_runs(suite) & set(budget["checkpoint"])
    scope = "" if c_train is None else f" trained with {c_train:.3g} FLOPs"
    if copies.empty:
        return f"Every fine-tuning{'' if c_train is None else ' of a run' + scope} starts from its run's own weights."
    return (f"The weights of the runs were not kept, so {len(copies)} of the {len(tuned)} fine-tuned runs{scope} "
            f"were first trained again, from the same specification and seeds, on "
            f"{', '.join(sorted(copies['cpu'].unique()))}. The copy is what was fine-tuned: its fine-tunings' rows "
            f"describe it (cpu, losses, times), its own scores are kept beside the suite (`{COPIES}/`), and the run's "
            f"own row keeps the committed scores. On another "
            f"CPU the arithmetic rounds differently, so a copy follows its own trajectory, as another seed would: its "
            f"validation loss differs from the committed run's by a median of {copies['gap'].abs().median():.3g} "
            f"nats (at most {copies['gap'].abs().max():.3g}), where another seed of the same cell differs by "
            f"{seed_validation_gap(suite, c_train):.3g}.")


def fine_tuning_share(suite: Suite, c_train: float | None = None) -> pd.Series:
    """Per post-trained run (trained with `c_train`, within 1%, where given): the most tokens one of
    its fine-tunings saw (`ft_tokens`) over its pretraining tokens; empty where the suite records none."""
    rows = suite.checkpoints
    if "ft_tokens" not in rows:
        return pd.Series(dtype=float)
    tuned = at_budget(rows[rows["stage"] != "base"], c_train)
    share = pd.to_numeric(tuned["ft_tokens"]) / tuned["tokens"]
    return share.groupby(tuned["base_checkpoint"]).max().dropna()


def fine_tuning_share_sentence(suite: Suite, c_train: float | None = None) -> str:
    """In words: how large the fine-tunings are beside the pretraining that the budgets count."""
    share = fine_tuning_share(suite, c_train)
    if share.empty:
        return ""
    largest = suite.base.set_index("checkpoint").loc[share.idxmax()]
    tokens = pd.to_numeric(suite.checkpoints["ft_tokens"]).dropna()
    scope = "" if c_train is None else f" trained with {c_train:.3g} FLOPs"
    return (f"Each fine-tuning sees {tokens.max():,.0f} tokens of question–answer pairs, which the budgets "
            f"do not count (the paper's leave out post-training too): {share.median():.0%} of its run's pretraining "
            f"tokens at the median over the {len(share)} runs{scope}, more than a tenth in {int((share > 0.1).sum())}"
            f" of them, and up to {share.max():.0%} ({largest['params']:,.0f} parameters trained with "
            f"{largest['train_flops']:.3g} FLOPs). Where that share is large, a fine-tuned cell has been trained on "
            "much more than its budget counts.")


def fine_tuned_bases(suite: Suite) -> Suite:
    """`suite` with each run whose fine-tunings started from a copy trained again scored as that copy
    (its row and NLLs from the suite's `COPIES` folder), so that every fine-tuning descends from the
    base checkpoint beside it; the suite itself where it holds no copies."""
    folder = Path(suite.path) / COPIES
    if not (folder / "checkpoints.csv").exists():
        return suite
    copies = load_suite(folder)
    ids = set(copies.checkpoints["checkpoint"])
    order = {checkpoint: i for i, checkpoint in enumerate(suite.checkpoints["checkpoint"])}
    checkpoints = pd.concat([suite.checkpoints[~suite.checkpoints["checkpoint"].isin(ids)],
                             copies.checkpoints.reindex(columns=suite.checkpoints.columns)])
    checkpoints = checkpoints.sort_values("checkpoint", key=lambda column: column.map(order), ignore_index=True)
    nll = pd.concat([suite.nll[~suite.nll["checkpoint"].isin(ids)], copies.nll], ignore_index=True)
    sha256 = hashlib.sha256(f"{suite.sha256}+{copies.sha256}".encode()).hexdigest()
    files = {**suite.file_sha256, **{f"{COPIES}/{name}": digest for name, digest in copies.file_sha256.items()}}
    return replace(suite, checkpoints=checkpoints, nll=nll, sha256=sha256, file_sha256=files)


def complete_levels(suite: Suite) -> list[float]:
    """The training-budget levels (`suite.budget_levels` of the runs, ascending) at which a seeded
    suite holds every cell its grid.csv plans at that level (levels of the planned budgets), each
    at its planned number of seeds; every level of a suite that keeps no plan or no seeds."""
    base = suite.base
    run_levels = pd.Series(budget_levels(base["train_flops"]), index=base.index)
    plan = Path(suite.path) / GRID
    if not has_seeds(suite) or not plan.exists():
        return sorted({float(level) for level in run_levels})
    check = TableCheck(plan, SuiteError)
    grid = check.read_csv(["cell", "train_flops", "seeds"], "the grid a suite trained with pretrain/ was planned on")
    planned = grid.assign(level=budget_levels(check.require_numeric(grid, "train_flops")))
    seeds = base.groupby("cell")["seed"].nunique()
    complete = []
    for _, cells in planned.groupby("level"):
        trained = cells["cell"].map(seeds).fillna(0) >= check.require_numeric(cells, "seeds")
        if trained.all():  # named as the runs name it (a run misses its planned budget by its last batch)
            complete.append(float(run_levels[base["cell"].isin(cells["cell"])].iloc[0]))
    return sorted(complete)


def task_summary(suite: Suite, questions: pd.DataFrame) -> pd.DataFrame:
    """Per base checkpoint and task: N, D, C, tokens per parameter, mean NLL, pass@1 and the
    chance levels of both (a uniform guess over the answer's word class)."""
    nll = suite.nll.merge(questions, on=["task", "question"], how="left", validate="many_to_one")
    unmatched = nll["chance_nll"].isna()
    if unmatched.any():
        row = nll[unmatched].iloc[0]
        raise SuiteError(f"{suite.path}/nll.parquet: question {row['question']} of task {row['task']!r} "
                         f"has no entry in questions/")
    nll["p"] = np.exp(-nll["nll"])
    nll["chance_p"] = 1.0 / nll["answer_set"]
    summary = nll.groupby(["checkpoint", "task"], sort=False).agg(
        mean_nll=("nll", "mean"), pass_at_1=("p", "mean"), chance_nll=("chance_nll", "mean"),
        chance_pass_at_1=("chance_p", "mean")).reset_index()
    base = suite.base[["checkpoint", "params", "tokens", "train_flops"]]
    summary = base.merge(summary, on="checkpoint")
    summary["tokens_per_param"] = summary["tokens"] / summary["params"]
    return summary


def difficulty_correlation(suite: Suite, questions: pd.DataFrame) -> pd.DataFrame:
    """Per base checkpoint and task, the Spearman rank correlation of a question's NLL with its
    recorded difficulty (positive: harder questions get higher NLL)."""
    nll = suite.nll[suite.nll["checkpoint"].isin(suite.base["checkpoint"])].merge(
        questions[["task", "question", "difficulty"]], on=["task", "question"])
    rows = [{"checkpoint": checkpoint, "task": task,
             "spearman": group["nll"].rank().corr(group["difficulty"].rank())}
            for (checkpoint, task), group in nll.groupby(["checkpoint", "task"], sort=False)]
    return pd.DataFrame(rows)


RATIO_RANGES = ((0.0, 100.0, "below 100"), (100.0, 1000.0, "between 100 and 1,000"), (1000.0, np.inf, "above 1,000"))


def returns_to_data(summary: pd.DataFrame, drop: float = 0.05) -> pd.DataFrame:
    """Does more data help? Every step from one checkpoint to the next larger token count of the
    same size (a `task_summary` table), by the tokens per parameter it ends at: how many steps
    there are, how many lower pass@1, and how many lower it by more than `drop`."""
    steps = []
    for (_, _), group in summary.sort_values("tokens").groupby(["task", "params"], sort=False):
        change = group["pass_at_1"].diff().iloc[1:]
        steps.append(pd.DataFrame({"ends_at": group["tokens_per_param"].iloc[1:], "change": change}))
    steps = pd.concat(steps, ignore_index=True) if steps else pd.DataFrame(columns=["ends_at", "change"])
    rows = []
    for low, high, label in RATIO_RANGES:
        inside = steps[(steps["ends_at"] >= low) & (steps["ends_at"] < high)]
        rows.append({"tokens_per_param": label, "steps": len(inside), "lower": int((inside["change"] < 0).sum()),
                     "lower_by_more": int((inside["change"] < -drop).sum())})
    return pd.DataFrame(rows)


def guessing_pass_at_k(suite: Suite, k: float) -> tuple[pd.Series | None, str]:
    """Per task, what guessing scores at pass@k, and how it was computed: the mean over the
    questions of 1 − (1 − g)^k where the suite keeps its questions (questions/, exact), else
    1 − (1 − ḡ)^k with tasks.csv's mean guess ḡ (an upper bound); None where neither is recorded."""
    if (Path(suite.path) / QUESTIONS).is_dir():
        questions = read_questions(Path(suite.path))
        exact = questions.groupby("task")["guess"].apply(lambda g: float(np.mean(pass_at_k(g.to_numpy(), k))))
        return exact.reindex(suite.tasks["task"]), "each question's own guess probability"
    if GUESS_COLUMN in suite.tasks and suite.tasks[GUESS_COLUMN].notna().all():
        return (pd.Series({task: float(suite.guess_pass_at_k(task, k)) for task in suite.tasks["task"]}),
                "an upper bound from the mean guess probability")
    return None, ""


def readiness(suite: Suite, stage: str = "base") -> pd.DataFrame:
    """Whether a suite can test T², one row per requirement (the constants above): what was
    measured, in words, and whether the requirement is met (None where it cannot be measured)."""
    names = suite.display_names
    rows = []
    guessing, how = guessing_pass_at_k(suite, GUESS_K)
    if guessing is not None:
        rows.append((f"guessing's pass@{GUESS_K:,} at most {GUESS_CEILING:.0%} on every task",
                     (f"{100 * guessing.max():.3g}% on every task" if f"{guessing.max():.3g}" == f"{guessing.min():.3g}"
                      else f"{100 * guessing.max():.3g}% at most ({names[guessing.idxmax()]}), "
                           f"{100 * guessing.min():.3g}% at least") + f" ({how})",
                     bool(guessing.max() <= GUESS_CEILING)))
    else:
        rows.append((f"guessing's pass@{GUESS_K:,} at most {GUESS_CEILING:.0%} on every task",
                     "not measurable: tasks.csv records no guess probability for some task", None))
    seeded = suite if has_seeds(suite) else replace(  # its own checksum: seed_averaged caches by checksum
        suite, checkpoints=suite.checkpoints.assign(cell=suite.checkpoints["checkpoint"], seed=0),
        sha256=f"{suite.sha256}+one-seed-per-checkpoint")
    fewest = int(seeded.checkpoints[seeded.checkpoints["stage"] == stage].groupby("cell")["seed"].nunique().min())
    rows.append((f"at least {MIN_SEEDS} seeds per cell", f"{fewest} at the fewest", fewest >= MIN_SEEDS))
    steps = steps_to_more_data(seeded, stage)
    requirement = (f"at most {MAX_FALLS:.0%} of the steps to more data that learnt something lower pass@1 by more "
                   f"than {FALL_IN_SDS:g} seed SDs")
    if steps.empty:
        rows.append((requirement, "not measurable: no size was trained at two token counts", None))
        return pd.DataFrame(rows, columns=["requirement", "measured", "met"])
    lower = int((steps["pass_at_1_after"] < steps["pass_at_1_before"]).sum())
    if fewest < 2:
        rows.append((requirement, f"not measurable with one seed; {lower} of {len(steps)} steps lower pass@1 at all",
                     None))
    elif not steps["learnt"].any():
        rows.append((requirement, f"not measurable: no step is between cells above {LEARNT:g}× guessing; {lower} of "
                                  f"{len(steps)} steps lower pass@1 at all", None))
    else:
        learnt = steps[steps["learnt"]]
        falls = int(learnt["falls"].sum())
        rows.append((requirement, f"{falls} of {len(learnt)} ({falls / len(learnt):.1%}); {lower} of "
                                  f"{len(steps)} steps lower it at all", falls <= MAX_FALLS * len(learnt)))
    return pd.DataFrame(rows, columns=["requirement", "measured", "met"])
