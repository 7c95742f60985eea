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
from pretrain.corpus_v2 import CORPUS_VERSION as SECOND_DESIGN
from pretrain.evaluate import DIRECT_NLL, score_run
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
# The second suite's grid (design 7, heads of width 12-20) on this project's CPU, two runs at a
# time as the grid runs them: fitted to five shapes from 23,592 to 341,840 parameters timed on
# 2026-12-06 (pilot 12 and short runs; pretrain/PILOT.md).
THROUGHPUT_BY_DESIGN = {(SECOND_DESIGN, "cpu"): (180_000.0, 50e9)}


def parameters_of(width: int, depth: int, heads: int, corpus_version: str = CORPUS_VERSION) -> int:
    vocab_size = corpus_for(0, corpus_version).vocab_size
    return count_parameters(TinyLM(ModelShape(width, depth, heads, vocab_size, 128)))


def estimated_hours(params: int, tokens: float, device: str = "cpu", design: str = CORPUS_VERSION) -> float:
    """Estimated hours to train one model of `params` on `tokens` tokens of corpus `design`
    (THROUGHPUT_BY_DESIGN's model where it has one, else THROUGHPUT's)."""
    kind = device.split(":")[0]
    cap, flops = THROUGHPUT_BY_DESIGN.get((design, kind), THROUGHPUT[kind])
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
    """The committed grid as run specifications, largest budget first (a grid without a
    corpus_version column is the first suite's)."""
    grid = pd.read_csv(path).sort_values(["train_flops", "params"], ascending=[False, False])
    versions = grid["corpus_version"] if "corpus_version" in grid else [CORPUS_VERSION] * len(grid)
    return [RunSpec(r.cell, int(r.width), int(r.depth), int(r.heads), int(r.tokens), float(r.lr),
                    corpus_version=version) for r, version in zip(grid.itertuples(), versions)]


def seeds_of_cells(path: Path = GRID_FILE) -> dict[str, list[int]]:
    """Each cell's seeds: 0 to seeds − 1 where the grid has a seeds column, else seed 0 alone."""
    grid = pd.read_csv(path)
    counts = grid["seeds"] if "seeds" in grid else [1] * len(grid)
    return {cell: list(range(int(count))) for cell, count in zip(grid["cell"], counts)}


@dataclass(frozen=True)
class Job:
    """One process's work: one run, or the seeds of one cell trained together as an ensemble."""

    specs: tuple[RunSpec, ...]
    runs: Path
    tasks_dir: Path | None  # None: train only, no harness evaluation
    device: str
    seconds: float  # the job stops (checkpointed) this long after it starts
    scorer: str = "harness"  # "harness" or "direct" (pretrain.evaluate.score_run)

    @property
    def group(self) -> str:
        return self.specs[0].name + "".join(f"+s{s.model_seed}" for s in self.specs[1:])


def _train_job(job: Job) -> list[tuple[str, bool]]:
    """Train a job's runs until done or out of time; evaluate each finished run (with the harness,
    or scored directly). Returns (run, finished) per run."""
    deadline = time.monotonic() + job.seconds
    stream = job.runs / "_stream"
    dirs = [job.runs / spec.name for spec in job.specs]
    if len(job.specs) == 1:
        results = [train(job.specs[0], dirs[0], device=job.device, stream_cache=stream, deadline=deadline)]
    else:
        results = train_ensemble(list(job.specs), dirs, job.runs / "_ensembles" / job.group, device=job.device,
                                 stream_cache=stream, deadline=deadline) or [None] * len(dirs)
    for spec, run_dir, result in zip(job.specs, dirs, results):
        if result is None or is_evaluated(run_dir, job.scorer):
            continue
        corpus = corpus_for(spec.corpus_seed, spec.corpus_version)
        if job.scorer == "direct":
            score_run(run_dir, corpus, job.device)
        elif job.tasks_dir is not None:
            evaluate_run(run_dir, corpus, job.tasks_dir, job.device)
    return [(spec.name, result is not None) for spec, result in zip(job.specs, results)]


Seeds = list[int] | dict[str, list[int]]  # the same seeds for every cell, or each cell's own


