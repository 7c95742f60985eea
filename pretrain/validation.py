"""The validation experiment: train the models a committed forecast names, with the grid's trainer
and data, evaluate them with the harness like the grid, and write them as a suite.

    python -m pretrain.validation sizes [--factor 4] [--max-hours 3.5]   # pretrain/validation_sizes.csv
    python -m t2lib forecast data/real/t2mini --sizes pretrain/validation_sizes.csv \
        --out data/real/t2mini-validation/forecast.json                  # then commit the forecast
    python -m pretrain.validation plan                  # pretrain/validation.csv: the forecast's models
    python -m pretrain.validation run --budget-minutes 110 --workers 2 [--runs runs/validation] [--cells v-w48d3]
    python -m pretrain.validation build [--runs runs/validation] [--out data/real/t2mini-validation]
    python -m pretrain.validation experiment --budget-minutes 110 --workers 2   # run, fine-tune, build; resumable

The validation budget is `factor` times the grid's largest. The sizes the forecast may choose
from are the shapes the trainer builds (the grid's ladder and pretrain.grid.LARGER_SHAPES) whose
estimated single-thread training time at that budget is at most `max_hours`: the smallest
models need the most tokens (D = C/(6N)), and on a CPU their per-step overhead makes them the
slowest to train. The forecast, committed before any of these models is trained, snaps each
optimum to the nearest of those sizes; its "trainable" rows name the models. Each is trained at
the forecast's budget, D rounded to whole batches, with the grid's learning rate and recipe,
and fine-tuned (ft, sft) like the grid's checkpoints:
`python -m pretrain.finetune run --grid pretrain/validation.csv --runs runs/validation`.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

import t2lib
from t2lib.laws.forecast import load_forecast
from pretrain import finetune
from pretrain.corpus import CONTEXT, Corpus
from pretrain.executors import Placement
from pretrain.grid import (GRID_FILE, LEARNING_RATE, add_placement_arguments, estimated_hours, placement_of, run,
                           shape_table)
from pretrain.harness import results_file
from pretrain.suite import evaluated_checkpoints, import_cells, task_table
from pretrain.train import CURVE, RESULT, RunSpec

HERE = Path(__file__).resolve().parent
SIZES_FILE = HERE / "validation_sizes.csv"
PLAN_FILE = HERE / "validation.csv"
SUITE = Path("data/real/t2mini-validation")
FORECAST_FILE = SUITE / "forecast.json"
FACTOR = 4.0  # the validation budget, in multiples of the grid's largest (t2lib forecast's default)
MAX_HOURS = 3.5  # the longest estimated single-thread training time of a validation model


def trainable_sizes(factor: float = FACTOR, max_hours: float = MAX_HOURS) -> pd.DataFrame:
    """The shapes trainable at `factor` × the grid's largest budget within `max_hours` each
    (estimated), with their estimated hours and tokens per parameter at that budget."""
    c_train = factor * pd.read_csv(GRID_FILE)["train_flops"].max()
    shapes = shape_table().drop(columns="in_grid")
    shapes["train_flops"] = c_train
    shapes["tokens_per_param"] = c_train / (6 * shapes["params"] ** 2)
    shapes["estimated_hours"] = [round(estimated_hours(n, c_train / (6 * n)), 2) for n in shapes["params"]]
    return shapes[shapes["estimated_hours"] <= max_hours].reset_index(drop=True)


def plan_validation(forecast_file: Path = FORECAST_FILE, sizes_file: Path = SIZES_FILE) -> pd.DataFrame:
    """One row per model to train: the forecast's trainable sizes, each matched to its shape."""
    meta, rows = load_forecast(forecast_file)
    trainable = rows[rows["approach"] == "trainable"].drop_duplicates("N")
    if trainable.empty:
        raise SystemExit(f"{forecast_file}: no trainable rows (make the forecast with --sizes {sizes_file})")
    shapes = pd.read_csv(sizes_file).set_index("params")
    unknown = trainable[~trainable["N"].round().astype(int).isin(shapes.index)]
    if not unknown.empty:
        raise SystemExit(f"{forecast_file}: size {unknown['N'].iloc[0]:.0f} is not a shape of {sizes_file}")
    table = []
    for row in trainable.itertuples():
        shape = shapes.loc[int(round(row.N))]
        batch_tokens = 32 * CONTEXT
        tokens = max(1, round(meta["c_train"] / (6 * row.N) / batch_tokens)) * batch_tokens
        width, depth, heads = int(shape["width"]), int(shape["depth"]), int(shape["heads"])
        table.append({"cell": f"v-w{width}d{depth}", "width": width, "depth": depth, "heads": heads, "params": int(round(row.N)), "train_flops": meta["c_train"],
                      "tokens": tokens, "tokens_per_param": tokens / row.N, "lr": LEARNING_RATE, "role": row.role,
                      "estimated_hours": round(estimated_hours(row.N, tokens), 3)})
    return pd.DataFrame(table)


def read_plan(path: Path = PLAN_FILE, cells: list[str] | None = None) -> list[RunSpec]:
    """The committed validation plan as run specifications, longest first (two workers then
    finish soonest: the slowest models start at once); only `cells` when given."""
    plan = pd.read_csv(path).sort_values("estimated_hours", ascending=False)
    if cells is not None:
        unknown = sorted(set(cells) - set(plan["cell"]))
        if unknown:
            raise SystemExit(f"{path}: no model named {unknown[0]!r} (models: {', '.join(plan['cell'])})")
        plan = plan[plan["cell"].isin(cells)]
    return [RunSpec(r.cell, int(r.width), int(r.depth), int(r.heads), int(r.tokens), float(r.lr))
            for r in plan.itertuples()]


