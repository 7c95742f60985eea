"""A forecast written down before the models that test it are trained (the paper's validation
experiment, rerun on the book's own suite).

At one training budget beyond the suite's grid and one inference budget, the forecast holds, for
each approach, the T² optimum (N, D, k), the Chinchilla choice, and the optimum's neighbours at
half and double its size, each with its predicted macro task NLL (Approach 1) or pass@k
(Approach 2) at k = C_inf/(2N) and, given bootstrap replicates, a band. Given the sizes the
trainer can build, it also names the models to train (`trainable_sizes`) and prices each. It is saved with the
checksums of the fits file and the suite, so that a later commit of the trained models' results
can be shown to come after it.

A sweep forecast (`make_sweep_forecast`) does the same at several inference budgets at once, for
an isoFLOP sweep: one set of models, all trained at the one training budget, chosen to contain
each approach's optimum at every budget, the Chinchilla choice, any further choices named (e.g.
a Chinchilla law fitted to the LM loss, `lm_chinchilla`), and enough sizes around them to trace
the isoFLOP curve (`sweep_sizes`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from t2lib.book.formatting import format_number
from t2lib.data import checks
from t2lib.data.files import write_atomically
from t2lib.data.seeds import runs_digest
from t2lib.data.suite import Suite, SuiteError, budget_levels
from t2lib.data.tablecheck import TableCheck
from t2lib.laws.bootstrap import BAND_LEVEL, Replicates, laws_of, percentile_band
from t2lib.laws.fit import FitResult, fit_chinchilla
from t2lib.laws.fitquality import check_laws
from t2lib.laws.frontier import frontier, value_at
from t2lib.laws.plan import APPROACHES, join_flags, laws_behind, plan, range_flags
from t2lib.laws.saved import SavedFits, load_fits, t2lib_version

FORMAT = "t2lib-forecast-1"
SWEEP_FORMAT = "t2lib-sweep-forecast-1"  # several inference budgets, one set of models (c_infs instead of c_inf)
# A sweep's inference budgets, the stated rule: C_inf = 2 · N_chinchilla · k for these k, so that
# the Chinchilla choice draws one, ten and a hundred samples.
SWEEP_SAMPLES = (1.0, 10.0, 100.0)
MIN_SWEEP_SIZES = 5  # the fewest sizes a sweep trains
# What a forecast's laws were fitted to: each checkpoint (one run each), or, on a suite trained at
# several seeds, each seed's run apart or the seeds' mean probability per question (an ensemble's).
FITTED_TO = ("checkpoints", "each run", "pooled seeds")
# The files of a seeded sweep's two forecasts in its folder, by what their laws were fitted to.
SWEEP_FORECAST_FILES = {"each run": "forecast.json", "pooled seeds": "forecast_pooled.json"}
NEIGHBOURS = (0.5, 2.0)  # sizes tried beside each optimum, as multiples of its N
SNAP_FACTOR = 2.0  # a trainable size further than this factor from the law's choice no longer stands for it


class ForecastFileError(ValueError):
    """A forecast file that cannot be read back."""


def validation_budget(suite: Suite, factor: float = 4.0) -> float:
    """The training budget to validate at: `factor` times the suite's largest budget level
    (`suite.budget_levels`: a run misses its planned budget by its last batch)."""
    factor = float(checks.positive("factor", factor))
    return factor * float(budget_levels(suite.base["train_flops"]).max())


def chinchilla_size(saved: SavedFits, c_train: float, tasks: Sequence[str] | None = None) -> float:
    """The N the fitted Chinchilla laws (k = 1, macro task NLL) choose at c_train."""
    tasks = list(saved.fits) if tasks is None else list(tasks)
    laws = [saved.fits[t].chinchilla.law for t in tasks]
    return float(frontier(laws, np.array([float(checks.positive("c_train", c_train))]))["N"].iloc[0])


def inference_budget(saved: SavedFits, c_train: float, k_at_chinchilla: float = 1.0,
                     tasks: Sequence[str] | None = None, sizes: ArrayLike | None = None) -> float:
    """C_inf = 2·N_chinchilla·k_at_chinchilla: the Chinchilla choice at c_train affords
    `k_at_chinchilla` samples (one by default: the single-pass use Chinchilla's rule optimises),
    and a model of size N affords N_chinchilla/N times as many. Given `sizes` (those a trainer
    can build), N_chinchilla is the nearest of them on a log scale: the model that will be trained."""
    k_at_chinchilla = float(checks.sample_count("k_at_chinchilla", k_at_chinchilla))
    N = chinchilla_size(saved, c_train, tasks)
    if sizes is not None:
        sizes = checks.positive("sizes", sizes).astype(float)
        N = float(sizes[_nearest(sizes, N)])
    return 2.0 * N * k_at_chinchilla


def read_sizes(path: str | Path) -> NDArray[np.float64]:
    """The model sizes a trainer can build: the `params` column of a CSV (e.g. pretrain/validation_sizes.csv)."""
    check = TableCheck(Path(path))
    frame = check.read_csv(["params"], "the sizes a trainer can build: a CSV with a params column")
    params = check.require_numeric(frame, "params")
    check.first_bad_row(frame, "params", ~np.isfinite(params) | (params <= 0), "must be a number > 0")
    return params.to_numpy(dtype=float)


def _priced_rows(saved: SavedFits, tasks: list[str], key: str, sizes: NDArray, c_train: float, c_inf: float,
                 label: str, replicates: Replicates | None, band_level: float, note: str = "") -> list[dict]:
    """Rows for models of the given sizes on the isoFLOP curve of c_train, priced by approach
    `key` at k = C_inf/(2N), with a band when replicates are given and flags (the fit-quality
    flag of the laws behind them, which `plan`'s gate has already let through, and `note`),
    labelled `label`."""
    name = APPROACHES[key]
    quality = check_laws(saved.quality, laws_behind(label if label == "chinchilla" else key, key, tasks),
                         allow_degenerate=True, source="")
    values = value_at(laws_of({t: saved.fits[t] for t in tasks}, name), sizes, c_train, c_inf)
    band = None
    if replicates is not None:
        band = percentile_band(np.array([value_at(laws_of({t: fits[t] for t in tasks}, name), sizes, c_train, c_inf)
                                         for fits in replicates.fits]), band_level)
    rows = []
    for i, N in enumerate(sizes):
        D, k = c_train / (6 * N), c_inf / (2 * N)
        row = {"approach": label, "priced_by": key, "c_train": c_train, "c_inf": c_inf, "N": float(N), "D": D, "k": k,
               "tokens_per_param": D / N, "value": float(values[i]),
               "flags": join_flags(quality, note, range_flags(N, D, k, saved, tasks))}
        if band is not None:
            row.update(value_low=float(band[0][i]), value_high=float(band[1][i]))
        rows.append(row)
    return rows


def _optimum_size(optima: pd.DataFrame, key: str) -> float | None:
    """The N of approach `key`'s optimum ("1", "2") or of the Chinchilla choice ("chinchilla")."""
    chosen = optima[(optima["approach"] == key) & (optima["priced_by"] == (key if key in APPROACHES else "1"))]
    return None if chosen.empty else float(chosen["N"].iloc[0])


def _neighbours(saved: SavedFits, tasks: list[str], optima: pd.DataFrame, c_train: float, c_inf: float,
                replicates: Replicates | None, band_level: float) -> pd.DataFrame:
    """Each approach's optimum at half and double its size (those that afford one sample)."""
    rows = []
    for key in APPROACHES:
        optimum = _optimum_size(optima, key)
        if optimum is None:
            continue
        sizes = np.array([factor * optimum for factor in NEIGHBOURS])
        rows += _priced_rows(saved, tasks, key, sizes[sizes <= c_inf / 2], c_train, c_inf, f"{key} neighbour",
                             replicates, band_level)
    return pd.DataFrame(rows)


def _nearest(sizes: NDArray, N: float) -> int:
    """The index of the size nearest to N on a log scale."""
    return int(np.argmin(np.abs(np.log(sizes) - np.log(N))))


def trainable_sizes(optima: pd.DataFrame, sizes: ArrayLike, c_inf: float) -> tuple[NDArray, dict[float, str]]:
    """The sizes to train, from the sizes the trainer can build: each T² optimum snapped to the
    nearest size on a log scale, with the sizes one below and one above it, so that the trained
    models trace the isoFLOP curve around each optimum, and the Chinchilla choice snapped likewise;
    each with what it stands for. Sizes that cannot afford one sample (N > C_inf/2) are left out."""
    sizes = np.unique(checks.positive("sizes", sizes).astype(float))
    roles: dict[int, list[str]] = {}
    optimum_indices = []
    for key, what in (("1", "Approach 1 optimum"), ("2", "Approach 2 optimum"), ("chinchilla", "Chinchilla choice")):
        what += " (nearest trainable size)"
        N = _optimum_size(optima, key)
        if N is not None:
            index = _nearest(sizes, N)
            roles.setdefault(index, []).append(what)
            if key in APPROACHES:
                optimum_indices.append(index)
    for optimum in optimum_indices:
        for index in (optimum - 1, optimum + 1):
            if 0 <= index < len(sizes):
                roles.setdefault(index, ["neighbour"])
    chosen = sorted(i for i in roles if sizes[i] <= c_inf / 2)
    return sizes[chosen], {float(sizes[i]): ", ".join(roles[i]) for i in chosen}


def _snapped_chinchilla(saved: SavedFits, tasks: list[str], optima: pd.DataFrame, sizes: NDArray, c_train: float,
                        c_inf: float, replicates: Replicates | None, band_level: float) -> pd.DataFrame:
    """The plan's rows with the Chinchilla choice moved to the nearest size the trainer can build
    (the model that will be trained, whose size set C_inf) and priced there by each approach."""
    chinchilla = optima["approach"] == "chinchilla"
    rows = []
    for row in optima[chinchilla].itertuples():
        snapped = float(sizes[_nearest(sizes, row.N)])
        note = f"the law's choice, {row.N:.4g} parameters, snapped to the nearest trainable size"
        if max(snapped / row.N, row.N / snapped) > SNAP_FACTOR:
            note += (f", {max(snapped / row.N, row.N / snapped):.3g}× away: this row no longer prices the Chinchilla "
                     "choice — add trainable sizes near it")
        rows += _priced_rows(saved, tasks, row.priced_by, np.array([snapped]), c_train, c_inf, "chinchilla",
                             replicates, band_level, note)
    return pd.concat([optima[~chinchilla], pd.DataFrame(rows)], ignore_index=True)


def forecast_rows(saved: SavedFits, c_train: float, c_inf: float, *, tasks: Sequence[str] | None = None,
                  sizes: ArrayLike | None = None, replicates: Replicates | None = None,
                  band_level: float = BAND_LEVEL, allow_degenerate: bool = False) -> pd.DataFrame:
    """The rows of a forecast: those of `plan` at (c_train, c_inf) — each approach's optimum and
    the Chinchilla choice priced by each — and each optimum's neighbours at half and double N;
    given `sizes` (the N of the models the trainer can build), the Chinchilla choice snapped to
    the nearest of them, and the models to train (`trainable_sizes`), labelled "trainable" with
    their `role`, priced by each approach. DegenerateFitError when the forecast rests on a
    degenerate law, unless `allow_degenerate` (then its rows are flagged)."""
    c_train = float(checks.positive("c_train", c_train))
    c_inf = float(checks.positive("c_inf", c_inf))
    tasks = list(saved.fits) if tasks is None else list(tasks)
    optima = plan(saved, [c_train], c_inf, tasks=tasks, replicates=replicates, band_level=band_level,
                  allow_degenerate=allow_degenerate)
    parts = [optima, _neighbours(saved, tasks, optima, c_train, c_inf, replicates, band_level)]
    if sizes is not None:
        sizes = np.unique(checks.positive("sizes", sizes).astype(float))
        parts[0] = _snapped_chinchilla(saved, tasks, optima, sizes, c_train, c_inf, replicates, band_level)
        trained, roles = trainable_sizes(optima, sizes, c_inf)
        for key in APPROACHES:
            rows = pd.DataFrame(_priced_rows(saved, tasks, key, trained, c_train, c_inf, "trainable", replicates,
                                             band_level))
            parts.append(rows.assign(role=rows["N"].map(roles)))
    return pd.concat(parts, ignore_index=True)


def make_forecast(fits_file: str | Path, c_train: float, c_inf: float, *, tasks: Sequence[str] | None = None,
                  sizes: ArrayLike | None = None, replicates: Replicates | None = None, band_level: float = BAND_LEVEL,
                  rule: str = "", allow_degenerate: bool = False, fitted_to: str) -> dict:
    """The forecast from the fits saved in `fits_file` (`forecast_rows`) with its provenance:
    checksums of the fits file and of the suite, t2lib's version, the date, the `rule` that
    chose the budgets and what the laws were `fitted_to` (one of FITTED_TO). `replicates`
    (bootstrap refits of the same fits) add bands; `sizes` add the models to train."""
    fits_file = Path(fits_file)
    saved = load_fits(fits_file)
    tasks = list(saved.fits) if tasks is None else list(tasks)
    rows = forecast_rows(saved, c_train, c_inf, tasks=tasks, sizes=sizes, replicates=replicates,
                         band_level=band_level, allow_degenerate=allow_degenerate)
    return _record(FORMAT, fits_file, saved, tasks, rows, replicates, band_level, rule, fitted_to,
                   c_train=float(c_train), c_inf=float(c_inf))


def _record(form: str, fits_file: Path, saved: SavedFits, tasks: list[str], rows: pd.DataFrame,
            replicates: Replicates | None, band_level: float, rule: str, fitted_to: str, **budgets: object) -> dict:
    """A forecast's rows with its provenance, ready for JSON."""
    if fitted_to not in FITTED_TO:
        raise ValueError(f"fitted_to: {fitted_to!r} is not one of {', '.join(FITTED_TO)}")
    # Non-finite numbers as null; `role` only on the rows that have one (the models to train).
    records = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()
                if not (k == "role" and not isinstance(v, str))} for row in rows.to_dict(orient="records")]
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"format": form, "made": now.date().isoformat(), "made_at": now.isoformat(timespec="seconds"),
            "t2lib_version": t2lib_version(),
            "fits_file": str(fits_file), "fits_sha256": hashlib.sha256(fits_file.read_bytes()).hexdigest(),
            "suite_sha256": saved.suite_sha256, "tasks": tasks, **budgets,
            "rule": rule, "fitted_to": fitted_to, "band_level": band_level if replicates is not None else None,
            "fit_quality": {f"{task}: {law}": quality.status for (task, law), quality in saved.quality.items()
                            if task in tasks},
            "resamples": len(replicates.fits) if replicates is not None else 0, "rows": records}


