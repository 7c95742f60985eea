"""The checkpoint grid of the miniature suite, and the resumable runner that trains it.

    python -m pretrain.grid plan                 # write pretrain/grid.csv (committed) from the rules below
    python -m pretrain.grid run --budget-minutes 110 --workers 2 [--runs runs/] [--device cpu]
    python -m pretrain.grid run --cells w24d2-c4 --seeds 0 1 2       # one cell at three seeds
    python -m pretrain.grid run --seeds 0 1 --ensemble 2 --device cuda --precision bf16   # seeds batched on a GPU
    python -m pretrain.grid run --executor slurm --partition gpu --gpus-per-node 1 --timeout-min 240
    python -m pretrain.grid run --dry-run        # what would run, and its estimated cost, without running it
    python -m pretrain.grid status

The grid: training budgets C = 5e11 · 2^i FLOPs (i = 0..7), a ladder of model shapes, and every
(C, shape) cell with 1 ≤ D/N ≤ 10⁴ tokens per parameter (D = C/(6N), N counting every parameter)
whose estimated single-thread time is at most MAX_CELL_HOURS; at the levels from THIN_FROM up,
where cells are dearest, only every other shape (the shapes whose ladder index has the level's
parity, so that neighbouring levels interleave). `run` trains the pending cells (each at every
seed asked for; seed 0 is the cell itself, seed s the run `<cell>-s<s>`) largest budget first,
evaluates each with lm-evaluation-harness, and commits nothing itself. Where it runs is
`pretrain.executors` (a local process pool by default, one thread each; submitit for Slurm);
locally it stops starting jobs when the time budget would be exceeded (a job in progress is
checkpointed and resumes on the next run). Training sequences are generated once per data seed
into a cache shared by the runs (`<runs>/_stream`, `pretrain.stream`). With `--ensemble E` the
seeds of one cell train E at a time in one process (`pretrain.ensemble`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain.corpus import CORPUS_VERSION, corpus_for
from pretrain.ensemble import train_ensemble
from pretrain.executors import KINDS, Placement, launch
from pretrain.harness import evaluate_run, prepare_tasks, results_file
from pretrain.model import ModelShape, TinyLM, count_parameters
from pretrain.train import PRECISIONS, RESULT, RunSpec, prepare_device, train, with_seed

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
# Throughput model per device, tokens/s = 1/(1/CAP + 6N/FLOPS) for one model: a fixed per-token
# overhead, then compute-bound at FLOPS; used only to plan and to price a dry run. "cpu" was fitted
# to the first suite's single-thread runs (one core of the machine that trained it); "cuda" is an
# assumption, not a measurement (ensembles of small models on one GPU), to be replaced by a
# measurement with `make bench-pretrain` on the GPU.
THROUGHPUT = {"cpu": (75_000.0, 46e9), "cuda": (2_000_000.0, 50e12)}
TOKENS_PER_SECOND_CAP, FLOPS_PER_SECOND = THROUGHPUT["cpu"]


def parameters_of(width: int, depth: int, heads: int, corpus_version: str = CORPUS_VERSION) -> int:
    vocab_size = corpus_for(0, corpus_version).vocab_size
    return count_parameters(TinyLM(ModelShape(width, depth, heads, vocab_size, 128)))


def estimated_hours(params: int, tokens: float, device: str = "cpu") -> float:
    """Estimated hours to train one model of `params` on `tokens` tokens (THROUGHPUT's model)."""
    cap, flops = THROUGHPUT[device.split(":")[0]]
    return tokens * (1 / cap + 6 * params / flops) / 3600


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


@dataclass(frozen=True)
class Job:
    """One process's work: one run, or the seeds of one cell trained together as an ensemble."""

    specs: tuple[RunSpec, ...]
    runs: Path
    tasks_dir: Path | None  # None: train only, no harness evaluation
    device: str
    seconds: float  # the job stops (checkpointed) this long after it starts

    @property
    def group(self) -> str:
        return self.specs[0].name + "".join(f"+s{s.model_seed}" for s in self.specs[1:])


def _train_job(job: Job) -> list[tuple[str, bool]]:
    """Train a job's runs until done or out of time; evaluate each finished run with the harness.
    Returns (run, finished) per run."""
    deadline = time.monotonic() + job.seconds
    stream = job.runs / "_stream"
    dirs = [job.runs / spec.name for spec in job.specs]
    if len(job.specs) == 1:
        results = [train(job.specs[0], dirs[0], device=job.device, stream_cache=stream, deadline=deadline)]
    else:
        results = train_ensemble(list(job.specs), dirs, job.runs / "_ensembles" / job.group, device=job.device,
                                 stream_cache=stream, deadline=deadline) or [None] * len(dirs)
    for spec, run_dir, result in zip(job.specs, dirs, results):
        if result is not None and job.tasks_dir is not None and results_file(run_dir) is None:
            evaluate_run(run_dir, corpus_for(spec.corpus_seed, spec.corpus_version), job.tasks_dir, job.device)
    return [(spec.name, result is not None) for spec, result in zip(job.specs, results)]


def seeded(cells: list[RunSpec], seeds: list[int], precision: str = "fp32") -> list[list[RunSpec]]:
    """Per cell, its runs at `seeds` (in that order)."""
    return [[with_seed(replace(cell, precision=precision), seed) for seed in seeds] for cell in cells]


def plan_jobs(runs: Path, cells: list[RunSpec], seeds: list[int], ensemble: int, evaluate: bool,
              precision: str = "fp32") -> list[tuple[RunSpec, ...]]:
    """The pending runs of `cells` at `seeds`, grouped into jobs of at most `ensemble` seeds of one
    cell, in the cells' order."""
    done = (lambda d: results_file(d) is not None) if evaluate else (lambda d: (d / RESULT).exists())
    jobs = []
    for runs_of_cell in seeded(cells, seeds, precision):
        todo = [spec for spec in runs_of_cell if not done(runs / spec.name)]
        jobs += [tuple(todo[i:i + ensemble]) for i in range(0, len(todo), ensemble)]
    return jobs


def dry_run(jobs: list[tuple[RunSpec, ...]], device: str, placement: Placement) -> str:
    """What `run` would train, one line per job, and the estimated total on `device`."""
    lines, total = [], 0.0
    for specs in jobs:
        params = count_parameters(TinyLM(specs[0].shape(corpus_for(0, specs[0].corpus_version).vocab_size)))
        hours = estimated_hours(params, specs[0].tokens, device) * len(specs)
        total += hours
        lines.append(f"{' + '.join(s.name for s in specs)}: N = {params:,}, D = {specs[0].tokens:,} tokens "
                     f"({specs[0].tokens / params:,.0f} per parameter), about {hours:.2f} model-hours")
    lines.append(f"{len(jobs)} job(s), {sum(map(len, jobs))} run(s): about {total:.1f} model-hours on {device} "
                 f"(THROUGHPUT's model), about {total / placement.workers:.1f} hours on {placement.workers} "
                 f"worker(s) ({placement.kind})")
    return "\n".join(lines)


def run(runs: Path, budget_minutes: float, placement: Placement, device: str = "cpu",
        specs: list[RunSpec] | None = None, *, seeds: Sequence[int] = (0,), ensemble: int = 1,
        evaluate: bool = True, precision: str = "fp32") -> None:
    """Train (and evaluate) the grid's pending runs, or those of `specs`, at `seeds`, largest
    budget first, until the time budget is spent."""
    jobs = plan_jobs(runs, read_grid() if specs is None else specs, list(seeds), ensemble, evaluate, precision)
    designs = {(spec.corpus_seed, spec.corpus_version) for job in jobs for spec in job}
    if len(designs) > 1:
        raise ValueError(f"one run of the grid at a time asks one corpus's questions; these jobs span {sorted(designs)}")
    tasks_dir = prepare_tasks(corpus_for(*designs.pop()), runs / "_harness") if evaluate and designs else None
    end = time.monotonic() + 60 * budget_minutes
    print(f"{sum(map(len, jobs))} run(s) pending in {len(jobs)} job(s); budget {budget_minutes:.0f} min, "
          f"{placement.workers} worker(s), executor {placement.kind}", flush=True)
    work = (Job(specs, runs, tasks_dir, device, placement.job_seconds(end - time.monotonic())) for specs in jobs)
    for outcome in launch(_train_job, work, placement, end):
        for name, finished in outcome:
            state = ("trained and evaluated" if evaluate else "trained") if finished else "checkpointed (time budget)"
            print(f"{name}: {state}", flush=True)


def shape_table() -> pd.DataFrame:
    """Every shape the trainer builds (the grid's ladder, then LARGER_SHAPES) with its N."""
    return pd.DataFrame([{"width": w, "depth": d, "heads": h, "params": parameters_of(w, d, h), "in_grid": i < len(SHAPES)}
                         for i, (w, d, h) in enumerate(SHAPES + LARGER_SHAPES)])


def status(runs: Path) -> pd.DataFrame:
    grid = pd.read_csv(GRID_FILE)
    grid["state"] = ["evaluated" if results_file(runs / c) else "trained" if (runs / c / RESULT).exists()
                     else "started" if (runs / c).exists() else "pending" for c in grid["cell"]]
    return grid


def add_placement_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of where jobs run (pretrain.executors), shared by the runners."""
    parser.add_argument("--workers", type=int, default=2, help="jobs at once (on Slurm: the array's parallelism)")
    parser.add_argument("--executor", choices=KINDS, default="pool",
                        help="pool: local processes; local: submitit's local executor; slurm: a Slurm job array")
    parser.add_argument("--partition", help="Slurm partition")
    parser.add_argument("--gpus-per-node", type=int, default=0, help="GPUs per job (Slurm, submitit local)")
    parser.add_argument("--cpus-per-task", type=int, default=1, help="CPUs per job (Slurm)")
    parser.add_argument("--timeout-min", type=int, default=240, help="a job's time limit in minutes (Slurm)")


def placement_of(args: argparse.Namespace) -> Placement:
    return Placement(args.executor, args.workers, args.partition, args.gpus_per_node, args.cpus_per_task,
                     args.timeout_min, args.runs / "_submitit")


def cells_named(names: list[str] | None) -> list[RunSpec]:
    """The grid's cells, or those named (an unknown name is refused, naming the grid file)."""
    grid = read_grid()
    if not names:
        return grid
    known = {spec.name: spec for spec in grid}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"--cells: no cell named {unknown[0]!r} in {GRID_FILE} (see `python -m pretrain.grid status`)")
    return [spec for spec in grid if spec.name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["plan", "run", "status"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--budget-minutes", type=float, default=110.0)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda[:index] for a GPU")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="bf16: bfloat16 autocast (GPU)")
    parser.add_argument("--cells", nargs="+", metavar="CELL", help="only these cells of the grid")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="SEED",
                        help="train each cell at these seeds (initial weights and data stream; 0 is the cell itself)")
    parser.add_argument("--ensemble", type=int, default=1, metavar="E",
                        help="train up to E seeds of a cell together in one process (meant for a GPU; measured not to pay on this project's CPU)")
    parser.add_argument("--dry-run", action="store_true", help="print the jobs and their estimated cost; train nothing")
    add_placement_arguments(parser)
    args = parser.parse_args()
    if args.command == "plan":
        grid = plan_grid()
        grid.to_csv(GRID_FILE, index=False, float_format="%.6g", lineterminator="\n")
        print(f"{len(grid)} cells, {grid['estimated_hours'].sum():.1f} core-hours estimated; "
              f"{(grid['tokens_per_param'] >= 1000).sum()} at ≥ 1,000 tokens per parameter -> {GRID_FILE}")
    elif args.command == "run":
        try:
            placement = placement_of(args)
            if args.ensemble < 1 or min(args.seeds) < 0:
                raise ValueError(f"--ensemble must be ≥ 1 and --seeds ≥ 0; got {args.ensemble} and {args.seeds}")
            cells = cells_named(args.cells)
            if args.executor != "slurm" and not args.dry_run:  # a cluster's login node may have no GPU
                prepare_device(args.device)
        except ValueError as error:
            parser.error(str(error))  # one line, exit status 2
        if args.dry_run:
            print(dry_run(plan_jobs(args.runs, cells, args.seeds, args.ensemble, True, args.precision), args.device,
                          placement))
            return
        run(args.runs, args.budget_minutes, placement, args.device, cells, seeds=args.seeds, ensemble=args.ensemble,
            precision=args.precision)
    else:
        table = status(args.runs)
        print(table.groupby("state").size().to_string())


if __name__ == "__main__":
    main()
