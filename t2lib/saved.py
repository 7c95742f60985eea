"""Fitted laws saved to one JSON file and reloaded to identical predictions.

The file holds, per task, every law of `analysis.TaskFits` with its parameters and how its fit
ended, the ranges of N, D and k it was fitted on (so that a plan can flag extrapolation), the
checksum of the suite it was fitted to and t2lib's version. Floats are written with Python's
shortest round-trip representation, so a reloaded law predicts bit-identically.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, fields
from importlib.metadata import version
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from t2lib.analysis import TaskFits, nll_of
from t2lib.files import write_atomically
from t2lib.fit import FitResult
from t2lib.laws import Chinchilla, Law, T2Accuracy, T2Loss
from t2lib.suite import Suite

FORMAT = "t2lib-fits-1"
LAW_KINDS = {"Chinchilla": Chinchilla, "T2Loss": T2Loss, "T2Accuracy": T2Accuracy}


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


def _law_from(record: dict, file: Path) -> Law:
    kind = LAW_KINDS.get(record.get("kind"))
    if kind is None:
        raise FitsFileError(f"{file}: unknown law kind {record.get('kind')!r}")
    values = {f.name: (_law_from(record[f.name], file) if f.name == "chinchilla" else record[f.name])
              for f in fields(kind)}
    return kind(**values)


def save_fits(fits: dict[str, TaskFits], path: str | Path, *, suite: Suite, ks: ArrayLike,
              checkpoints: Collection[str] | None = None) -> Path:
    """Write `fits` (from `analysis.fit_suite` on `suite` with these `ks`, and on these
    `checkpoints` if it was given some) to a JSON file."""
    path = Path(path)
    tasks = {}
    for task, fit in fits.items():
        meta, _ = nll_of(suite, task, fit.stage, checkpoints)
        ks_arr = np.asarray(ks, dtype=float)
        ranges = {"N": [float(meta["params"].min()), float(meta["params"].max())],
                  "D": [float(meta["tokens"].min()), float(meta["tokens"].max())],
                  "k": [float(ks_arr.min()), float(ks_arr.max())]}
        laws = {}
        for name, result in fit.results().items():
            outcome = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "law"}
            outcome["on_bounds"] = list(result.on_bounds)
            laws[name] = {"law": _law_record(result.law), **outcome}
        tasks[task] = {"stage": fit.stage, "fitted_range": ranges, "laws": laws}
    record = {"format": FORMAT, "t2lib_version": t2lib_version(), "suite": str(suite.path),
              "suite_sha256": suite.sha256, "tasks": tasks}
    return write_atomically(path, (json.dumps(record, indent=1) + "\n").encode())


def load_fits(path: str | Path) -> SavedFits:
    """Reload a fits file written by `save_fits` by this t2lib version; FitsFileError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FitsFileError(f"{path}: no such fits file")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise FitsFileError(f"{path}: not JSON ({error.msg}, line {error.lineno})") from None
    if record.get("format") != FORMAT:
        raise FitsFileError(f"{path}: not a t2lib fits file (format {record.get('format')!r}, expected {FORMAT!r})")
    if record.get("t2lib_version") != t2lib_version():
        raise FitsFileError(f"{path}: written by t2lib {record.get('t2lib_version')}, this is t2lib {t2lib_version()}; "
                            "refit with this version (python -m t2lib fit)")
    fits, ranges = {}, {}
    for task, entry in record["tasks"].items():
        results = {}
        for name, saved in entry["laws"].items():
            outcome = {k: v for k, v in saved.items() if k != "law"}
            outcome["on_bounds"] = tuple(outcome.get("on_bounds", ()))
            results[name] = FitResult(law=_law_from(saved["law"], path), **outcome)
        fits[task] = TaskFits(task, entry["stage"], results["Chinchilla (k = 1)"], results["Approach 1"],
                              results["Approach 2"])
        ranges[task] = {quantity: tuple(span) for quantity, span in entry["fitted_range"].items()}
    return SavedFits(fits, ranges, record["suite_sha256"], record["t2lib_version"])
