"""Training throughput of the miniature suite's trainer, per model, in tokens per second.

    python -m pretrain.bench [--max-params 3e5] [--steps 12] [--repeats 3] [--ensemble 4] [--out FILE]
    make bench-pretrain

For each shape of the grid's ladder, one thread, the real `pretrain.train.train` (and
`pretrain.ensemble.train_ensemble`) timed on resumed segments of `steps` steps (the time of a
resume that trains nothing is subtracted, so loading, saving and setup do not count; the best of
`repeats` segments is kept, as the machine is shared):

- baseline: the trainer as the first suite used it, each batch generated as it is needed;
- + stream cache: batches read from the shared cache of the training stream (`pretrain.stream`;
  the grid generates each sequence once for all its runs: its one-off cost is the
  `generation` line);
- + stream cache, head width ≥ 32: the same N with fewer, wider attention heads
  (`wider_heads`), a shape choice for new suites (the first suite's ladder has heads of width 8–12);
- ensemble: `ensemble` seeds of the shape trained in one process (with the stream cache,
  the ladder's heads), tokens per second per member.

Each column's speed-up is against the baseline of the same shape. The table is printed and
written as CSV to `--out`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from pretrain.corpus import CONTEXT, Corpus
from pretrain.ensemble import train_ensemble
from pretrain.grid import SHAPES, parameters_of
from pretrain.stream import StreamCache
from pretrain.train import RunSpec, cpu_name, train, with_seed

BATCH = 32
NEVER_ENDS = 10**6 * BATCH * CONTEXT  # tokens of a run that the benchmark never finishes


def wider_heads(width: int) -> int:
    """Heads of width at least 32 (one head below width 64)."""
    return max(1, width // 32)


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def seconds_per_step(train_until, steps: int, repeats: int) -> float:
    """Best time per step of `repeats` resumed segments of `steps` steps: `train_until(s)` trains
    (resuming) until step s and saves; a resume that trains nothing prices setup, load and save."""
    train_until(2)  # warm up: first allocations, the state file
    overhead = min(_timed(lambda: train_until(2)) for _ in range(2))
    segments = [_timed(lambda r=r: train_until(2 + (r + 1) * steps)) - overhead for r in range(repeats)]
    return max(min(segments), 1e-9) / steps


def solo_rate(spec: RunSpec, folder: Path, cache: Path | None, steps: int, repeats: int) -> float:
    """Tokens per second of one run of `spec`."""
    run = folder / f"{spec.name}-{'cache' if cache else 'gen'}"
    per_step = seconds_per_step(lambda s: train(spec, run, stream_cache=cache, stop_after_steps=s), steps, repeats)
    return BATCH * CONTEXT / per_step


def ensemble_rate(spec: RunSpec, members: int, folder: Path, cache: Path, steps: int, repeats: int) -> float:
    """Tokens per second per member of an ensemble of `members` seeds of `spec`."""
    specs = [with_seed(spec, seed) for seed in range(members)]
    dirs = [folder / f"ens-{s.name}" for s in specs]
    group = folder / f"ens-{spec.name}-group"
    per_step = seconds_per_step(
        lambda s: train_ensemble(specs, dirs, group, stream_cache=cache, stop_after_steps=s), steps, repeats)
    return members * BATCH * CONTEXT / per_step


def fill_caches(corpus: Corpus, cache: Path, rows: int, streams: int) -> float:
    """Fill the caches of `streams` data streams to `rows` rows; returns generation tokens/s."""
    started = time.perf_counter()
    for stream in range(streams):
        StreamCache(corpus, cache, stream).ensure(rows)
    return streams * rows * (CONTEXT + 1) / (time.perf_counter() - started)


def benchmark(max_params: float, steps: int, repeats: int, members: int) -> tuple[pd.DataFrame, float]:
    """The side-by-side table, and the stream generation rate (tokens/s, one thread)."""
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cache = folder / "_stream"
        needed = (4 + (repeats + 1) * steps) * BATCH
        generation = fill_caches(Corpus(0), cache, needed, members)
        for width, depth, heads in SHAPES:
            params = parameters_of(width, depth, heads)
            if params > max_params:
                continue
            spec = RunSpec(f"w{width}d{depth}", width, depth, heads, NEVER_ENDS, 1e-2, batch_size=BATCH)
            wide = replace(spec, name=f"{spec.name}-wide", heads=wider_heads(width))
            rates = {"baseline": solo_rate(spec, folder, None, steps, repeats),
                     "+ stream cache": solo_rate(spec, folder, cache, steps, repeats),
                     "+ stream cache, head width ≥ 32": solo_rate(wide, folder, cache, steps, repeats),
                     f"ensemble of {members}": ensemble_rate(spec, members, folder, cache, steps, repeats)}
            row = {"shape": f"{width}×{depth}, {heads} heads", "N": params}
            for name, rate in rates.items():
                row[f"{name} tok/s"] = round(rate)
                if name != "baseline":
                    row[f"{name} ×"] = round(rate / rates["baseline"], 2)
            rows.append(row)
            print(f"{row['shape']} (N = {params:,}): timed", flush=True)
    return pd.DataFrame(rows), generation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-params", type=float, default=3e5, help="largest ladder shape to time (N)")
    parser.add_argument("--steps", type=int, default=12, help="steps per timed segment")
    parser.add_argument("--repeats", type=int, default=3, help="timed segments per measurement (the best is kept)")
    parser.add_argument("--ensemble", type=int, default=4, help="members of the ensemble column")
    parser.add_argument("--out", type=Path, default=Path("_build/bench-pretrain.csv"))
    args = parser.parse_args()
    print(f"one thread of {cpu_name()}, torch {torch.__version__}, batch {BATCH} × {CONTEXT} tokens; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}", flush=True)
    table, generation = benchmark(args.max_params, args.steps, args.repeats, args.ensemble)
    print(table.to_string(index=False))
    print(f"generation of the training stream: {generation:,.0f} tokens/s (paid once per data seed with the cache)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
