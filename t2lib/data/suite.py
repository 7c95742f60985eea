"""The evaluation-suite format and its validating loader (documented in data/README.md).

A suite is a folder with
- `checkpoints.csv`: checkpoint, params (N), tokens (D), train_flops, source, stage
  (base / ft / sft) and base_checkpoint (the base of a post-trained checkpoint, else empty);
- `nll.parquet`: one row per (checkpoint, task, question) with `nll`, the negative
  log-likelihood in nats of the gold answer summed over its tokens (p = exp(−nll));
- optionally `tasks.csv`: task, display_name, group (real / synthetic, empty where unknown),
  n_questions, source,
  and optionally `guess`: the probability that one guess at a question's answer is right,
  averaged over the task's questions (empty where unknown); `Suite.guess_pass_at_k` turns it
  into the guessing level at k samples.

`load_suite` rejects anything malformed with a `SuiteError` naming the file, the column and
the first offending row and value. Nothing is dropped or repaired silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import ArrayLike, NDArray

from t2lib.data.files import replace_files
from t2lib.data.tablecheck import DataFileError, TableCheck
from t2lib.laws.passk import pass_at_k

CHECKPOINT_COLUMNS = ["checkpoint", "params", "tokens", "train_flops", "source", "stage", "base_checkpoint"]
NLL_COLUMNS = ["checkpoint", "task", "question", "nll"]
TASK_COLUMNS = ["task", "display_name", "group", "n_questions", "source"]
GUESS_COLUMN = "guess"
STAGES = ("base", "ft", "sft")
TASK_GROUPS = ("real", "synthetic")
# train_flops must equal 6·N·D within this relative tolerance.
FLOPS_RTOL = 0.01
# Budgets closer than this (relative) are one isoFLOP level.
BUDGET_RTOL = 0.01


def budget_levels(train_flops: ArrayLike) -> NDArray[np.float64]:
    """The training-budget level of each run: budgets within BUDGET_RTOL of the next one up form
    one level (a run trains whole batches, so it misses its planned budget slightly), named by
    the level's median to three significant digits."""
    values = np.asarray(train_flops, dtype=float)
    if values.size == 0:
        return values.copy()
    order = np.argsort(values, kind="stable")
    ascending = values[order]
    level = np.cumsum(np.concatenate([[True], ascending[1:] > ascending[:-1] * (1 + BUDGET_RTOL)])) - 1
    names = np.array([float(f"{np.median(ascending[level == i]):.3g}") for i in range(level[-1] + 1)])
    levels = np.empty_like(values)
    levels[order] = names[level]
    return levels


class SuiteError(DataFileError):
    """A suite file that does not follow the documented format."""


@dataclass(frozen=True)
class Suite:
    """A validated suite: its tables, where it came from, and the checksum of what was loaded."""

    path: Path
    checkpoints: pd.DataFrame
    nll: pd.DataFrame
    tasks: pd.DataFrame
    sha256: str
    file_sha256: dict[str, str]

    @property
    def base(self) -> pd.DataFrame:
        """The base (pretrained only) checkpoints."""
        return self.checkpoints[self.checkpoints["stage"] == "base"]

    def task_nll(self, checkpoint: str, task: str) -> np.ndarray:
        """The per-question NLLs of one checkpoint on one task, ordered by question."""
        rows = self.nll[(self.nll["checkpoint"] == checkpoint) & (self.nll["task"] == task)]
        if rows.empty:
            raise KeyError(f"{self.path}: no NLLs for checkpoint {checkpoint!r} on task {task!r}")
        return rows.sort_values("question")["nll"].to_numpy(dtype=float)

    def nll_matrices(self, task: str, stage: str = "base") -> tuple[pd.DataFrame, np.ndarray]:
        """For one task and stage: the checkpoints (rows of checkpoints.csv) and an array of
        shape (checkpoints, questions) of their NLLs, questions in a common order."""
        chosen = self.checkpoints[self.checkpoints["stage"] == stage]
        rows = self.nll[(self.nll["task"] == task) & self.nll["checkpoint"].isin(chosen["checkpoint"])]
        if rows.empty:
            raise KeyError(f"{self.path}: no NLLs for task {task!r} at stage {stage!r}")
        table = rows.pivot(index="checkpoint", columns="question", values="nll")
        if table.isna().any().any():
            raise SuiteError(f"{self.path}: task {task!r} has different questions across {stage} checkpoints")
        meta = chosen.set_index("checkpoint").loc[table.index].reset_index()
        return meta, table.to_numpy(dtype=float)

    @property
    def display_names(self) -> pd.Series:
        """Each task's name for readers (tasks.csv's display_name; the task id where none is
        recorded), indexed by task id."""
        return self.tasks.set_index("task")["display_name"]

    @property
    def simulated_tasks(self) -> list[str]:
        """Tasks whose `source` in tasks.csv says they are simulated."""
        simulated = self.tasks["source"].str.contains("simulated", case=False, na=False)
        return list(self.tasks.loc[simulated, "task"])

    def guess_pass_at_k(self, task: str, k: ArrayLike) -> NDArray[np.float64]:
        """pass@k of guessing on `task`: 1 − (1 − g)^k with g from tasks.csv's guess column (NaN
        where the suite does not record it). For questions whose guess probabilities differ, g is
        their mean and the result an upper bound on the mean of their own levels (concavity)."""
        g = float(self.tasks.set_index("task").loc[task, GUESS_COLUMN])
        return np.full(np.shape(k), np.nan) if np.isnan(g) else pass_at_k(g, k)

    def summary(self) -> str:
        """One line saying what was loaded, with its checksum (chapters print it)."""
        stages = self.checkpoints["stage"].value_counts().reindex(list(STAGES), fill_value=0)
        tuned = f" (+{stages['ft']} ft, {stages['sft']} sft)" if stages["ft"] or stages["sft"] else ""
        return (f"suite {self.path.name}: {stages['base']} base checkpoints{tuned}, "
                f"{self.nll['task'].nunique()} tasks, {len(self.nll):,} NLL rows; sha256 {self.sha256[:16]}…")


