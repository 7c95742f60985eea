"""Fitted laws saved to one JSON file and reloaded to identical predictions.

The file holds, per task, every law of `analysis.TaskFits` with its parameters, how its fit
ended and its quality (converged / benign bound / degenerate, with the reasons and in-sample R²;
`fitquality`), the number of questions and the chance of one guess (tasks.csv's `guess`), the ranges of N, D and k it was fitted on (so that a plan can flag extrapolation), the
checksum of the suite it was fitted to and t2lib's version. Floats are written with Python's
shortest round-trip representation, so a reloaded law predicts bit-identically.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection
from dataclasses import MISSING, dataclass, field, fields, replace
from importlib.metadata import version
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from t2lib.data.files import write_atomically
from t2lib.data.suite import GUESS_COLUMN, STAGES, Suite
from t2lib.laws.analysis import TaskFits, measured_from, nll_of
from t2lib.laws.fit import FitResult
from t2lib.laws.fitquality import FitQuality, classify, task_r_squared
from t2lib.laws.laws import Chinchilla, Law, T2Accuracy, T2Loss

FORMAT = "t2lib-fits-1"
LAW_KINDS = {"Chinchilla": Chinchilla, "T2Loss": T2Loss, "T2Accuracy": T2Accuracy}
LAW_NAMES = ("Chinchilla (k = 1)", "Approach 1", "Approach 2")  # the order of analysis.TaskFits
QUALITY_CLASSES = ("converged", "benign bound", "degenerate")


def t2lib_version() -> str:
    return version("t2lib")


class FitsFileError(ValueError):
    """A fits file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class SavedFits:
    """Fits reloaded from a file: the laws, the ranges they were fitted on, and their provenance."""

    fits: dict[str, TaskFits]
    ranges: dict[str, dict[str, tuple[float, float]]]  # task -> {"N", "D", "k"} -> (min, max)
    suite_sha256: str
    t2lib_version: str
    quality: dict[tuple[str, str], FitQuality]  # (task, law) -> how the fit ended (`fitquality`)
    path: Path | None = None  # the file they were read from
    guess: dict[str, float] = field(default_factory=dict)  # task -> one guess's chance (NaN: unknown)

    def fitted_range(self, quantity: str, tasks: list[str] | None = None) -> tuple[float, float]:
        """The span of N, D or k over the fits of `tasks` (default: all): smallest min, largest max."""
        chosen = list(self.ranges) if tasks is None else tasks
        return (min(self.ranges[t][quantity][0] for t in chosen), max(self.ranges[t][quantity][1] for t in chosen))


def _law_record(law: Law) -> dict:
    record = {"kind": type(law).__name__}
    for f in fields(law):
        value = getattr(law, f.name)
        record[f.name] = _law_record(value) if isinstance(value, Chinchilla) else float(value)
    return record


