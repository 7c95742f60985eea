"""The checkpoint grid of the miniature suite, and the resumable runner that trains it.

    python -m pretrain.grid plan                 # write pretrain/grid.csv (committed) from the rules below
    python -m pretrain.grid run --budget-minutes 110 --workers 2 [--runs runs/] [--device cpu]
    python -m pretrain.grid status

The grid: training budgets C = 5e11 · 2^i FLOPs (i = 0..7), a ladder of model shapes, and every
(C, shape) cell with 1 ≤ D/N ≤ 10⁴ tokens per parameter (D = C/(6N), N counting every parameter)
whose estimated single-thread time is at most MAX_CELL_HOURS. `run` trains the pending cells
largest budget first, one process per worker with one thread each, stops starting new cells
when the time budget would be exceeded (a cell in progress is checkpointed and resumes on the
next run), and commits nothing itself.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain.corpus import Corpus
from pretrain.model import ModelShape, TinyLM, count_parameters
from pretrain.train import RESULT, RunSpec, train

GRID_FILE = Path(__file__).resolve().parent / "grid.csv"
LEVELS = 5e11 * 2.0 ** np.arange(8)
SHAPES = [(16, 1, 2), (24, 1, 2), (24, 2, 2), (32, 2, 4), (40, 2, 4), (48, 3, 4), (64, 3, 4), (80, 3, 4),
          (96, 4, 4), (128, 4, 4), (160, 5, 5), (192, 6, 6)]
MIN_TPP, MAX_TPP = 1.0, 1e4
MAX_CELL_HOURS = 1.0
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
    for width, depth, heads in SHAPES:
        params = parameters_of(width, depth, heads)
        for level, flops in enumerate(LEVELS):
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


def _train_cell(args: tuple[RunSpec, Path, str, float]) -> tuple[str, dict | None]:
    spec, runs, device, seconds_left = args
    return spec.name, train(spec, runs / spec.name, device=device, deadline=time.monotonic() + seconds_left)


def run(runs: Path, budget_minutes: float, workers: int, device: str) -> None:
    """Train pending cells, largest budget first, until the time budget is spent."""
    specs = [s for s in read_grid() if not (runs / s.name / RESULT).exists()]
    end = time.monotonic() + 60 * budget_minutes
    print(f"{len(specs)} cells pending; budget {budget_minutes:.0f} min on {workers} worker(s)")
    with ProcessPoolExecutor(workers) as pool:
        pending = iter(specs)
        futures = {}
        for spec in pending:
            futures[pool.submit(_train_cell, (spec, runs, device, end - time.monotonic()))] = spec
            if len(futures) >= workers:
                break
        while futures:
            done = next(as_completed(futures))
            spec = futures.pop(done)
            name, result = done.result()
            print(f"{name}: {'done' if result else 'checkpointed (time budget)'}", flush=True)
            if time.monotonic() < end:
                for spec in pending:
                    futures[pool.submit(_train_cell, (spec, runs, device, end - time.monotonic()))] = spec
                    break


def status(runs: Path) -> pd.DataFrame:
    grid = pd.read_csv(GRID_FILE)
    grid["state"] = ["done" if (runs / c / RESULT).exists() else "started" if (runs / c).exists() else "pending"
                     for c in grid["cell"]]
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