def lm_chinchilla(suite: Suite, c_train: float, loss: str = "validation_loss") -> tuple[float, FitResult]:
    """The N that a Chinchilla law fitted to the suite's LM loss chooses at c_train, with the fit:
    L(N, D) = E + A/N^α + B/D^β fitted to the `loss` column of checkpoints.csv over the base
    checkpoints (a cell's seeds averaged)."""
    if loss not in suite.base:
        raise SuiteError(f"{suite.path}/checkpoints.csv: no column {loss!r} (the LM loss of each checkpoint)")
    runs = suite.base.groupby(["params", "tokens"], as_index=False)[loss].mean()
    if runs[loss].isna().any() or (runs[loss] <= 0).any():
        bad = runs[runs[loss].isna() | (runs[loss] <= 0)].iloc[0]
        raise SuiteError(f"{suite.path}/checkpoints.csv: column {loss!r} must be a loss > 0 for every base checkpoint; "
                         f"N {bad['params']:.0f}, D {bad['tokens']:.0f} has {bad[loss]}")
    result = fit_chinchilla(runs["params"], runs["tokens"], runs[loss])
    N = float(frontier(result.law, np.array([float(checks.positive("c_train", c_train))]))["N"].iloc[0])
    return N, result


def sweep_sizes(optima: pd.DataFrame, sizes: ArrayLike, extra: dict[str, float] | None = None,
                minimum: int = MIN_SWEEP_SIZES) -> tuple[NDArray, dict[float, str]]:
    """The sizes an isoFLOP sweep trains, from the sizes the trainer can build, each with what it
    stands for: at every inference budget of `optima` (plan rows, `c_inf` column), each
    approach's optimum and the Chinchilla choice, and each size of `extra` (name → N), snapped
    to the nearest size on a log scale (a target further than SNAP_FACTOR from it says so);
    then, while fewer than `minimum`, the unchosen size nearest an optimum, so that the sweep
    traces the isoFLOP curve around them. Sizes that afford no sample at any budget
    (N > C_inf/2) are left out."""
    sizes = np.unique(checks.positive("sizes", sizes).astype(float))
    roles: dict[int, list[str]] = {}
    targets = []
    for c_inf, budget in optima.groupby("c_inf", sort=True):
        for key, what in (("1", "Approach 1 optimum"), ("2", "Approach 2 optimum")):
            N = _optimum_size(budget, key)
            if N is not None:
                targets.append((f"{what} at C_inf {format_number(c_inf)}", N))
    chinchilla = _optimum_size(optima, "chinchilla")
    named = ([("Chinchilla choice (task NLL, k = 1)", chinchilla)] if chinchilla is not None else []) + list(
        (extra or {}).items())
    for what, N in targets + named:
        index = _nearest(sizes, N)
        away = max(sizes[index] / N, N / sizes[index])
        roles.setdefault(index, []).append(what + (f" ({away:.3g}× away)" if away > SNAP_FACTOR else ""))
    affordable = sizes <= optima["c_inf"].max() / 2
    optimum_logs = np.log([N for _, N in targets]) if targets else np.log([N for _, N in named])
    while len([i for i in roles if affordable[i]]) < minimum:
        free = [i for i in range(len(sizes)) if i not in roles and affordable[i]]
        if not free:
            break
        nearest = min(free, key=lambda i: np.min(np.abs(np.log(sizes[i]) - optimum_logs)))
        roles[nearest] = ["isoFLOP curve"]
    chosen = sorted(i for i in roles if affordable[i])
    return sizes[chosen], {float(sizes[i]): ", ".join(roles[i]) for i in chosen}