def seeded(cells: list[RunSpec], seeds: Seeds, precision: str = "fp32") -> list[list[RunSpec]]:
    """Per cell, its runs at `seeds` (in that order)."""
    return [[with_seed(replace(cell, precision=precision), seed)
             for seed in (seeds[cell.name] if isinstance(seeds, dict) else seeds)] for cell in cells]


def runs_of_grid(path: Path = GRID_FILE) -> list[tuple[str, RunSpec]]:
    """Every run of the grid at `path`, each cell at its seeds, in grid order: (cell, run)."""
    cells = read_grid(path)
    return [(cell.name, spec) for cell, specs in zip(cells, seeded(cells, seeds_of_cells(path))) for spec in specs]


def scorer_for(design: str) -> str:
    """How the grid evaluates a run of corpus `design`: the first suite's with the harness, the
    second's directly (the same NLLs; `pretrain.evaluate`)."""
    return "direct" if design == SECOND_DESIGN else "harness"


def is_evaluated(run_dir: Path, scorer: str) -> bool:
    return (run_dir / DIRECT_NLL).exists() if scorer == "direct" else results_file(run_dir) is not None


def plan_jobs(runs: Path, cells: list[RunSpec], seeds: Seeds, ensemble: int, evaluate: bool,
              precision: str = "fp32") -> list[tuple[RunSpec, ...]]:
    """The pending runs of `cells` at `seeds`, grouped into jobs of at most `ensemble` seeds of one
    cell, in the cells' order."""
    def done(run_dir: Path, spec: RunSpec) -> bool:
        return is_evaluated(run_dir, scorer_for(spec.corpus_version)) if evaluate else (run_dir / RESULT).exists()

    jobs = []
    for runs_of_cell in seeded(cells, seeds, precision):
        todo = [spec for spec in runs_of_cell if not done(runs / spec.name, spec)]
        jobs += [tuple(todo[i:i + ensemble]) for i in range(0, len(todo), ensemble)]
    return jobs


def params_of(spec: RunSpec) -> int:
    return count_parameters(TinyLM(spec.shape(corpus_for(0, spec.corpus_version).vocab_size)))


def job_hours(specs: tuple[RunSpec, ...], device: str) -> float:
    """A job's estimated hours: its runs one after another (the throughput model of its design)."""
    return estimated_hours(params_of(specs[0]), specs[0].tokens, device, specs[0].corpus_version) * len(specs)


def dry_run(jobs: list[tuple[RunSpec, ...]], device: str, placement: Placement) -> str:
    """What `run` would train, one line per job, and the estimated total on `device`."""
    lines, total = [], 0.0
    for specs in jobs:
        params, hours = params_of(specs[0]), job_hours(specs, device)
        total += hours
        lines.append(f"{' + '.join(s.name for s in specs)}: N = {params:,}, D = {specs[0].tokens:,} tokens "
                     f"({specs[0].tokens / params:,.0f} per parameter), about {hours:.2f} model-hours")
    lines.append(f"{len(jobs)} job(s), {sum(map(len, jobs))} run(s): about {total:.1f} model-hours on {device} "
                 f"(the throughput model), about {total / placement.workers:.1f} hours on {placement.workers} "
                 f"worker(s) ({placement.kind})")
    return "\n".join(lines)


def run(runs: Path, budget_minutes: float, placement: Placement, device: str = "cpu",
        specs: list[RunSpec] | None = None, *, seeds: Sequence[int] | dict[str, list[int]] = (0,),
        ensemble: int = 1, evaluate: bool = True, precision: str = "fp32", cheapest_first: bool = False) -> None:
    """Train (and evaluate) the grid's pending runs, or those of `specs`, at `seeds` (the same for
    every cell, or per cell), largest budget first (or cheapest first), until the time budget is spent."""
    seeds = seeds if isinstance(seeds, dict) else list(seeds)
    jobs = plan_jobs(runs, read_grid() if specs is None else specs, seeds, ensemble, evaluate, precision)
    if cheapest_first:
        jobs.sort(key=lambda job: job_hours(job, device))
    designs = {(spec.corpus_seed, spec.corpus_version) for job in jobs for spec in job}
    if len(designs) > 1:
        raise ValueError(f"one run of the grid at a time asks one corpus's questions; these jobs span {sorted(designs)}")
    design = designs.pop() if designs else (0, CORPUS_VERSION)
    scorer = scorer_for(design[1])
    tasks_dir = prepare_tasks(corpus_for(*design), runs / "_harness") if evaluate and scorer == "harness" else None
    end = time.monotonic() + 60 * budget_minutes
    print(f"{sum(map(len, jobs))} run(s) pending in {len(jobs)} job(s); budget {budget_minutes:.0f} min, "
          f"{placement.workers} worker(s), executor {placement.kind}", flush=True)
    work = (Job(specs, runs, tasks_dir, device, placement.job_seconds(end - time.monotonic()),
                scorer if evaluate else "none") for specs in jobs)
    for outcome in launch(_train_job, work, placement, end):
        for name, finished in outcome:
            state = ("trained and evaluated" if evaluate else "trained") if finished else "checkpointed (time budget)"
            print(f"{name}: {state}", flush=True)


