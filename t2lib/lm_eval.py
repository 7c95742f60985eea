"""Build a suite from lm-evaluation-harness `--log_samples` outputs (v0.4.x).

Input: a mapping CSV with one row per run (= one checkpoint), columns
`run` (the run's `results_<date_id>.json`, or a folder holding exactly one such file; relative
paths are taken from the mapping file's folder), `checkpoint`, `params` (N), `tokens` (D), and
optionally `source`, `stage`, `base_checkpoint`. Each run's `samples_<task>_<date_id>.jsonl`
files sit beside its results file and share its date_id (the harness writes every checkpoint
of a model into one folder, so the date_id is what pairs them).

For each question the gold continuation's log-likelihood is read from `filtered_resps`:
the gold choice's entry for multiple-choice tasks (arc_easy, sciq, openbookqa), the only
entry for loglikelihood tasks (lambada_openai, and the four t2mini_* tasks of the book's
miniature suite); nll = −loglik. See shared/formats.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.suite import STAGES, write_suite

SUPPORTED_TASKS = {"arc_easy": "multiple_choice", "sciq": "multiple_choice", "openbookqa": "multiple_choice",
                   "lambada_openai": "loglikelihood",
                   # the book's miniature suite (pretrain/harness.py): local loglikelihood tasks
                   "t2mini_knowledge": "loglikelihood", "t2mini_arithmetic": "loglikelihood",
                   "t2mini_causal": "loglikelihood", "t2mini_spatial": "loglikelihood"}
MAPPING_COLUMNS = ["run", "checkpoint", "params", "tokens"]


class LmEvalError(ValueError):
    """An lm-eval file or mapping that cannot be imported; the message names file and line."""


def _fail(file: Path, where: str, message: str) -> LmEvalError:
    return LmEvalError(f"{file}: {where}: {message}")


def _results_file(run: Path, mapping: Path, row: int) -> Path:
    if run.is_file():
        return run
    if run.is_dir():
        found = sorted(run.glob("results_*.json"))
        if len(found) == 1:
            return found[0]
        raise _fail(mapping, f"row {row}, column 'run'",
                    f"folder {run} holds {len(found)} results_*.json files; name the run's results file itself")
    raise _fail(mapping, f"row {row}, column 'run'", f"{run} does not exist")


def _date_id(results: Path) -> str:
    match = re.fullmatch(r"results_(.+)\.json", results.name)
    if not match:
        raise LmEvalError(f"{results}: not a results_<date_id>.json file")
    return match.group(1)


def _read_records(file: Path) -> list[tuple[int, dict]]:
    """(line number, record) pairs from a JSON Lines file, or from one JSON array (v0.4.0–0.4.2)."""
    text = file.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            return [(i + 1, record) for i, record in enumerate(json.loads(text))]
        except json.JSONDecodeError as error:
            raise _fail(file, f"line {error.lineno}", f"malformed JSON array ({error.msg})") from error
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise _fail(file, f"line {number}", f"malformed JSON ({error.msg}); the file may be truncated") from error
        if not isinstance(record, dict):
            raise _fail(file, f"line {number}", "expected a JSON object per line")
        records.append((number, record))
    return records


def _loglik(value: object, file: Path, number: int) -> float:
    """A log-likelihood leaf, written as a number or as its string (v0.4.3+)."""
    try:
        loglik = float(value)
    except (TypeError, ValueError) as error:
        raise _fail(file, f"line {number}", f"log-likelihood {value!r} is not a number") from error
    if not math.isfinite(loglik) or loglik > 0:
        raise _fail(file, f"line {number}", f"log-likelihood must be finite and <= 0; got {loglik!r}")
    return loglik


def _gold_index(target: object, n_choices: int, file: Path, number: int) -> int:
    if isinstance(target, list) or (isinstance(target, str) and target.strip().startswith("[")):
        raise _fail(file, f"line {number}", f"several gold answers ({target!r}) are not supported: the suite format "
                                            "holds one gold answer per question")
    try:
        index = int(target)
    except (TypeError, ValueError) as error:
        raise _fail(file, f"line {number}", f"target {target!r} is not a choice index") from error
    if not 0 <= index < n_choices:
        raise _fail(file, f"line {number}", f"target index {index} outside the {n_choices} choices")
    return index


def read_samples(file: Path, output_type: str) -> pd.DataFrame:
    """question (doc_id) and nll of the gold continuation for every doc of one samples file."""
    rows = {}
    for number, record in _read_records(file):
        if record.get("filter", "none") != "none":
            continue
        for key in ("doc_id", "filtered_resps"):
            if key not in record:
                raise _fail(file, f"line {number}", f"missing key '{key}'")
        doc_id = record["doc_id"]
        if not isinstance(doc_id, int) or doc_id < 0:
            raise _fail(file, f"line {number}", f"doc_id must be a non-negative integer; got {doc_id!r}")
        if doc_id in rows:
            raise _fail(file, f"line {number}", f"duplicate doc_id {doc_id} for filter 'none'")
        responses = record["filtered_resps"]
        if not isinstance(responses, list) or not responses:
            raise _fail(file, f"line {number}", "filtered_resps must be a non-empty list")
        if output_type == "multiple_choice":
            gold = _gold_index(record.get("target"), len(responses), file, number)
        else:
            if len(responses) != 1:
                raise _fail(file, f"line {number}", f"a loglikelihood task has one response; got {len(responses)}")
            gold = 0
        entry = responses[gold]
        if not isinstance(entry, list) or len(entry) != 2:
            raise _fail(file, f"line {number}", f"response {gold} must be [loglik, is_greedy]; got {entry!r}")
        rows[doc_id] = -_loglik(entry[0], file, number)
    if not rows:
        raise LmEvalError(f"{file}: no samples with filter 'none'")
    questions = np.array(sorted(rows))
    return pd.DataFrame({"question": questions, "nll": [rows[q] for q in questions]})


def _check_count(results: dict, task: str, found: int, file: Path) -> None:
    expected = results.get("n-samples", {}).get(task, {}).get("effective")
    if expected is not None and expected != found:
        raise LmEvalError(f"{file}: {found} docs, but the results file says {expected} were evaluated")


def _import_run(results_file: Path, tasks: list[str]) -> list[tuple[str, pd.DataFrame]]:
    try:
        results = json.loads(results_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise _fail(results_file, f"line {error.lineno}", f"malformed JSON ({error.msg})") from error
    date_id = _date_id(results_file)
    imported = []
    for task in tasks:
        file = results_file.parent / f"samples_{task}_{date_id}.jsonl"
        if not file.exists():
            continue
        output_type = results.get("configs", {}).get(task, {}).get("output_type", SUPPORTED_TASKS[task])
        if output_type not in ("multiple_choice", "loglikelihood"):
            raise LmEvalError(f"{file}: output_type {output_type!r} has no gold-answer likelihood")
        samples = read_samples(file, output_type)
        _check_count(results, task, len(samples), file)
        imported.append((task, samples))
    if not imported:
        raise LmEvalError(f"{results_file}: no samples_<task>_{date_id}.jsonl beside it for tasks {tasks}")
    return imported


def import_lm_eval(mapping: str | Path, out: str | Path, *, tasks: list[str] | None = None) -> Path:
    """Write a suite folder `out` from the runs listed in the mapping CSV; return `out`."""
    mapping = Path(mapping)
    tasks = list(SUPPORTED_TASKS) if tasks is None else tasks
    unknown = [t for t in tasks if t not in SUPPORTED_TASKS]
    if unknown:
        raise ValueError(f"tasks: unsupported task {unknown[0]!r}; supported: {', '.join(SUPPORTED_TASKS)}")
    table = pd.read_csv(mapping, dtype=str, keep_default_na=False)  # errors then quote the text as written
    missing = [c for c in MAPPING_COLUMNS if c not in table.columns]
    if missing:
        raise LmEvalError(f"{mapping}: missing column '{missing[0]}'")
    table = table.assign(source=table.get("source", "user"), stage=table.get("stage", "base"),
                         base_checkpoint=table.get("base_checkpoint", ""))
    for column in ("params", "tokens"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~(values > 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise LmEvalError(f"{mapping}: column '{column}', row {row}: must be > 0; got {table[column].iloc[row]!r}")
        table[column] = values.astype(float)
    bad_stage = ~table["stage"].isin(STAGES)
    if bad_stage.any():
        row = int(np.flatnonzero(bad_stage.to_numpy())[0])
        raise LmEvalError(f"{mapping}: column 'stage', row {row}: must be one of {STAGES}; got {table['stage'].iloc[row]!r}")

    frames, counts = [], {}
    for row, run in enumerate(table.itertuples(index=False)):
        results_file = _results_file(mapping.parent / run.run, mapping, row)
        for task, samples in _import_run(results_file, tasks):
            frames.append(samples.assign(checkpoint=run.checkpoint, task=task))
            counts[task] = max(counts.get(task, 0), len(samples))
    checkpoints = table.drop(columns=["run"]).assign(train_flops=6.0 * table["params"] * table["tokens"])
    task_table = pd.DataFrame({"task": list(counts), "display_name": list(counts), "group": "real",
                               "n_questions": list(counts.values()), "source": "lm-evaluation-harness"})
    nll = pd.concat(frames, ignore_index=True)[["checkpoint", "task", "question", "nll"]]
    return write_suite(out, checkpoints, nll, task_table)
