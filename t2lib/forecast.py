"""A forecast written down before the models that test it are trained (the paper's validation
experiment, rerun on the book's own suite).

At one training budget beyond the suite's grid and one inference budget, the forecast holds, for
each approach, the T² optimum (N, D, k), the Chinchilla choice, and the optimum's neighbours at
half and double its size, each with its predicted macro task NLL (Approach 1) or pass@k
(Approach 2) at k = C_inf/(2N) and, given bootstrap replicates, a band. It is saved with the
checksums of the fits file and the suite, so that a later commit of the trained models' results
can be shown to come after it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib import checks
from t2lib.bootstrap import BAND_LEVEL, Replicates, laws_of, percentile_band
from t2lib.files import write_atomically
from t2lib.frontier import value_at
from t2lib.plan import APPROACHES, plan, range_flags
from t2lib.saved import SavedFits, load_fits, t2lib_version
from t2lib.suite import Suite

FORMAT = "t2lib-forecast-1"
NEIGHBOURS = (0.5, 2.0)  # sizes tried beside each optimum, as multiples of its N


class ForecastFileError(ValueError):
    """A forecast file that cannot be read back."""


def validation_budget(suite: Suite, factor: float = 4.0) -> float:
    """The training budget to validate at: `factor` times the suite's largest base budget."""
    factor = float(checks.positive("factor", factor))
    return factor * float(suite.base["train_flops"].max())


def inference_budget(suite: Suite, k_at_largest: float = 1.0) -> float:
    """C_inf = 2·N_max·k_at_largest: the largest checkpoint affords `k_at_largest` samples, and
    every smaller one N_max/N times as many (so k spans the grid's range of sizes)."""
    k_at_largest = float(checks.sample_count("k_at_largest", k_at_largest))
    return 2.0 * float(suite.base["params"].max()) * k_at_largest


def _neighbours(saved: SavedFits, tasks: list[str], optima: pd.DataFrame, c_train: float, c_inf: float,
                replicates: Replicates | None, band_level: float) -> pd.DataFrame:
    """Each approach's optimum at half and double its size (those that afford one sample), with
    the predicted value, its band and flags, in the columns of `plan`."""
    rows = []
    for key, name in APPROACHES.items():
        optimum = optima[(optima["approach"] == key) & (optima["priced_by"] == key)]
        if optimum.empty:
            continue
        sizes = np.array([factor * float(optimum["N"].iloc[0]) for factor in NEIGHBOURS])
        sizes = sizes[sizes <= c_inf / 2]
        values = value_at(laws_of({t: saved.fits[t] for t in tasks}, name), sizes, c_train, c_inf)
        band = None
        if replicates is not None:
            band = percentile_band(np.array([value_at(laws_of({t: fits[t] for t in tasks}, name), sizes, c_train,
                                                      c_inf) for fits in replicates.fits]), band_level)
        for i, N in enumerate(sizes):
            D, k = c_train / (6 * N), c_inf / (2 * N)
            row = {"approach": f"{key} neighbour", "priced_by": key, "c_train": c_train, "c_inf": c_inf, "N": N, "D": D,
                   "k": k, "tokens_per_param": D / N, "value": float(values[i]),
                   "flags": range_flags(N, D, k, saved, tasks)}
            if band is not None:
                row.update(value_low=float(band[0][i]), value_high=float(band[1][i]))
            rows.append(row)
    return pd.DataFrame(rows)


def forecast_rows(saved: SavedFits, c_train: float, c_inf: float, *, tasks: Sequence[str] | None = None,
                  replicates: Replicates | None = None, band_level: float = BAND_LEVEL) -> pd.DataFrame:
    """The rows of a forecast: those of `plan` at (c_train, c_inf) — each approach's optimum and
    the Chinchilla choice priced by each — and each optimum's neighbours at half and double N."""
    c_train = float(checks.positive("c_train", c_train))
    c_inf = float(checks.positive("c_inf", c_inf))
    tasks = list(saved.fits) if tasks is None else list(tasks)
    optima = plan(saved, [c_train], c_inf, tasks=tasks, replicates=replicates, band_level=band_level)
    return pd.concat([optima, _neighbours(saved, tasks, optima, c_train, c_inf, replicates, band_level)],
                     ignore_index=True)


def make_forecast(fits_file: str | Path, c_train: float, c_inf: float, *, tasks: Sequence[str] | None = None,
                  replicates: Replicates | None = None, band_level: float = BAND_LEVEL, rule: str = "") -> dict:
    """The forecast from the fits saved in `fits_file` (`forecast_rows`) with its provenance:
    checksums of the fits file and of the suite, t2lib's version, the date, and the `rule` that
    chose the budgets. `replicates` (bootstrap refits of the same fits) add bands."""
    fits_file = Path(fits_file)
    saved = load_fits(fits_file)
    tasks = list(saved.fits) if tasks is None else list(tasks)
    rows = forecast_rows(saved, c_train, c_inf, tasks=tasks, replicates=replicates, band_level=band_level)
    records = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
               for row in rows.to_dict(orient="records")]
    return {"format": FORMAT, "made": datetime.date.today().isoformat(), "t2lib_version": t2lib_version(),
            "fits_file": str(fits_file), "fits_sha256": hashlib.sha256(fits_file.read_bytes()).hexdigest(),
            "suite_sha256": saved.suite_sha256, "tasks": tasks, "c_train": float(c_train), "c_inf": float(c_inf),
            "rule": rule, "band_level": band_level if replicates is not None else None,
            "resamples": len(replicates.fits) if replicates is not None else 0, "rows": records}


def save_forecast(forecast: dict, path: str | Path) -> Path:
    """Write the forecast as JSON, atomically (a reader never sees half a file)."""
    return write_atomically(path, (json.dumps(forecast, indent=1, default=float) + "\n").encode())


def load_forecast(path: str | Path) -> tuple[dict, pd.DataFrame]:
    """A saved forecast: its provenance (everything but the rows) and its rows as a table."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ForecastFileError(f"{path}: no such forecast file") from None
    except json.JSONDecodeError as error:
        raise ForecastFileError(f"{path}: not JSON ({error.msg}, line {error.lineno})") from None
    if record.get("format") != FORMAT:
        raise ForecastFileError(f"{path}: not a t2lib forecast (format {record.get('format')!r}, expected {FORMAT!r})")
    rows = pd.DataFrame(record.pop("rows"))
    return record, rows