def _number(value: object, where: str, file: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FitsFileError(f"{file}: {where}: must be a number; got {value!r} — refit with python -m t2lib fit")
    return float(value)


def _object(value: object, where: str, file: Path) -> dict:
    if not isinstance(value, dict):
        raise FitsFileError(f"{file}: {where}: must be a JSON object; got {type(value).__name__} {str(value)[:40]!r} — "
                            "refit with python -m t2lib fit")
    return value


def _law_from(record: object, where: str, file: Path) -> Law:
    record = _object(record, where, file)
    kind = LAW_KINDS.get(record.get("kind")) if isinstance(record.get("kind"), str) else None
    if kind is None:
        raise FitsFileError(f"{file}: {where}.kind: unknown law kind {record.get('kind')!r} (expected one of "
                            f"{', '.join(LAW_KINDS)})")
    values = {}
    for f in fields(kind):
        if f.name not in record:
            raise FitsFileError(f"{file}: {where}: the {kind.__name__} law has no parameter {f.name!r}")
        at = f"{where}.{f.name}"
        values[f.name] = _law_from(record[f.name], at, file) if f.name == "chinchilla" else _number(record[f.name], at, file)
    try:
        return kind(**values)
    except ValueError as error:
        raise FitsFileError(f"{file}: {where}: {error}") from None


def _quality_record(quality: FitQuality) -> dict:
    return {"status": quality.status, "reasons": list(quality.reasons),
            "r2": quality.r2 if np.isfinite(quality.r2) else None, "remedies": list(quality.remedies)}


def save_fits(fits: dict[str, TaskFits], path: str | Path, *, suite: Suite, ks: ArrayLike,
              checkpoints: Collection[str] | None = None) -> Path:
    """Write `fits` (from `analysis.fit_suite` on `suite` with these `ks`, and on these
    `checkpoints` if it was given some) to a JSON file, each law with its quality
    (`fitquality.classify`, with its in-sample R² on the data it was fitted to)."""
    path = Path(path)
    tasks = {}
    ks_arr = np.asarray(ks, dtype=float)
    for task, fit in fits.items():
        meta, nll = nll_of(suite, task, fit.stage, checkpoints)
        ranges = {"N": [float(meta["params"].min()), float(meta["params"].max())],
                  "D": [float(meta["tokens"].min()), float(meta["tokens"].max())],
                  "k": [float(ks_arr.min()), float(ks_arr.max())]}
        r2 = task_r_squared(fit, measured_from(task, fit.stage, meta, nll, ks_arr))
        laws = {}
        for name, result in fit.results().items():
            outcome = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "law"}
            outcome["on_bounds"] = list(result.on_bounds)
            laws[name] = {"law": _law_record(result.law), **outcome,
                          "quality": _quality_record(classify(result, r2[name]))}
        guess = float(suite.tasks.set_index("task").loc[task, GUESS_COLUMN])
        tasks[task] = {"stage": fit.stage, "questions": int(nll.shape[1]), "guess": guess if np.isfinite(guess) else None,
                       "fitted_range": ranges, "laws": laws}
    record = {"format": FORMAT, "t2lib_version": t2lib_version(), "suite": str(suite.path),
              "suite_sha256": suite.sha256, "tasks": tasks}
    return write_atomically(path, (json.dumps(record, indent=1) + "\n").encode())


def saved_from(fits: dict[str, TaskFits], *, suite: Suite, ks: ArrayLike) -> SavedFits:
    """`fits` as `load_fits` reads them back from `save_fits` (each law with its quality), with no
    file left behind; `path` names the suite they were fitted on (errors and flags say it)."""
    with tempfile.TemporaryDirectory() as scratch:
        saved = load_fits(save_fits(fits, Path(scratch) / "fits.json", suite=suite, ks=ks))
    return replace(saved, path=suite.path)


