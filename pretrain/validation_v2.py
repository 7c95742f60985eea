"""The second suite's validation: an isoFLOP sweep at a training budget beyond its grid, judged at
several inference budgets, its models named by a forecast committed before any is trained.

    python -m pretrain.validation_v2 sizes     # pretrain/validation_v2_sizes.csv: the shapes a forecast may choose
    python -m t2lib forecast data/real/t2mini-v2 --factor 2 --sizes pretrain/validation_v2_sizes.csv \\
        --k-at-chinchilla 1 10 100 --lm-loss validation_loss \\
        --out data/real/t2mini-v2-validation/forecast.json                   # then commit the forecast, first
    python -m pretrain.validation_v2 plan      # pretrain/validation_v2.csv: the sweep's cells, in the grid's format
    python -m pretrain.grid run --grid pretrain/validation_v2.csv --cheapest-first --runs runs/validation_v2
    python -m pretrain.validation_v2 build --runs runs/validation_v2   # data/real/t2mini-v2-validation

The rules (the issue's): the forecast is at FACTOR × the grid's largest budget, at the inference
budgets where the Chinchilla choice draws 1, 10 and 100 samples (`t2lib.laws.forecast.SWEEP_SAMPLES`);
it trains each approach's optimum at every budget, the Chinchilla choice of the task-NLL law at
k = 1 and of a Chinchilla law fitted to the grid's LM loss, and at least five sizes in all, each
snapped to the nearest shape here (the forecast flags one more than 2× away); every model at SEEDS
seeds, with the grid's shapes (heads of width about 16) and three smaller ones, learning rate rule
and corpus. Small models at this budget see billions of tokens (the 6K shape about 1.9e9 at 7.2e13
FLOPs, some 3.3 CPU-hours per seed by the cost model): `plan` prints the sweep's cost first.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

import t2lib
from pretrain import suite_v2
from pretrain.corpus_v2 import CORPUS_VERSION
from pretrain.grid import parameters_of
from pretrain.grid_v2 import WIDTH_DEPTH, cell_row, cost_summary, heads_of
from t2lib.book.formatting import format_number
from t2lib.laws.forecast import SWEEP_FORMAT, ForecastFileError, load_forecast

HERE = Path(__file__).resolve().parent
SIZES_FILE = HERE / "validation_v2_sizes.csv"
PLAN_FILE = HERE / "validation_v2.csv"
README_TEMPLATE = HERE / "validation_v2_readme.md"
OUT = Path("data/real/t2mini-v2-validation")
FORECAST_FILE = OUT / "forecast.json"
FACTOR = 2.0  # the validation budget, in multiples of the grid's largest: 7.2e13 FLOPs
SEEDS = 2
# Below the grid's smallest shape (16K parameters), for a T² optimum smaller than the grid's models
# (a dry run of the forecast on the partial grid put Approach 2's near 6K), so that the nearest
# trainable size is within 2× of it; their learning rate is the rule's, extrapolated below the
# sizes its sweeps covered.
SMALLER = [(8, 1), (12, 1), (16, 1)]
# Beyond the grid's largest shape, for a Chinchilla choice above 842K parameters.
LARGER = [(160, 4), (192, 5)]


def sizes_table() -> pd.DataFrame:
    """The shapes a sweep forecast may choose from: SMALLER, the grid's and LARGER, with their N."""
    rows = []
    for width, depth in SMALLER + WIDTH_DEPTH + LARGER:
        heads = heads_of(width)
        rows.append({"width": width, "depth": depth, "heads": heads,
                     "params": parameters_of(width, depth, heads, CORPUS_VERSION)})
    return pd.DataFrame(rows)