def archive_runs(evaluated: list[tuple[str, Path]], folder: Path) -> None:
    """Keep each evaluated model's whole record in `folder`/CHECKPOINT: its training record and
    loss curve, the harness's results and per-question samples (gzipped, byte-reproducibly), and
    a base model's weights (a fine-tuning is rebuilt from its base by its recorded recipe)."""
    shutil.rmtree(folder, ignore_errors=True)
    for checkpoint, run_dir in evaluated:
        kept = folder / checkpoint
        kept.mkdir(parents=True)
        names = [RESULT, CURVE] + (["model.pt"] if run_dir.name not in finetune.RECIPES else [])
        for name in names:
            shutil.copy(run_dir / name, kept / name)
        results = results_file(run_dir)
        shutil.copy(results, kept / "lm_eval_results.json")
        for samples in sorted(results.parent.glob("samples_*.jsonl")):
            task = samples.name.removeprefix("samples_").rsplit("_", 1)[0]
            (kept / f"lm_eval_samples_{task}.jsonl.gz").write_bytes(gzip.compress(samples.read_bytes(), mtime=0))


def build(runs: Path, out: Path) -> t2lib.Suite:
    """Write the validation suite: every evaluated model of the plan (and its fine-tunings), with
    each one's records (`archive_runs`) and the forecast beside it untouched."""
    plan = pd.read_csv(PLAN_FILE)
    evaluated = evaluated_checkpoints(runs, plan)
    if not evaluated:
        raise SystemExit(f"{runs}: no evaluated validation models (run `python -m pretrain.validation run`)")
    with tempfile.TemporaryDirectory() as scratch:
        checkpoints, nll, curves = import_cells(runs, evaluated, Path(scratch))
    checkpoints = checkpoints.merge(plan[["cell", "role"]].rename(columns={"cell": "checkpoint"}), on="checkpoint",
                                    how="left")
    tasks = task_table(Corpus(0), "real: trained for this book (pretrain/validation.py), lm-evaluation-harness")
    t2lib.write_suite(out, checkpoints, nll, tasks)
    curves.to_csv(out / "curves.csv", index=False, lineterminator="\n")
    archive_runs(evaluated, out / "runs")
    return t2lib.load_suite(out)


def experiment(runs: Path, out: Path, budget_minutes: float, placement: Placement, device: str = "cpu") -> bool:
    """The whole experiment after its committed forecast, within `budget_minutes`: train the
    plan's models, fine-tune them (ft, sft), and write the suite once every one is evaluated.
    Resumable: returns whether the suite was written, and says what is left otherwise."""
    end = time.monotonic() + 60 * budget_minutes
    specs = read_plan()
    run(runs, budget_minutes, placement, device, specs)
    untrained = [spec.name for spec in specs if results_file(runs / spec.name) is None]
    if untrained:
        print(f"not yet trained and evaluated: {', '.join(untrained)}; rerun to continue")
        return False
    finetune.run(runs, max(0.0, (end - time.monotonic()) / 60), placement, device, grid=PLAN_FILE)
    untuned = finetune.pending(runs, PLAN_FILE)
    if not untuned.empty:
        print(f"not yet fine-tuned: {', '.join(untuned['run'] + '-' + untuned['stage'])}; rerun to continue")
        return False
    print(build(runs, out).summary())
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["sizes", "plan", "run", "build", "experiment"])
    parser.add_argument("--factor", type=float, default=FACTOR)
    parser.add_argument("--max-hours", type=float, default=MAX_HOURS)
    parser.add_argument("--forecast", type=Path, default=FORECAST_FILE)
    parser.add_argument("--runs", type=Path, default=Path("runs/validation"))
    parser.add_argument("--out", type=Path, default=SUITE)
    parser.add_argument("--budget-minutes", type=float, default=110.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cells", nargs="+", metavar="CELL",
                        help="run only these models of the plan (two runners must never share a model)")
    add_placement_arguments(parser)
    args = parser.parse_args()
    if args.command == "sizes":
        sizes = trainable_sizes(args.factor, args.max_hours)
        sizes.to_csv(SIZES_FILE, index=False, float_format="%.6g", lineterminator="\n")
        print(sizes.to_string(index=False))
        print(f"{len(sizes)} shapes trainable within {args.max_hours:g} estimated hours -> {SIZES_FILE}")
    elif args.command == "plan":
        plan = plan_validation(args.forecast)
        plan.to_csv(PLAN_FILE, index=False, float_format="%.6g", lineterminator="\n")
        print(plan.to_string(index=False))
        print(f"{len(plan)} models, {plan['estimated_hours'].sum():.1f} core-hours estimated -> {PLAN_FILE}")
    elif args.command == "run":
        run(args.runs, args.budget_minutes, placement_of(args), args.device, read_plan(cells=args.cells))
    elif args.command == "experiment":
        experiment(args.runs, args.out, args.budget_minutes, placement_of(args), args.device)
    else:
        print(build(args.runs, args.out).summary())


if __name__ == "__main__":
    main()
