"""Build a suite from lm-evaluation-harness `--log_samples` outputs (v0.4.x).

Input: a mapping CSV with one row per run (= one checkpoint), columns
`run` (the run's `results_<date_id>.json`, or a folder holding exactly one such file; relative
paths are taken from the mapping file's folder), `checkpoint`, `params` (N), `tokens` (D), and
optionally `source`, `stage`, `base_checkpoint`. Each run's `samples_<task>_<date_id>.jsonl`
files sit beside its results file and share its date_id (the harness writes every checkpoint
of a model into one folder, so the date_id is what pairs them).

`import_lm_eval_folder` finds the runs itself: every run under a folder of `--output_path`
folders, in the current layout (`results_<date_id>.json` beside `samples_<task>_<date_id>.jsonl`)
or the v0.4.0–0.4.2 one (`results.json` beside `<model_args>_<task>.jsonl`), mapped to
checkpoints by the model and revision each run recorded (a models CSV).

For each question the gold continuation's log-likelihood is read from `filtered_resps`:
the gold choice's entry for multiple-choice tasks (e.g. arc_easy, sciq, openbookqa), the only
entry for loglikelihood tasks (e.g. lambada_openai, the book's t2mini_* tasks); nll = −loglik.
Any task whose run records its output_type can be imported; a task with no gold-answer
likelihood (generate_until, loglikelihood_rolling) is skipped with a note, since T² prices every
question by the likelihood of its gold answer. Samples files may be gzipped (`.jsonl.gz`).

N comes from the models CSV, written as people write it (1618080, 1,618,080, 1.6e6, 1.6M); left
empty, it is the `config.model_num_parameters` the run recorded (Hugging Face models). When both
exist they must agree within `PARAMS_TOLERANCE`: the CSV may leave out the embeddings (a count up
to that factor smaller) but may not exceed the recorded count. The suite is written beside
`--out` and swapped in only when everything imported, so a failed import leaves `--out` as it was.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.data.suite import STAGES, write_suite

# A run records each task's output_type in `configs` (v0.4.3+); older runs do not, and for them
# the type is known only for these tasks.
KNOWN_OUTPUT_TYPES = {"arc_easy": "multiple_choice", "sciq": "multiple_choice", "openbookqa": "multiple_choice",
                      "lambada_openai": "loglikelihood"}
MAPPING_COLUMNS = ["run", "checkpoint", "params", "tokens"]
MODELS_COLUMNS = ["model", "checkpoint", "params", "tokens"]
OPTIONAL_COLUMNS = {"source": "user", "stage": "base", "base_checkpoint": ""}
OLD_RESULTS = "results.json"  # the v0.4.0-0.4.2 layout: results.json beside <model_args>_<task>.jsonl
# The model_args keys the harness takes a run's model name from, in its order (sanitize_model_name).
MODEL_KEYS = ("peft", "delta", "pretrained", "model", "path", "engine")
LIKELIHOOD_TYPES = ("multiple_choice", "loglikelihood")  # output types with a gold-answer likelihood
# The models CSV's N may be smaller than the count a run recorded by up to this factor (embeddings
# left out: for small models they can be most of the parameters), and larger by at most 1%.
PARAMS_TOLERANCE = 5.0
_SCALES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


class LmEvalError(ValueError):
    """An lm-eval file or mapping that cannot be imported; the message names file and line."""


def _fail(file: Path, where: str, message: str) -> LmEvalError:
    return LmEvalError(f"{file}: {where}: {message}")


def _results_file(run: Path, mapping: Path, row: int) -> Path:
    if run.is_file():
        return run
    if run.is_dir():
        found = sorted(run.glob("results_*.json")) + sorted(run.glob(OLD_RESULTS))
        if len(found) == 1:
            return found[0]
        raise _fail(mapping, f"column 'run', line {row + 2}",
                    f"folder {run} holds {len(found)} results files; name the run's results file itself")
    raise _fail(mapping, f"column 'run', line {row + 2}", f"{run} does not exist")


def _samples_file(results_file: Path, task: str) -> Path | None:
    """The samples file of `task` that belongs to a results file, in either layout (plain or
    gzipped), or None."""
    if results_file.name != OLD_RESULTS:
        name = f"samples_{task}_{_date_id(results_file)}.jsonl"
        return next((f for f in (results_file.parent / name, results_file.parent / f"{name}.gz") if f.is_file()), None)
    found = [f for pattern in (f"*_{task}.jsonl", f"*_{task}.jsonl.gz")
             for f in sorted(results_file.parent.glob(pattern)) if not f.name.startswith("samples_")]
    if len(found) > 1:
        raise LmEvalError(f"{results_file.parent}: {len(found)} old-layout samples files for task {task!r} "
                          f"({', '.join(f.name for f in found)}); an old-layout run folder holds one run")
    return found[0] if found else None


def _date_id(results: Path) -> str:
    match = re.fullmatch(r"results_(.+)\.json", results.name)
    if not match:
        raise LmEvalError(f"{results}: not a results_<date_id>.json file")
    return match.group(1)


def _read_text(file: Path) -> str:
    """A file's UTF-8 text, through gzip when its name ends in .gz."""
    try:
        data = gzip.decompress(file.read_bytes()) if file.suffix == ".gz" else file.read_bytes()
        return data.decode("utf-8")
    except (gzip.BadGzipFile, EOFError, OSError) as error:
        raise LmEvalError(f"{file}: not a readable gzip file ({error}); the file may be truncated") from None
    except UnicodeDecodeError as error:
        raise LmEvalError(f"{file}: not UTF-8 text (byte {error.start}); is it an lm-eval output file?") from None


