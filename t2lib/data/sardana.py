"""Sardana et al. (2024)'s training runs (data/real/sardana2024/trainingresults.csv): one row per
MPT-style run, from 10 to 10,000 tokens per parameter, with its final training loss and its
eval-gauntlet scores. `load_sardana_runs` validates every column it uses and renames them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from t2lib.data.tablecheck import TableCheck

# The file's columns and the book's names for them.
COLUMNS = {
    "Model Name": "size_label",
    "Parameters": "params",
    "Tokens/Params": "tokens_per_param",
    "Tokens": "tokens",
    "Smoothed Loss": "loss",
    "eval_gauntlet/world_knowledge": "world_knowledge",
    "eval_gauntlet/reading_comprehension": "reading_comprehension",
    "eval_gauntlet/language_understanding": "language_understanding",
    "eval_gauntlet/commonsense_reasoning": "commonsense_reasoning",
    "eval_gauntlet/symbolic_problem_solving": "symbolic_problem_solving",
    "eval_gauntlet/core_average": "core_average",
    "mmlu_5_shot_avg": "mmlu_5_shot",
}
GAUNTLET = ["world_knowledge", "reading_comprehension", "language_understanding", "commonsense_reasoning",
            "symbolic_problem_solving", "core_average"]
MMLU_CHANCE = 0.25  # four answer choices
RATIO_RTOL = 0.01   # Tokens/Params must equal Tokens / Parameters within this relative tolerance


def load_sardana_runs(path: str | Path) -> pd.DataFrame:
    """The runs, one row each: size_label, params, tokens, tokens_per_param, loss (training loss,
    nats per token), the six gauntlet scores (centred: chance 0) and mmlu_5_shot (chance 0.25).

    Raises `DataFileError` naming the file, column, row and value of the first problem: a missing
    column, a value that is not a finite number, N or D ≤ 0, a tokens-per-parameter column that
    disagrees with D/N, a loss ≤ 0, a score outside its range, or two runs of one (N, D)."""
    path = Path(path)
    check = TableCheck(path)
    frame = check.read_csv(list(COLUMNS), "expected Sardana et al.'s trainingresults.csv; "
                                          "see data/real/sardana2024/SOURCE.md")
    frame = frame[list(COLUMNS)].rename(columns=COLUMNS)
    frame["size_label"] = check.require_strings(frame, "size_label")
    for column in ("params", "tokens", "tokens_per_param", "loss"):
        frame[column] = check.require_finite(frame, column)
        check.first_bad_row(frame, column, frame[column] <= 0, "must be > 0")
    for column in GAUNTLET:
        frame[column] = check.require_finite(frame, column, -1.0, 1.0)
    frame["mmlu_5_shot"] = check.require_finite(frame, "mmlu_5_shot", 0.0, 1.0)
    ratio = frame["tokens"] / frame["params"]
    check.first_bad_row(frame, "tokens_per_param", (ratio / frame["tokens_per_param"] - 1).abs() > RATIO_RTOL,
                        "must equal Tokens / Parameters within 1%")
    check.first_bad_row(frame, "tokens", frame.duplicated(["params", "tokens"]), "duplicate run (same N and D)")
    return frame
