"""From lm-eval runs to a training plan, on the command line.

    python -m t2lib import-lm-eval RUNS_DIR --models models.csv --out SUITE [--tasks T,...] [--allow-unmapped]
    python -m t2lib fit SUITE --out fits.json [--tasks T,...] [--method fast|paper] [--seed 0]
    python -m t2lib plan (--fits fits.json | --suite SUITE) --c-train 1e19 [1e20 ...] --c-inf 1.4e11
                         [--tasks T,...] [--approach 1|2|both] [--resamples R --seed 0] [--allow-degenerate]
                         [--csv | --json]
    python -m t2lib forecast SUITE --out forecast.json [--factor 4] [--k-at-chinchilla 1] [--sizes CSV]
                         [--resamples 20] [--seed 0] [--tasks T,...] [--allow-degenerate]
    python -m t2lib forecast SUITE --out sweep.json --sizes CSV --k-at-chinchilla 1 10 100
                         [--lm-loss validation_loss] [--min-sizes 5] [...]   # an isoFLOP sweep's forecast
                         [--each-run]   # on a seeded suite: laws fitted to each run, not the seeds' pooled mean

N: model parameters. D: training tokens. k: samples drawn per question, scored by pass@k.
C_train: training budget in FLOPs (6·N·D). C_inf: inference budget in FLOPs per token (2·N·k).
Approach 1 picks the N that minimises the predicted task NLL (−log pass@k), Approach 2 the N that
maximises the predicted pass@k; the Chinchilla choice ignores inference.

Every fitted law is classified (converged / benign bound / degenerate); plan and forecast refuse a
degenerate one unless --allow-degenerate, and then flag every row that rests on it.
Any error is one line on stderr naming the file, row, entry or argument, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.data.files import write_atomically
from t2lib.data.lm_eval import import_lm_eval_folder
from t2lib.data.seeds import has_seeds, runs_as_checkpoints
from t2lib.data.suite import Suite, load_suite
from t2lib.laws import analysis
from t2lib.laws.bootstrap import bootstrap_fits
from t2lib.laws.fitquality import MIN_QUESTIONS, R2_FLOOR, require_questions
from t2lib.laws.forecast import (MIN_SWEEP_SIZES, forecast_rows, inference_budget, lm_chinchilla, load_forecast,
                                 make_forecast, make_sweep_forecast, read_sizes, save_forecast, sweep_forecast_rows,
                                 validation_budget)
from t2lib.laws.frontier import N_MIN
from t2lib.laws.plan import GLOSSARY, plan, readable_plan
from t2lib.laws.saved import SavedFits, load_fits, save_fits, saved_from


def _tasks(text: str | None) -> list[str] | None:
    if text is None:
        return None
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    if not tasks:
        raise ValueError(f"--tasks {text!r}: no task named; name at least one, or leave --tasks out for every task")
    repeated = sorted({t for t in tasks if tasks.count(t) > 1})
    if repeated:
        raise ValueError(f"--tasks {text!r}: task {repeated[0]!r} is named twice; name each task once")
    return tasks


def _positive_number(unit: str):
    """An argparse type: a finite number > 0, refused with `unit` in the message ("" for none)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not np.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive number{unit}; got {text!r}")
        return value

    return parse


_budget = _positive_number(" of FLOPs")
_positive = _positive_number("")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0; got {text!r}")
    return value


def _output_file(path: str, option: str = "--out") -> Path:
    """An output file the user named: refused when it is a folder, or its folder is a file."""
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"{option} {path}: is a folder; name a file to write, e.g. {out / 'fits.json'}")
    if out.parent.exists() and not out.parent.is_dir():
        raise ValueError(f"{option} {path}: {out.parent} is a file, not a folder")
    return out