def _read_records(file: Path) -> list[tuple[int, dict]]:
    """(line number, record) pairs from a JSON Lines file, or from one JSON array (v0.4.0–0.4.2);
    either may be gzipped (name ending .gz)."""
    text = _read_text(file)
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


def _check_count(results: dict, results_file: Path, task: str, found: int, file: Path) -> None:
    entry = _section(_section(results, "n-samples", results_file), task, results_file)
    expected = entry.get("effective")
    if expected is not None and expected != found:
        raise LmEvalError(f"{file}: {found} docs, but the results file says {expected} were evaluated")


def _read_results(results_file: Path) -> dict:
    """A run's results JSON, an object; malformed JSON is an error naming the file and line."""
    try:
        results = json.loads(_read_text(results_file))
    except json.JSONDecodeError as error:
        raise _fail(results_file, f"line {error.lineno}", f"malformed JSON ({error.msg})") from error
    if not isinstance(results, dict):
        raise LmEvalError(f"{results_file}: a results file holds one JSON object; got a JSON {type(results).__name__} "
                          "— is it an lm-eval results_<date_id>.json?")
    return results


def _section(record: dict, key: str, file: Path) -> dict:
    """An object-valued entry of a results file ({} when absent or null); any other value is an error."""
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LmEvalError(f"{file}: '{key}' must be a JSON object; got {type(value).__name__} {str(value)[:40]!r}")
    return value


