"""The OLMo 2 model ladder (data/real/olmo-ladder/olmo_ladder_final_checkpoints.csv): the last
evaluation of each ladder run (5 sizes × 0.5–10× Chinchilla) and of the 7B-4T and 13B-5T
targets, with per-task summaries of how much probability each model puts on the correct option.

`load_olmo_runs` validates the run columns; `task_summaries` reads, per run and task, the three
numbers the ladder logged for 5-shot ranked classification: accuracy, the mean probability of the
correct option (`soft`) and the mean of its log (`soft_log`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.data.tablecheck import TableCheck
from t2lib.laws.overtraining import fit_and_predict
from t2lib.laws.passk import beta_from_mean_and_log_mean, beta_pass_at_k, pass_at_k_range_from_mean

RUN_COLUMNS = ["source_file", "size_label", "N", "chinchilla_multiple_xC", "is_rerun", "tokens", "tokens_per_param"]
SOFT = re.compile(r"^eval/downstream_soft/(?P<task>.+)_rc_5shot_soft$")
RATIO_RTOL = 0.01  # tokens_per_param must equal tokens / N within this relative tolerance


BENCHMARKS = {"arc_challenge": "ARC-Challenge", "arc_easy": "ARC-Easy", "boolq": "BoolQ", "csqa": "CommonsenseQA",
              "hellaswag": "HellaSwag", "mmlu_humanities": "MMLU humanities", "mmlu_other": "MMLU other",
              "mmlu_social_sciences": "MMLU social sciences", "mmlu_stem": "MMLU STEM", "openbookqa": "OpenBookQA",
              "piqa": "PIQA", "socialiqa": "Social IQa", "winogrande": "WinoGrande"}


def task_label(task: str) -> str:
    """A ladder task id as readers know the benchmark: 'arc_easy_test' → 'ARC-Easy (test)'
    (an id it does not know is returned as it is)."""
    benchmark, _, split = task.rpartition("_")
    return f"{BENCHMARKS[benchmark]} ({split})" if benchmark in BENCHMARKS else task


def load_olmo_runs(path: str | Path) -> pd.DataFrame:
    """One row per run: run (its source file's name), size_label, params, tokens, tokens_per_param,
    chinchilla_multiple, is_rerun, target (the 7B and 13B runs the ladder is meant to predict),
    and every eval/ column as it is.

    Raises `DataFileError` naming the file, column, row and value of the first problem: a missing
    column, N or D not a positive finite number, tokens per parameter off D/N, is_rerun not
    True/False, or a soft score outside its range (soft in (0, 1], soft_log ≤ 0, soft_log above
    log soft, which Jensen's inequality forbids)."""
    path = Path(path)
    check = TableCheck(path)
    frame = check.read_csv(RUN_COLUMNS, "see data/real/olmo-ladder/SOURCE.md")
    frame["source_file"] = check.require_strings(frame, "source_file")
    check.first_bad_row(frame, "source_file", frame["source_file"].duplicated(), "duplicate run")
    for column in ("N", "tokens", "tokens_per_param", "chinchilla_multiple_xC"):
        frame[column] = check.require_finite(frame, column)
        check.first_bad_row(frame, column, frame[column] <= 0, "must be > 0")
    check.first_bad_row(frame, "tokens_per_param", (frame["tokens"] / frame["N"] / frame["tokens_per_param"] - 1).abs()
                        > RATIO_RTOL, "must equal tokens / N within 1%")
    rerun = frame["is_rerun"].astype(str)
    check.first_bad_row(frame, "is_rerun", ~rerun.isin(["True", "False"]), "must be True or False")
    tasks = [SOFT.match(c)["task"] for c in frame.columns if SOFT.match(c)]
    if not tasks:
        raise check.fail("no column eval/downstream_soft/<task>_rc_5shot_soft")
    for task in tasks:
        soft = f"eval/downstream_soft/{task}_rc_5shot_soft"
        soft_log = f"eval/downstream_soft_log/{task}_rc_5shot_soft_log"
        check.require_columns(frame, [soft_log])
        frame[soft] = check.require_finite(frame, soft, 0.0, 1.0)
        check.first_bad_row(frame, soft, frame[soft] == 0, "must be > 0 (its mean log is finite)")
        frame[soft_log] = check.require_finite(frame, soft_log, -np.inf, 0.0)
        check.first_bad_row(frame, soft_log, frame[soft_log] > np.log(frame[soft]) + 1e-12,
                            f"must not exceed log of {soft} (the mean of a log is at most the log of the mean)")
    runs = frame.rename(columns={"N": "params", "chinchilla_multiple_xC": "chinchilla_multiple"}).copy()
    runs.insert(0, "run", [Path(name).stem for name in runs["source_file"]])
    runs["is_rerun"] = rerun == "True"
    runs["target"] = ~runs["run"].str.match(r"^\d+[MB]-")
    return runs


def task_summaries(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, task): accuracy (5-shot ranked classification, length-normalised where
    the ladder logged it so), soft (mean probability of the correct option) and soft_log (mean
    log-probability), plus the run's params, tokens, tokens_per_param and target flag."""
    frames = []
    for column in runs.columns:
        match = SOFT.match(column)
        if not match:
            continue
        task = match["task"]
        accuracy = next((f"eval/downstream/{task}_rc_5shot_{kind}" for kind in ("len_norm", "acc")
                         if f"eval/downstream/{task}_rc_5shot_{kind}" in runs.columns), None)
        frames.append(pd.DataFrame({
            "run": runs["run"], "task": task, "params": runs["params"], "tokens": runs["tokens"],
            "tokens_per_param": runs["tokens_per_param"], "target": runs["target"], "is_rerun": runs["is_rerun"],
            "accuracy": runs[accuracy] if accuracy else np.nan, "soft": runs[column],
            "soft_log": runs[f"eval/downstream_soft_log/{task}_rc_5shot_soft_log"]}))
    return pd.concat(frames, ignore_index=True)


def pass_at_k_from_summaries(summaries: pd.DataFrame, ks: Sequence[float]) -> pd.DataFrame:
    """What each (run, task)'s soft scores say about pass@k (sampling one answer option at a time
    from the model's softmax over the options): per k, the range every per-question distribution
    with mean `soft` allows (`pass_at_k_range_from_mean`), and the value under the one Beta
    distribution whose mean and mean log match `soft` and `soft_log` (an assumption: Approach 2's
    form, not data)."""
    rows = []
    for _, row in summaries.iterrows():
        a, b = beta_from_mean_and_log_mean(row["soft"], row["soft_log"])
        low, high = pass_at_k_range_from_mean(row["soft"], np.asarray(ks, dtype=float))
        beta = beta_pass_at_k(a, b, np.asarray(ks, dtype=float))
        for k, lo, hi, est in zip(ks, low, high, beta):
            rows.append({"run": row["run"], "task": row["task"], "k": float(k), "soft": row["soft"],
                         "lowest": lo, "highest": hi, "beta": est, "beta_a": a, "beta_b": b})
    return pd.DataFrame(rows)


BPB_PREFIX = "eval/downstream_bpb/"  # the columns of each task's loss of the correct answer, bits per byte


def bpb_columns(runs: pd.DataFrame) -> list[str]:
    """The task-loss columns of the runs (one per task)."""
    return [c for c in runs.columns if c.startswith(BPB_PREFIX)]


def ladder_and_targets(runs: pd.DataFrame, include_reruns: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs a law is fitted on (the ladder; its 1×C reruns only if asked) and the targets it predicts."""
    return runs[~runs["target"] & (include_reruns | ~runs["is_rerun"])], runs[runs["target"]]


def macro_extrapolation(runs: pd.DataFrame, include_reruns: bool = False) -> pd.DataFrame:
    """A Chinchilla-form law fitted to the ladder's macro task loss (the mean bits per byte over
    tasks) and its relative error on each target (`overtraining.fit_and_predict`)."""
    ladder, targets = ladder_and_targets(runs, include_reruns)
    columns = bpb_columns(runs)
    return fit_and_predict(ladder.assign(macro_bpb=ladder[columns].mean(axis=1)),
                           targets.assign(macro_bpb=targets[columns].mean(axis=1)), ["macro_bpb"])