def _fit(suite_path: str, tasks: list[str] | None, method: str, seed: int,
         each_run: bool = False) -> tuple[Suite, dict]:
    suite = load_suite(suite_path)
    if each_run:
        if not has_seeds(suite):
            raise ValueError(f"--each-run: {suite_path}/checkpoints.csv has no 'cell' and 'seed' columns; each "
                             "checkpoint is already one run (leave --each-run out)")
        suite = runs_as_checkpoints(suite)
    tasks = list(suite.tasks["task"]) if tasks is None else tasks
    if not tasks:
        raise ValueError("--tasks: no task named; give comma-separated task names, or leave --tasks out for all")
    unknown = [t for t in tasks if t not in set(suite.tasks["task"])]
    if unknown:
        raise ValueError(f"--tasks: the suite {suite_path} has no task {unknown[0]!r}; it has "
                         f"{', '.join(suite.tasks['task'])}")
    require_questions({t: int(n) for t, n in zip(suite.tasks["task"], suite.tasks["n_questions"]) if t in tasks})
    return suite, analysis.fit_suite(suite, tasks, method=method, seed=seed)


def command_import(args: argparse.Namespace) -> None:
    imported = import_lm_eval_folder(args.runs_dir, args.models, args.out, tasks=_tasks(args.tasks),
                                     allow_unmapped=args.allow_unmapped)
    print(imported.report())


def quality_report(saved: SavedFits) -> str:
    """Each law's quality as a table, and what it means for plan and forecast."""
    rows = [{"task": task, "law": law, "quality": q.status, "R²": "-" if not np.isfinite(q.r2) else f"{q.r2:.3f}",
             "why": "; ".join(q.reasons)} for (task, law), q in saved.quality.items()]
    table = pd.DataFrame(rows)
    degenerate = int((table["quality"] == "degenerate").sum())
    lines = [table.to_string(index=False), "",
             f"quality: converged (inside its search box, in-sample R² >= {R2_FLOOR:g}); benign bound (on a bound a "
             "saturating task is expected to reach); degenerate (a size, data or sampling term fitted to zero, an "
             f"exponent on its bound, too few checkpoints, or R² < {R2_FLOOR:g})."]
    if degenerate:
        lines.append(f"{degenerate} of {len(table)} laws are degenerate: plan and forecast refuse them unless "
                     "--allow-degenerate.")
    return "\n".join(lines)


def command_fit(args: argparse.Namespace) -> None:
    out = _output_file(args.out)
    suite, fits = _fit(args.suite, _tasks(args.tasks), args.method, args.seed)
    saved = load_fits(save_fits(fits, out, suite=suite, ks=analysis.FIT_KS))
    print(quality_report(saved))
    print(f"wrote {out}")


def _provenance(saved: SavedFits) -> str:
    return f"Fits: suite sha256 {saved.suite_sha256[:16]}…, t2lib {saved.t2lib_version}."


def command_plan(args: argparse.Namespace) -> None:
    repeated = sorted({c for c in args.c_train if args.c_train.count(c) > 1})
    if repeated:
        raise ValueError(f"--c-train: {repeated[0]:g} is given twice; give each budget once")
    if args.c_inf <= 2 * N_MIN:
        raise ValueError(f"--c-inf {args.c_inf:g}: too small for one sample of the smallest model searched "
                         f"({N_MIN:,.0f} parameters need C_inf > {2 * N_MIN:,.0f} FLOPs per token)")
    replicates = None
    if args.fits:
        if args.resamples:
            raise ValueError("--resamples needs --suite (the bootstrap refits the laws on the suite's data)")
        saved = load_fits(args.fits)
    else:
        suite, fits = _fit(args.suite, _tasks(args.tasks), "fast", args.seed)
        saved = saved_from(fits, suite=suite, ks=analysis.FIT_KS)
        if args.resamples:
            replicates = bootstrap_fits(suite, fits, resamples=args.resamples, seed=args.seed)
    table = plan(saved, args.c_train, args.c_inf, tasks=_tasks(args.tasks), approach=args.approach,
                 replicates=replicates, allow_degenerate=args.allow_degenerate)
    if args.json:
        print(json.dumps(table.replace({np.nan: None}).to_dict(orient="records"), indent=1))
    elif args.csv:
        print(table.to_csv(index=False), end="")
    else:
        print(readable_plan(table, _provenance(saved)))