def _import_run(results_file: Path, tasks: list[str] | None) -> tuple[list[tuple[str, pd.DataFrame]], dict[str, str]]:
    """(task, samples) for every task of one run with a samples file — the tasks named, or by
    default every task the run records (its `configs`, else its `results`) — and the tasks
    skipped for having no gold-answer likelihood, with their output type. A task named in
    `tasks` that has none is an error."""
    results = _read_results(results_file)
    configs = _section(results, "configs", results_file)
    wanted = list(tasks) if tasks is not None else list(configs or _section(results, "results", results_file))
    imported, skipped = [], {}
    for task in wanted:
        file = _samples_file(results_file, task)
        if file is None:
            continue
        output_type = _section(configs, task, results_file).get("output_type", KNOWN_OUTPUT_TYPES.get(task))
        if output_type is None:
            raise LmEvalError(f"{results_file}: task {task!r} records no output_type (configs.{task}) and is not one "
                              f"of the tasks whose type is known ({', '.join(KNOWN_OUTPUT_TYPES)}); leave it out "
                              "with --tasks")
        if output_type not in LIKELIHOOD_TYPES:
            if tasks is not None:
                raise LmEvalError(f"{file}: task {task!r} is {output_type!r}, which logs no likelihood of a gold answer; "
                                  "T² prices each question by that likelihood — leave the task out of --tasks")
            skipped[task] = str(output_type)
            continue
        samples = read_samples(file, output_type)
        _check_count(results, results_file, task, len(samples), file)
        imported.append((task, samples))
    if not imported and tasks is not None:
        present = sorted({match[1] for f in results_file.parent.glob("samples_*")
                          if (match := re.fullmatch(r"samples_(.+)_[^_]+\.jsonl(\.gz)?", f.name))})
        raise LmEvalError(f"{results_file}: no samples of --tasks {', '.join(tasks)} beside it (its folder has samples "
                          f"of: {', '.join(present) or 'no task'}) — check the task names")
    if not imported:
        raise LmEvalError(f"{results_file}: no samples file beside it for "
                          f"{'tasks ' + str(list(tasks)) if tasks is not None else 'any task it records'}"
                          + (f" with a gold-answer likelihood (skipped: {', '.join(f'{t} ({kind})' for t, kind in skipped.items())})"
                             if skipped
                             else "") + "; run the harness with --log_samples")
    return imported, skipped


def _read_table(file: Path) -> pd.DataFrame:
    """A mapping or models CSV as text (so that errors quote values as written)."""
    if not file.is_file():
        raise LmEvalError(f"{file}: no such file" + (" (it is a folder; name the CSV)" if file.is_dir() else ""))
    try:
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise LmEvalError(f"{file}: empty (not even a header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise LmEvalError(f"{file}: not a readable CSV file ({' '.join(str(error).split())})") from None
    if table.empty:
        raise LmEvalError(f"{file}: no rows below the header; add one row per checkpoint")
    return table


def _line(index: int) -> str:
    """A CSV data row as an editor counts it: the header is line 1."""
    return f"line {index + 2}"


def parse_count(text: str) -> float:
    """A count of parameters or tokens as people write it: 1618080, 1,618,080, 1_618_080, 1.6e6,
    1.6M (K, M, B, T in any case); NaN when it is none of these."""
    cleaned = text.strip().replace("_", "").replace(" ", "")
    if "," in cleaned:
        if not _THOUSANDS.match(cleaned.rstrip("kKmMbBtT")):
            return float("nan")
        cleaned = cleaned.replace(",", "")
    scale = 1.0
    if cleaned[-1:].lower() in _SCALES:
        scale, cleaned = _SCALES[cleaned[-1].lower()], cleaned[:-1]
    try:
        value = float(cleaned) * scale
    except ValueError:
        return float("nan")
    return value if math.isfinite(value) else float("nan")


def _checked_table(table: pd.DataFrame, file: Path, required: list[str], *, params_optional: bool = False) -> pd.DataFrame:
    """A mapping or models table with its required columns, counts, ids and stages checked; an
    empty `params` (when optional) stays NaN, to be read from the run."""
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise LmEvalError(f"{file}: missing column '{missing[0]}' (found: {', '.join(table.columns)})")
    table = table.assign(**{column: table.get(column, default) for column, default in OPTIONAL_COLUMNS.items()})
    for column in ("params", "tokens"):
        written = table[column].str.strip()
        values = written.map(lambda text: parse_count(text) if text else float("nan"))
        empty_ok = params_optional and column == "params"
        bad = ~(values > 0) & ~(empty_ok & (written == ""))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            hint = " (or empty: the run's recorded count)" if empty_ok else ""
            raise LmEvalError(f"{file}: column '{column}', {_line(row)}: must be a count > 0, written e.g. 1618080, "
                              f"1,618,080, 1.6e6 or 1.6M{hint}; got {table[column].iloc[row]!r}")
        table[column] = values.astype(float)
    blank = table["checkpoint"].str.strip() == ""
    if blank.any():
        raise LmEvalError(f"{file}: column 'checkpoint', {_line(int(np.flatnonzero(blank.to_numpy())[0]))}: must be a "
                          "non-empty id")
    repeated = table["checkpoint"].duplicated()
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0])
        first = int(np.flatnonzero((table["checkpoint"] == table["checkpoint"].iloc[row]).to_numpy())[0])
        raise LmEvalError(f"{file}: column 'checkpoint', {_line(row)}: {table['checkpoint'].iloc[row]!r} is already the "
                          f"id of {_line(first)}; give every row its own checkpoint id")
    bad_stage = ~table["stage"].isin(STAGES)
    if bad_stage.any():
        row = int(np.flatnonzero(bad_stage.to_numpy())[0])
        raise LmEvalError(f"{file}: column 'stage', {_line(row)}: must be one of {', '.join(STAGES)}; "
                          f"got {table['stage'].iloc[row]!r}")
    bases = set(table.loc[table["stage"] == "base", "checkpoint"])
    orphan = (table["stage"] != "base") & ~table["base_checkpoint"].isin(bases)
    if orphan.any():
        row = int(np.flatnonzero(orphan.to_numpy())[0])
        raise LmEvalError(f"{file}: column 'base_checkpoint', {_line(row)}: a post-trained checkpoint must name the "
                          f"checkpoint id of a base row of this file; got {table['base_checkpoint'].iloc[row]!r}")
    return table


