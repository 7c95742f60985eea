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
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import t2lib
from t2lib.data.suite import budget_levels
from pretrain.finetune import RECIPES
from pretrain.corpus import CONTEXT, CORPUS_VERSION, DISPLAY_NAMES, TASKS, VOCAB_VERSION, Corpus
from pretrain.grid import GRID_FILE
from pretrain.harness import HARNESS_TASKS, evaluate_run, prepare_tasks, results_file, write_questions
from pretrain.train import CURVE, RESULT

SOURCE = "t2mini"
README_TEMPLATE = Path(__file__).resolve().parent / "suite_readme.md"
# The checkpoint whose weights are committed (out/reference/) for the reproducibility test: the smallest.
REFERENCE_CELL = "w16d1-c0"


def evaluate(runs: Path, device: str = "cpu") -> list[str]:
    """Run the harness on every finished cell without results; return the cells evaluated."""
    corpus = Corpus(0)
    tasks_dir = prepare_tasks(corpus, runs / "_harness")
    evaluated = []
    for run_dir in sorted(p.parent for p in runs.glob(f"*/{RESULT}")):
        if results_file(run_dir):
            continue
        evaluate_run(run_dir, corpus, tasks_dir, device)
        evaluated.append(run_dir.name)
        print(f"evaluated {run_dir.name}", flush=True)
    return evaluated


METADATA = ("width", "depth", "heads", "lr", "steps", "batch_size", "corpus_version", "final_train_loss",
            "validation_loss", "wall_seconds", "torch", "cpu", "device")
# A fine-tuned checkpoint's own record: its recipe's steps and learning rate, its loss at the last
# step, its seconds (its wall_seconds column counts the base's pretraining) and its tokens (its
# tokens column counts the base's).
FT_METADATA = ("ft_steps", "ft_lr", "ft_final_loss", "ft_wall_seconds", "ft_tokens")


def evaluated_checkpoints(runs: Path, grid: pd.DataFrame) -> list[tuple[str, Path]]:
    """(checkpoint id, run folder) of every evaluated grid cell and fine-tuning of one, in grid order."""
    found = []
    for cell in grid["cell"]:
        candidates = [(cell, runs / cell)] + [(f"{cell}-{stage}", runs / cell / stage) for stage in RECIPES]
        found += [(checkpoint, run_dir) for checkpoint, run_dir in candidates if results_file(run_dir) is not None]
    return found


def task_table(corpus: Corpus, source: str) -> pd.DataFrame:
    """The suite's tasks.csv: the four harness tasks with their display names, question counts and
    the mean probability that one guess at an answer is right."""
    return pd.DataFrame({"task": HARNESS_TASKS, "display_name": [DISPLAY_NAMES[t] for t in TASKS],
                         "group": "synthetic", "n_questions": [len(corpus.questions[t]) for t in TASKS],
                         "source": source, "guess": [np.mean([q.guess for q in corpus.questions[t]]) for t in TASKS]})


def checkpoint_row(checkpoint: str, run_dir: Path) -> dict:
    """The mapping row and the training metadata of one evaluated run (a fine-tuned one names its base,
    keeps its base's N and D, and adds its own recipe)."""
    stage = run_dir.name if run_dir.name in RECIPES else "base"
    base_dir = run_dir if stage == "base" else run_dir.parent
    base = json.loads((base_dir / RESULT).read_text())
    row = {"run": str(results_file(run_dir).resolve()), "checkpoint": checkpoint, "params": base["params"],
           "tokens": base["steps"] * base["batch_size"] * CONTEXT, "source": SOURCE, "stage": stage,
           "base_checkpoint": "" if stage == "base" else base_dir.name, **{key: base[key] for key in METADATA}}
    if stage != "base":
        row.update(finetune_metadata(run_dir))
    return row


def finetune_metadata(run_dir: Path) -> dict:
    """A fine-tuned run's own recipe and record (`FT_METADATA`), from its result.json."""
    own = json.loads((run_dir / RESULT).read_text())
    return dict(zip(FT_METADATA, (own["finetune"]["steps"], own["finetune"]["lr"], own["final_loss"],
                                  own["wall_seconds"], own.get("tokens"))))


