"""Post-training in miniature: fine-tune finished checkpoints on the tasks' question format, the
analogue of the paper's two post-training variants (the suite format's stages): `ft`, the loss
on question and answer, and `sft`, the loss on the answer only.

    python -m pretrain.finetune run --budget-minutes 60 --workers 2 [--runs runs/] [--cells pretrain/grid.csv]
                                    [--executor pool|local|slurm --partition P --timeout-min 240]
    python -m pretrain.finetune status [--runs runs/] [--cells pretrain/grid.csv]

Each evaluated base checkpoint is fine-tuned, once per stage, for `FinetuneSpec.steps` steps on
question-answer pairs of the four tasks in equal shares (`Corpus.finetune_batch`, which never
shows a test question), AdamW at a tenth of the pretraining peak learning rate with warmup and
cosine decay. One recipe for every checkpoint, as the paper fine-tunes every checkpoint alike.
A run is deterministic given its base checkpoint (the data are a pure function of the step) and
takes minutes at most, so it is not resumed: an interrupted one starts over. It lands in
`RUN/ft/` or `RUN/sft/` (model.pt, result.json, curve.csv), which is then evaluated with
lm-evaluation-harness like its base.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import torch
from torch.nn import functional as F

from pretrain.corpus import CONTEXT, Corpus
from pretrain.executors import Placement, launch
from pretrain.grid import GRID_FILE, add_placement_arguments, estimated_hours, placement_of
from pretrain.harness import evaluate_run, prepare_tasks, results_file
from pretrain.model import count_parameters
from pretrain.train import (CURVE, RESULT, RunSpec, atomic_save, atomic_text, cpu_name, learning_rate, load_model,
                            make_optimiser)


@dataclass(frozen=True)
class FinetuneSpec:
    """A fine-tuning recipe, the same for every checkpoint; its stage names the folder and the suite stage."""

    stage: Literal["ft", "sft"]  # ft: loss on every token of the question-answer pairs; sft: on the answers
    steps: int = 200
    lr: float = 1e-3  # a tenth of the pretraining peak (pretrain.grid.LEARNING_RATE)
    batch_size: int = 32
    warmup_fraction: float = 0.05
    weight_decay: float = 0.1

    def __post_init__(self) -> None:
        if self.stage not in ("ft", "sft"):
            raise ValueError(f"stage must be 'ft' or 'sft'; got {self.stage!r}")


RECIPES = {"ft": FinetuneSpec("ft"), "sft": FinetuneSpec("sft")}


def finetune(base_dir: Path, spec: FinetuneSpec, *, device: str = "cpu") -> dict:
    """Fine-tune the finished run in `base_dir` into `base_dir/<stage>`; return its result record
    (read back if it is already there, after checking it was made with `spec`)."""
    out = base_dir / spec.stage
    if (out / RESULT).exists():
        result = json.loads((out / RESULT).read_text())
        if result["finetune"] != asdict(spec):
            raise ValueError(f"{out}: fine-tuned with {result['finetune']}, not {asdict(spec)}; delete it to redo")
        return result
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    base = RunSpec(**torch.load(base_dir / "model.pt", map_location="cpu", weights_only=False)["spec"])
    corpus = Corpus(base.corpus_seed)
    model = load_model(base_dir, device).train()
    optimiser = make_optimiser(model, spec.lr, spec.weight_decay)
    curve = []
    started = time.monotonic()
    for step in range(spec.steps):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(spec.lr, spec.steps, spec.warmup_fraction, step)
        tokens, answers = (torch.from_numpy(a).to(device) for a in corpus.finetune_batch(step, spec.batch_size))
        logits = model(tokens[:, :-1])
        scored = answers if spec.stage == "sft" else torch.ones_like(answers)
        loss = F.cross_entropy(logits[scored], tokens[:, 1:][scored])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        curve.append((step + 1, loss.item()))
    model.eval()
    result = {"name": f"{base.name}-{spec.stage}", "base": base.name, "finetune": asdict(spec),
              "params": count_parameters(model), "tokens": spec.steps * spec.batch_size * CONTEXT,
              "final_loss": curve[-1][1], "wall_seconds": round(time.monotonic() - started, 1),
              "torch": torch.__version__, "cpu": cpu_name(), "device": device}
    out.mkdir(parents=True, exist_ok=True)
    atomic_save({"spec": asdict(base), "model": model.state_dict(), "finetune": asdict(spec)}, out / "model.pt")
    atomic_text("step,loss\n" + "".join(f"{s},{l:.6f}\n" for s, l in curve), out / CURVE)
    atomic_text(json.dumps(result, indent=1), out / RESULT)
    return result


def _finetune_cell(args: tuple[Path, str, Path, str]) -> str:
    run_dir, stage, tasks_dir, device = args
    finetune(run_dir, RECIPES[stage], device=device)
    if results_file(run_dir / stage) is None:
        evaluate_run(run_dir / stage, Corpus(0), tasks_dir, device)
    return f"{run_dir.name}-{stage}"


def pending(runs: Path, cells: Path = GRID_FILE) -> pd.DataFrame:
    """(cell, stage) of the evaluated cells listed in `cells` (a CSV with cell and params: the
    grid, or the validation plan) whose fine-tuned model is not yet evaluated, dearest first."""
    grid = pd.read_csv(cells)
    rows = []
    for cell in grid.itertuples():
        for stage, recipe in RECIPES.items():
            if results_file(runs / cell.cell) is not None and results_file(runs / cell.cell / stage) is None:
                rows.append({"cell": cell.cell, "stage": stage, "estimated_hours": estimated_hours(
                    cell.params, recipe.steps * recipe.batch_size * CONTEXT)})
    return pd.DataFrame(rows, columns=["cell", "stage", "estimated_hours"]).sort_values("estimated_hours",
                                                                                        ascending=False)


def run(runs: Path, budget_minutes: float, placement: Placement, device: str, cells: Path = GRID_FILE) -> None:
    """Fine-tune and evaluate pending cells until the time budget is spent, where `placement` says
    (a local pool, submitit's local executor or a Slurm array). A fine-tuning is not resumable, so
    a cell is started only if its estimated time (with a 1.5× margin) still fits: the budget left
    here, or one job's time limit on Slurm."""
    todo = pending(runs, cells)
    tasks_dir = prepare_tasks(Corpus(0), runs / "_harness")
    end = time.monotonic() + 60 * budget_minutes
    print(f"{len(todo)} fine-tunings to run ({todo['estimated_hours'].sum():.2f} core-hours estimated); "
          f"budget {budget_minutes:.0f} min on {placement.workers} worker(s), executor {placement.kind}", flush=True)

    def fitting():  # consumed lazily, as workers free up
        for cell in todo.itertuples():
            if 3600 * cell.estimated_hours * 1.5 < placement.job_seconds(end - time.monotonic()):
                yield runs / cell.cell, cell.stage, tasks_dir, device

    for name in launch(_finetune_cell, fitting(), placement, end):
        print(f"{name}: fine-tuned and evaluated", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "status"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--cells", type=Path, default=GRID_FILE, help="CSV of the cells (cell, params)")
    parser.add_argument("--budget-minutes", type=float, default=60.0)
    parser.add_argument("--device", default="cpu")
    add_placement_arguments(parser)
    args = parser.parse_args()
    if args.command == "run":
        run(args.runs, args.budget_minutes, placement_of(args), args.device, args.cells)
    else:
        todo = pending(args.runs, args.cells)
        print(f"{len(todo)} fine-tunings of evaluated cells not yet run and evaluated "
              f"({todo['estimated_hours'].sum():.2f} core-hours estimated)")


if __name__ == "__main__":
    main()