def _checked_tasks(tasks: list[str] | None) -> list[str] | None:
    if tasks is not None and not list(tasks):
        raise ValueError("--tasks: no task named; name at least one, or leave --tasks out for every task found")
    return None if tasks is None else list(tasks)


@dataclass(frozen=True)
class _Imported:
    """The NLLs read from a set of runs, before anything is written."""

    nll: pd.DataFrame
    checkpoints: pd.DataFrame
    tasks: pd.DataFrame
    skipped: dict[str, str]  # task -> output type, skipped for having no gold-answer likelihood


def _read_runs(runs: list[tuple[Path, pd.Series]], tasks: list[str] | None) -> _Imported:
    """Import each (results file, checkpoint row) and check that every run answering a task
    answered the same questions of it."""
    frames, counts, rows, skipped = [], {}, [], {}
    for results_file, row in runs:
        imported, skipped_here = _import_run(results_file, tasks)
        skipped.update(skipped_here)
        for task, samples in imported:
            frames.append(samples.assign(checkpoint=row["checkpoint"], task=task))
            counts[task] = max(counts.get(task, 0), len(samples))
        rows.append(row)
    table = pd.DataFrame(rows)[["checkpoint", "params", "tokens", "source", "stage", "base_checkpoint"]]
    checkpoints = table.assign(train_flops=6.0 * table["params"] * table["tokens"])
    task_table = pd.DataFrame({"task": list(counts), "display_name": list(counts), "group": "real",
                               "n_questions": list(counts.values()), "source": "lm-evaluation-harness"})
    nll = pd.concat(frames, ignore_index=True)[["checkpoint", "task", "question", "nll"]]
    _check_same_questions(nll)
    return _Imported(nll, checkpoints, task_table, {t: kind for t, kind in skipped.items() if t not in counts})


def _write(imported: _Imported, out: str | Path) -> Path:
    """Write the suite (beside `out` first: an existing suite there is replaced only on success)."""
    return write_suite(out, imported.checkpoints, imported.nll, imported.tasks)


def import_lm_eval(mapping: str | Path, out: str | Path, *, tasks: list[str] | None = None) -> Path:
    """Write a suite folder `out` from the runs listed in the mapping CSV; return `out`."""
    mapping = Path(mapping)
    tasks = _checked_tasks(tasks)
    table = _checked_table(_read_table(mapping), mapping, MAPPING_COLUMNS)
    runs = [(_results_file(mapping.parent / run["run"], mapping, row), run) for row, run in table.iterrows()]
    return _write(_read_runs(runs, tasks), out)


