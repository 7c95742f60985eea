"""The classroom lab: spend a FLOP budget on a handful of tiny models, fit a scaling law to them,
predict the best model at ten times the budget, and check the prediction against models this
book trained at that budget.

    make lab                                          # the default plan, trained and checked
    python -m pretrain.lab plan [--run w24d2:4e11 ...]  # what a plan costs, without training
    python -m pretrain.lab run --out lab [--run SHAPE:FLOPS ...] [--workers 2] [--seed 0]
    python -m pretrain.lab check --out lab [--target 4e12]

A run is a shape of the suite's ladder (w16d1, w24d1, w24d2, …: width and depth) and its
training FLOPs C = 6ND; D follows. The plan may spend at most LAB_BUDGET FLOPs in all. `check`
fits L(N, D) = E + A/N^α + B/D^β to the runs' validation losses (t2lib.fit_chinchilla, with its
status: a fit that ends on a bound says so), finds the size it predicts best at the target budget
(default: ten times the plan's largest), and compares with the validation losses of the
checkpoints of data/real/t2mini trained at that budget (real runs, same corpus, same recipe).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import t2lib
from t2lib.data.files import write_atomically
from pretrain.corpus import CORPUS_VERSION
from pretrain.executors import Placement, launch
from pretrain.grid import LARGER_SHAPES, LEARNING_RATE, SHAPES, estimated_hours, parameters_of
from pretrain.train import RunSpec, train

LAB_BUDGET = 3e12  # FLOPs a student may spend on all their runs together
DEFAULT_RUNS = [f"{shape}:{flops:g}" for shape in ("w16d1", "w24d1", "w24d2", "w32d2", "w40d2")
                for flops in (2e11, 4e11)]
SUITE = Path(__file__).resolve().parent.parent / "data" / "real" / "t2mini"
SHAPE_OF = {f"w{w}d{d}": (w, d, h) for w, d, h in SHAPES + LARGER_SHAPES}
TARGET_FACTOR = 10.0
SAME_BUDGET = 0.05  # suite checkpoints within 5% of the target FLOPs count as trained at it
RESULTS = "lab.csv"
MIN_RUNS = 7  # t2lib.fit_chinchilla's least number of points for its five parameters


class LabError(ValueError):
    """A plan or a lab folder that cannot be used; the message names the argument or file."""


def parse_run(text: str, seed: int = 0) -> RunSpec:
    """'w24d2:4e11' as the run specification the suite's recipe gives it."""
    shape, _, flops_text = text.partition(":")
    if shape not in SHAPE_OF:
        raise LabError(f"--run {text!r}: unknown shape {shape!r}; choose one of {', '.join(SHAPE_OF)}")
    try:
        flops = float(flops_text)
    except ValueError:
        raise LabError(f"--run {text!r}: the training FLOPs after ':' must be a number such as 4e11") from None
    if not np.isfinite(flops) or flops <= 0:
        raise LabError(f"--run {text!r}: the training FLOPs must be positive and finite")
    width, depth, heads = SHAPE_OF[shape]
    tokens = round(flops / (6 * parameters_of(width, depth, heads)))
    if tokens < 128 * 32:
        raise LabError(f"--run {text!r}: {flops:g} FLOPs buy {tokens} tokens, less than one batch; spend more")
    name = f"{shape}-{flops:.2g}".replace("e+", "e") + (f"-s{seed}" if seed else "")
    return RunSpec(name, width, depth, heads, tokens, LEARNING_RATE, model_seed=seed, data_seed=seed,
                   corpus_version=CORPUS_VERSION)


def plan_table(runs: list[str], seed: int = 0, budget: float = LAB_BUDGET) -> pd.DataFrame:
    """The plan, one row per run, with its N, D, C and estimated single-thread minutes; refused
    (LabError) when it spends more than `budget` or names a run twice."""
    specs = [parse_run(text, seed) for text in runs]
    names = [spec.name for spec in specs]
    if len(set(names)) < len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise LabError(f"--run: {repeated} is asked for twice; each shape and budget once")
    rows = []
    for text, spec in zip(runs, specs):
        params = parameters_of(spec.width, spec.depth, spec.heads)
        rows.append({"run": spec.name, "shape": text.partition(":")[0], "params": params, "tokens": spec.tokens,
                     "train_flops": 6.0 * params * spec.tokens, "tokens_per_param": spec.tokens / params,
                     "minutes": 60 * estimated_hours(params, spec.tokens)})
    table = pd.DataFrame(rows)
    if table["train_flops"].sum() > budget * (1 + 1e-9):
        raise LabError(f"--run: the plan spends {table['train_flops'].sum():.3g} FLOPs, more than the lab's "
                       f"budget of {budget:.3g}; drop a run or give smaller budgets")
    return table