def sweep_forecast_rows(saved: SavedFits, c_train: float, c_infs: Sequence[float], *, sizes: ArrayLike,
                        extra: dict[str, float] | None = None, tasks: Sequence[str] | None = None,
                        replicates: Replicates | None = None, band_level: float = BAND_LEVEL,
                        allow_degenerate: bool = False, minimum: int = MIN_SWEEP_SIZES) -> pd.DataFrame:
    """`forecast_rows` at each inference budget (optima, Chinchilla choices, neighbours), and the
    models of the sweep (`sweep_sizes`), labelled "trainable" with their `role`, priced by each
    approach at every budget where they afford a sample."""
    c_train = float(checks.positive("c_train", c_train))
    if not len(c_infs):
        raise ValueError("c_infs: a sweep needs at least one inference budget")
    tasks = list(saved.fits) if tasks is None else list(tasks)
    budgets = [float(checks.positive("c_infs", c_inf)) for c_inf in c_infs]
    parts = [forecast_rows(saved, c_train, c_inf, tasks=tasks, replicates=replicates, band_level=band_level,
                           allow_degenerate=allow_degenerate) for c_inf in budgets]
    trained, roles = sweep_sizes(pd.concat(parts), sizes, extra, minimum)
    for c_inf in budgets:
        for key in APPROACHES:
            rows = pd.DataFrame(_priced_rows(saved, tasks, key, trained[trained <= c_inf / 2], c_train, c_inf,
                                             "trainable", replicates, band_level))
            parts.append(rows.assign(role=rows["N"].map(roles)))
    return pd.concat(parts, ignore_index=True)