@dataclass(frozen=True)
class FoundRun:
    """One lm-eval run found in a folder: its results file, the model and revision it recorded,
    and its recorded parameter count (NaN when it records none)."""

    results: Path
    model: str
    revision: str  # "main" when the run named none
    num_parameters: float = float("nan")


def _model_args(results: dict, file: Path) -> dict[str, str]:
    """config.model_args, a dict (v0.4.10+) or a "key=value,key=value" string (earlier)."""
    args = _section(results, "config", file).get("model_args") or {}
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    if isinstance(args, str):
        pairs = [item.split("=", 1) for item in args.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise LmEvalError(f"{file}: config.model_args {args!r} is not a list of key=value pairs")
        return {k.strip(): v.strip() for k, v in pairs}
    raise LmEvalError(f"{file}: config.model_args must be a dict or a string; got {args!r}")


def _recorded_parameters(config: dict, file: Path) -> float:
    """config.model_num_parameters (an int, or its string), NaN when absent."""
    value = config.get("model_num_parameters")
    if value is None or value == "":
        return float("nan")
    try:
        count = float(value)
    except (TypeError, ValueError):
        raise LmEvalError(f"{file}: config.model_num_parameters must be a number; got {value!r}") from None
    if not count > 0:
        raise LmEvalError(f"{file}: config.model_num_parameters must be > 0; got {value!r}")
    return count


def recorded_model(results_file: Path) -> FoundRun:
    """The model (the pretrained= value, or the harness's model_name), revision and parameter
    count a run recorded."""
    results = _read_results(results_file)
    args = _model_args(results, results_file)
    config = _section(results, "config", results_file)
    model = next((args[key] for key in MODEL_KEYS if key in args), results.get("model_name"))
    if not model:
        raise LmEvalError(f"{results_file}: the run records no model (no pretrained= in config.model_args, "
                          "no model_name)")
    revision = args.get("revision") or config.get("model_revision") or "main"
    return FoundRun(results_file, str(model), str(revision), _recorded_parameters(config, results_file))


def find_runs(runs_dir: str | Path) -> list[FoundRun]:
    """Every lm-eval run under `runs_dir`, in the current or the v0.4.0-0.4.2 layout."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise LmEvalError(f"{runs_dir}: not a folder; give the folder the harness wrote (its --output_path)")
    files = sorted(runs_dir.rglob("results_*.json")) + sorted(runs_dir.rglob(OLD_RESULTS))
    if not files:
        raise LmEvalError(f"{runs_dir}: no lm-eval runs found (no results_<date_id>.json or results.json below it)")
    return [recorded_model(file) for file in files]


@dataclass(frozen=True)
class FolderImport:
    """What `import_lm_eval_folder` found and wrote, for the user to read."""

    out: Path
    runs: pd.DataFrame  # results, model, revision, checkpoint ("" when unmapped)
    questions: dict[str, int]  # task -> questions
    missing_tasks: list[tuple[str, str]]  # (checkpoint, task) without samples
    skipped_tasks: dict[str, str] = field(default_factory=dict)  # task -> output type without a gold likelihood
    unused_rows: list[str] = field(default_factory=list)  # rows of the models CSV that no run matched
    params_from_runs: list[str] = field(default_factory=list)  # checkpoints whose N the run recorded

    def report(self) -> str:
        mapped = self.runs[self.runs["checkpoint"] != ""]
        lines = [f"found {len(self.runs)} runs; imported {len(mapped)} as checkpoints into {self.out}",
                 "tasks: " + ", ".join(f"{task} ({n:,} questions)" for task, n in self.questions.items())]
        if self.skipped_tasks:
            lines.append("skipped (no likelihood of a gold answer, which T² needs to price every question): "
                         + ", ".join(f"{task} ({kind})" for task, kind in self.skipped_tasks.items()))
        for run in self.runs[self.runs["checkpoint"] == ""].itertuples():
            lines.append(f"not imported (no row of the models table): {run.results} "
                         f"(model {run.model!r}, revision {run.revision!r})")
        lines += [f"row without a run: {row}" for row in self.unused_rows]
        if self.params_from_runs:
            lines.append(f"N read from the runs' model_num_parameters for {len(self.params_from_runs)} checkpoint(s): "
                         + ", ".join(self.params_from_runs))
        lines += [f"checkpoint {checkpoint!r} has no samples for task {task!r}"
                  for checkpoint, task in self.missing_tasks]
        return "\n".join(lines)


def _revision(value: str) -> str:
    return value or "main"


def _parameters_of(row: pd.Series, line: str, run: FoundRun, models: Path) -> float:
    """A checkpoint's N: the models CSV's, checked against the run's recorded count, or the
    recorded count when the CSV leaves it empty."""
    recorded, written = run.num_parameters, row["params"]
    if np.isnan(written):
        if np.isnan(recorded):
            raise LmEvalError(f"{models}: column 'params', {line}: empty, and the run {run.results} records no "
                              "model_num_parameters; write the model's parameter count")
        return float(recorded)
    if np.isfinite(recorded) and not recorded / PARAMS_TOLERANCE <= written <= recorded * 1.01:
        raise LmEvalError(f"{models}: column 'params', {line}: {written:,.0f} is {written / recorded:.3g}× the "
                          f"{recorded:,.0f} parameters the run {run.results} recorded (config.model_num_parameters); N "
                          f"may leave out the embeddings (down to 1/{PARAMS_TOLERANCE:g} of the recorded count) but may "
                          "not exceed it — check the row, or leave it empty to use the recorded count")
    return float(written)


def import_lm_eval_folder(runs_dir: str | Path, models: str | Path, out: str | Path, *,
                          tasks: list[str] | None = None, allow_unmapped: bool = False) -> FolderImport:
    """Find every run under `runs_dir`, map it to a checkpoint through the models CSV (columns
    model, checkpoint, params, tokens; optionally revision, source, stage, base_checkpoint), and
    write the suite `out`. A run no row maps is an error unless `allow_unmapped` (it is then
    reported); rows no run matches are reported; two runs of one checkpoint, and a task whose
    question sets differ across runs, are errors naming them."""
    models = Path(models)
    tasks = _checked_tasks(tasks)
    table = _checked_table(_read_table(models), models, MODELS_COLUMNS, params_optional=True)
    table["revision"] = [_revision(r) for r in table.get("revision", pd.Series([""] * len(table)))]
    keys = list(zip(table["model"], table["revision"]))
    for index, key in enumerate(keys):
        if keys.index(key) != index:
            raise LmEvalError(f"{models}: {_line(index)}: model {key[0]!r} with revision {key[1]!r} is already on "
                              f"{_line(keys.index(key))}; one row per model and revision")
    rows = {key: (index, row) for index, (key, (_, row)) in enumerate(zip(keys, table.iterrows()))}
    found = find_runs(runs_dir)
    assigned = [rows.get((run.model, run.revision)) for run in found]
    runs = pd.DataFrame({"results": [str(run.results) for run in found], "model": [run.model for run in found],
                         "revision": [run.revision for run in found],
                         "checkpoint": [match[1]["checkpoint"] if match is not None else "" for match in assigned]})
    unmapped = runs[runs["checkpoint"] == ""]
    if len(unmapped) and not allow_unmapped:
        first = unmapped.iloc[0]
        raise LmEvalError(f"{first['results']}: no row of {models} maps this run (model {first['model']!r}, revision "
                          f"{first['revision']!r}); {len(unmapped)} run(s) unmapped in all — add rows, or allow "
                          "unmapped runs (--allow-unmapped) to skip them")
    mapped = runs[runs["checkpoint"] != ""]
    twice = mapped[mapped["checkpoint"].duplicated(keep=False)]
    if len(twice):
        both = twice[twice["checkpoint"] == twice["checkpoint"].iloc[0]]["results"].tolist()
        raise LmEvalError(f"checkpoint {twice['checkpoint'].iloc[0]!r}: the model and revision of its row in {models} "
                          f"were evaluated by several runs ({', '.join(both)}); move all but one out of {runs_dir}")
    pairs, from_runs = [], []
    for run, match in zip(found, assigned):
        if match is None:
            continue
        index, row = match
        if np.isnan(row["params"]):
            from_runs.append(row["checkpoint"])
        row = row.copy()
        row["params"] = _parameters_of(row, _line(index), run, models)
        pairs.append((run.results, row))
    matched = {(run.model, run.revision) for run, match in zip(found, assigned) if match is not None}
    unused = [f"{models}: {_line(index)} (model {key[0]!r}, revision {key[1]!r})" for index, key in enumerate(keys)
              if key not in matched]
    imported = _read_runs(pairs, tasks)
    _write(imported, out)
    answered = set(zip(imported.nll["checkpoint"], imported.nll["task"]))
    missing = [(c, t) for c in mapped["checkpoint"] for t in imported.tasks["task"] if (c, t) not in answered]
    questions = {task: int(n) for task, n in zip(imported.tasks["task"], imported.tasks["n_questions"])}
    return FolderImport(Path(out), runs, questions, missing, imported.skipped, unused, from_runs)


def _check_same_questions(nll: pd.DataFrame) -> None:
    """Every run that answers a task answers the same questions of it; else name two that differ."""
    for task, rows in nll.groupby("task", sort=False):
        sets = rows.groupby("checkpoint", sort=False)["question"].apply(frozenset)
        if sets.nunique() > 1:
            first = sets.index[0]
            other = next(name for name in sets.index if sets[name] != sets[first])
            raise LmEvalError(f"task {task!r}: checkpoints {first!r} and {other!r} answered different questions "
                              f"({len(sets[first])} and {len(sets[other])}); rerun them on the same documents "
                              "(same --limit, same task version)")


def write_lm_eval_runs(suite, folder: str | Path, *, tasks: list[str], checkpoints: list[str],
                       model: str = "example/model") -> Path:
    """Write a suite's NLLs as lm-eval `--log_samples` runs, one per checkpoint (revision =
    checkpoint id), in the current layout of one `--output_path` folder, each task as a
    loglikelihood task, and the models CSV that maps them back. For demonstrations and tests
    of the importer: the files have the harness's shape, not its provenance. Runs an earlier call
    wrote for `model` in `folder` are replaced (the importer would read them too)."""
    folder = Path(folder)
    run_dir = folder / "runs" / model.replace("/", "__")
    run_dir.mkdir(parents=True, exist_ok=True)
    for earlier in [*run_dir.glob("results_*.json"), *run_dir.glob("samples_*.jsonl")]:
        earlier.unlink()
    chosen = suite.nll[suite.nll["task"].isin(tasks) & suite.nll["checkpoint"].isin(checkpoints)]
    groups = {key: rows.sort_values("question") for key, rows in chosen.groupby(["checkpoint", "task"])}
    rows = []
    for i, checkpoint in enumerate(checkpoints):
        date_id = f"2026-01-01T00-00-{i:02d}.{i:06d}"
        counts = {}
        for task in tasks:
            nll = groups[(checkpoint, task)]
            lines = [f'{{"doc_id": {q}, "filter": "none", "filtered_resps": [["{-v!r}", "False"]]}}'
                     for q, v in zip(nll["question"].tolist(), nll["nll"].tolist())]
            (run_dir / f"samples_{task}_{date_id}.jsonl").write_text("\n".join(lines) + "\n")
            counts[task] = len(lines)
        results = {"config": {"model": "hf", "model_args": {"pretrained": model, "revision": checkpoint}},
                   "configs": {task: {"output_type": "loglikelihood"} for task in tasks},
                   "n-samples": {task: {"original": n, "effective": n} for task, n in counts.items()},
                   "model_name": model}
        (run_dir / f"results_{date_id}.json").write_text(json.dumps(results))
        row = suite.checkpoints.set_index("checkpoint").loc[checkpoint]
        rows.append({"model": model, "revision": checkpoint, "checkpoint": checkpoint, "params": row["params"],
                     "tokens": row["tokens"], "source": row["source"]})
    pd.DataFrame(rows).to_csv(folder / "models.csv", index=False, float_format="%.10g")
    return folder