def import_cells(runs: Path, checkpoints: list[tuple[str, Path]],
                 folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Import the harness output of `checkpoints` ((id, run folder) pairs) with t2lib's importer
    into `folder`; return their checkpoints (with the training metadata), NLLs and the base runs'
    loss curves."""
    table = pd.DataFrame([checkpoint_row(checkpoint, run_dir) for checkpoint, run_dir in checkpoints])
    for column in FT_METADATA:
        if column not in table:
            table[column] = float("nan")
    curves = [pd.read_csv(run_dir / CURVE).assign(checkpoint=checkpoint)
              for checkpoint, run_dir in checkpoints if run_dir.name not in RECIPES]
    folder.mkdir(parents=True, exist_ok=True)
    mapping = folder / "mapping.csv"
    table[["run", "checkpoint", "params", "tokens", "source", "stage", "base_checkpoint"]].to_csv(mapping, index=False)
    t2lib.import_lm_eval(mapping, folder, tasks=HARNESS_TASKS)
    imported = t2lib.load_suite(folder)
    merged = imported.checkpoints.merge(table[["checkpoint", *METADATA, *FT_METADATA]], on="checkpoint")
    return merged, imported.nll, pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()


def committed_cells(out: Path, fresh: set[str],
                    corpus_version: str = CORPUS_VERSION) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The checkpoints, NLLs and curves already in the suite folder `out` for cells not in `fresh`,
    so that cells trained on an earlier machine survive a rebuild from a partial runs folder
    (a checkpoint of another corpus design than `corpus_version` is refused)."""
    if not (out / "checkpoints.csv").exists():
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    suite = t2lib.load_suite(out)
    stale = suite.checkpoints[suite.checkpoints["corpus_version"] != corpus_version]
    if not stale.empty:
        raise SystemExit(f"{out}/checkpoints.csv: checkpoint {stale['checkpoint'].iloc[0]!r} was trained on "
                         f"{stale['corpus_version'].iloc[0]!r}, not {corpus_version!r}; delete the folder to rebuild")
    keep = ~suite.checkpoints["checkpoint"].isin(fresh)
    curves = pd.read_csv(out / "curves.csv")
    return (suite.checkpoints[keep], suite.nll[~suite.nll["checkpoint"].isin(fresh)],
            curves[~curves["checkpoint"].isin(fresh)])


def merged_parts(kept: tuple[pd.DataFrame, ...], fresh: tuple[pd.DataFrame, ...]) -> tuple[pd.DataFrame, ...]:
    """Checkpoints, NLLs and curves: what the folder kept, then what the runs brought."""
    return tuple(pd.concat([part for part in pair if not part.empty], ignore_index=True) for pair in zip(kept, fresh))


def in_id_order(frame: pd.DataFrame, by: list[str], ids: list[str]) -> pd.DataFrame:
    """`frame` sorted by the columns `by`, its checkpoint column in the order of `ids`."""
    order = {checkpoint: i for i, checkpoint in enumerate(ids)}
    return frame.sort_values(by, key=lambda column: column.map(order) if column.name == "checkpoint" else column,
                             ignore_index=True)


def write_folder(out: Path, parts: tuple[pd.DataFrame, ...], ids: list[str], grid_file: Path, corpus: Corpus,
                 source: str, reference: Path | None, single_precision: bool = False) -> None:
    """Write a miniature suite's folder: its checkpoints, NLLs and curves (`parts`) in the order
    of `ids` (a checkpoint not among them is refused), its tasks (`source` says how they were
    evaluated), a copy of its grid, its questions, and the weights of the `reference` run;
    `single_precision`: the NLLs stored as float32 (`t2lib.write_suite`)."""
    checkpoints, nll, curves = parts
    unknown = checkpoints[~checkpoints["checkpoint"].isin(ids)]
    if not unknown.empty:
        raise SystemExit(f"{out}: checkpoint {unknown['checkpoint'].iloc[0]!r} is not a run of {grid_file}")
    t2lib.write_suite(out, in_id_order(checkpoints, ["checkpoint"], ids),
                      in_id_order(nll, ["checkpoint", "task", "question"], ids),
                      task_table(corpus, source), single_precision=single_precision)
    in_id_order(curves, ["checkpoint", "step"], ids).to_csv(out / "curves.csv", index=False, lineterminator="\n")
    shutil.copy(grid_file, out / "grid.csv")
    write_questions(corpus, out / "questions")
    if reference is not None:
        (out / "reference").mkdir(exist_ok=True)
        for name in ("model.pt", RESULT):
            shutil.copy(reference / name, out / "reference" / name)


def build(runs: Path, out: Path) -> t2lib.Suite:
    """Write the suite folder `out` from every evaluated cell in `runs`, keeping the cells already
    in `out` that `runs` lacks; checkpoints in grid order."""
    grid = pd.read_csv(GRID_FILE)
    evaluated = evaluated_checkpoints(runs, grid)
    kept_checkpoints, kept_nll, kept_curves = committed_cells(out, {checkpoint for checkpoint, _ in evaluated})
    if not evaluated and kept_checkpoints.empty:
        raise SystemExit(f"{runs}: no evaluated cells (run `make pretrain` first)")
    fresh = (pd.DataFrame(),) * 3
    if evaluated:
        with tempfile.TemporaryDirectory() as scratch:
            fresh = import_cells(runs, evaluated, Path(scratch))
    cells = list(grid["cell"])  # base checkpoints in grid order, then each stage's fine-tuned ones
    write_folder(out, merged_parts((kept_checkpoints, kept_nll, kept_curves), fresh),
                 cells + [f"{cell}-{stage}" for stage in RECIPES for cell in cells], GRID_FILE, Corpus(0),
                 "real: trained for this book (pretrain/), evaluated with lm-evaluation-harness",
                 runs / REFERENCE_CELL if results_file(runs / REFERENCE_CELL) is not None else None)
    suite = t2lib.load_suite(out)
    write_readme(suite, grid, out / "README.md")
    return suite


def write_readme(suite: t2lib.Suite, grid: pd.DataFrame, path: Path) -> None:
    """The suite's README: the template's prose with its status computed from the suite."""
    base = suite.base
    stages = suite.checkpoints["stage"]
    ratio = base["tokens"] / base["params"]
    missing = grid.loc[~grid["cell"].isin(base["checkpoint"]), "train_flops"]
    tuned = {stage: set(suite.checkpoints.loc[stages == stage, "base_checkpoint"]) for stage in ("ft", "sft")}
    untuned = len(base) - len(tuned["ft"] & tuned["sft"] & set(base["checkpoint"]))
    ft_status = ("every base checkpoint, both ways" if untuned == 0 else
                 f"{untuned} base checkpoint(s) not yet fine-tuned both ways")
    pending = ("none pending" if missing.empty else
               f"{len(missing)} pending, at budgets " + ", ".join(f"{c:.3g}" for c in sorted(missing.unique())))
    path.write_text(README_TEMPLATE.read_text().format(
        n_trained=len(base), n_planned=len(grid), pending=pending, min_flops=base["train_flops"].min(),
        max_flops=base["train_flops"].max(), n_budgets=len(set(budget_levels(base["train_flops"]))),
        n_sizes=base["params"].nunique(), min_params=int(base["params"].min()), max_params=int(base["params"].max()),
        min_ratio=ratio.min(), max_ratio=ratio.max(), n_overtrained=int((ratio >= 1000).sum()),
        cpu_hours=base["wall_seconds"].sum() / 3600, cpus=", ".join(sorted(base["cpu"].unique())),
        torch=", ".join(sorted(base["torch"].unique())), n_rows=len(suite.nll), corpus_version=CORPUS_VERSION,
        vocab_version=VOCAB_VERSION, n_ft=int((stages == "ft").sum()),
        n_sft=int((stages == "sft").sum()), ft_status=ft_status, ft_steps=RECIPES["ft"].steps, sft_steps=RECIPES["sft"].steps))


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
