"""From trained grid cells to the book's suite: evaluate each finished cell with
lm-evaluation-harness (pretrain.harness), then import every run's `--log_samples` output with
t2lib's importer and add the training metadata.

    python -m pretrain.suite evaluate [--runs runs/]     # harness runs for finished, unevaluated cells
    python -m pretrain.suite build [--runs runs/] [--out data/real/t2mini]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

import t2lib
from pretrain.corpus import CONTEXT, DISPLAY_NAMES, TASKS, Corpus
from pretrain.export import export_hf
from pretrain.grid import GRID_FILE
from pretrain.harness import HARNESS_TASKS, run_lm_eval, write_questions, write_task_configs
from pretrain.train import CURVE, RESULT, load_model

HARNESS_DIR = "lm_eval"
SOURCE = "t2mini"


def results_file(run_dir: Path) -> Path | None:
    """The harness results file of a cell, if it has been evaluated."""
    found = sorted((run_dir / HARNESS_DIR).glob("*/results_*.json"))
    return found[-1] if found else None


def evaluate(runs: Path, device: str = "cpu") -> list[str]:
    """Run the harness on every finished cell without results; return the cells evaluated."""
    corpus = Corpus(0)
    tasks_dir = write_task_configs(write_questions(corpus, runs / "_questions"), runs / "_tasks")
    evaluated = []
    for run_dir in sorted(p.parent for p in runs.glob(f"*/{RESULT}")):
        if results_file(run_dir):
            continue
        exported = export_hf(load_model(run_dir), corpus, run_dir / "hf")
        run_lm_eval(exported, tasks_dir, run_dir / HARNESS_DIR, device)
        shutil.rmtree(exported)  # the weights stay in model.pt
        evaluated.append(run_dir.name)
        print(f"evaluated {run_dir.name}", flush=True)
    return evaluated


def build(runs: Path, out: Path) -> t2lib.Suite:
    """Write the suite folder `out` from every evaluated cell of the grid."""
    grid = pd.read_csv(GRID_FILE).set_index("cell")
    rows, curves = [], []
    for cell in grid.index:
        run_dir = runs / cell
        found = results_file(run_dir)
        if found is None:
            continue
        result = json.loads((run_dir / RESULT).read_text())
        rows.append({"run": str(found.resolve()), "checkpoint": cell, "params": result["params"],
                     "tokens": result["steps"] * result["batch_size"] * CONTEXT, "source": SOURCE, **{
                         k: result[k] for k in ("width", "depth", "heads", "lr", "steps", "batch_size",
                                                "final_train_loss", "validation_loss", "wall_seconds", "torch", "cpu")}})
        curves.append(pd.read_csv(run_dir / CURVE).assign(checkpoint=cell))
    if not rows:
        raise SystemExit(f"{runs}: no evaluated cells (run `python -m pretrain.suite evaluate` first)")
    out.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(0)
    table = pd.DataFrame(rows)
    mapping = out / ".mapping.csv"
    table[["run", "checkpoint", "params", "tokens", "source"]].to_csv(mapping, index=False)
    t2lib.import_lm_eval(mapping, out, tasks=HARNESS_TASKS)
    mapping.unlink()
    suite = t2lib.load_suite(out)
    checkpoints = suite.checkpoints.merge(table.drop(columns=["run", "params", "tokens", "source"]), on="checkpoint")
    checkpoints["train_flops"] = 6.0 * checkpoints["params"] * checkpoints["tokens"]
    tasks = pd.DataFrame({"task": HARNESS_TASKS, "display_name": [DISPLAY_NAMES[t] for t in TASKS],
                          "group": "synthetic", "n_questions": [len(corpus.questions[t]) for t in TASKS],
                          "source": "real: trained for this book (pretrain/), evaluated with lm-evaluation-harness"})
    t2lib.write_suite(out, checkpoints, suite.nll, tasks)
    pd.concat(curves, ignore_index=True).to_csv(out / "curves.csv", index=False, lineterminator="\n")
    shutil.copy(GRID_FILE, out / "grid.csv")
    write_questions(corpus, out / "questions")
    return t2lib.load_suite(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["evaluate", "build"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=Path("data/real/t2mini"))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.command == "evaluate":
        print(f"evaluated {len(evaluate(args.runs, args.device))} cells")
    else:
        print(build(args.runs, args.out).summary())


if __name__ == "__main__":
    main()
