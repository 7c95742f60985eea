"""The second suite's validation: an isoFLOP sweep at a training budget beyond its grid, judged at
several inference budgets, its models named by a forecast committed before any is trained.

    python -m pretrain.validation_v2 sizes     # pretrain/validation_v2_sizes.csv: the shapes a forecast may choose
    python -m t2lib forecast data/real/t2mini-v2 --factor 2 --sizes pretrain/validation_v2_sizes.csv \\
        --k-at-chinchilla 1 10 100 --lm-loss validation_loss --each-run \\
        --out data/real/t2mini-v2-validation/forecast.json                   # laws fitted to each run
    python -m t2lib forecast data/real/t2mini-v2 --factor 2 --sizes pretrain/validation_v2_sizes.csv \\
        --k-at-chinchilla 1 10 100 --lm-loss validation_loss \\
        --out data/real/t2mini-v2-validation/forecast_pooled.json            # to the seeds' pooled mean
                                               # then commit both forecasts, first
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

The decision rule, fixed with the rules above: a head-to-head is a win or a loss only where the
95% interval of its paired difference over questions and seeds excludes zero and the difference
is at least `t2lib.laws.sweep.MIN_EFFECT` (0.01) in macro pass@k; the primary comparison is the
per-run forecast's T² model against the task-loss Chinchilla choice on pass@k at the largest
inference budget; every other comparison is secondary, reported without correction for their number.

Two forecasts, made from the same grid and both committed before any sweep model is trained; the sweep trains every size either names. T² plans one trained model drawing k
samples, so its pass@k is each model's: the laws of `forecast.json` are fitted to each seed's run
as a checkpoint of its own. The issue asked for fits to the seeds' mean probability per question,
which is an ensemble's pass@k (higher for k > 1, by Jensen's inequality); when this was decided
(65 of 71 cells trained), the two fits put Approach 2's hindcast optimum at 4.48e12 FLOPs 4.5×
apart, and at 8.96e12 in the same place. That forecast is `forecast_pooled.json`. Both were
decided before either was made from the complete grid.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

import t2lib
from pretrain import suite_v2
from pretrain.corpus_v2 import CORPUS_VERSION
from pretrain.grid import parameters_of
from pretrain.grid_v2 import WIDTH_DEPTH, cell_row, cost_summary, heads_of
from t2lib.book.formatting import format_number
from t2lib.laws.forecast import SWEEP_FORECAST_FILES, ForecastFileError, load_sweep_forecasts

HERE = Path(__file__).resolve().parent
SIZES_FILE = HERE / "validation_v2_sizes.csv"
PLAN_FILE = HERE / "validation_v2.csv"
README_TEMPLATE = HERE / "validation_v2_readme.md"
OUT = Path("data/real/t2mini-v2-validation")
# The sweep's forecasts by what their laws were fitted to (`t2lib.laws.forecast.FITTED_TO`).
FORECAST_FILES = {fitted_to: OUT / name for fitted_to, name in SWEEP_FORECAST_FILES.items()}
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


def plan_sweep(forecast_files: Mapping[str, Path] | None = None, sizes_file: Path = SIZES_FILE) -> pd.DataFrame:
    """The sweep's cells, one per size any of the forecasts trains, in the grid's format (`pretrain.grid
    run --grid` trains them at their seeds), with what each stands for in which forecast."""
    forecasts = load_sweep_forecasts(FORECAST_FILES if forecast_files is None else forecast_files)
    shapes = pd.read_csv(sizes_file).set_index("params")
    roles: dict[int, list[str]] = {}
    for fitted_to, (_, rows) in forecasts.items():
        trained = rows[rows["approach"] == "trainable"].drop_duplicates("N")
        unknown = trained[~trained["N"].round().astype(int).isin(shapes.index)]
        if not unknown.empty:
            raise ValueError(f"forecast fitted to {fitted_to}: size {unknown['N'].iloc[0]:.0f} is not a shape of "
                             f"{sizes_file} (make the forecast with --sizes that file)")
        for row in trained.itertuples():
            role = f"{fitted_to}: {row.role}" if len(forecasts) > 1 else row.role
            roles.setdefault(int(round(row.N)), []).append(role)
    c_train = float(next(iter(forecasts.values()))[0]["c_train"])
    cells = []
    for params in sorted(roles):
        shape = shapes.loc[params]
        width, depth, heads = int(shape["width"]), int(shape["depth"]), int(shape["heads"])
        cells.append({**cell_row(f"v-w{width}d{depth}", width, depth, heads, params, c_train, SEEDS),
                      "role": "; ".join(roles[params])})
    return pd.DataFrame(cells)


def sizes_markdown(base: pd.DataFrame, plan: pd.DataFrame) -> str:
    """The sweep's sizes as a Markdown table: N, tokens per parameter, seeds scored (in the base
    checkpoints `base`) of planned, role."""
    done = base.groupby("cell")["seed"].nunique()
    lines = ["| size | N | tokens per parameter | seeds scored | stands for |", "|---|---:|---:|---:|---|"]
    for row in plan.sort_values("params").itertuples():
        lines.append(f"| `{row.cell}` | {row.params:,} | {format_number(row.tokens_per_param)} | "
                     f"{done.get(row.cell, 0)} of {row.seeds} | {row.role} |")
    return "\n".join(lines)


def forecasts_markdown(folder: Path) -> str:
    """One Markdown item per committed forecast in `folder`: its file, command, provenance, budgets
    and the quality of the laws behind it."""
    items = []
    for fitted_to, (meta, _) in load_sweep_forecasts(_in_folder(folder)).items():
        name = FORECAST_FILES[fitted_to].name
        flag = " --each-run" if fitted_to == "each run" else ""
        statuses = Counter(meta["fit_quality"].values())
        items.append(
            f"- **Laws fitted to {fitted_to}**: `{name}`, made {meta.get('made_at', meta['made'])} (UTC) by t2lib "
            f"{meta['t2lib_version']} with\n\n"
            f"      python -m t2lib forecast data/real/t2mini-v2 --factor {FACTOR:g} \\\n"
            f"          --sizes pretrain/validation_v2_sizes.csv --k-at-chinchilla 1 10 100 \\\n"
            f"          --lm-loss validation_loss{flag} \\\n"
            f"          --out {OUT / name}\n\n"
            f"  from the suite whose checksum it records as `{meta['suite_sha256']}` (its fits: "
            f"`{Path(name).stem}.fits.json`, sha256 `{meta['fits_sha256']}`), on the tasks {', '.join(meta['tasks'])}, "
            f"with {meta['resamples']} bootstrap replicates for its bands. Its rule: {meta['rule']}. C_train = "
            f"{meta['c_train']:.3g} FLOPs; the inference budgets: {', '.join(format_number(c) for c in meta['c_infs'])} "
            f"FLOPs per token. Fit quality of its laws: "
            f"{', '.join(f'{count} {status}' for status, count in sorted(statuses.items()))}.")
    return "\n".join(items)


def _in_folder(folder: Path) -> dict[str, Path]:
    return {fitted_to: folder / path.name for fitted_to, path in FORECAST_FILES.items()}


def write_sweep_readme(suite: t2lib.Suite | None, plan: pd.DataFrame, path: Path, n_waiting: int = 0) -> None:
    """The sweep folder's README: the template with the forecasts' provenance (read from the
    forecast files beside it) and the sweep's status computed from the suite (None: no run scored yet)."""
    base = suite.base if suite is not None else pd.DataFrame(columns=["cell", "seed", "wall_seconds", "cpu", "torch"])
    path.write_text(README_TEMPLATE.read_text().format(
        forecasts=forecasts_markdown(path.parent), factor=FACTOR, timing=timing_sentence(base, path.parent),
        n_runs=len(base), n_planned=int(plan["seeds"].sum()), n_cells=base["cell"].nunique(), n_grid_cells=len(plan),
        n_waiting=n_waiting, cpu_hours=base["wall_seconds"].sum() / 3600,
        cpus=", ".join(sorted(base["cpu"].unique())) or "none yet", torch=", ".join(sorted(base["torch"].unique())) or "-",
        corpus_version=CORPUS_VERSION, sizes_table=sizes_markdown(base, plan)))