def make_sweep_forecast(fits_file: str | Path, c_train: float, c_infs: Sequence[float], *, sizes: ArrayLike,
                        extra: dict[str, float] | None = None, tasks: Sequence[str] | None = None,
                        replicates: Replicates | None = None, band_level: float = BAND_LEVEL, rule: str = "",
                        allow_degenerate: bool = False, minimum: int = MIN_SWEEP_SIZES, fitted_to: str) -> dict:
    """A sweep forecast (`sweep_forecast_rows`) with the provenance of `make_forecast`, the
    budgets (`c_infs`) and the further choices it trains (`extra`)."""
    fits_file = Path(fits_file)
    saved = load_fits(fits_file)
    tasks = list(saved.fits) if tasks is None else list(tasks)
    rows = sweep_forecast_rows(saved, c_train, c_infs, sizes=sizes, extra=extra, tasks=tasks, replicates=replicates,
                               band_level=band_level, allow_degenerate=allow_degenerate, minimum=minimum)
    return _record(SWEEP_FORMAT, fits_file, saved, tasks, rows, replicates, band_level, rule, fitted_to,
                   c_train=float(c_train), c_infs=[float(c) for c in c_infs],
                   extra_sizes={k: float(v) for k, v in (extra or {}).items()})


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
    if record.get("format") not in (FORMAT, SWEEP_FORMAT):
        raise ForecastFileError(f"{path}: not a t2lib forecast (format {record.get('format')!r}, expected {FORMAT!r} "
                                f"or {SWEEP_FORMAT!r})")
    rows = pd.DataFrame(record.pop("rows"))
    return record, rows


