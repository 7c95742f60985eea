"""From lm-eval runs to a training plan, on the command line.

    python -m t2lib import-lm-eval RUNS_DIR --models models.csv --out SUITE [--tasks T,...] [--allow-unmapped]
    python -m t2lib fit SUITE --out fits.json [--tasks T,...] [--method fast|paper] [--seed 0]
    python -m t2lib plan (--fits fits.json | --suite SUITE) --c-train 1e19 [1e20 ...] --c-inf 1.4e11
                         [--tasks T,...] [--approach 1|2|both] [--resamples R --seed 0] [--csv | --json]
    python -m t2lib forecast SUITE --out forecast.json [--factor 4] [--k-at-chinchilla 1] [--sizes CSV]
                         [--resamples 20] [--seed 0] [--tasks T,...]

Any error is one line on stderr naming what is wrong, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib import analysis
from t2lib.bootstrap import bootstrap_fits
from t2lib.forecast import (ForecastFileError, inference_budget, make_forecast, read_sizes, save_forecast,
                            validation_budget)
from t2lib.lm_eval import LmEvalError, import_lm_eval_folder
from t2lib.plan import gain_in_words, plan
from t2lib.saved import FitsFileError, SavedFits, load_fits, save_fits
from t2lib.suite import SuiteError, load_suite


def _tasks(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of FLOPs; got {text!r}")
    return value


def _fit(suite_path: str, tasks: list[str] | None, method: str, seed: int) -> tuple[object, dict]:
    suite = load_suite(suite_path)
    tasks = list(suite.tasks["task"]) if tasks is None else tasks
    unknown = [t for t in tasks if t not in set(suite.tasks["task"])]
    if unknown:
        raise ValueError(f"--tasks: the suite {suite_path} has no task {unknown[0]!r}; it has "
                         f"{', '.join(suite.tasks['task'])}")
    return suite, analysis.fit_suite(suite, tasks, method=method, seed=seed)


def command_import(args: argparse.Namespace) -> None:
    imported = import_lm_eval_folder(args.runs_dir, args.models, args.out, tasks=_tasks(args.tasks),
                                     allow_unmapped=args.allow_unmapped)
    print(imported.report())


def command_fit(args: argparse.Namespace) -> None:
    suite, fits = _fit(args.suite, _tasks(args.tasks), args.method, args.seed)
    save_fits(fits, args.out, suite=suite, ks=analysis.FIT_KS)
    print(analysis.fit_report(fits)[["task", "law", "status", "on a bound", "objective"]].to_string(index=False))
    print(f"wrote {args.out}")


def command_plan(args: argparse.Namespace) -> None:
    replicates = None
    if args.fits:
        if args.resamples:
            raise ValueError("--resamples needs --suite (the bootstrap refits the laws on the suite's data)")
        saved = load_fits(args.fits)
    else:
        suite, fits = _fit(args.suite, _tasks(args.tasks), "fast", args.seed)
        scratch = Path(args.scratch)
        saved = load_fits(save_fits(fits, scratch, suite=suite, ks=analysis.FIT_KS))
        if args.resamples:
            replicates = bootstrap_fits(suite, fits, resamples=args.resamples, seed=args.seed)
    table = plan(saved, args.c_train, args.c_inf, tasks=_tasks(args.tasks), approach=args.approach,
                 replicates=replicates)
    if args.json:
        print(json.dumps(table.replace({np.nan: None}).to_dict(orient="records"), indent=1))
    elif args.csv:
        print(table.to_csv(index=False), end="")
    else:
        print(_readable(table, saved))


def command_forecast(args: argparse.Namespace) -> None:
    suite, fits = _fit(args.suite, _tasks(args.tasks), "fast", args.seed)
    out = Path(args.out)
    fits_file = save_fits(fits, out.with_name(f"{out.stem}.fits.json"), suite=suite, ks=analysis.FIT_KS)
    saved = load_fits(fits_file)
    c_train = validation_budget(suite, args.factor)
    sizes = read_sizes(args.sizes) if args.sizes else None
    c_inf = inference_budget(saved, c_train, args.k_at_chinchilla, tasks=_tasks(args.tasks), sizes=sizes)
    replicates = bootstrap_fits(suite, fits, resamples=args.resamples, seed=args.seed) if args.resamples else None
    rule = (f"C_train = {args.factor:g} × the suite's largest budget; C_inf = 2 · N_chinchilla · "
            f"{args.k_at_chinchilla:g} (the Chinchilla choice at C_train affords {args.k_at_chinchilla:g} sample(s))"
            + (f"; N_chinchilla and the models to train snapped to the sizes in {args.sizes}" if args.sizes else ""))
    forecast = make_forecast(fits_file, c_train, c_inf, tasks=_tasks(args.tasks), sizes=sizes, replicates=replicates,
                             rule=rule)
    save_forecast(forecast, out)
    print(_readable(pd.DataFrame(forecast["rows"]), saved))
    print(f"wrote {out} (fits: {fits_file}, sha256 {forecast['fits_sha256'][:16]}…)")


def _readable(table, saved: SavedFits) -> str:
    shown = table.assign(**{c: table[c].map(lambda v: f"{v:.3g}") for c in ("c_train", "c_inf", "N", "D", "k",
                                                                            "tokens_per_param", "value")})
    lines = [shown[["approach", "priced_by", "c_train", "N", "D", "tokens_per_param", "k", "value",
                    "flags"]].to_string(index=False), ""]
    lines += gain_in_words(table)
    lines.append(f"value: macro task NLL when priced by Approach 1 (lower is better), macro pass@k by Approach 2 "
                 f"(higher is better). Fits: suite sha256 {saved.suite_sha256[:16]}…, t2lib {saved.t2lib_version}.")
    return "\n".join(lines)


class _OneLineErrors(argparse.ArgumentParser):
    """Bad arguments get one line naming them (and exit status 2), not the usage text."""

    def error(self, message: str) -> None:
        self.exit(2, f"error: {self.prog}: {message}\n")


def parser() -> argparse.ArgumentParser:
    main = _OneLineErrors(prog="python -m t2lib", description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import-lm-eval", help="a folder of lm-eval runs -> a suite")
    importer.add_argument("runs_dir")
    importer.add_argument("--models", required=True, help="CSV: model, [revision,] checkpoint, params, tokens, ...")
    importer.add_argument("--out", required=True)
    importer.add_argument("--tasks", help="comma-separated harness tasks (default: every supported task found)")
    importer.add_argument("--allow-unmapped", action="store_true", help="skip (and report) runs no row maps")
    importer.set_defaults(run=command_import)
    fitter = commands.add_parser("fit", help="fit the laws on a suite and save them")
    fitter.add_argument("suite")
    fitter.add_argument("--out", required=True)
    fitter.add_argument("--tasks")
    fitter.add_argument("--method", choices=["fast", "paper"], default="fast")
    fitter.add_argument("--seed", type=int, default=0)
    fitter.set_defaults(run=command_fit)
    planner = commands.add_parser("plan", help="the (N, D, k) to train for given budgets")
    source = planner.add_mutually_exclusive_group(required=True)
    source.add_argument("--fits", help="a fits file from `python -m t2lib fit`")
    source.add_argument("--suite", help="a suite folder (fitted on the fly)")
    planner.add_argument("--c-train", type=_budget, nargs="+", required=True, help="training budget(s), FLOPs")
    planner.add_argument("--c-inf", type=_budget, required=True, help="inference budget per token, FLOPs")
    planner.add_argument("--tasks")
    planner.add_argument("--approach", choices=["1", "2", "both"], default="both")
    planner.add_argument("--resamples", type=int, default=0, help="bootstrap replicates for bands (needs --suite)")
    planner.add_argument("--seed", type=int, default=0)
    planner.add_argument("--scratch", default="_build/fits/plan.json", help="where --suite's fits are saved")
    output = planner.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true")
    output.add_argument("--json", action="store_true")
    planner.set_defaults(run=command_plan)
    forecaster = commands.add_parser("forecast", help="the forecast at a budget beyond a suite's grid, saved first")
    forecaster.add_argument("suite")
    forecaster.add_argument("--out", required=True, help="the forecast JSON (its fits are saved beside it)")
    forecaster.add_argument("--factor", type=_budget, default=4.0, help="C_train = factor × the largest budget")
    forecaster.add_argument("--k-at-chinchilla", type=_budget, default=1.0,
                            help="C_inf = 2 · N_chinchilla · this: the samples the Chinchilla choice affords")
    forecaster.add_argument("--sizes", help="CSV with a params column: the sizes the trainer can build "
                                            "(adds the models to train)")
    forecaster.add_argument("--resamples", type=int, default=20, help="bootstrap replicates for bands (0: none)")
    forecaster.add_argument("--seed", type=int, default=0)
    forecaster.add_argument("--tasks")
    forecaster.set_defaults(run=command_forecast)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, KeyError, LmEvalError, SuiteError, FitsFileError, ForecastFileError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