def timing_sentence(base: pd.DataFrame, folder: Path) -> str:
    """When the earliest run of the sweep started, against when its forecasts in `folder` were made
    (UTC, as the runs and forecasts record it)."""
    if "started_at" not in base or base.empty:
        return "No run records when it started yet." if base.empty else "The runs do not record when they started."
    made = max(meta.get("made_at", meta["made"]) for meta, _ in load_sweep_forecasts(_in_folder(folder)).values())
    earliest = str(base["started_at"].min())
    return (f"The earliest run started {earliest} (UTC), {'after' if earliest > made else '**before**'} the later "
            f"forecast was made ({made}).")


def build(runs: Path, out: Path = OUT, plan: Path = PLAN_FILE) -> t2lib.Suite:
    """The sweep's suite folder `out` (beside its committed forecasts), from the scored runs of `plan`."""
    missing = [path for path in _in_folder(out).values() if not path.exists()]
    if missing:
        raise SystemExit(f"{missing[0]}: no committed forecast; make and commit both forecasts before training "
                         "the sweep (see this module's docstring)")
    return suite_v2.build(runs, out, plan, readme=write_sweep_readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["sizes", "plan", "build"])
    parser.add_argument("--runs", type=Path, default=Path("runs/validation_v2"))
    parser.add_argument("--out", type=Path, default=OUT, help="the sweep's folder, where its forecasts are committed")
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
        plan = plan_sweep(_in_folder(args.out))
    except (ForecastFileError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    plan.to_csv(PLAN_FILE, index=False, float_format="%.6g", lineterminator="\n")
    if not (args.out / "checkpoints.csv").exists():  # before any run is scored: the plan and README beside the forecasts
        plan.to_csv(args.out / "grid.csv", index=False, float_format="%.6g", lineterminator="\n")
        write_sweep_readme(None, plan, args.out / "README.md")
    print(f"{cost_summary(plan)} -> {PLAN_FILE}")


if __name__ == "__main__":
    main()