def _read_checkpoints(file: Path) -> pd.DataFrame:
    check = TableCheck(file, SuiteError)
    frame = check.parse_csv(dtype={"checkpoint": str, "source": str, "stage": str, "base_checkpoint": str},
                            keep_default_na=False, na_values={"params": [""], "tokens": [""], "train_flops": [""]})
    check.require_columns(frame, CHECKPOINT_COLUMNS)
    frame["checkpoint"] = check.require_strings(frame, "checkpoint")
    for column in ("params", "tokens", "train_flops"):
        frame[column] = check.require_numeric(frame, column)
        check.first_bad_row(frame, column, ~np.isfinite(frame[column]) | (frame[column] <= 0), "must be > 0")
    check.first_bad_row(frame, "checkpoint", frame["checkpoint"].duplicated(), "duplicate checkpoint id")
    check.first_bad_row(frame, "stage", ~frame["stage"].isin(STAGES), f"must be one of {', '.join(STAGES)}")
    expected = 6.0 * frame["params"] * frame["tokens"]
    check.first_bad_row(frame, "train_flops", (frame["train_flops"] / expected - 1).abs() > FLOPS_RTOL,
                        f"must equal 6·params·tokens within {FLOPS_RTOL:.0%}")
    post = frame["stage"] != "base"
    bases = set(frame.loc[~post, "checkpoint"])
    check.first_bad_row(frame, "base_checkpoint", post & ~frame["base_checkpoint"].isin(bases),
                        "a post-trained checkpoint must name a base checkpoint of this file")
    check.first_bad_row(frame, "base_checkpoint", ~post & (frame["base_checkpoint"] != ""),
                        "must be empty for a base checkpoint")
    return frame


def _read_nll(file: Path, checkpoint_ids: set[str]) -> pd.DataFrame:
    check = TableCheck(file, SuiteError)
    try:
        frame = pd.read_parquet(file)
    except Exception as error:  # pyarrow raises several types for a file that is not parquet
        raise check.fail(f"cannot be read as parquet ({error})") from error
    check.require_columns(frame, NLL_COLUMNS)
    frame = frame[NLL_COLUMNS].copy()
    frame["checkpoint"] = check.require_strings(frame, "checkpoint")
    frame["task"] = check.require_strings(frame, "task")
    frame["question"] = check.require_numeric(frame, "question")
    check.first_bad_row(frame, "question", frame["question"] != np.round(frame["question"]),
                        "must be an integer question index")
    frame["question"] = frame["question"].astype(np.int64)
    frame["nll"] = check.require_numeric(frame, "nll")
    check.first_bad_row(frame, "nll", ~np.isfinite(frame["nll"]), "must be finite")
    check.first_bad_row(frame, "nll", frame["nll"] < 0, "must be >= 0 (it is a negative log-likelihood)")
    check.first_bad_row(frame, "checkpoint", ~frame["checkpoint"].isin(checkpoint_ids),
                        "unknown checkpoint (not in checkpoints.csv)")
    check.first_bad_row(frame, "question", frame.duplicated(["checkpoint", "task", "question"]),
                        "duplicate (checkpoint, task, question) row")
    return frame


