"""The second miniature suite, data/real/t2mini-v2: every scored run of pretrain/grid_v2.csv, each
seed its own checkpoint.

    python -m pretrain.grid run --grid pretrain/grid_v2.csv --cheapest-first [--runs runs/]
    python -m pretrain.suite_v2 build [--runs runs/] [--out data/real/t2mini-v2]

A run is one cell at one seed (`pretrain.grid`); the grid scores it directly (`nll.csv`,
`pretrain.evaluate.score_run`: the quantity lm-evaluation-harness logs, about seventy times
faster; the reference run's harness output is a test fixture that checks the two agree). A
checkpoint's id is its run's name (the cell, or `<cell>-s<seed>`); its `cell` and `seed` columns
say which. Checkpoints already in the suite folder whose runs are absent from --runs are kept, so
the suite grows chunk by chunk from runs folders that do not outlive a session.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

import t2lib
from t2lib.seeds import seed_spread
from t2lib.suite import budget_levels
from pretrain.corpus import CONTEXT
from pretrain.corpus_v2 import CORPUS_VERSION, VOCAB_VERSION, CorpusV2
from pretrain.evaluate import DIRECT_NLL
from pretrain.grid import runs_of_grid
from pretrain.grid_v2 import GRID_FILE
from pretrain.suite import METADATA, committed_cells, merged_parts, write_folder
from pretrain.train import CURVE, RESULT, RunSpec

SOURCE = "t2mini-v2"
README_TEMPLATE = Path(__file__).resolve().parent / "suite_v2_readme.md"
# The run whose weights are committed (out/reference/) and whose harness output is a test fixture.
REFERENCE_RUN = "w24d2-c4"


def scored_runs(runs: Path, planned: list[tuple[str, RunSpec]]) -> list[tuple[str, str, int]]:
    """(run, cell, seed) of every `planned` run (`pretrain.grid.runs_of_grid`) with its scores in
    `runs`, in the plan's order."""
    return [(spec.name, cell, spec.model_seed) for cell, spec in planned if (runs / spec.name / DIRECT_NLL).exists()]


def checkpoint_row(run_dir: Path, cell: str, seed: int) -> dict:
    record = json.loads((run_dir / RESULT).read_text())
    if record["corpus_version"] != CORPUS_VERSION:
        raise SystemExit(f"{run_dir / RESULT}: trained on {record['corpus_version']!r}, not {CORPUS_VERSION!r}")
    tokens = record["steps"] * record["batch_size"] * CONTEXT
    return {"checkpoint": run_dir.name, "params": record["params"], "tokens": tokens,
            "train_flops": 6.0 * record["params"] * tokens, "source": SOURCE, "stage": "base",
            "base_checkpoint": "", "cell": cell, "seed": seed, **{key: record[key] for key in METADATA}}


def read_runs(runs: Path, found: list[tuple[str, str, int]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The checkpoints, NLLs (harness task ids) and loss curves of the scored runs `found`."""
    checkpoints = pd.DataFrame([checkpoint_row(runs / run, cell, seed) for run, cell, seed in found])
    nll = pd.concat([pd.read_csv(runs / run / DIRECT_NLL).assign(checkpoint=run) for run, _, _ in found],
                    ignore_index=True)
    nll["task"] = "t2mini_" + nll["task"]
    curves = pd.concat([pd.read_csv(runs / run / CURVE).assign(checkpoint=run) for run, _, _ in found],
                       ignore_index=True)
    return checkpoints, nll[["checkpoint", "task", "question", "nll"]], curves


def build(runs: Path, out: Path, grid: Path = GRID_FILE) -> t2lib.Suite:
    """Write the suite folder `out` from every scored run in `runs`, keeping what `out` holds for
    runs that `runs` lacks; checkpoints in grid order (cells largest budget first, seeds in order)."""
    planned = runs_of_grid(grid)
    found = scored_runs(runs, planned)
    fresh = read_runs(runs, found) if found else (pd.DataFrame(),) * 3
    kept = committed_cells(out, {run for run, _, _ in found}, CORPUS_VERSION)
    if not found and kept[0].empty:
        raise SystemExit(f"{runs}: no scored runs of {grid} (run `python -m pretrain.grid run --grid {grid}` first)")
    write_folder(out, merged_parts(kept, fresh), [spec.name for _, spec in planned], grid, CorpusV2(0),
                 "real: trained for this book (pretrain/), scored directly (pretrain.evaluate)",
                 runs / REFERENCE_RUN if (runs / REFERENCE_RUN / DIRECT_NLL).exists() else None)
    suite = t2lib.load_suite(out)
    write_readme(suite, pd.read_csv(grid), out / "README.md")
    return suite


def write_readme(suite: t2lib.Suite, grid: pd.DataFrame, path: Path) -> None:
    """The suite's README: the template's prose with its status computed from the suite."""
    base = suite.base
    ratio = base["tokens"] / base["params"]
    planned_runs = int(grid["seeds"].sum())
    cells_done = base.groupby("cell")["seed"].nunique()
    spread = seed_spread(suite)
    spread = spread[spread["seeds"] >= 2].groupby("task")["sd"].median()
    seed_text = ("not yet measured (no cell has two seeds)" if spread.empty else
                 ", ".join(f"{task.removeprefix('t2mini_')} {sd:.2g}" for task, sd in spread.items()))
    complete = int(sum(cells_done.get(cell, 0) >= seeds for cell, seeds in zip(grid["cell"], grid["seeds"])))
    path.write_text(README_TEMPLATE.read_text().format(
        n_runs=len(base), n_planned=planned_runs, n_cells=len(cells_done), n_complete=complete,
        n_grid_cells=len(grid), min_flops=base["train_flops"].min(), max_flops=base["train_flops"].max(),
        n_budgets=len(set(budget_levels(base["train_flops"]))), n_sizes=base["params"].nunique(),
        min_params=int(base["params"].min()), max_params=int(base["params"].max()), min_ratio=ratio.min(),
        max_ratio=ratio.max(), cpu_hours=base["wall_seconds"].sum() / 3600,
        cpus=", ".join(sorted(base["cpu"].unique())), torch=", ".join(sorted(base["torch"].unique())),
        n_rows=len(suite.nll), corpus_version=CORPUS_VERSION, vocab_version=VOCAB_VERSION,
        reference=REFERENCE_RUN, seed_spread=seed_text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=Path("data/real/t2mini-v2"))
    args = parser.parse_args()
    print(build(args.runs, args.out).summary())


if __name__ == "__main__":
    main()
