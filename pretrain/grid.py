"""The checkpoint grid of the miniature suite, and the resumable runner that trains it.

    python -m pretrain.grid plan                 # write pretrain/grid.csv (committed) from the rules below
    python -m pretrain.grid run --budget-minutes 110 --workers 2 [--runs runs/] [--device cpu]
    python -m pretrain.grid status

The grid: training budgets C = 5e11 · 2^i FLOPs (i = 0..7), a ladder of model shapes, and every
(C, shape) cell with 1 ≤ D/N ≤ 10⁴ tokens per parameter (D = C/(6N), N counting every parameter)
whose estimated single-thread time is at most MAX_CELL_HOURS; at the levels from THIN_FROM up,
where cells are dearest, only every other shape (the shapes whose ladder index has the level's
parity, so that neighbouring levels interleave). `run` trains the pending cells
largest budget first, one process per worker with one thread each, stops starting new cells
when the time budget would be exceeded (a cell in progress is checkpointed and resumes on the
next run), and commits nothing itself.
"""

from __future__ import annotations

import argparse
import itertools
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain.corpus import Corpus
from pretrain.harness import evaluate_run, prepare_tasks, results_file
from pretrain.model import ModelShape, TinyLM, count_parameters
from pretrain.train import RESULT, RunSpec, train

GRID_FILE = Path(__file__).resolve().parent / "grid.csv"
LEVELS = 5e11 * 2.0 ** np.arange(8)
SHAPES = [(16, 1, 2), (24, 1, 2), (24, 2, 2), (32, 2, 4), (40, 2, 4), (48, 3, 4), (64, 3, 4), (80, 3, 4),
          (96, 4, 4), (128, 4, 4), (160, 5, 5), (192, 6, 6)]
# Shapes beyond the grid's ladder (same head width 32, about the ladder's ratio), for the models
# of the validation experiment, whose budget lies beyond the grid's (pretrain/validation.py).
LARGER_SHAPES = [(224, 7, 7), (256, 8, 8), (320, 8, 8)]
MIN_TPP, MAX_TPP = 1.0, 1e4
MAX_CELL_HOURS = 1.0
THIN_FROM = 6
LEARNING_RATE = 1e-2  # chosen by the pilot's sweep at the smallest level (pretrain/pilot.py)
# Single-thread throughput model, tokens/s = 1/(1/CAP + 6N/FLOPS), fitted to this machine's
# measurements (a fixed per-token overhead, then compute-bound at FLOPS); used only to plan.
TOKENS_PER_SECOND_CAP, FLOPS_PER_SECOND = 75_000.0, 46e9


def parameters_of(width: int, depth: int, heads: int) -> int:
    return count_parameters(TinyLM(ModelShape(width, depth, heads, Corpus(0).vocab_size, 128)))


def estimated_hours(params: int, tokens: float) -> float:
    return tokens * (1 / TOKENS_PER_SECOND_CAP + 6 * params / FLOPS_PER_SECOND) / 3600


def plan_grid() -> pd.DataFrame:
    """Every cell of the grid with its shape, N, D, C and estimated time."""
    rows = []
    for index, (width, depth, heads) in enumerate(SHAPES):
        params = parameters_of(width, depth, heads)
        for level, flops in enumerate(LEVELS):
            if level >= THIN_FROM and index % 2 != level % 2:
                continue
            tokens = flops / (6 * params)
            hours = estimated_hours(params, tokens)
            if MIN_TPP <= tokens / params <= MAX_TPP and hours <= MAX_CELL_HOURS:
                rows.append({"cell": f"w{width}d{depth}-c{level}", "width": width, "depth": depth, "heads": heads,
                             "params": params, "train_flops": flops, "tokens": int(round(tokens)),
                             "tokens_per_param": tokens / params, "lr": LEARNING_RATE,
                             "estimated_hours": round(hours, 3)})
    return pd.DataFrame(rows)


def read_grid(path: Path = GRID_FILE) -> list[RunSpec]:
    """The committed grid as run specifications, largest budget first."""
    grid = pd.read_csv(path).sort_values(["train_flops", "params"], ascending=[False, False])
    return [RunSpec(r.cell, int(r.width), int(r.depth), int(r.heads), int(r.tokens), float(r.lr))
            for r in grid.itertuples()]


def _train_cell(args: tuple[RunSpec, Path, Path, str, float]) -> tuple[str, dict | None]:
    """Train one cell until it is done or its deadline passes; evaluate it with the harness once done."""
    spec, run_dir, tasks_dir, device, seconds_left = args
    result = train(spec, run_dir, device=device, deadline=time.monotonic() + seconds_left)
    if result is not None and results_file(run_dir) is None:
        evaluate_run(run_dir, Corpus(spec.corpus_seed), tasks_dir, device)
    return spec.name, result


def pending(runs: Path) -> list[RunSpec]:
    """The grid's cells not yet trained and evaluated, largest budget first."""
    return [s for s in read_grid() if results_file(runs / s.name) is None]


def run(runs: Path, budget_minutes: float, workers: int, device: str, specs: list[RunSpec] | None = None) -> None:
    """Train (and evaluate) pending cells of the grid, or the given specs, largest budget first,
    until the time budget is spent."""
    specs = pending(runs) if specs is None else [s for s in specs if results_file(runs / s.name) is None]
    tasks_dir = prepare_tasks(Corpus(0), runs / "_harness")
    end = time.monotonic() + 60 * budget_minutes
    print(f"{len(specs)} cells pending; budget {budget_minutes:.0f} min on {workers} worker(s)")
    queue = iter(specs)

    def submit(pool: ProcessPoolExecutor, spec: RunSpec) -> Future:
        return pool.submit(_train_cell, (spec, runs / spec.name, tasks_dir, device, end - time.monotonic()))

    with ProcessPoolExecutor(workers) as pool:
        running = {submit(pool, spec) for spec in itertools.islice(queue, workers)}  # zip() would drop one
        while running:
            done = next(as_completed(running))
            running.remove(done)
            name, result = done.result()
            print(f"{name}: {'trained and evaluated' if result else 'checkpointed (time budget)'}", flush=True)
            if time.monotonic() < end:
                running |= {submit(pool, spec) for spec in itertools.islice(queue, 1)}


def shape_table() -> pd.DataFrame:
    """Every shape the trainer builds (the grid's ladder, then LARGER_SHAPES) with its N."""
    return pd.DataFrame([{"width": w, "depth": d, "heads": h, "params": parameters_of(w, d, h), "in_grid": i < len(SHAPES)}
                         for i, (w, d, h) in enumerate(SHAPES + LARGER_SHAPES)])


def status(runs: Path) -> pd.DataFrame:
    grid = pd.read_csv(GRID_FILE)
    grid["state"] = ["evaluated" if results_file(runs / c) else "trained" if (runs / c / RESULT).exists()
                     else "started" if (runs / c).exists() else "pending" for c in grid["cell"]]
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["plan", "run", "status"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--budget-minutes", type=float, default=110.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.command == "plan":
        grid = plan_grid()
        grid.to_csv(GRID_FILE, index=False, float_format="%.6g", lineterminator="\n")
        print(f"{len(grid)} cells, {grid['estimated_hours'].sum():.1f} core-hours estimated; "
              f"{(grid['tokens_per_param'] >= 1000).sum()} at ≥ 1,000 tokens per parameter -> {GRID_FILE}")
    elif args.command == "run":
        run(args.runs, args.budget_minutes, args.workers, args.device)
    else:
        table = status(args.runs)
        print(table.groupby("state").size().to_string())


if __name__ == "__main__":
    main()
