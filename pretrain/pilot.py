"""The pilot: train a few models at the grid's smallest and a larger budget and report, per task,
the mean gold-answer NLL against chance, so that only task designs that learn are shipped.

    python -m pretrain.pilot --out pilot/ [--pilot 6] [--workers 2]
    python -m pretrain.pilot --out pilot/ --position RUN_DIR [RUN_DIR ...]

Writes pilot.csv (one row per model and task) to --out; the suite's README reports it.
`--position` asks whether trained models answer the test questions differently where the
harness asks them (opening the sequence, `<eos>` at position 0, which the training stream never
has) and after held-out training text (where questions occur in training); writes position.csv
(committed as data/real/t2mini-validation/position.csv).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain.corpus import CORPUS_VERSION, Corpus, corpus_for
from pretrain.corpus_v2 import CORPUS_VERSION as SECOND_DESIGN
from pretrain.evaluate import answer_nll, task_report
from pretrain.grid import parameters_of
from pretrain.model import count_parameters
from pretrain.train import RESULT, RunSpec, load_model, train, with_seed

# (name, width, depth, heads, training FLOPs, learning rate); D = C/(6N) with N counted by the model.
# Pilots 2-5 (pretrain/PILOT.md) ran "5" on successive corpus designs; pilot 1 also swept the
# learning rate at 5e11 FLOPs: 3e-3, 1e-2, 3e-2 gave validation losses 1.70, 1.59, 1.56.
# Pilot 6 asks whether the tasks are off chance at 1e12 FLOPs, the candidate smallest level.
FIRST_SUITE_PILOTS = {
    "5": [("small-42K", 32, 2, 4, 5e11, 1e-2), ("small-110K", 48, 3, 4, 5e11, 1e-2),
          ("mid-42K", 32, 2, 4, 4e12, 1e-2), ("mid-183K", 64, 3, 4, 4e12, 1e-2)],
    "6": [("c1e12-25K", 24, 2, 2, 1e12, 1e-2), ("c1e12-40K", 32, 2, 4, 1e12, 1e-2),
          ("c1e12-106K", 48, 3, 4, 1e12, 1e-2), ("c1e12-179K", 64, 3, 4, 1e12, 1e-2)],
    # Pilot 8: design 6 (sequences open with <eos>) at grid cells whose pass@1 fell with more data
    # (w24d2 at 1,050 and 4,200, w40d2 at 405 and 1,621 tokens per parameter), dearest first.
    "8": [("w40d2-c6", 40, 2, 4, 3.2e13, 1e-2, "t2mini-corpus-6"), ("w24d2-c5", 24, 2, 2, 1.6e13, 1e-2, "t2mini-corpus-6"),
          ("w40d2-c4", 40, 2, 4, 8e12, 1e-2, "t2mini-corpus-6"), ("w24d2-c3", 24, 2, 2, 4e12, 1e-2, "t2mini-corpus-6")],
}


def spec_for(name: str, width: int, depth: int, heads: int, flops: float, lr: float,
             corpus_version: str = CORPUS_VERSION) -> RunSpec:
    params = parameters_of(width, depth, heads)
    return RunSpec(name, width, depth, heads, tokens=int(flops / (6 * params)), lr=lr, corpus_version=corpus_version)


def ladder(width: int, depth: int, heads: int, ratios: list[int], lr: float, seeds: list[int],
           name_heads: bool = False) -> list[RunSpec]:
    """Design-7 runs of one shape at `ratios` tokens per parameter, each at `seeds`; named
    w<width>d<depth>[h<heads>]-r<ratio>-lr<lr>[-s<seed>] (the heads named if `name_heads`)."""
    params = parameters_of(width, depth, heads, SECOND_DESIGN)
    shape = f"w{width}d{depth}" + (f"h{heads}" if name_heads else "")
    return [with_seed(RunSpec(f"{shape}-r{ratio}-lr{lr:g}", width, depth, heads, tokens=ratio * params, lr=lr,
                              corpus_version=SECOND_DESIGN), seed) for ratio in ratios for seed in seeds]


def pilot9_lr(params: float) -> float:
    """The learning rate pilots 10 to 13b gave a design-7 model of `params` parameters: the best of
    pilot 9's sweep (3e-3, 1e-2, 3e-2) at 9,376 parameters (3e-2) and 37,600 (1e-2), joined by a
    power law in N (pretrain/PILOT.md, pilot 9). Pilot 14 found it far too low at the grid's
    large shapes; the grid uses `grid_lr`."""
    exponent = np.log(3e-2 / 1e-2) / np.log(37_600 / 9_376)
    return float(3e-2 * (params / 9_376) ** -exponent)


PILOT_RECORDS = Path(__file__).resolve().parent / "pilot"  # each pilot's table, pilotN.csv
LR_SWEEPS = {"9": "7", "14": None}  # pilot → the corpus design its rows must have (None: every row)
# lr(N) = GRID_LR[0] · (N / 10⁵)^GRID_LR[1]: `fit_lr_rule(lr_optima(read_lr_sweeps()))`, two figures (tested).
GRID_LR = (0.013, -0.2)


def read_lr_sweeps(folder: Path = PILOT_RECORDS) -> pd.DataFrame:
    """The design-7 learning-rate sweeps (pilots 9 and 14): one row per run, with its N, rate,
    seed and validation loss."""
    frames = []
    for pilot, design in LR_SWEEPS.items():
        runs = pd.read_csv(folder / f"pilot{pilot}.csv")
        if design is not None:  # pilot 9 reran its first runs' names on a revised design
            runs = runs[runs["design"].astype(str) == design]
        runs = runs.drop_duplicates("run")
        frames.append(runs.assign(pilot=pilot)[["pilot", "run", "params", "lr", "seed", "validation_loss"]])
    return pd.concat(frames, ignore_index=True)


def lr_optima(sweeps: pd.DataFrame) -> pd.DataFrame:
    """Per size: the rate with the lowest seed-mean validation loss, that loss, and the optimum,
    the vertex of a parabola in log(lr) through the best rate and its two neighbours (NaN where the
    best rate is at the sweep's edge: the optimum lies beyond what was tried)."""
    rows = []
    for params, sweep in sweeps.groupby("params"):
        mean = sweep.groupby("lr")["validation_loss"].mean()
        best = int(np.argmin(mean.to_numpy()))
        vertex = np.nan
        if 0 < best < len(mean) - 1:
            a, b, _ = np.polyfit(np.log(mean.index[best - 1:best + 2]), mean.to_numpy()[best - 1:best + 2], 2)
            vertex = float(np.exp(-b / (2 * a)))
        rows.append({"params": int(params), "rates": len(mean), "seeds": sweep["seed"].nunique(),
                     "best_lr": float(mean.index[best]), "best_loss": float(mean.iloc[best]), "optimum": vertex})
    return pd.DataFrame(rows)


def fit_lr_rule(optima: pd.DataFrame) -> tuple[float, float]:
    """(lr at 10⁵ parameters, exponent): a power law in N fitted by least squares in log-log to
    the sizes whose optimum lies inside their sweep."""
    inside = optima.dropna(subset=["optimum"])
    exponent, intercept = np.polyfit(np.log(inside["params"] / 1e5), np.log(inside["optimum"]), 1)
    return float(np.exp(intercept)), float(exponent)


def grid_lr(params: float) -> float:
    """The second grid's learning rate at `params` parameters (`GRID_LR`, pretrain/PILOT.md, pilot 14)."""
    return float(GRID_LR[0] * (params / 1e5) ** GRID_LR[1])


def tuned_ladder(width: int, depth: int, heads: int, ratios: list[int], seeds: list[int],
                 name_heads: bool = False) -> list[RunSpec]:
    """`ladder` at the learning rate `pilot9_lr` gives the shape, rounded to two figures."""
    lr = float(f"{pilot9_lr(parameters_of(width, depth, heads, SECOND_DESIGN)):.2g}")
    return ladder(width, depth, heads, ratios, lr, seeds, name_heads)


PILOTS: dict[str, list[RunSpec]] = {
    **{name: [spec_for(*row) for row in rows] for name, rows in FIRST_SUITE_PILOTS.items()},
    # Pilot 9 (design 7): the learning rate at two sizes, 300 tokens per parameter.
    "9": [spec for lr in (3e-3, 1e-2, 3e-2) for shape in ((16, 1, 2), (32, 2, 4))
          for spec in ladder(*shape, [300], lr, [0])],
    # Pilot 10 (design 7): returns to data at three shapes, two seeds each, 20 to 10⁴ tokens per parameter.
    "10": (tuned_ladder(16, 1, 2, [20, 100, 300, 1000, 3000, 10000], [0, 1])
           + tuned_ladder(24, 2, 2, [20, 100, 300, 1000, 3000, 10000], [0, 1])
           + tuned_ladder(32, 2, 4, [20, 100, 300, 1000, 3000, 10000], [0, 1])),
    # Pilot 11 (design 7): one head of width 32 instead of pilot 10's four of width 8 (the same N,
    # faster on this CPU: README, throughput), at two of pilot 10's ratios and both its seeds.
    "11": tuned_ladder(32, 2, 1, [300, 1000], [0, 1], name_heads=True),
    # Pilot 12 (design 7): two heads of width 16, between pilots 10 and 11, at 1,000 tokens per parameter.
    "12": tuned_ladder(32, 2, 2, [1000], [0, 1], name_heads=True),
    # Pilot 13 (design 7, the second grid's heads): returns to data before the grid: pilot 10's
    # w24d2 (the same shape) at 10⁴ tokens per parameter, and the low ends of the grid's smallest
    # shape and of w32d2 with two heads (pilot 12 has 1,000); pilot 13b, their long ends.
    "13": (tuned_ladder(24, 2, 2, [10000], [0, 1])
           + tuned_ladder(24, 1, 2, [20, 100, 300, 1000, 3000], [0, 1])
           + tuned_ladder(32, 2, 2, [20, 100, 300], [0, 1], name_heads=True)),
    "13b": tuned_ladder(24, 1, 2, [10000], [0, 1]) + tuned_ladder(32, 2, 2, [3000, 10000], [0, 1], name_heads=True),
    # Pilot 14 (design 7): the learning rate at two of the grid's largest shapes, where pilot 9's
    # rule is an extrapolation (1.7e-3 at 341,840 parameters, 8.6e-4 at 841,856),
    # on a factor-2 grid wide enough to bracket both the rule and the first suite's 1e-2, at the
    # tokens per parameter of a grid cell (w80d4-c5, w128d4-c6), two seeds each.
    "14": [spec for lr in (5e-4, 1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2)
           for width, depth, heads, ratio in ((80, 4, 5, 13), (128, 4, 8, 4))
           for spec in ladder(width, depth, heads, [ratio], lr, [0, 1], name_heads=True)],
    # Pilot 14b: w80d4 at 3.2e-2, above pilot 14's largest rate, whose loss was still falling.
    "14b": ladder(80, 4, 5, [13], 3.2e-2, [0, 1], name_heads=True),
}


def run_one(args: tuple[RunSpec, Path]) -> pd.DataFrame:
    """Train one pilot run (or find it finished) and report its tasks; the report is also kept
    as report.csv in the run's folder."""
    spec, out = args
    result = train(spec, out / spec.name, stream_cache=out / "_stream")
    report = task_report(load_model(out / spec.name), corpus_for(spec.corpus_seed, spec.corpus_version))
    report = report.assign(run=spec.name, params=result["params"], tokens=spec.tokens, lr=spec.lr, seed=spec.model_seed,
                           flops=6.0 * result["params"] * spec.tokens, validation_loss=result["validation_loss"],
                           wall_seconds=result["wall_seconds"])
    report.to_csv(out / spec.name / "report.csv", index=False, float_format="%.6g")
    return report


def position_report(run_dirs: list[Path], context: int = 64, questions: int | None = None) -> pd.DataFrame:
    """Per model and task: mean NLL and pass@1 (mean probability) with each question opening the
    sequence, as evaluated, and after `context` tokens of held-out training text (the first
    `questions` questions of each task; all by default)."""
    corpus, rows = Corpus(0), []
    for run_dir in run_dirs:
        model, record = load_model(run_dir), json.loads((run_dir / RESULT).read_text())
        for task, asked in corpus.questions.items():
            asked = asked[:questions]
            opening, inside = answer_nll(model, corpus, asked), answer_nll(model, corpus, asked, context=context)
            rows.append({"checkpoint": record["name"], "params": count_parameters(model), "tokens": record["tokens"],
                         "task": task,
                         "nll_opening": opening.mean(), "nll_after_text": inside.mean(),
                         "pass_at_1_opening": np.exp(-opening).mean(), "pass_at_1_after_text": np.exp(-inside).mean()})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pilot", choices=sorted(PILOTS), default="6")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cheapest-first", action="store_true",
                        help="train the cheapest runs first (a ladder fills in from the bottom; default: dearest first)")
    parser.add_argument("--position", nargs="+", type=Path, metavar="RUN_DIR",
                        help="trained runs to evaluate at the opening of the sequence and after training text")
    args = parser.parse_args()
    if args.position:
        table = position_report(args.position)
        table.to_csv(args.out / "position.csv", index=False, float_format="%.6g")
        print(table.to_string(index=False))
        return
    cost = {spec.name: spec.tokens * spec.width ** 2 * spec.depth for spec in PILOTS[args.pilot]}
    specs = sorted(PILOTS[args.pilot], key=lambda spec: cost[spec.name] * (1 if args.cheapest_first else -1))
    with ProcessPoolExecutor(args.workers) as pool:
        frames = list(pool.map(run_one, [(spec, args.out) for spec in specs]))
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(args.out / "pilot.csv", index=False, float_format="%.6g")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