def _check_question_sets(file: Path, nll: pd.DataFrame) -> None:
    """Every checkpoint that answers a task must answer the same questions of it."""
    check = TableCheck(file, SuiteError)
    checkpoints_per_task = nll.groupby("task")["checkpoint"].nunique()
    answered = nll.groupby(["task", "question"]).size()
    expected = checkpoints_per_task.loc[answered.index.get_level_values("task")].to_numpy()
    missing = answered[answered.to_numpy() != expected]
    if len(missing):
        task, question = missing.index[0]
        raise check.fail(f"task '{task}' is answered by different question sets across checkpoints: question "
                         f"{question} is answered by {missing.iloc[0]} of its {checkpoints_per_task[task]} "
                         "checkpoints (pass allow_varying_questions=True to accept)")


def _read_tasks(file: Path, nll: pd.DataFrame) -> pd.DataFrame:
    check = TableCheck(file, SuiteError)
    if not file.exists():
        counts = nll.groupby("task")["question"].nunique()
        return pd.DataFrame({"task": counts.index, "display_name": counts.index, "group": "",
                             "n_questions": counts.to_numpy(), "source": "", GUESS_COLUMN: np.nan})
    frame = check.parse_csv(dtype={"task": str, "display_name": str, "group": str, "source": str},
                            keep_default_na=False)
    check.require_columns(frame, TASK_COLUMNS)
    frame["task"] = check.require_strings(frame, "task")
    frame["n_questions"] = check.require_numeric(frame, "n_questions")
    check.first_bad_row(frame, "group", ~frame["group"].isin(TASK_GROUPS + ("",)),
                        f"must be one of {', '.join(TASK_GROUPS)}, or empty where unknown")
    found = nll.groupby("task")["question"].nunique()
    check.first_bad_row(frame, "task", ~frame["task"].isin(found.index), "task has no rows in nll.parquet")
    check.first_bad_row(frame, "n_questions", frame["n_questions"].to_numpy() != found.loc[frame["task"]].to_numpy(),
                        "differs from the number of questions in nll.parquet")
    undeclared = sorted(set(found.index) - set(frame["task"]))
    if undeclared:
        raise check.fail(f"task '{undeclared[0]}' appears in nll.parquet but not here")
    frame[GUESS_COLUMN] = _read_guess(check, frame)
    return frame


def _read_guess(check: TableCheck, frame: pd.DataFrame) -> pd.Series:
    """tasks.csv's optional guess column as floats in (0, 1], NaN where empty or absent."""
    if GUESS_COLUMN not in frame:
        return pd.Series(np.nan, index=frame.index)
    raw = frame[GUESS_COLUMN].replace("", np.nan)
    guess = check.require_numeric(frame.assign(**{GUESS_COLUMN: raw}), GUESS_COLUMN)
    check.first_bad_row(frame, GUESS_COLUMN, guess.notna() & ~((guess > 0) & (guess <= 1)),
                        "must be a probability in (0, 1], or empty where unknown")
    return guess


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_suite(path: str | Path, *, allow_varying_questions: bool = False) -> Suite:
    """Load and validate a suite folder; see the module docstring and data/README.md."""
    folder = Path(path)
    if not folder.is_dir():
        raise SuiteError(f"{folder}: " + ("is a file; a suite is a folder (checkpoints.csv, nll.parquet, tasks.csv)"
                                          if folder.exists() else "suite folder not found"))
    files = {"checkpoints.csv": folder / "checkpoints.csv", "nll.parquet": folder / "nll.parquet"}
    for name, file in files.items():
        if not file.is_file():
            raise SuiteError(f"{file}: missing ({name} is required in a suite folder)")
    checkpoints = _read_checkpoints(files["checkpoints.csv"])
    nll = _read_nll(files["nll.parquet"], set(checkpoints["checkpoint"]))
    if not allow_varying_questions:
        _check_question_sets(files["nll.parquet"], nll)
    tasks = _read_tasks(folder / "tasks.csv", nll)
    if (folder / "tasks.csv").exists():
        files["tasks.csv"] = folder / "tasks.csv"
    file_sha = {name: _sha256(file) for name, file in sorted(files.items())}
    return Suite(folder, checkpoints, nll, tasks, _combined_sha256(file_sha), file_sha)


