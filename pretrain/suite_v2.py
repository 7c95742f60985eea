"""The second miniature suite, data/real/t2mini-v2: every scored run of pretrain/grid_v2.csv, each
seed its own checkpoint.

    python -m pretrain.grid run --grid pretrain/grid_v2.csv --cheapest-first [--runs runs/]
    python -m pretrain.suite_v2 build [--runs runs/] [--out data/real/t2mini-v2]

A run is one cell at one seed (`pretrain.grid`); the grid scores it directly (`nll.csv`,
`pretrain.evaluate.score_run`: the quantity lm-evaluation-harness logs, about seventy times
faster; the reference run's harness output is a test fixture that checks the two agree). A
checkpoint's id is its run's name (the cell, or `<cell>-s<seed>`); its `cell` and `seed` columns
say which. A run's fine-tunings (`python -m pretrain.finetune run --grid pretrain/grid_v2.csv`)
are checkpoints `<run>-ft` and `<run>-sft` of cells `<cell>-ft` and `<cell>-sft`. Checkpoints
already in the suite folder whose runs are absent from --runs are kept, so the suite grows chunk
by chunk from runs folders that do not outlive a session.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import t2lib
from t2lib.data.seeds import seed_spread
from t2lib.data.suite import budget_levels
from t2lib.data.training import COPIES, GUESS_K, guessing_pass_at_k, post_trained_runs, retrained_sentence
from pretrain.corpus import CONTEXT
from pretrain.corpus_v2 import CORPUS_VERSION, VOCAB_VERSION, CorpusV2
from pretrain.evaluate import DIRECT_NLL
from pretrain.finetune import RECIPES
from pretrain.grid import runs_of_grid
from pretrain.grid_v2 import GRID_FILE
from pretrain.harness import HARNESS_DIR, evaluate_run, prepare_tasks, results_file
from pretrain.suite import METADATA, committed_cells, finetune_metadata, in_id_order, merged_parts, write_folder
from pretrain.train import CURVE, RESULT, RunSpec

SOURCE = "t2mini-v2"
README_TEMPLATE = Path(__file__).resolve().parent / "suite_v2_readme.md"
# The run whose weights are committed (out/reference/) and whose harness output is a test fixture: a
# small model trained long (23,592 parameters, 671 tokens per parameter), among the first cells trained.
REFERENCE_RUN = "w24d2-c3"


Found = tuple[str, str, int, Path]  # a scored checkpoint: (id, cell, seed, folder)
RUN_TIMES = ("started_at", "finished_at")  # when a run's training started and finished (UTC), if it says
Readme = Callable[[t2lib.Suite, pd.DataFrame, Path, int], None]  # (suite, grid, path, scored checkpoints waiting)


def scored_runs(runs: Path, planned: list[tuple[str, RunSpec]]) -> list[Found]:
    """Every scored checkpoint of the `planned` runs (`pretrain.grid.runs_of_grid`) in `runs`, in
    the plan's order: the runs, then each post-training stage's fine-tunings of them (`RUN/<stage>`,
    `pretrain.finetune`), whose id is `<run>-<stage>` and whose cell is `<cell>-<stage>`, so that
    a stage's seeds average into a cell of their own."""
    found = [(spec.name, cell, spec.model_seed, runs / spec.name) for cell, spec in planned]
    found += [(f"{name}-{stage}", f"{cell}-{stage}", seed, folder / stage)
              for stage in RECIPES for name, cell, seed, folder in found[:len(planned)]]
    return [entry for entry in found if (entry[3] / DIRECT_NLL).exists()]