def plan_sweep(forecast_file: Path = FORECAST_FILE, sizes_file: Path = SIZES_FILE) -> pd.DataFrame:
    """The sweep's cells, one per size the forecast trains, in the grid's format (`pretrain.grid
    run --grid` trains them at their seeds), with what each stands for."""
    meta, rows = load_forecast(forecast_file)
    if meta["format"] != SWEEP_FORMAT:
        raise ValueError(f"{forecast_file}: a forecast for one inference budget, not a sweep "
                         "(make it with several --k-at-chinchilla)")
    trained = rows[rows["approach"] == "trainable"].drop_duplicates("N")
    shapes = pd.read_csv(sizes_file).set_index("params")
    unknown = trained[~trained["N"].round().astype(int).isin(shapes.index)]
    if not unknown.empty:
        raise ValueError(f"{forecast_file}: size {unknown['N'].iloc[0]:.0f} is not a shape of {sizes_file} "
                         "(make the forecast with --sizes that file)")
    c_train = float(meta["c_train"])
    cells = []
    for row in trained.sort_values("N").itertuples():
        params = int(round(row.N))
        shape = shapes.loc[params]
        width, depth, heads = int(shape["width"]), int(shape["depth"]), int(shape["heads"])
        cells.append({**cell_row(f"v-w{width}d{depth}", width, depth, heads, params, c_train, SEEDS), "role": row.role})
    return pd.DataFrame(cells)


def sizes_markdown(suite: t2lib.Suite, plan: pd.DataFrame) -> str:
    """The sweep's sizes as a Markdown table: N, tokens per parameter, seeds scored of planned, role."""
    done = suite.base.groupby("cell")["seed"].nunique()
    lines = ["| size | N | tokens per parameter | seeds scored | stands for |", "|---|---:|---:|---:|---|"]
    for row in plan.sort_values("params").itertuples():
        lines.append(f"| `{row.cell}` | {row.params:,} | {format_number(row.tokens_per_param)} | "
                     f"{done.get(row.cell, 0)} of {row.seeds} | {row.role} |")
    return "\n".join(lines)


def write_sweep_readme(suite: t2lib.Suite, plan: pd.DataFrame, path: Path, n_waiting: int = 0) -> None:
    """The sweep folder's README: the template with the forecast's provenance (read from the
    forecast.json beside it) and the sweep's status computed from the suite."""
    meta, _ = load_forecast(path.parent / FORECAST_FILE.name)
    base = suite.base
    statuses = Counter(meta["fit_quality"].values())
    path.write_text(README_TEMPLATE.read_text().format(
        made=meta["made"], t2lib_version=meta["t2lib_version"], suite_sha256=meta["suite_sha256"],
        fits_sha256=meta["fits_sha256"], tasks=", ".join(meta["tasks"]), resamples=meta["resamples"], factor=FACTOR,
        c_train=meta["c_train"], rule=meta["rule"], c_infs=", ".join(format_number(c) for c in meta["c_infs"]),
        fit_quality=", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
        n_runs=len(base), n_planned=int(plan["seeds"].sum()), n_cells=base["cell"].nunique(), n_grid_cells=len(plan),
        n_waiting=n_waiting, cpu_hours=base["wall_seconds"].sum() / 3600, cpus=", ".join(sorted(base["cpu"].unique())),
        torch=", ".join(sorted(base["torch"].unique())), corpus_version=CORPUS_VERSION,
        sizes_table=sizes_markdown(suite, plan)))


def build(runs: Path, out: Path = OUT, plan: Path = PLAN_FILE) -> t2lib.Suite:
    """The sweep's suite folder `out` (beside its committed forecast), from the scored runs of `plan`."""
    if not (out / FORECAST_FILE.name).exists():
        raise SystemExit(f"{out / FORECAST_FILE.name}: no committed forecast; make and commit it before training "
                         "the sweep (see this module's docstring)")
    return suite_v2.build(runs, out, plan, readme=write_sweep_readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["sizes", "plan", "build"])
    parser.add_argument("--forecast", type=Path, default=FORECAST_FILE)
    parser.add_argument("--runs", type=Path, default=Path("runs/validation_v2"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.command == "build":
        print(build(args.runs, args.out).summary())
        return
    if args.command == "sizes":
        sizes = sizes_table()
        sizes.to_csv(SIZES_FILE, index=False, lineterminator="\n")
        print(f"{len(sizes)} shapes -> {SIZES_FILE}")
        return
    try:
        plan = plan_sweep(args.forecast)
    except (ForecastFileError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    plan.to_csv(PLAN_FILE, index=False, float_format="%.6g", lineterminator="\n")
    print(f"{cost_summary(plan)} -> {PLAN_FILE}")


if __name__ == "__main__":
    main()