def _result_from(saved: object, where: str, file: Path) -> tuple[FitResult, FitQuality]:
    """One saved law and how its fit ended, with its quality (classified now, without R², for a
    file written before qualities were saved)."""
    saved = _object(saved, where, file)
    law = _law_from(saved.get("law"), f"{where}.law", file)
    outcome = {}
    for f in fields(FitResult):
        if f.name == "law" or (f.name not in saved and f.default is not MISSING):
            continue
        if f.name not in saved:
            raise FitsFileError(f"{file}: {where}: missing {f.name!r}")
        value, at = saved[f.name], f"{where}.{f.name}"
        if f.name in ("n_starts", "n_points", "starts_converged"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FitsFileError(f"{file}: {at}: must be a whole number >= 0; got {value!r}")
        elif f.name in ("objective", "seconds"):
            value = _number(value, at, file)
        elif f.name == "on_bounds":
            value = _strings(value, at, file)
        elif not isinstance(value, str):
            raise FitsFileError(f"{file}: {at}: must be a string; got {value!r}")
        outcome[f.name] = value
    result = FitResult(law=law, **outcome)
    if "quality" not in saved:
        return result, classify(result)
    quality = _object(saved["quality"], f"{where}.quality", file)
    status = quality.get("status")
    if status not in QUALITY_CLASSES:
        raise FitsFileError(f"{file}: {where}.quality.status: must be one of {', '.join(QUALITY_CLASSES)}; got {status!r}")
    r2 = quality.get("r2")
    return result, FitQuality(status, _strings(quality.get("reasons", []), f"{where}.quality.reasons", file),
                              float("nan") if r2 is None else _number(r2, f"{where}.quality.r2", file),
                              _strings(quality.get("remedies", []), f"{where}.quality.remedies", file))


def _strings(value: object, where: str, file: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FitsFileError(f"{file}: {where}: must be a list of strings; got {value!r}")
    return tuple(value)


def _ranges_from(entry: object, where: str, file: Path) -> dict[str, tuple[float, float]]:
    """A task's fitted ranges of N, D and k: each [low, high] with 0 < low <= high."""
    entry = _object(entry, where, file)
    ranges = {}
    for quantity in ("N", "D", "k"):
        span, at = entry.get(quantity), f"{where}.{quantity}"
        if not isinstance(span, list) or len(span) != 2:
            raise FitsFileError(f"{file}: {at}: must be [low, high]; got {span!r}")
        low, high = (_number(v, at, file) for v in span)
        if not 0 < low <= high:
            raise FitsFileError(f"{file}: {at}: must be [low, high] with 0 < low <= high; got {span!r}")
        ranges[quantity] = (low, high)
    return ranges


def load_fits(path: str | Path) -> SavedFits:
    """Reload a fits file written by `save_fits` by this t2lib version; FitsFileError (naming the
    file and the entry) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FitsFileError(f"{path}: no such fits file" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FitsFileError(f"{path}: not a text file; a fits file is the JSON written by python -m t2lib fit") from None
    except json.JSONDecodeError as error:
        raise FitsFileError(f"{path}: not JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        found = record.get("format") if isinstance(record, dict) else f"a JSON {type(record).__name__}"
        raise FitsFileError(f"{path}: not a t2lib fits file (format {found!r}, expected {FORMAT!r}); write one with "
                            "python -m t2lib fit")
    if record.get("t2lib_version") != t2lib_version():
        raise FitsFileError(f"{path}: written by t2lib {record.get('t2lib_version')}, this is t2lib {t2lib_version()}; "
                            "refit with this version (python -m t2lib fit)")
    if not isinstance(record.get("suite_sha256"), str):
        raise FitsFileError(f"{path}: suite_sha256: must be a string; got {record.get('suite_sha256')!r}")
    fits, ranges, quality, guess = {}, {}, {}, {}
    tasks = _object(record.get("tasks"), "tasks", path)
    if not tasks:
        raise FitsFileError(f"{path}: tasks: no fitted task — refit with python -m t2lib fit")
    for task, entry in tasks.items():
        where = f"tasks.{task}"
        entry = _object(entry, where, path)
        laws = _object(entry.get("laws"), f"{where}.laws", path)
        results = {}
        for name in LAW_NAMES:
            if name not in laws:
                raise FitsFileError(f"{path}: {where}.laws: no {name!r} law (found: {', '.join(laws) or 'none'}) — "
                                    "refit with python -m t2lib fit")
            results[name], quality[(task, name)] = _result_from(laws[name], f"{where}.laws.{name}", path)
        stage = entry.get("stage")
        if stage not in STAGES:
            raise FitsFileError(f"{path}: {where}.stage: must be one of {', '.join(STAGES)}; got {stage!r}")
        fits[task] = TaskFits(task, stage, *(results[name] for name in LAW_NAMES))
        ranges[task] = _ranges_from(entry.get("fitted_range"), f"{where}.fitted_range", path)
        guess[task] = _guess_from(entry.get("guess"), f"{where}.guess", path)
    return SavedFits(fits, ranges, record["suite_sha256"], record["t2lib_version"], quality, path, guess)


def _guess_from(value: object, where: str, file: Path) -> float:
    """A task's guess probability (NaN when the file records none)."""
    if value is None:
        return float("nan")
    guess = _number(value, where, file)
    if not 0 < guess <= 1:
        raise FitsFileError(f"{file}: {where}: must be a probability in (0, 1], or null; got {value!r}")
    return guess