def checkpoint_row(found: Found) -> dict:
    """The suite row of a scored checkpoint; a fine-tuned one keeps its base run's N and D, names
    it as its base checkpoint, and adds its own recipe (`pretrain.suite.finetune_metadata`)."""
    checkpoint, cell, seed, folder = found
    stage = folder.name if folder.name in RECIPES else "base"
    base_dir = folder.parent if stage != "base" else folder
    record = json.loads((base_dir / RESULT).read_text())
    if record["corpus_version"] != CORPUS_VERSION:
        raise SystemExit(f"{base_dir / RESULT}: trained on {record['corpus_version']!r}, not {CORPUS_VERSION!r}")
    tokens = record["steps"] * record["batch_size"] * CONTEXT
    row = {"checkpoint": checkpoint, "params": record["params"], "tokens": tokens,
           "train_flops": 6.0 * record["params"] * tokens, "source": SOURCE, "stage": stage,
           "base_checkpoint": "" if stage == "base" else base_dir.name, "cell": cell, "seed": seed,
           **{key: record[key] for key in METADATA}, **{key: record.get(key) for key in RUN_TIMES}}
    if stage != "base":
        row.update(finetune_metadata(folder))
    return row


def read_runs(found: list[Found]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The checkpoints, NLLs (harness task ids) and loss curves (of the base runs) of `found`."""
    checkpoints = pd.DataFrame([checkpoint_row(entry) for entry in found])
    nll = pd.concat([pd.read_csv(folder / DIRECT_NLL).assign(checkpoint=checkpoint)
                     for checkpoint, _, _, folder in found], ignore_index=True)
    nll["task"] = "t2mini_" + nll["task"]
    curves = [pd.read_csv(folder / CURVE).assign(checkpoint=checkpoint)
              for checkpoint, _, _, folder in found if folder.name not in RECIPES]
    return (checkpoints, nll[["checkpoint", "task", "question", "nll"]],
            pd.concat(curves, ignore_index=True) if curves else pd.DataFrame())


def with_run_times(parts: tuple[pd.DataFrame, ...]) -> tuple[pd.DataFrame, ...]:
    """The parts with each RUN_TIMES column of the checkpoints kept only where every checkpoint
    records it (runs trained before the trainer kept the times have none)."""
    checkpoints, *rest = parts
    partial = [column for column in RUN_TIMES if column in checkpoints and checkpoints[column].isna().any()]
    return (checkpoints.drop(columns=partial), *rest)


def checkpoint_ids(planned: list[tuple[str, RunSpec]]) -> dict[str, list[str]]:
    """Each cell's checkpoint ids, in the plan's order: the grid's cells, then each stage's."""
    ids: dict[str, list[str]] = {}
    for cell, spec in planned:
        ids.setdefault(cell, []).append(spec.name)
    for stage in RECIPES:
        for cell, spec in planned:
            ids.setdefault(f"{cell}-{stage}", []).append(f"{spec.name}-{stage}")
    return ids


def complete_cells(planned: list[tuple[str, RunSpec]], scored: set[str]) -> set[str]:
    """The cells (a stage's included) all of whose checkpoints are among the `scored` ids."""
    return {cell for cell, ids in checkpoint_ids(planned).items() if set(ids) <= scored}


def build(runs: Path, out: Path, grid: Path = GRID_FILE, readme: Readme | None = None) -> t2lib.Suite:
    """Write the suite folder `out` from every scored run in `runs` whose cell is complete (scored at
    all its seeds, here or in `out`), keeping what `out` holds: a committed checkpoint is never
    replaced, so a run trained again (its weights were not kept, and are needed to fine-tune it)
    adds only its fine-tunings, its committed scores stay; checkpoints in grid order (cells
    largest budget first, seeds in order). When the reference
    run is among them, its weights and its lm-evaluation-harness output go to `out/reference`.
    `readme` writes the folder's README (default: the grid suite's, `write_readme`)."""
    planned = runs_of_grid(grid)
    committed = committed_ids(out)
    every_scored = scored_runs(runs, planned)
    scored = [entry for entry in every_scored if entry[0] not in committed]
    scored_names = {checkpoint for checkpoint, *_ in scored}
    kept = committed_cells(out, scored_names, CORPUS_VERSION)
    complete = complete_cells(planned, scored_names | set(kept[0].get("checkpoint", [])))
    found = [entry for entry in scored if entry[1] in complete]
    if not found and kept[0].empty:
        raise SystemExit(f"{runs}: no cell of {grid} is scored at all its seeds "
                         f"(run `python -m pretrain.grid run --grid {grid}` first)")
    fresh = read_runs(found) if found else (pd.DataFrame(),) * 3
    reference = runs / REFERENCE_RUN if REFERENCE_RUN in {checkpoint for checkpoint, *_ in found} else None
    if reference is not None:
        evaluate_once_with_harness(reference)
    ids = [checkpoint for cell_ids in checkpoint_ids(planned).values() for checkpoint in cell_ids]
    write_folder(out, with_run_times(merged_parts(kept, fresh)), ids, grid, CorpusV2(0),
                 "real: trained for this book (pretrain/), scored directly (pretrain.evaluate)", reference,
                 single_precision=True)
    if reference is not None:
        copy_harness_output(reference / HARNESS_DIR, out / "reference" / HARNESS_DIR)
    suite = t2lib.load_suite(out)
    write_copies(suite, copies_fine_tuned(suite, every_scored), ids)
    (readme or write_readme)(suite, pd.read_csv(grid), out / "README.md", len(scored) - len(found))
    return suite


def copies_fine_tuned(suite: t2lib.Suite, found: list[Found]) -> list[Found]:
    """The runs among `found` that are copies trained again of committed runs (another validation
    loss) and are the weights the suite's fine-tunings of those runs started from (the fine-tunings'
    rows record the validation loss of the weights they started from)."""
    committed = suite.base.set_index("checkpoint")["validation_loss"].astype(float)
    tuned = suite.checkpoints[suite.checkpoints["stage"] != "base"].groupby("base_checkpoint")["validation_loss"]
    copies = []
    for entry in found:
        run, folder = entry[0], entry[3]
        if folder.name in RECIPES or run not in committed.index or run not in tuned.groups:
            continue
        loss = float(json.loads((folder / RESULT).read_text())["validation_loss"])
        started_from = tuned.get_group(run).astype(float).to_numpy()
        retrained = not np.isclose(loss, committed[run], rtol=1e-8, atol=0)
        if retrained and np.allclose(started_from, loss, rtol=1e-8, atol=0):
            copies.append(entry)
    return copies


def write_copies(suite: t2lib.Suite, copies: list[Found], ids: list[str]) -> None:
    """Add the base scores of `copies` to the suite's `copies/` folder (a suite of its own, checkpoints
    named as the runs they copy, in the order of `ids`), so that a fine-tuning can be compared with
    the weights it started from; a copy already there is kept."""
    folder = Path(suite.path) / COPIES
    held = t2lib.load_suite(folder) if (folder / "checkpoints.csv").exists() else None
    new = [entry for entry in copies if held is None or entry[0] not in set(held.checkpoints["checkpoint"])]
    if not new:
        return
    checkpoints, nll, _ = read_runs(new)
    if held is not None:
        checkpoints, nll = pd.concat([held.checkpoints, checkpoints]), pd.concat([held.nll, nll])
    t2lib.write_suite(folder, in_id_order(checkpoints, ["checkpoint"], ids),
                      in_id_order(nll, ["checkpoint", "task", "question"], ids), suite.tasks, single_precision=True)


def committed_ids(out: Path) -> set[str]:
    """The checkpoints the suite folder `out` already holds (none if it has no checkpoints.csv)."""
    table = out / "checkpoints.csv"
    return set(pd.read_csv(table, usecols=["checkpoint"])["checkpoint"]) if table.exists() else set()


def copy_harness_output(source: Path, target: Path) -> None:
    """Copy a run's lm-evaluation-harness output folder, its samples files gzipped (byte for byte
    the same on every copy; t2lib's importer reads them as they are)."""
    shutil.rmtree(target, ignore_errors=True)
    for file in sorted(source.rglob("*")):
        if not file.is_file():
            continue
        copy = target / file.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        if file.name.startswith("samples_") and file.suffix == ".jsonl":
            with open(copy.with_name(copy.name + ".gz"), "wb") as raw, \
                    gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed:
                packed.write(file.read_bytes())
        else:
            shutil.copy(file, copy)


def evaluate_once_with_harness(run_dir: Path) -> None:
    """Evaluate a run with lm-evaluation-harness unless it already has the harness's output."""
    if results_file(run_dir) is None:
        with tempfile.TemporaryDirectory() as scratch:
            evaluate_run(run_dir, CorpusV2(0), prepare_tasks(CorpusV2(0), Path(scratch)))


def post_training_status(suite: t2lib.Suite) -> str:
    """How many of the suite's runs are fine-tuned both ways, in words."""
    rows = suite.checkpoints
    both = post_trained_runs(suite, RECIPES)
    if not both:
        return "not yet run"
    cells = rows.loc[rows["checkpoint"].isin(both), "cell"].nunique()
    return f"{len(both)} of {len(suite.base)} runs fine-tuned both ways (every seed of {cells} cell(s))"


def write_readme(suite: t2lib.Suite, grid: pd.DataFrame, path: Path, n_waiting: int = 0) -> None:
    """The suite's README: the template's prose with its status computed from the suite
    (`n_waiting`: scored checkpoints left out until their cell's other seeds are scored)."""
    base = suite.base
    ratio = base["tokens"] / base["params"]
    planned_runs = int(grid["seeds"].sum())
    cells_done = base.groupby("cell")["seed"].nunique()
    spread = seed_spread(suite)
    spread = spread[spread["seeds"] >= 2].groupby("task")["sd"].median()
    seed_text = ("not yet measured (no cell has two seeds)" if spread.empty else
                 ", ".join(f"{task.removeprefix('t2mini_')} {sd:.2g}" for task, sd in spread.items()))
    complete = len(cells_done) == len(grid) and len(post_trained_runs(suite, RECIPES)) == len(base)
    path.write_text(README_TEMPLATE.read_text().format(
        state="complete" if complete else "in progress",
        continues=("Grid and post-training are complete." if complete else
                   "Training continues in chunks; the suite grows with each (`python -m pretrain.suite_v2 build` "
                   "keeps what is here)."),
        n_runs=len(base), n_planned=planned_runs, n_cells=len(cells_done), n_waiting=n_waiting,
        n_grid_cells=len(grid), min_flops=base["train_flops"].min(), max_flops=base["train_flops"].max(),
        n_budgets=len(set(budget_levels(base["train_flops"]))), so_far="" if complete else " so far",
        n_sizes=base["params"].nunique(),
        min_params=int(base["params"].min()), max_params=int(base["params"].max()), min_ratio=ratio.min(),
        max_ratio=ratio.max(), cpu_hours=base["wall_seconds"].sum() / 3600,
        cpus=", ".join(sorted(base["cpu"].unique())), torch=", ".join(sorted(base["torch"].unique())),
        n_rows=len(suite.nll), corpus_version=CORPUS_VERSION, vocab_version=VOCAB_VERSION,
        reference=REFERENCE_RUN, seed_spread=seed_text, guess_1000=guessing_pass_at_k(suite, GUESS_K)[0].max(),
        seeds_per_cell=" to ".join(str(n) for n in sorted({grid["seeds"].min(), grid["seeds"].max()})),
        n_tasks=len(suite.tasks), n_questions=int(suite.tasks["n_questions"].iloc[0]),
        post_training=post_training_status(suite), ft_steps=RECIPES["ft"].steps, ft_lr=RECIPES["ft"].lr,
        ft_batch=RECIPES["ft"].batch_size, retrained=retrained_sentence(suite)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=Path("data/real/t2mini-v2"))
    args = parser.parse_args()
    print(build(args.runs, args.out).summary())


if __name__ == "__main__":
    main()