def _new_forecast_file(path: str, replace_existing: bool) -> Path:
    """The forecast's --out: a forecast is written once, before the models that test it, so an
    existing file is replaced only when asked (and never one that is not a forecast)."""
    out = _output_file(path)
    for existing in (out, out.with_name(f"{out.stem}.fits.json")):
        if existing.exists() and not replace_existing:
            raise ValueError(f"--out {path}: {existing} exists; a forecast is written once, before the models that "
                             "test it — name a new file, or pass --replace to write over it")
    if out.exists():
        load_forecast(out)  # refuses a file that is not a forecast, whatever --replace says
    return out


def _fitted_to(suite: Suite, each_run: bool) -> tuple[str, str]:
    """What the forecast's laws are fitted to (one of `forecast.FITTED_TO`) and the rule's clause
    saying so (empty for a suite of one run per checkpoint)."""
    if each_run:
        return "each run", ("laws fitted to each seed's run as a checkpoint of its own (what one trained model "
                            "scores; its bands resample runs and questions); ")
    if has_seeds(suite):
        return "pooled seeds", ("laws fitted to the seeds' mean probability per question (what an ensemble of the "
                                "seeds scores); ")
    return "checkpoints", ""


def command_forecast(args: argparse.Namespace) -> None:
    out = _new_forecast_file(args.out, args.replace)
    sizes = read_sizes(args.sizes) if args.sizes else None
    sweep = len(args.k_at_chinchilla) > 1 or args.lm_loss is not None
    if sweep and sizes is None:
        raise ValueError("--sizes: a sweep (several --k-at-chinchilla, or --lm-loss) needs the sizes the trainer "
                         "can build")
    suite, fits = _fit(args.suite, _tasks(args.tasks), "fast", args.seed, each_run=args.each_run)
    c_train = validation_budget(suite, args.factor)
    extra = {}
    if args.lm_loss is not None:
        extra["Chinchilla choice (LM loss)"] = lm_chinchilla(suite, c_train, args.lm_loss)[0]
    with tempfile.TemporaryDirectory() as scratch:  # nothing is written until the forecast passes the gate
        saved = load_fits(save_fits(fits, Path(scratch) / "fits.json", suite=suite, ks=analysis.FIT_KS))
        c_infs = [inference_budget(saved, c_train, k, tasks=_tasks(args.tasks), sizes=sizes)
                  for k in args.k_at_chinchilla]
        checked = replace(saved, path=suite.path)
        if sweep:
            sweep_forecast_rows(checked, c_train, c_infs, sizes=sizes, extra=extra, tasks=_tasks(args.tasks),
                                allow_degenerate=args.allow_degenerate, minimum=args.min_sizes)
        else:
            forecast_rows(checked, c_train, c_infs[0], tasks=_tasks(args.tasks), sizes=sizes,
                          allow_degenerate=args.allow_degenerate)
        fits_file = write_atomically(out.with_name(f"{out.stem}.fits.json"), saved.path.read_bytes())
    replicates = bootstrap_fits(suite, fits, resamples=args.resamples, seed=args.seed) if args.resamples else None
    samples = ", ".join(f"{k:g}" for k in args.k_at_chinchilla)
    fitted_to, clause = _fitted_to(suite, args.each_run)
    rule = (clause + f"C_train = {args.factor:g} × the suite's largest budget; "
            f"C_inf = 2 · N_chinchilla · k for k = {samples} "
            f"(the Chinchilla choice at C_train affords {samples} sample(s))"
            + (f"; N_chinchilla and the models to train snapped to the sizes in {args.sizes}" if args.sizes else "")
            + (f"; also trained: the choice of a Chinchilla law fitted to the LM loss ({args.lm_loss})"
               if args.lm_loss else "")
            + (f"; at least {args.min_sizes} sizes" if sweep else ""))
    if sweep:
        forecast = make_sweep_forecast(fits_file, c_train, c_infs, sizes=sizes, extra=extra, tasks=_tasks(args.tasks),
                                       replicates=replicates, rule=rule, allow_degenerate=args.allow_degenerate,
                                       minimum=args.min_sizes, fitted_to=fitted_to)
    else:
        forecast = make_forecast(fits_file, c_train, c_infs[0], tasks=_tasks(args.tasks), sizes=sizes,
                                 replicates=replicates, rule=rule, allow_degenerate=args.allow_degenerate,
                                 fitted_to=fitted_to)
    save_forecast(forecast, out)
    budgets = ", ".join(f"{c:.4g}" for c in c_infs)
    print(f"C_train = {c_train:.4g} FLOPs and C_inf = {budgets} FLOPs per token, by the rule: {rule}.")
    print(readable_plan(pd.DataFrame(forecast["rows"]), _provenance(saved)))
    print(f"wrote {out} (fits: {fits_file}, sha256 {forecast['fits_sha256'][:16]}…)")