def _combined_sha256(file_sha: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{name}:{sha}\n" for name, sha in sorted(file_sha.items())).encode()).hexdigest()


def suite_sha256(path: str | Path) -> str:
    """The checksum `load_suite` gives a suite folder (`Suite.sha256`), without loading it."""
    folder = Path(path)
    names = ["checkpoints.csv", "nll.parquet"] + (["tasks.csv"] if (folder / "tasks.csv").exists() else [])
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise SuiteError(f"{folder / missing[0]}: missing ({missing[0]} is required in a suite folder)")
    return _combined_sha256({name: _sha256(folder / name) for name in names})


SUITE_FILES = ("checkpoints.csv", "nll.parquet", "tasks.csv")


def _write_tables(folder: Path, checkpoints: pd.DataFrame, nll: pd.DataFrame, tasks: pd.DataFrame | None,
                  single_precision: bool = False) -> None:
    extra = [c for c in checkpoints.columns if c not in CHECKPOINT_COLUMNS]
    checkpoints[CHECKPOINT_COLUMNS + extra].to_csv(folder / "checkpoints.csv", index=False, float_format="%.10g",
                                                   lineterminator="\n")
    scores = nll[NLL_COLUMNS].astype({"nll": np.float32}) if single_precision else nll[NLL_COLUMNS]
    table = pa.Table.from_pandas(scores, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, folder / "nll.parquet", compression="zstd", compression_level=9,
                   use_dictionary=["checkpoint", "task", "question"] if single_precision else True,
                   use_byte_stream_split=["nll"] if single_precision else False, write_statistics=False)
    if tasks is not None:
        guessed = GUESS_COLUMN in tasks and bool(tasks[GUESS_COLUMN].notna().any())
        columns = TASK_COLUMNS + ([GUESS_COLUMN] if guessed else [])
        tasks[columns].to_csv(folder / "tasks.csv", index=False, float_format="%.10g", lineterminator="\n")


def write_suite(folder: str | Path, checkpoints: pd.DataFrame, nll: pd.DataFrame,
                tasks: pd.DataFrame | None = None, *, single_precision: bool = False) -> Path:
    """Write tables in the suite format, byte-for-byte reproducibly, and validate them as
    `load_suite` does; return the folder. The files are written and checked beside `folder`
    first: a suite already there is replaced only by a valid one (a stale tasks.csv removed),
    and a failure leaves it untouched. Columns of checkpoints.csv beyond the required ones are
    kept after them; other files in `folder` are kept. `single_precision` stores the NLLs as
    float32 (seven significant digits, what a model computing in float32 gives; the file about
    half as large)."""
    folder = Path(folder)
    missing = [c for c in CHECKPOINT_COLUMNS if c not in checkpoints.columns]
    if missing:
        raise SuiteError(f"{folder}: the checkpoints table lacks column '{missing[0]}'")
    missing = [c for c in NLL_COLUMNS if c not in nll.columns]
    if missing:
        raise SuiteError(f"{folder}: the NLL table lacks column '{missing[0]}'")

    def write_and_check(scratch: Path) -> None:
        _write_tables(scratch, checkpoints, nll, tasks, single_precision)
        try:
            load_suite(scratch)
        except SuiteError as error:
            raise SuiteError(str(error).replace(str(scratch), str(folder))) from None

    return replace_files(folder, SUITE_FILES, write_and_check)


def write_subset(suite: Suite, folder: str | Path, *, tasks: list[str] | None = None,
                 max_questions: int | None = None, seed: int = 0) -> Path:
    """Write a smaller suite: some of the tasks, and at most `max_questions` questions of each
    (drawn at random with `seed`, the same for every checkpoint). All checkpoints are kept.
    tasks.csv says where the subset came from, keeping each task's original source."""
    tasks = list(suite.tasks["task"]) if tasks is None else list(tasks)
    unknown = sorted(set(tasks) - set(suite.tasks["task"]))
    if unknown:
        raise SuiteError(f"{suite.path}: no task {unknown[0]!r}; the suite has {list(suite.tasks['task'])}")
    if max_questions is not None and max_questions < 2:
        raise ValueError(f"max_questions must be at least 2; got {max_questions}")
    rng = np.random.default_rng(seed)
    parts, rows = [], []
    for task in tasks:
        nll = suite.nll[suite.nll["task"] == task]
        questions = np.sort(nll["question"].unique())
        if max_questions is not None and len(questions) > max_questions:
            questions = np.sort(rng.choice(questions, size=max_questions, replace=False))
        parts.append(nll[nll["question"].isin(questions)])
        row = suite.tasks.set_index("task").loc[task]
        rows.append({"task": task, "display_name": row["display_name"], "group": row["group"],
                     "n_questions": len(questions), GUESS_COLUMN: row[GUESS_COLUMN],
                     "source": f"{row['source']}; subset of {suite.path.name} ({len(questions)} questions, seed {seed})"})
    return write_suite(folder, suite.checkpoints, pd.concat(parts, ignore_index=True), pd.DataFrame(rows))
