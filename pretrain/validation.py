"""The validation experiment: train the models a committed forecast names, with the grid's trainer
and data, evaluate them with the harness like the grid, and write them as a suite.

    python -m pretrain.validation plan [--forecast FILE]       # write pretrain/validation.csv from the forecast
    python -m pretrain.validation run --budget-minutes 110 --workers 2 [--runs runs/validation]
    python -m pretrain.validation build [--runs runs/validation] [--out data/real/t2mini-validation]

The forecast (`python -m t2lib forecast data/real/t2mini --sizes pretrain/shapes.csv ...`) is
committed before any of these models is trained; its "trainable" rows name the sizes to train,
each one of the shapes in pretrain/shapes.csv. A model is trained at the forecast's budget,
D = C_train/(6N) rounded to whole batches, with the grid's learning rate and recipe, and
fine-tuned (ft, sft) like the grid's checkpoints:
`python -m pretrain.finetune run --cells pretrain/validation.csv --runs runs/validation`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

import t2lib
from t2lib.forecast import load_forecast
from pretrain.corpus import CONTEXT, DISPLAY_NAMES, TASKS, Corpus
from pretrain.grid import LEARNING_RATE, SHAPES_FILE, estimated_hours, run
from pretrain.harness import HARNESS_TASKS, results_file
from pretrain.suite import RECIPES, import_cells
from pretrain.train import RunSpec

HERE = Path(__file__).resolve().parent
PLAN_FILE = HERE / "validation.csv"
SUITE = Path("data/real/t2mini-validation")
FORECAST_FILE = SUITE / "forecast.json"


def plan_validation(forecast_file: Path = FORECAST_FILE) -> pd.DataFrame:
    """One row per model to train: the forecast's trainable sizes, each matched to its shape."""
    meta, rows = load_forecast(forecast_file)
    trainable = rows[rows["approach"] == "trainable"].drop_duplicates("N")
    if trainable.empty:
        raise SystemExit(f"{forecast_file}: no trainable rows (make the forecast with --sizes {SHAPES_FILE})")
    shapes = pd.read_csv(SHAPES_FILE).set_index("params")
    unknown = trainable[~trainable["N"].round().astype(int).isin(shapes.index)]
    if not unknown.empty:
        raise SystemExit(f"{forecast_file}: size {unknown['N'].iloc[0]:.0f} is not a shape of {SHAPES_FILE}")
    table = []
    for row in trainable.itertuples():
        shape = shapes.loc[int(round(row.N))]
        batch_tokens = 32 * CONTEXT
        tokens = max(1, round(meta["c_train"] / (6 * row.N) / batch_tokens)) * batch_tokens
        table.append({"cell": f"v-w{shape.width}d{shape.depth}", "width": int(shape.width), "depth": int(shape.depth),
                      "heads": int(shape.heads), "params": int(round(row.N)), "train_flops": meta["c_train"],
                      "tokens": tokens, "tokens_per_param": tokens / row.N, "lr": LEARNING_RATE, "role": row.role,
                      "estimated_hours": round(estimated_hours(row.N, tokens), 3)})
    return pd.DataFrame(table)


def read_plan(path: Path = PLAN_FILE) -> list[RunSpec]:
    """The committed validation plan as run specifications."""
    plan = pd.read_csv(path)
    return [RunSpec(r.cell, int(r.width), int(r.depth), int(r.heads), int(r.tokens), float(r.lr))
            for r in plan.itertuples()]


def build(runs: Path, out: Path) -> t2lib.Suite:
    """Write the validation suite: every evaluated model of the plan (and its fine-tunings), with
    the forecast beside it untouched."""
    plan = pd.read_csv(PLAN_FILE)
    evaluated = []
    for cell in plan["cell"]:
        candidates = [(cell, runs / cell)] + [(f"{cell}-{stage}", runs / cell / stage) for stage in RECIPES]
        evaluated += [(checkpoint, run_dir) for checkpoint, run_dir in candidates if results_file(run_dir)]
    if not evaluated:
        raise SystemExit(f"{runs}: no evaluated validation models (run `python -m pretrain.validation run`)")
    with tempfile.TemporaryDirectory() as scratch:
        checkpoints, nll, curves = import_cells(runs, evaluated, Path(scratch))
    checkpoints = checkpoints.merge(plan[["cell", "role"]].rename(columns={"cell": "checkpoint"}), on="checkpoint",
                                    how="left")
    corpus = Corpus(0)
    tasks = pd.DataFrame({"task": HARNESS_TASKS, "display_name": [DISPLAY_NAMES[t] for t in TASKS], "group": "synthetic",
                          "n_questions": [len(corpus.questions[t]) for t in TASKS],
                          "source": "real: trained for this book (pretrain/validation.py), lm-evaluation-harness"})
    t2lib.write_suite(out, checkpoints, nll, tasks)
    curves.to_csv(out / "curves.csv", index=False, lineterminator="\n")
    return t2lib.load_suite(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["plan", "run", "build"])
    parser.add_argument("--forecast", type=Path, default=FORECAST_FILE)
    parser.add_argument("--runs", type=Path, default=Path("runs/validation"))
    parser.add_argument("--out", type=Path, default=SUITE)
    parser.add_argument("--budget-minutes", type=float, default=110.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.command == "plan":
        plan = plan_validation(args.forecast)
        plan.to_csv(PLAN_FILE, index=False, float_format="%.6g", lineterminator="\n")
        print(plan.to_string(index=False))
        print(f"{len(plan)} models, {plan['estimated_hours'].sum():.1f} core-hours estimated -> {PLAN_FILE}")
    elif args.command == "run":
        run(args.runs, args.budget_minutes, args.workers, args.device, specs=read_plan())
    else:
        print(build(args.runs, args.out).summary())


if __name__ == "__main__":
    main()
