"""The pilot: train a few models at the grid's smallest and a larger budget and report, per task,
the mean gold-answer NLL against chance, so that only task designs that learn are shipped.

    python -m pretrain.pilot --out pilot/ [--pilot 6] [--workers 2]

Writes pilot.csv (one row per model and task) to --out; the suite's README reports it.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from pretrain.corpus import Corpus
from pretrain.evaluate import task_report
from pretrain.grid import parameters_of
from pretrain.train import RunSpec, load_model, train

# (name, width, depth, heads, training FLOPs, learning rate); D = C/(6N) with N counted by the model.
# Pilots 2-5 (pretrain/PILOT.md) ran "5" on successive corpus designs; pilot 1 also swept the
# learning rate at 5e11 FLOPs: 3e-3, 1e-2, 3e-2 gave validation losses 1.70, 1.59, 1.56.
# Pilot 6 asks whether the tasks are off chance at 1e12 FLOPs, the candidate smallest level.
PILOTS = {
    "5": [("small-42K", 32, 2, 4, 5e11, 1e-2), ("small-110K", 48, 3, 4, 5e11, 1e-2),
          ("mid-42K", 32, 2, 4, 4e12, 1e-2), ("mid-183K", 64, 3, 4, 4e12, 1e-2)],
    "6": [("c1e12-25K", 24, 2, 2, 1e12, 1e-2), ("c1e12-40K", 32, 2, 4, 1e12, 1e-2),
          ("c1e12-106K", 48, 3, 4, 1e12, 1e-2), ("c1e12-179K", 64, 3, 4, 1e12, 1e-2)],
}


def spec_for(name: str, width: int, depth: int, heads: int, flops: float, lr: float) -> RunSpec:
    params = parameters_of(width, depth, heads)
    return RunSpec(name, width, depth, heads, tokens=int(flops / (6 * params)), lr=lr)


def run_one(args: tuple[RunSpec, Path]) -> pd.DataFrame:
    spec, out = args
    result = train(spec, out / spec.name)
    report = task_report(load_model(out / spec.name), Corpus(spec.corpus_seed))
    return report.assign(run=spec.name, params=result["params"], tokens=spec.tokens, lr=spec.lr,
                         flops=6.0 * result["params"] * spec.tokens, validation_loss=result["validation_loss"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pilot", choices=sorted(PILOTS), default="6")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    specs = [spec_for(*row) for row in PILOTS[args.pilot]]
    with ProcessPoolExecutor(args.workers) as pool:
        frames = list(pool.map(run_one, [(spec, args.out) for spec in specs]))
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(args.out / "pilot.csv", index=False, float_format="%.6g")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