def describe_plan(table: pd.DataFrame, workers: int, budget: float = LAB_BUDGET) -> str:
    minutes = table["minutes"].sort_values(ascending=False).to_numpy()
    lanes = np.zeros(workers)
    for m in minutes:  # the longest runs first, each to the least busy worker
        lanes[np.argmin(lanes)] += m
    shown = table.assign(params=table["params"].map("{:,}".format), tokens=table["tokens"].map("{:,}".format),
                         train_flops=table["train_flops"].map("{:.3g}".format),
                         tokens_per_param=table["tokens_per_param"].map("{:,.0f}".format),
                         minutes=table["minutes"].map("{:.1f}".format))
    return (shown.rename(columns={"params": "N", "tokens": "D", "train_flops": "C=6ND", "tokens_per_param": "D/N"})
            .to_string(index=False)
            + f"\n\n{len(table)} runs, {table['train_flops'].sum():.3g} of the lab's {budget:.3g} FLOPs; about "
              f"{lanes.max():.0f} minutes with {workers} worker(s) (estimated from the first suite's throughput, "
              "pretrain.grid.THROUGHPUT; a slower CPU takes longer).")


def _train(job: tuple[RunSpec, Path]) -> dict:
    spec, folder = job
    return train(spec, folder / spec.name)


def run(runs: list[str], out: Path, workers: int, seed: int = 0) -> pd.DataFrame:
    """Train the plan (resuming any run already started in `out`) and write `out`/lab.csv."""
    plan_table(runs, seed)
    specs = [parse_run(text, seed) for text in runs]
    out.mkdir(parents=True, exist_ok=True)
    results = list(launch(_train, [(spec, out / "runs") for spec in specs], Placement(workers=workers),
                          deadline=time.monotonic() + 7 * 24 * 3600))
    table = pd.DataFrame([{"run": r["name"], "params": r["params"], "tokens": r["tokens"],
                           "train_flops": 6.0 * r["params"] * r["tokens"], "validation_loss": r["validation_loss"],
                           "wall_seconds": r["wall_seconds"]} for r in results]).sort_values(["train_flops", "params"])
    write_atomically(out / RESULTS, table.to_csv(index=False, float_format="%.6g").encode())
    return table


def read_results(out: Path) -> pd.DataFrame:
    path = out / RESULTS
    if not path.exists():
        raise LabError(f"{path}: no lab results; train first with `python -m pretrain.lab run --out {out}`")
    table = pd.read_csv(path)
    missing = {"run", "params", "tokens", "validation_loss"} - set(table.columns)
    if missing:
        raise LabError(f"{path}: missing column(s) {', '.join(sorted(missing))}; rerun `pretrain.lab run`")
    return table


def suite_at(target: float, suite: Path = SUITE) -> pd.DataFrame:
    """The suite's base checkpoints trained at the target budget (within SAME_BUDGET)."""
    checkpoints = t2lib.load_suite(suite).base
    at = checkpoints[np.abs(checkpoints["train_flops"] / target - 1) <= SAME_BUDGET]
    if at.empty:
        levels = ", ".join(f"{c:.3g}" for c in sorted(checkpoints["train_flops"].round(-9).unique()))
        raise LabError(f"--target {target:.3g}: {suite} has no checkpoints trained at that budget; it has {levels}")
    return at.sort_values("params")


