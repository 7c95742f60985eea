"""A suite trained with the book's own pipeline (pretrain/, e.g. data/real/t2mini): its training
records and its questions, read and summarised without torch.

Besides the suite files, such a folder holds `grid.csv` (the planned cells), `curves.csv` (each
checkpoint's training loss by step) and `questions/<task>.jsonl` (each test question's prompt,
answer, difficulty and the size of its answer's word class, whose log is the chance NLL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.seeds import FALL_IN_SDS, has_seeds, steps_to_more_data
from t2lib.suite import GUESS_COLUMN, Suite, SuiteError

TASK_PREFIX = "t2mini_"  # harness task names are the question files' names with this prefix
GRID, CURVES, QUESTIONS = "grid.csv", "curves.csv", "questions"
TRAINING_RECORDS = (GRID, CURVES, QUESTIONS)  # what a suite trained with pretrain/ keeps beside its suite files
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
    questions: pd.DataFrame  # task, question, difficulty, answer_set, chance_nll


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
        frame = pd.DataFrame(records)[["difficulty", "answer_set"]]
        bad = np.flatnonzero(~(pd.to_numeric(frame["answer_set"], errors="coerce") >= 2))
        if bad.size:
            raise SuiteError(f"{path}: line {bad[0] + 1}: answer_set must be at least 2; "
                             f"got {records[bad[0]]['answer_set']!r}")
        frames.append(frame.assign(task=TASK_PREFIX + path.stem, question=np.arange(len(frame))))
    if not frames:
        raise SuiteError(f"{folder / 'questions'}: no question files (*.jsonl)")
    questions = pd.concat(frames, ignore_index=True)
    questions["chance_nll"] = np.log(questions["answer_set"].astype(float))
    return questions[["task", "question", "difficulty", "answer_set", "chance_nll"]]


def read_training_records(suite: Suite) -> TrainingRecords:
    """The training records beside a suite's tables; a SuiteError names the first missing file."""
    folder = Path(suite.path)
    return TrainingRecords(pd.read_csv(_required(folder, GRID)), pd.read_csv(_required(folder, CURVES)),
                           read_questions(folder))


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


def readiness(suite: Suite, stage: str = "base") -> pd.DataFrame:
    """Whether a suite can test T², one row per requirement (the constants above): what was
    measured, in words, and whether the requirement is met (None where it cannot be measured)."""
    names = suite.display_names
    rows = []
    if GUESS_COLUMN in suite.tasks and suite.tasks[GUESS_COLUMN].notna().all():
        guessing = pd.Series({task: float(suite.guess_pass_at_k(task, GUESS_K)) for task in suite.tasks["task"]})
        rows.append((f"guessing's pass@{GUESS_K:,} at most {GUESS_CEILING:.0%} on every task",
                     f"{100 * guessing.max():.5g}% on every task" if f"{guessing.max():.5g}" == f"{guessing.min():.5g}"
                     else f"{100 * guessing.max():.5g}% at most ({names[guessing.idxmax()]}), "
                          f"{100 * guessing.min():.5g}% at least",
                     bool(guessing.max() <= GUESS_CEILING)))
    else:
        rows.append((f"guessing's pass@{GUESS_K:,} at most {GUESS_CEILING:.0%} on every task",
                     "not measurable: tasks.csv records no guess probability for some task", None))
    seeded = suite if has_seeds(suite) else replace(
        suite, checkpoints=suite.checkpoints.assign(cell=suite.checkpoints["checkpoint"], seed=0))
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
    else:
        learnt = steps[steps["learnt"]]
        falls = int(learnt["falls"].sum())
        rows.append((requirement, f"{falls} of {len(learnt)} ({falls / max(len(learnt), 1):.1%}); {lower} of "
                                  f"{len(steps)} steps lower it at all", falls <= MAX_FALLS * len(learnt)))
    return pd.DataFrame(rows, columns=["requirement", "measured", "met"])
