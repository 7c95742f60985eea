"""Post-training in miniature: fine-tune finished checkpoints on the tasks' question format, the
analogue of the paper's two post-training variants (the suite format's stages): `ft`, the loss
on question and answer, and `sft`, the loss on the answer only.

    python -m pretrain.finetune run --budget-minutes 60 --workers 2 [--runs runs/] [--grid pretrain/grid.csv]
                                    [--executor pool|local|slurm --partition P --timeout-min 240]
    python -m pretrain.finetune status [--runs runs/] [--grid pretrain/grid.csv]

Each evaluated run of the grid (every seed of a seeded grid, such as pretrain/grid_v2.csv) is
fine-tuned, once per stage, for `FinetuneSpec.steps` steps on question-answer pairs of the four
tasks in equal shares (`Corpus.finetune_batch` of the run's own corpus design, which never shows
a test question), AdamW at a peak learning rate of 1e-3 with warmup and cosine decay (a tenth of
the first suite's pretraining peak; 5–12% of the second suite's per-size peaks). One recipe for
every checkpoint, as the paper fine-tunes every checkpoint alike. A run is
deterministic given its base checkpoint (the data are a pure function of the step) and takes
minutes at most, so it is not resumed: an interrupted one starts over. It lands in `RUN/ft/` or
`RUN/sft/` (model.pt, result.json, curve.csv), which is then evaluated like its base (the first
suite's with lm-evaluation-harness, the second's scored directly: `pretrain.grid.scorer_for`).
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

from pretrain.corpus import CONTEXT, Corpus, corpus_for
from pretrain.evaluate import score_run
from pretrain.executors import Placement, launch
from pretrain.grid import (GRID_FILE, add_placement_arguments, estimated_hours, is_evaluated, placement_of,
                           runs_of_grid, scorer_for)
from pretrain.harness import evaluate_run, prepare_tasks
from pretrain.model import count_parameters
from pretrain.train import (CURVE, RESULT, RunSpec, atomic_save, atomic_text, cpu_name, learning_rate, load_model,
                            make_optimiser)


@dataclass(frozen=True)
class FinetuneSpec:
    """A fine-tuning recipe, the same for every checkpoint; its stage names the folder and the suite stage."""

    stage: Literal["ft", "sft"]  # ft: loss on every token of the question-answer pairs; sft: on the answers
    steps: int = 200
    lr: float = 1e-3  # a tenth of the first suite's pretraining peak (pretrain.grid.LEARNING_RATE)
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
    base = base_spec(base_dir)
    corpus = corpus_for(base.corpus_seed, base.corpus_version)
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


def base_spec(base_dir: Path) -> RunSpec:
    """The run specification a finished run was trained with."""
    return RunSpec(**torch.load(base_dir / "model.pt", map_location="cpu", weights_only=False)["spec"])


def _finetune_run(args: tuple[Path, str, Path | None, str]) -> str:
    run_dir, stage, tasks_dir, device = args
    finetune(run_dir, RECIPES[stage], device=device)
    spec = base_spec(run_dir)
    scorer = scorer_for(spec.corpus_version)
    if not is_evaluated(run_dir / stage, scorer):
        corpus = corpus_for(spec.corpus_seed, spec.corpus_version)
        if scorer == "direct":
            score_run(run_dir / stage, corpus, device)
        else:
            evaluate_run(run_dir / stage, corpus, tasks_dir, device)
    return f"{run_dir.name}-{stage}"


def pending(runs: Path, grid: Path = GRID_FILE) -> pd.DataFrame:
    """(run, stage, scorer) of the evaluated runs of `grid` (the grid, a seeded grid, or
    a validation plan in the grid's format) whose fine-tuned model is not yet evaluated, dearest first."""
    rows = []
    for _, spec in runs_of_grid(grid):
        scorer = scorer_for(spec.corpus_version)
        if not is_evaluated(runs / spec.name, scorer):
            continue
        params = int(json.loads((runs / spec.name / RESULT).read_text())["params"])
        for stage, recipe in RECIPES.items():
            if not is_evaluated(runs / spec.name / stage, scorer):
                rows.append({"run": spec.name, "stage": stage, "scorer": scorer, "estimated_hours": estimated_hours(
                    params, recipe.steps * recipe.batch_size * CONTEXT, design=spec.corpus_version)})
    return pd.DataFrame(rows, columns=["run", "stage", "scorer", "estimated_hours"]).sort_values(
        "estimated_hours", ascending=False, kind="stable")


def run(runs: Path, budget_minutes: float, placement: Placement, device: str, grid: Path = GRID_FILE) -> None:
    """Fine-tune and evaluate pending runs until the time budget is spent, where `placement` says
    (a local pool, submitit's local executor or a Slurm array). A fine-tuning is not resumable, so
    a run is started only if its estimated time (with a 1.5× margin) still fits: the budget left
    here, or one job's time limit on Slurm."""
    todo = pending(runs, grid)
    tasks_dir = prepare_tasks(Corpus(0), runs / "_harness") if (todo["scorer"] == "harness").any() else None
    end = time.monotonic() + 60 * budget_minutes
    print(f"{len(todo)} fine-tunings to run ({todo['estimated_hours'].sum():.2f} core-hours estimated); "
          f"budget {budget_minutes:.0f} min on {placement.workers} worker(s), executor {placement.kind}", flush=True)

    def fitting():  # consumed lazily, as workers free up
        for job in todo.itertuples():
            if 3600 * job.estimated_hours * 1.5 < placement.job_seconds(end - time.monotonic()):
                yield runs / job.run, job.stage, tasks_dir, device

    for name in launch(_finetune_run, fitting(), placement, end):
        print(f"{name}: fine-tuned and evaluated", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "status"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--grid", type=Path, default=GRID_FILE,
                        help="the grid whose runs to fine-tune (pretrain/grid.csv, pretrain/grid_v2.csv, "
                             "a validation plan)")
    parser.add_argument("--budget-minutes", type=float, default=60.0)
    parser.add_argument("--device", default="cpu")
    add_placement_arguments(parser)
    args = parser.parse_args()
    if args.command == "run":
        run(args.runs, args.budget_minutes, placement_of(args), args.device, args.grid)
    else:
        todo = pending(args.runs, args.grid)
        print(f"{len(todo)} fine-tunings of evaluated runs not yet run and evaluated "
              f"({todo['estimated_hours'].sum():.2f} core-hours estimated)")


if __name__ == "__main__":
    main()