DEBUG_ENV = "T2LIB_DEBUG"  # set to show the traceback of an unexpected error


class _OneLineErrors(argparse.ArgumentParser):
    """Bad arguments get one line naming them (and exit status 2), not the usage text."""

    def error(self, message: str) -> None:
        self.exit(2, f"error: {self.prog}: {message}\n")


def _explained(text: str) -> str:
    return text + "\n\n" + "\n".join(GLOSSARY)


def parser() -> argparse.ArgumentParser:
    main = _OneLineErrors(prog="python -m t2lib", description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True)
    importer = commands.add_parser(
        "import-lm-eval", help="a folder of lm-eval runs -> a suite",
        description="Read every lm-evaluation-harness run (--log_samples) under RUNS_DIR and write a suite folder. "
                    "Tasks without a gold-answer likelihood (generate_until) are skipped with a note; a suite "
                    "already at --out is replaced only when the import succeeds.")
    importer.add_argument("runs_dir", help="the harness's --output_path folder(s), searched recursively")
    importer.add_argument("--models", required=True,
                          help="CSV: model, [revision,] checkpoint, params (N, e.g. 1.6M or 1,618,080; empty: the "
                               "run's model_num_parameters), tokens (D), [source, stage, base_checkpoint]")
    importer.add_argument("--out", required=True, help="the suite folder to write")
    importer.add_argument("--tasks", help="comma-separated harness tasks (default: every task with a gold-answer "
                                          "likelihood)")
    importer.add_argument("--allow-unmapped", action="store_true", help="skip (and report) runs no row maps")
    importer.set_defaults(run=command_import)
    fitter = commands.add_parser(
        "fit", help="fit the laws on a suite and save them",
        description=f"Fit the Chinchilla law and both T² laws to every task (at least {MIN_QUESTIONS} questions "
                    "each), classify each fit, and save them.", formatter_class=argparse.RawDescriptionHelpFormatter)
    fitter.add_argument("suite")
    fitter.add_argument("--out", required=True, help="the fits file (JSON) to write")
    fitter.add_argument("--tasks", help="comma-separated tasks (default: all)")
    fitter.add_argument("--method", choices=["fast", "paper"], default="fast")
    fitter.add_argument("--seed", type=int, default=0)
    fitter.set_defaults(run=command_fit)
    planner = commands.add_parser(
        "plan", help="the (N, D, k) to train for given budgets",
        description=_explained("The model size N, tokens D and samples k each approach recommends for each training "
                               "budget, against the Chinchilla choice."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    source = planner.add_mutually_exclusive_group(required=True)
    source.add_argument("--fits", help="a fits file from `python -m t2lib fit`")
    source.add_argument("--suite", help="a suite folder (fitted on the fly; nothing is written)")
    planner.add_argument("--c-train", type=_budget, nargs="+", required=True,
                         help="training budget(s) C_train = 6·N·D, FLOPs (e.g. 1e21)")
    planner.add_argument("--c-inf", type=_budget, required=True,
                         help="inference budget C_inf = 2·N·k, FLOPs per token of each question (e.g. 1.4e11)")
    planner.add_argument("--tasks", help="comma-separated tasks to average over (default: all)")
    planner.add_argument("--approach", choices=["1", "2", "both"], default="both",
                         help="1: minimise task NLL; 2: maximise pass@k; both (default)")
    planner.add_argument("--resamples", type=_count, default=0,
                         help="bootstrap replicates for bands, shown as value [low, high] (needs --suite)")
    planner.add_argument("--seed", type=int, default=0)
    planner.add_argument("--allow-degenerate", action="store_true",
                         help="plan from degenerate fits anyway; every row resting on one is flagged")
    output = planner.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="the plan as CSV (fractional k, bands, flags)")
    output.add_argument("--json", action="store_true", help="the plan as JSON (fractional k, bands, flags)")
    planner.set_defaults(run=command_plan)
    forecaster = commands.add_parser(
        "forecast", help="the forecast at a budget beyond a suite's grid, saved first",
        description=_explained("A forecast at a training budget beyond the suite's grid, saved with the checksum of "
                               "its fits before any model tests it; prints the C_train and C_inf it chose."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    forecaster.add_argument("suite")
    forecaster.add_argument("--out", required=True, help="the forecast JSON (its fits are saved beside it, as "
                                                         "NAME.fits.json)")
    forecaster.add_argument("--factor", type=_positive, default=4.0, help="C_train = factor × the largest budget")
    forecaster.add_argument("--k-at-chinchilla", type=_positive, nargs="+", default=[1.0],
                            help="C_inf = 2 · N_chinchilla · this: the samples the Chinchilla choice affords; "
                                 "several values make an isoFLOP sweep's forecast (one set of models, every budget)")
    forecaster.add_argument("--lm-loss", metavar="COLUMN",
                            help="also train the choice of a Chinchilla law fitted to this LM-loss column of "
                                 "checkpoints.csv (a sweep)")
    forecaster.add_argument("--min-sizes", type=_count, default=MIN_SWEEP_SIZES,
                            help="a sweep trains at least this many sizes")
    forecaster.add_argument("--sizes", help="CSV with a params column: the sizes the trainer can build "
                                            "(adds the models to train)")
    forecaster.add_argument("--resamples", type=_count, default=20, help="bootstrap replicates for bands (0: none)")
    forecaster.add_argument("--seed", type=int, default=0)
    forecaster.add_argument("--tasks")
    forecaster.add_argument("--allow-degenerate", action="store_true",
                            help="forecast from degenerate fits anyway; every row resting on one is flagged")
    forecaster.add_argument("--each-run", action="store_true",
                            help="on a suite trained at several seeds, fit the laws to each seed's run as a checkpoint "
                                 "of its own (one trained model's pass@k), not to the seeds' mean probability per "
                                 "question (an ensemble's); the bands then resample runs as independent checkpoints "
                                 "(not cells, then their seeds), so they can be narrower")
    forecaster.add_argument("--replace", action="store_true",
                            help="write over an existing forecast at --out (and its fits file)")
    forecaster.set_defaults(run=command_forecast)
    return main


def _message(error: BaseException) -> str:
    """One line for an error: the file an OS error names, else the error's own message."""
    if isinstance(error, OSError):
        target = error.filename if error.filename is not None else ""
        return f"{target}: {error.strerror or error}" if target else str(error)
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return " ".join(str(error).split())


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except BrokenPipeError:  # the reader stopped reading (e.g. `| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, KeyError, OSError) as error:
        print(f"error: {_message(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # an input no check foresaw: still one line, and the way to the traceback
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: unexpected {type(error).__name__} ({_message(error)}) while running {args.command}; the input "
              f"is probably malformed in a way no check names — rerun with {DEBUG_ENV}=1 for the traceback, and "
              "please report it", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