def load_sweep_forecasts(files: Mapping[str, str | Path]) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Sweep forecasts of one sweep, keyed by what their laws were fitted to (`FITTED_TO`): each
    file's provenance and rows, checked to be a sweep forecast fitted to what its key says, all on
    the same tasks and further choices, at one training budget and made from one suite (a per-run
    forecast records its runs' checksum, `seeds.runs_digest` of the suite's)."""
    forecasts = {}
    for fitted_to, path in files.items():
        meta, rows = load_forecast(path)
        if meta["format"] != SWEEP_FORMAT:
            raise ForecastFileError(f"{path}: a forecast for one inference budget, not a sweep "
                                    "(make it with several --k-at-chinchilla)")
        if meta.get("fitted_to") != fitted_to:
            raise ForecastFileError(f"{path}: its laws are fitted to {meta.get('fitted_to')!r}, not {fitted_to!r} "
                                    f"(make it {'with' if fitted_to == 'each run' else 'without'} --each-run)")
        forecasts[fitted_to] = (meta, rows)
    named = ", ".join(map(str, files.values()))
    for key in ("tasks", "extra_sizes"):
        if len({json.dumps(meta.get(key), sort_keys=True) for meta, _ in forecasts.values()}) > 1:
            raise ForecastFileError(f"{named}: the forecasts differ in {key}; make them with the same options")
    budgets = {float(meta["c_train"]) for meta, _ in forecasts.values()}
    if len(budgets) > 1:
        raise ForecastFileError(f"{named}: the forecasts are at different training budgets "
                                f"({', '.join(f'{b:.3g}' for b in sorted(budgets))} FLOPs); make them from one grid")
    if len({_runs_checksum(meta) for meta, _ in forecasts.values()}) > 1:
        raise ForecastFileError(f"{named}: the forecasts were made from different suites; make them from one grid")
    return forecasts


def _runs_checksum(meta: dict) -> str:
    """The checksum of the runs a forecast was made from, as a per-run forecast records it."""
    return meta["suite_sha256"] if meta["fitted_to"] == "each run" else runs_digest(meta["suite_sha256"])


def largest_difference(rows: pd.DataFrame, other: pd.DataFrame) -> float:
    """The largest relative difference between two forecasts' numbers, row by row over the
    numeric columns both have (0 when identical): how far a recomputed forecast is from a
    committed one. Refuses forecasts of different rows."""
    if len(rows) != len(other) or list(rows["approach"]) != list(other["approach"]):
        raise ValueError(f"the forecasts have different rows ({len(rows)} and {len(other)}): not comparable")
    shared = [c for c in rows.columns if c in other.columns and pd.api.types.is_numeric_dtype(rows[c])
              and pd.api.types.is_numeric_dtype(other[c])]
    a, b = rows[shared].to_numpy(dtype=float), other[shared].to_numpy(dtype=float)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf")
    finite = np.isfinite(a)
    scale = np.maximum(np.abs(a[finite]), np.abs(b[finite]))
    differences = np.abs(a[finite] - b[finite]) / np.where(scale > 0, scale, 1.0)
    return float(differences.max(initial=0.0))