def shape_table() -> pd.DataFrame:
    """Every shape the trainer builds (the grid's ladder, then LARGER_SHAPES) with its N."""
    return pd.DataFrame([{"width": w, "depth": d, "heads": h, "params": parameters_of(w, d, h), "in_grid": i < len(SHAPES)}
                         for i, (w, d, h) in enumerate(SHAPES + LARGER_SHAPES)])


def status(runs: Path, path: Path = GRID_FILE) -> pd.DataFrame:
    """Each run of the grid at `path` (each cell at its seeds) with its state."""
    runs_of = [spec for _, spec in runs_of_grid(path)]
    states = ["evaluated" if is_evaluated(runs / s.name, scorer_for(s.corpus_version)) else "trained"
              if (runs / s.name / RESULT).exists() else "started" if (runs / s.name).exists() else "pending"
              for s in runs_of]
    return pd.DataFrame({"run": [s.name for s in runs_of], "state": states})


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


def cells_named(names: list[str] | None, path: Path = GRID_FILE) -> list[RunSpec]:
    """The grid's cells, or those named (an unknown name is refused, naming the grid file)."""
    grid = read_grid(path)
    if not names:
        return grid
    known = {spec.name: spec for spec in grid}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"--cells: no cell named {unknown[0]!r} in {path} (see `python -m pretrain.grid status`)")
    return [spec for spec in grid if spec.name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["plan", "run", "status"])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--budget-minutes", type=float, default=110.0)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda[:index] for a GPU")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="bf16: bfloat16 autocast (GPU)")
    parser.add_argument("--cells", nargs="+", metavar="CELL", help="only these cells of the grid")
    parser.add_argument("--grid", type=Path, default=GRID_FILE,
                        help="the grid's CSV (default: the first suite's; pretrain/grid_v2.csv: the second's)")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="SEED",
                        help="train each cell at these seeds (initial weights and data stream; 0 is the cell itself); "
                             "default: the grid's seeds column, else 0")
    parser.add_argument("--ensemble", type=int, default=1, metavar="E",
                        help="train up to E seeds of a cell together in one process (meant for a GPU; measured not to pay on this project's CPU)")
    parser.add_argument("--cheapest-first", action="store_true",
                        help="start the cheapest runs first (a session that ends keeps only finished runs)")
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
            if args.ensemble < 1 or min(args.seeds or [0]) < 0:
                raise ValueError(f"--ensemble must be ≥ 1 and --seeds ≥ 0; got {args.ensemble} and {args.seeds}")
            if not args.grid.is_file():
                raise ValueError(f"--grid: {args.grid} is not a file (pretrain/grid.csv or pretrain/grid_v2.csv)")
            cells = cells_named(args.cells, args.grid)
            seeds = args.seeds if args.seeds is not None else seeds_of_cells(args.grid)
            if args.executor != "slurm" and not args.dry_run:  # a cluster's login node may have no GPU
                prepare_device(args.device)
        except ValueError as error:
            parser.error(str(error))  # one line, exit status 2
        if args.dry_run:
            print(dry_run(plan_jobs(args.runs, cells, seeds, args.ensemble, True, args.precision), args.device,
                          placement))
            return
        run(args.runs, args.budget_minutes, placement, args.device, cells, seeds=seeds, ensemble=args.ensemble,
            precision=args.precision, cheapest_first=args.cheapest_first)
    else:
        table = status(args.runs, args.grid)
        print(table.groupby("state").size().to_string())


if __name__ == "__main__":
    main()