def check(out: Path, target: float | None = None, suite: Path = SUITE) -> str:
    """Fit the law to the lab's runs, predict the best size at the target budget and compare with
    the suite's checkpoints there; the report as text."""
    lab = read_results(out)
    if lab["params"].nunique() < 3 or len(lab) < MIN_RUNS:
        raise LabError(f"{out / RESULTS}: the law's fit needs at least {MIN_RUNS} runs of at least three sizes; "
                       f"this lab has {len(lab)} run(s) of {lab['params'].nunique()} size(s)")
    target = float(target or TARGET_FACTOR * (6.0 * lab["params"] * lab["tokens"]).max())
    measured = suite_at(target, suite)
    fit = t2lib.fit_chinchilla(lab["params"], lab["tokens"], lab["validation_loss"])
    law = fit.law
    best_size = float(np.asarray(law.compute_optimal(target)[0]).item())
    predicted = law.loss(measured["params"].to_numpy(), target / (6 * measured["params"].to_numpy()))
    table = pd.DataFrame({"checkpoint": measured["checkpoint"], "N": measured["params"].map(lambda n: f"{n:,.0f}"),
                          "D/N": (measured["tokens"] / measured["params"]).map("{:,.0f}".format),
                          "measured loss": measured["validation_loss"].map("{:.3f}".format),
                          "predicted loss": [f"{p:.3f}" for p in predicted],
                          "error": [f"{p / m - 1:+.1%}" for p, m in zip(predicted, measured["validation_loss"])]})
    best_measured = measured.loc[measured["validation_loss"].idxmin()]
    bounds = f"; on a bound: {', '.join(fit.on_bounds)}" if fit.on_bounds else ""
    lines = [f"Fitted to {len(lab)} lab runs: L = {law.E:.3f} + {law.A:.3g}/N^{law.alpha:.3f} + "
             f"{law.B:.3g}/D^{law.beta:.3f} (fit status: {fit.status}{bounds})."]
    if not (np.isfinite(best_size) and 0 < best_size < np.inf) or law.A == 0 or law.B == 0:
        lines.append(f"With the {'size' if law.A == 0 else 'data'} term at zero the law has no best size at "
                     f"{target:.3g} FLOPs: it says what its form forces, not what the runs show. Add runs of other "
                     "sizes at each budget, and a budget on each side.")
        nearest = None
    else:
        lines.append(f"At {target:.3g} FLOPs ({target / (6 * lab['params'] * lab['tokens']).max():.0f}× the lab's "
                     f"largest run) the law predicts the best size N = {best_size:,.0f} "
                     f"(D/N = {target / (6 * best_size ** 2):,.0f}).")
        nearest = measured.iloc[int(np.argmin(np.abs(np.log(measured["params"] / best_size))))]
    lines += ["", f"The book's real runs at that budget ({suite.name}, {len(measured)} checkpoints):",
              table.to_string(index=False), "",
              f"Measured best: {best_measured['checkpoint']} (N = {best_measured['params']:,.0f}, loss "
              f"{best_measured['validation_loss']:.3f})."]
    if nearest is not None:
        hit = nearest["checkpoint"] == best_measured["checkpoint"]
        lines.append(f"The suite's size nearest the prediction: {nearest['checkpoint']} (N = {nearest['params']:,.0f}, "
                     f"loss {nearest['validation_loss']:.3f}, {nearest['validation_loss'] - best_measured['validation_loss']:+.3f} "
                     "from the best). Verdict: the prediction " + ("picks the measured best size." if hit else
                     "misses the measured best size, by the loss difference in brackets."))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pretrain.lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "run", "all"):
        command = commands.add_parser(name, help={"plan": "price a plan without training",
                                                   "run": "train a plan", "all": "train, then check"}[name])
        command.add_argument("--run", nargs="+", default=DEFAULT_RUNS, metavar="SHAPE:FLOPS",
                             help=f"the runs (default: {' '.join(DEFAULT_RUNS)})")
        command.add_argument("--seed", type=int, default=0, help="seed of every run's weights and data (default 0)")
        command.add_argument("--workers", type=int, default=2, help="runs trained at once, one thread each")
        if name != "plan":
            command.add_argument("--out", type=Path, required=True, help="folder for the runs and lab.csv")
    checker = commands.add_parser("check", help="fit, predict and compare with the committed suite")
    for command in (checker, commands.choices["all"]):
        if command is checker:
            command.add_argument("--out", type=Path, required=True, help="the folder `run` wrote")
        command.add_argument("--target", type=float, default=None,
                             help="budget to predict at, FLOPs (default: ten times the largest run)")
    args = parser.parse_args(argv)
    try:
        if args.command in ("plan", "run", "all"):
            print(describe_plan(plan_table(args.run, args.seed), args.workers), flush=True)
        if args.command in ("run", "all"):
            table = run(args.run, args.out, args.workers, args.seed)
            print(f"\nTrained {len(table)} runs in {table['wall_seconds'].sum() / 60:.1f} single-thread minutes; "
                  f"results in {args.out / RESULTS}.\n", flush=True)
        if args.command in ("check", "all"):
            print(check(args.out, args.target))
    except (LabError, t2lib.SuiteError, ValueError, OSError) as error:
        print(f"pretrain.lab: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
