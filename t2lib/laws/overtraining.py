"""What real overtrained runs say about the laws T² rests on (the "Real overtrained models" part).

- Extrapolation in tokens per parameter: fit a loss law to the runs at or below a cutoff, predict
  the rest, and report the relative errors by tokens per parameter.
- Downstream scores against overtraining: chance-centred accuracy, and its trend with tokens per
  parameter at a fixed model size.
- T² on a real loss surface: a fitted Chinchilla law plus an *assumed* sampling term G/k^γ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from t2lib.book.formatting import format_number
from t2lib.data import checks
from t2lib.laws.fit import FitResult, fit_chinchilla
from t2lib.laws.frontier import frontier
from t2lib.laws.laws import Chinchilla, T2Loss

RATIO_RTOL = 1e-6  # a run's tokens per parameter counts as "at the cutoff" within this relative tolerance


def at_most(runs: pd.DataFrame, cutoff: float) -> pd.Series:
    """Which runs are trained on at most `cutoff` tokens per parameter (the fit set)."""
    cutoff = float(checks.positive("cutoff", cutoff))
    return runs["tokens_per_param"] <= cutoff * (1 + RATIO_RTOL)


def fit_up_to(runs: pd.DataFrame, cutoff: float, loss: str = "loss",
              fitter: Callable[..., FitResult] = fit_chinchilla) -> FitResult:
    """A loss law fitted to the runs at or below `cutoff` tokens per parameter only."""
    fit_set = runs[at_most(runs, cutoff)]
    if fit_set.empty:
        raise ValueError(f"no run has at most {cutoff:g} tokens per parameter "
                         f"(the smallest is {runs['tokens_per_param'].min():g})")
    return fitter(fit_set["params"], fit_set["tokens"], fit_set[loss])


def extrapolation_errors(runs: pd.DataFrame, law: Chinchilla, cutoff: float, loss: str = "loss") -> pd.DataFrame:
    """Every run with the law's prediction, its relative error (predicted − observed)/observed
    (negative: the law promises a lower loss than was reached) and whether it was held out."""
    predicted = law.loss(runs["params"], runs["tokens"])
    return runs.assign(observed=runs[loss], predicted=predicted,
                       relative_error=(predicted - runs[loss]) / runs[loss], held_out=~at_most(runs, cutoff))


def errors_by_ratio(errors: pd.DataFrame) -> pd.DataFrame:
    """Per tokens-per-parameter value: runs, fitted or held out, and the mean signed, mean
    absolute and largest absolute relative error, in percent."""
    ratio = errors["tokens_per_param"].map(lambda r: float(f"{r:.3g}"))
    percent = 100 * errors["relative_error"]
    table = pd.DataFrame({"tokens_per_param": ratio, "error": percent, "abs_error": percent.abs(),
                          "held_out": errors["held_out"]})
    return (table.groupby("tokens_per_param")
            .agg(runs=("error", "size"), held_out=("held_out", "all"), mean_error_pct=("error", "mean"),
                 mean_abs_error_pct=("abs_error", "mean"), max_abs_error_pct=("abs_error", "max"))
            .reset_index())


def fit_diagnostics(name: str, result: FitResult, errors: pd.DataFrame) -> dict[str, object]:
    """One row of a fit table: how the fit ended, its parameters, its in-fit RMS relative error
    (its residuals) and its mean held-out error, in percent (None when nothing was held out);
    `errors` as `extrapolation_errors` returns them."""
    law, inside, held = result.law, errors[~errors["held_out"]], errors[errors["held_out"]]
    return {"fit": name, "runs fitted": result.n_points, "status": result.status, "E": law.E, "A": law.A,
            "B": law.B, "α": law.alpha, "β": law.beta,
            "in-fit RMS error (%)": 100 * float(np.sqrt((inside["relative_error"] ** 2).mean())),
            "held-out runs": len(held),
            "held-out mean error (%)": 100 * float(held["relative_error"].mean()) if len(held) else None}


def cutoff_sensitivity(runs: pd.DataFrame, cutoffs: Sequence[float], loss: str = "loss") -> pd.DataFrame:
    """For each cutoff: the fit's runs, status and exponents, and its held-out errors (mean
    signed and absolute, and at the most overtrained run), in percent."""
    rows = []
    for cutoff in cutoffs:
        fit = fit_up_to(runs, cutoff, loss)
        errors = extrapolation_errors(runs, fit.law, cutoff, loss)
        held = errors[errors["held_out"]]
        if held.empty:
            raise ValueError(f"cutoff {cutoff:g} holds out no run: every run has at most {cutoff:g} tokens per "
                             "parameter")
        extreme = held.loc[held["tokens_per_param"].idxmax()]
        rows.append({"cutoff": cutoff, "fitted_runs": fit.n_points, "status": fit.status,
                     "alpha": fit.law.alpha, "beta": fit.law.beta, "held_out_runs": len(held),
                     "mean_error_pct": 100 * held["relative_error"].mean(),
                     "mean_abs_error_pct": 100 * held["relative_error"].abs().mean(),
                     "most_overtrained": extreme["tokens_per_param"],
                     "error_at_most_overtrained_pct": 100 * extreme["relative_error"]})
    return pd.DataFrame(rows)


def centred_accuracy(accuracy: ArrayLike, baseline: ArrayLike) -> NDArray[np.float64]:
    """(accuracy − baseline)/(1 − baseline): 0 at random guessing, 1 when every answer is right."""
    accuracy = checks.probability("accuracy", accuracy)
    baseline = checks.probability("baseline", baseline)
    checks.reject_first("baseline", baseline, baseline >= 1, "below 1 (a task that chance solves cannot be centred)")
    return (accuracy - baseline) / (1 - baseline)


def mean_centred_accuracy(runs: pd.DataFrame, baselines: pd.DataFrame, tasks: Sequence[str]) -> pd.Series:
    """Per run, the mean over `tasks` of the chance-centred accuracy (columns acc_<task>;
    baselines: a frame with task and random_baseline, as `gadre.load_gadre_baselines` returns)."""
    known = baselines.set_index("task")["random_baseline"]
    missing = [task for task in tasks if task not in known.index or f"acc_{task}" not in runs.columns]
    if missing:
        raise KeyError(f"no accuracy or no random baseline for task {missing[0]!r}")
    centred = [centred_accuracy(runs[f"acc_{task}"], np.full(len(runs), known[task])) for task in tasks]
    return pd.Series(np.mean(centred, axis=0), index=runs.index)


def trend_with_overtraining(runs: pd.DataFrame, score: str, by: Sequence[str] = ("params",)) -> pd.DataFrame:
    """Per model (`by`), how a score moves as tokens per parameter grow at fixed N: the range of
    tokens per parameter, the score at both ends, the least-squares change per tenfold more
    tokens, and in how many of the steps between consecutive runs it rose."""
    rows = []
    for key, group in runs.sort_values("tokens_per_param").groupby(list(by)):
        if len(group) < 2:
            continue
        x, y = np.log10(group["tokens_per_param"].to_numpy()), group[score].to_numpy()
        steps = np.diff(y)
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "runs": len(group),
                     "from_ratio": group["tokens_per_param"].iloc[0], "to_ratio": group["tokens_per_param"].iloc[-1],
                     "score_first": y[0], "score_last": y[-1], "change_per_decade": np.polyfit(x, y, 1)[0],
                     "rises": int((steps > 0).sum()), "steps": len(steps)})
    return pd.DataFrame(rows)


def with_sampling_term(law: Chinchilla, G: float, gamma: float) -> T2Loss:
    """The Approach 1 law whose infinite-sample limit is the fitted loss surface and whose k = 1
    value lies G above it: L(N, D, k) = E + A/N^α + B/D^β + G/k^γ. G and γ are assumptions, not
    data; the constant E shifts the loss but never the optimal allocation."""
    return T2Loss(E=float(law.E), A=float(law.A), B=float(law.B), G=float(G), alpha=float(law.alpha),
                  beta=float(law.beta), gamma=float(gamma))


def t2_optima(laws: Mapping[str, Chinchilla], G_values: Sequence[float], gamma_values: Sequence[float],
              c_train: ArrayLike, c_inf: float) -> pd.DataFrame:
    """The T² optimum (N, D, k, tokens per parameter) of every loss surface under every assumed
    sampling term, and its Chinchilla optimum (k = 1), one row per surface, G, γ and budget."""
    rows = []
    for name, law in laws.items():
        chinchilla = frontier(law, c_train)
        for G in G_values:
            for gamma in gamma_values:
                t2 = frontier(with_sampling_term(law, G, gamma), c_train, c_inf)
                rows.append(t2.assign(surface=name, G=G, gamma=gamma,
                                      chinchilla_tokens_per_param=chinchilla["tokens_per_param"].to_numpy()))
    return pd.concat(rows, ignore_index=True)


def outside_runs(optima: pd.DataFrame, runs: pd.DataFrame) -> pd.Series:
    """Per optimum, what lies beyond the runs the surface was fitted on: '' when nothing, else
    which of N and tokens per parameter fall outside the runs' range."""
    n_lo, n_hi = runs["params"].min(), runs["params"].max()
    ratio_hi = runs["tokens_per_param"].max()
    flags = []
    for N, ratio in zip(optima["N"], optima["tokens_per_param"]):
        parts = ([f"N < {format_number(n_lo)}"] if N < n_lo else []) \
            + ([f"N > {format_number(n_hi)}"] if N > n_hi else []) \
            + ([f"D/N > {format_number(ratio_hi)}"] if ratio > ratio_hi else [])
        flags.append("; ".join(parts))
    return pd.Series(flags, index=optima.index, dtype=object)


def fit_and_predict(fit_runs: pd.DataFrame, targets: pd.DataFrame, columns: Sequence[str],
                    fitter: Callable[..., FitResult] = fit_chinchilla) -> pd.DataFrame:
    """For each loss column: a law fitted on `fit_runs`, its status, exponents and in-fit RMS
    relative error, and its relative error on every run of `targets` (one row per column and
    target run; error = (predicted − observed)/observed)."""
    rows = []
    for column in columns:
        result = fitter(fit_runs["params"], fit_runs["tokens"], fit_runs[column])
        inside = result.law.loss(fit_runs["params"], fit_runs["tokens"]) / fit_runs[column] - 1
        predicted = result.law.loss(targets["params"], targets["tokens"])
        for (_, target), value in zip(targets.iterrows(), predicted):
            rows.append({"column": column, "status": result.status, "alpha": result.law.alpha,
                         "beta": result.law.beta, "fit_rms_pct": 100 * float(np.sqrt(np.mean(inside**2))),
                         "target": target["run"] if "run" in target else target.name, "params": target["params"],
                         "tokens_per_param": target["tokens_per_param"], "observed": target[column],
                         "predicted": value, "relative_error": value / target[column] - 1})
    return pd.DataFrame(rows)
