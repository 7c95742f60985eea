"""Gadre et al. (2024)'s over-trained open_lm runs (data/real/gadre2024/): one JSON per run in
`models/` (size, tokens, 8 validation losses) and one in `evals/` (accuracy on 46 downstream
tasks), plus `eval_metadata.csv` (each task's random baseline). The loaders validate every field
they use and name the file, the key and the bad value."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from t2lib.data.tablecheck import TableCheck

DATASETS = {"c4_original": "C4", "rpj": "RedPajama", "rw_original": "RefinedWeb"}
# The loss a validation set is read into: its `val_data` path names the set in its parent folder,
# except C4 German, named by the file (as in the authors' scaling/shared.py).
GERMAN_VAL = "val_de-en_100"
METADATA_COLUMNS = ["Eval Task", "Task Category", "Task Type", "#shots", "Random baseline"]
# The four small shapes whose runs Gadre et al. fit their loss law to (their scaling/shared.py).
SMALL_SHAPES = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")


def _read_json(path: Path) -> dict:
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise TableCheck(path).fail("missing (every run in models/ needs its evals/evaluation_<name>_heavy.json)") \
            from None
    except json.JSONDecodeError as error:
        raise TableCheck(path).fail(f"line {error.lineno}: malformed JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise TableCheck(path).fail("expected a JSON object")
    return record


def _field(path: Path, record: dict, *keys: str) -> object:
    value = record
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise TableCheck(path).fail(f"missing key '{'.'.join(keys[:depth + 1])}'")
        value = value[key]
    return value


def _number(path: Path, where: str, value: object, low: float = 0.0, high: float = math.inf,
            open_low: bool = True) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and value <= high
    if not ok:
        bound = f"{'>' if open_low else '>='} {low:g}" + (f" and <= {high:g}" if math.isfinite(high) else "")
        raise TableCheck(path).fail(f"'{where}' must be a finite number {bound}; got {value!r}")
    return float(value)


def _val_set(path: Path, index: int, result: dict) -> str:
    files = result.get("val_data")
    if not (isinstance(files, list) and files and isinstance(files[0], str) and "/" in files[0]):
        raise TableCheck(path).fail(f"'results[{index}].val_data' must be a list of paths; got {files!r}")
    parts = files[0].split("/")
    return GERMAN_VAL if "de-en" in parts[-2] or "de-en" in parts[-1] else parts[-2]


def read_run(model_file: Path, evals_folder: Path) -> dict[str, object]:
    """One run as a flat record: name, dataset, architecture, params, tokens, tokens_per_param,
    chinchilla_multiplier, loss_<validation set> (nats per token) and acc_<task>."""
    record = _read_json(model_file)
    name = _field(model_file, record, "name")
    if name != model_file.stem:
        raise TableCheck(model_file).fail(f"'name' must match the file name {model_file.stem!r}; got {name!r}")
    dataset = _field(model_file, record, "dataset_name")
    if dataset not in DATASETS:
        raise TableCheck(model_file).fail(f"'dataset_name' must be one of {', '.join(DATASETS)}; got {dataset!r}")
    params = _number(model_file, "hyperparameters.params", _field(model_file, record, "hyperparameters", "params"))
    tokens = _number(model_file, "hyperparameters.tokens", _field(model_file, record, "hyperparameters", "tokens"))
    multiplier = _number(model_file, "hyperparameters.chinchilla_multiplier",
                         _field(model_file, record, "hyperparameters", "chinchilla_multiplier"))
    model = _field(model_file, record, "hyperparameters", "model")
    run = {"name": name, "dataset": dataset, "architecture": Path(str(model)).stem, "params": params,
           "tokens": tokens, "tokens_per_param": tokens / params, "chinchilla_multiplier": multiplier}
    results = _field(model_file, record, "results")
    if not isinstance(results, list) or not results:
        raise TableCheck(model_file).fail(f"'results' must be a non-empty list; got {results!r}")
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise TableCheck(model_file).fail(f"'results[{index}]' must be an object")
        column = f"loss_{_val_set(model_file, index, result)}"
        if column in run:
            raise TableCheck(model_file).fail(f"'results[{index}]': a second loss for {column[5:]!r}")
        run[column] = _number(model_file, f"results[{index}].loss", result.get("loss"))
    eval_file = evals_folder / f"evaluation_{name}_heavy.json"
    accuracies = _field(eval_file, _read_json(eval_file), "eval_metrics", "icl")
    if not isinstance(accuracies, dict) or not accuracies:
        raise TableCheck(eval_file).fail("'eval_metrics.icl' must be a non-empty object of task accuracies")
    for task, accuracy in accuracies.items():
        run[f"acc_{task}"] = _number(eval_file, f"eval_metrics.icl.{task}", accuracy, 0.0, 1.0, open_low=False)
    return run


def load_gadre_runs(folder: str | Path) -> pd.DataFrame:
    """Every run of the folder, one row each (see `read_run`), sorted by dataset, N and D.

    Raises `DataFileError` on a missing or malformed file, a missing key, a value that is not a
    finite number in range, a run name that differs from its file name, or runs that do not all
    report the same validation sets and downstream tasks."""
    folder = Path(folder)
    model_files = sorted((folder / "models").glob("*.json"))
    if not model_files:
        raise TableCheck(folder / "models").fail("no run files (*.json); see data/real/gadre2024/SOURCE.md")
    runs = [read_run(path, folder / "evals") for path in model_files]
    columns = set(runs[0])
    for path, run in zip(model_files, runs):
        if set(run) != columns:
            differing = sorted(set(run) ^ columns)[0]
            raise TableCheck(path).fail(f"reports a different set of losses or tasks than {model_files[0].name} "
                                        f"(first difference: {differing!r})")
    return pd.DataFrame(runs).sort_values(["dataset", "params", "tokens"], ignore_index=True)


def load_gadre_baselines(folder: str | Path) -> pd.DataFrame:
    """eval_metadata.csv: per task its category, type, shots and random baseline (as a fraction)."""
    path = Path(folder) / "eval_metadata.csv"
    check = TableCheck(path)
    frame = check.read_csv(METADATA_COLUMNS, "the tasks' random baselines; see data/real/gadre2024/SOURCE.md")
    frame["Eval Task"] = check.require_strings(frame, "Eval Task")
    check.first_bad_row(frame, "Eval Task", frame["Eval Task"].duplicated(), "duplicate task")
    baseline = check.require_finite(frame, "Random baseline", 0.0, 100.0)
    return pd.DataFrame({"task": frame["Eval Task"], "category": frame["Task Category"], "type": frame["Task Type"],
                         "shots": frame["#shots"], "random_baseline": baseline / 100.0})


def published_fit_set(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The five runs of one data set that Gadre et al. fit their loss law to: the four small
    shapes at 20 tokens per parameter (Chinchilla multiplier 1) and the smallest at 320 (16)."""
    of_dataset = runs[runs["dataset"] == dataset]
    shape, multiplier = of_dataset["architecture"], of_dataset["chinchilla_multiplier"]
    chosen = of_dataset[shape.isin(SMALL_SHAPES) & (multiplier == 1.0) | (shape == SMALL_SHAPES[0]) & (multiplier == 16.0)]
    if len(chosen) != 5:
        raise ValueError(f"data set {dataset!r}: expected Gadre et al.'s 5 fit runs, found {len(chosen)}")
    return chosen


def load_published_errors(folder: str | Path) -> pd.DataFrame:
    """published_errors.csv: the relative errors (percent) Gadre et al.'s notebook reports."""
    path = Path(folder) / "published_errors.csv"
    check = TableCheck(path)
    frame = check.read_csv(["dataset", "model", "params", "tokens_per_param", "quantity", "relative_error_percent"],
                           "see data/real/gadre2024/SOURCE.md")
    for column in ("params", "tokens_per_param", "relative_error_percent"):
        frame[column] = check.require_finite(frame, column, 0.0)
    return frame
