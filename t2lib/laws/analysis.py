"""From a suite to fitted laws: the measured targets of each task and the three fits per task.

The chapters only call these functions. For one task and stage, `measure` computes what the
laws are fitted to (the paper's): per checkpoint, the task NLL E_i[−log pass@k_i] and the
benchmark pass@k at k = 1, 2, 4, …, 1024 ([convention] of §3). `fit_task` then fits
- the Chinchilla task-loss law on the k = 1 task NLL, with inverse-variance isoFLOP weights;
- Approach 1 (`T2Loss`) on the task NLL over all k;
- Approach 2 (`T2Accuracy`) on pass@k over all k, given that Chinchilla law.
Every fit keeps its `FitResult`, so a chapter can report how each one ended.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from t2lib.book.cache import memoized
from t2lib.data import checks
from t2lib.data.seeds import learnt_cells, seed_averaged
from t2lib.data.suite import Suite, budget_levels
from t2lib.laws.fit import FitResult, Method, fit_chinchilla, fit_t2_accuracy, fit_t2_loss, isoflop_weights
from t2lib.laws.fitquality import quality_table, task_r_squared
from t2lib.laws.frontier import frontier, single_pass_choice, value_at
from t2lib.laws.laws import Law, T2Accuracy, T2Loss
from t2lib.laws.passk import log_pass_at_k, task_nll, task_pass_at_k

# [convention] the paper's: the k values the laws are fitted on.
FIT_KS = 2.0 ** np.arange(11)
# Chapters in fast mode (the test suite) fit only this many tasks: the code paths are the same.
FAST_TASKS = 2
# The fewest cells the Chinchilla stage fits (`fit._inputs`: two per input array N, D, loss, plus one).
MIN_FIT_CELLS = 7


@dataclass(frozen=True)
class Measured:
    """One task at one stage: its checkpoints and their measured targets on a grid of k."""

    task: str
    stage: str
    checkpoints: pd.DataFrame  # rows of checkpoints.csv, in the order of the arrays below
    ks: NDArray[np.float64]
    task_nll: NDArray[np.float64]  # (checkpoints, ks): E_i[−log pass@k_i]
    pass_at_k: NDArray[np.float64]  # (checkpoints, ks): E_i[pass@k_i]

    @property
    def N(self) -> NDArray[np.float64]:
        return self.checkpoints["params"].to_numpy(dtype=float)

    @property
    def D(self) -> NDArray[np.float64]:
        return self.checkpoints["tokens"].to_numpy(dtype=float)

    @property
    def c_train(self) -> NDArray[np.float64]:
        return self.checkpoints["train_flops"].to_numpy(dtype=float)

    def long(self) -> tuple[NDArray[np.float64], ...]:
        """N, D, k flattened to one row per (checkpoint, k), matching task_nll/pass_at_k.ravel()."""
        n_k = len(self.ks)
        return np.repeat(self.N, n_k), np.repeat(self.D, n_k), np.tile(self.ks, len(self.N))


def nll_of(suite: Suite, task: str, stage: str, checkpoints: Collection[str] | None) -> tuple[pd.DataFrame, NDArray]:
    """The checkpoints of one task and stage and their NLL matrix, only those named if given. On a
    suite trained at several seeds the checkpoints are its cells, each the seeds' mean probability
    per question (`seeds.seed_averaged`): what every law is fitted to."""
    suite = seed_averaged(suite)
    meta, nll = suite.nll_matrices(task, stage)
    if checkpoints is None:
        return meta, nll
    wanted = set(checkpoints)
    unknown = sorted(wanted - set(meta["checkpoint"]))
    if unknown:
        raise KeyError(f"{suite.path}: no {stage} NLLs of task {task!r} for checkpoint {unknown[0]!r}")
    keep = meta["checkpoint"].isin(wanted).to_numpy()
    return meta[keep].reset_index(drop=True), nll[keep]


def measure(suite: Suite, task: str, *, stage: str = "base", checkpoints: Collection[str] | None = None,
            ks: ArrayLike = FIT_KS) -> Measured:
    """The measured fit targets of one task: every checkpoint of `stage`, or only those named."""
    meta, nll = nll_of(suite, task, stage, checkpoints)
    return measured_from(task, stage, meta, nll, ks)


def measured_from(task: str, stage: str, meta: pd.DataFrame, nll: NDArray, ks: ArrayLike = FIT_KS) -> Measured:
    """The fit targets of an NLL matrix (checkpoints × questions) whose rows are `meta`."""
    ks = np.asarray(ks, dtype=float)
    log_pass = log_pass_matrix(nll, ks)
    return Measured(task, stage, meta, ks, -log_pass.mean(axis=1), np.exp(log_pass).mean(axis=1))


def log_pass_matrix(nll: NDArray, ks: ArrayLike) -> NDArray[np.float64]:
    """log pass@k of every (checkpoint, question, k) of an NLL matrix (checkpoints × questions);
    the fit targets are its means over questions (computed once, resampled by the bootstrap)."""
    return log_pass_at_k(checks.nonnegative("nll", nll)[:, :, None], checks.sample_count("k", ks)[None, None, :])


def measure_at_budget(suite: Suite, task: str, c_inf: float, *, stage: str = "base",
                      checkpoints: Collection[str] | None = None) -> pd.DataFrame:
    """Each checkpoint's measured task NLL and pass@k, single-pass (k = 1) and at its own
    k = C_inf/(2N): one row per checkpoint, the rows of checkpoints.csv plus those columns."""
    meta, nll = nll_of(suite, task, stage, checkpoints)
    N = meta["params"].to_numpy(dtype=float)
    too_big = N > c_inf / 2
    if too_big.any():
        raise ValueError(f"c_inf = {c_inf:g} buys fewer than one sample for checkpoint "
                         f"{meta['checkpoint'][int(np.argmax(too_big))]!r} ({N[too_big][0]:.3g} parameters)")
    k = c_inf / (2.0 * N)
    return meta.assign(
        task=task, k=k,
        task_nll_single=[float(task_nll(row, 1.0)) for row in nll],
        pass_single=[float(task_pass_at_k(row, 1.0)) for row in nll],
        task_nll=[float(task_nll(row, kk)) for row, kk in zip(nll, k)],
        pass_at_k=[float(task_pass_at_k(row, kk)) for row, kk in zip(nll, k)],
    )


def macro_measured(suite: Suite, tasks: Sequence[str], c_inf: float, *, stage: str = "base") -> pd.DataFrame:
    """`measure_at_budget` averaged over tasks per checkpoint (the macro average of §5)."""
    per_task = pd.concat([measure_at_budget(suite, task, c_inf, stage=stage) for task in tasks])
    values = ["task_nll_single", "pass_single", "task_nll", "pass_at_k"]
    keys = [c for c in per_task.columns if c not in values + ["task"]]
    counts = per_task.groupby("checkpoint")["task"].nunique()
    incomplete = counts[counts < len(tasks)]
    if len(incomplete):
        raise ValueError(f"{suite.path}: checkpoint {incomplete.index[0]!r} lacks NLLs for some of the tasks {list(tasks)}")
    return per_task.groupby(keys, as_index=False, dropna=False)[values].mean()


@dataclass(frozen=True)
class TaskFits:
    """The three fits of one task: Chinchilla (stage 1 of Approach 2), Approach 1, Approach 2."""

    task: str
    stage: str
    chinchilla: FitResult
    approach1: FitResult
    approach2: FitResult

    def results(self) -> dict[str, FitResult]:
        return {"Chinchilla (k = 1)": self.chinchilla, "Approach 1": self.approach1, "Approach 2": self.approach2}


def fit_task(measured: Measured, *, method: Method = "fast", seed: int = 0, start: TaskFits | None = None) -> TaskFits:
    """Fit the Chinchilla task-loss law, Approach 1 and Approach 2 to one task's measurements;
    `start` (fast method) warm-starts each fit from an earlier fit's laws (the bootstrap does)."""
    single = np.flatnonzero(measured.ks == 1.0)
    if single.size != 1:
        raise ValueError(f"task {measured.task!r}: the fit grid of k must contain k = 1; got {measured.ks}")
    loss_k1 = measured.task_nll[:, single[0]]
    weights = isoflop_weights(measured.c_train, loss_k1)
    warm = {"chinchilla": None, "approach1": None, "approach2": None} if start is None else {
        "chinchilla": start.chinchilla.law, "approach1": start.approach1.law, "approach2": start.approach2.law}
    chinchilla = fit_chinchilla(measured.N, measured.D, loss_k1, weights=weights, method=method, seed=seed,
                                start=warm["chinchilla"])
    N, D, k = measured.long()
    approach1 = fit_t2_loss(N, D, k, measured.task_nll.ravel(), method=method, seed=seed, start=warm["approach1"])
    approach2 = fit_t2_accuracy(N, D, k, measured.pass_at_k.ravel(), chinchilla=chinchilla.law, method=method,
                                seed=seed, start=warm["approach2"])
    return TaskFits(measured.task, measured.stage, chinchilla, approach1, approach2)


APPROACH1_TARGETS = ("task NLL", "−log pass@k")


def fit_approach1(measured: Measured, *, k_max: float | None = None, target: str = "task NLL",
                  start: T2Loss | None = None) -> FitResult:
    """Approach 1's law refitted on part of the data or to another target, for sensitivity checks:
    only k ≤ k_max, and either the paper's target, the task NLL E_i[−log pass@k_i], or this
    book's extension, −log of the benchmark's pass@k, −log E_i[pass@k_i] (which, unlike the
    task NLL, does not fall as −ln k for questions the model rarely answers)."""
    if target not in APPROACH1_TARGETS:
        raise ValueError(f"target must be one of {APPROACH1_TARGETS}; got {target!r}")
    keep = measured.ks <= (np.inf if k_max is None else k_max)
    if keep.sum() < 2:
        raise ValueError(f"k_max = {k_max} leaves fewer than two values of k in {measured.ks}")
    values = measured.task_nll if target == "task NLL" else -np.log(measured.pass_at_k)
    n_k = int(keep.sum())
    N, D = np.repeat(measured.N, n_k), np.repeat(measured.D, n_k)
    k = np.tile(measured.ks[keep], len(measured.N))
    return fit_t2_loss(N, D, k, values[:, keep].ravel(), start=start)


def weighting_effect(N: ArrayLike, D: ArrayLike, c_train: ArrayLike, loss: ArrayLike) -> dict[str, float]:
    """A Chinchilla law fitted with and without the inverse-variance isoFLOP weights (this
    book's reading of the paper's weighting): α, β and the compute-optimal size exponent
    a = β/(α + β) (N* ∝ C^a) of each."""
    fitted = {"weighted": fit_chinchilla(N, D, loss, weights=isoflop_weights(c_train, loss)).law,
              "unweighted": fit_chinchilla(N, D, loss).law}
    return {f"{name} {quantity}": value for name, law in fitted.items()
            for quantity, value in (("α", law.alpha), ("β", law.beta), ("a", law.beta / (law.alpha + law.beta)))}


def with_theta2(law: T2Accuracy, theta2: float) -> T2Accuracy:
    """Approach 2's law with the asymptote θ2 moved and θ0 shifted so that θ2·e^(θ1·θ0) is kept.

    Deep in the sigmoid's exponential tail, θ1·(L̂ − θ0) ≫ 1, the mean accuracy is
    θ2·e^(−θ1·(L̂ − θ0)) and depends on θ2 and θ0 only through θ2·e^(θ1·θ0): the data then
    cannot tell θ2 apart, and this law predicts nearly what the fitted one does."""
    if not 0 < theta2 <= 1:
        raise ValueError(f"theta2 must be in (0, 1]; got {theta2}")
    if law.theta1 <= 0:
        raise ValueError(f"the law's theta1 must be > 0 to trade θ2 for θ0; got {law.theta1}")
    return replace(law, theta2=theta2, theta0=law.theta0 + np.log(law.theta2 / theta2) / law.theta1)


def fit_suite(suite: Suite, tasks: Sequence[str] | None = None, *, stage: str = "base",
              checkpoints: Collection[str] | None = None, ks: ArrayLike = FIT_KS, method: Method = "fast",
              seed: int = 0) -> dict[str, TaskFits]:
    """`fit_task` for each task (default: every task of the suite), keyed by task."""
    tasks = list(suite.tasks["task"]) if tasks is None else list(tasks)
    key = {"suite": suite.sha256, "tasks": tasks, "stage": stage, "method": method, "seed": seed,
           "checkpoints": None if checkpoints is None else sorted(checkpoints),
           "ks": [float(k) for k in np.atleast_1d(ks)]}
    def fit_named(task: str) -> TaskFits:
        try:
            return fit_task(measure(suite, task, stage=stage, checkpoints=checkpoints, ks=ks), method=method, seed=seed)
        except ValueError as error:  # name the task: a suite's tasks may differ in checkpoints and questions
            raise ValueError(f"{suite.path}: task {task!r} ({stage} checkpoints): {error}") from error

    return memoized("fit_suite", key, lambda: {task: fit_named(task) for task in tasks})


def approach1_laws(fits: Mapping[str, TaskFits]) -> list[T2Loss]:
    """The Approach 1 law of every task, for macro averages and frontiers."""
    return [fit.approach1.law for fit in fits.values()]


def approach2_laws(fits: Mapping[str, TaskFits]) -> list[T2Accuracy]:
    """The Approach 2 law of every task, for macro averages and frontiers."""
    return [fit.approach2.law for fit in fits.values()]


def fit_report(fits: Mapping[str, TaskFits]) -> pd.DataFrame:
    """How every fit ended: one row per task and law, with status, objective and time."""
    rows = []
    for task, fit in fits.items():
        for law, result in fit.results().items():
            rows.append({"task": task, "stage": fit.stage, "law": law, "status": result.status,
                         "on a bound": ", ".join(result.on_bounds), "objective": result.objective,
                         "points": result.n_points, "seconds": round(result.seconds, 2), "message": result.message})
    return pd.DataFrame(rows)


def fit_quality(suite: Suite, fits: Mapping[str, TaskFits], *, ks: ArrayLike = FIT_KS,
                checkpoints: Collection[str] | None = None) -> pd.DataFrame:
    """Every fit's class, reasons in words, in-sample R² on its own targets and points
    (`fitquality.quality_table`), for fits of `suite` on `checkpoints` (None: all) at `ks`."""
    r2 = {(task, law): value for task, fit in fits.items()
          for law, value in task_r_squared(fit, measure(suite, task, stage=fit.stage, checkpoints=checkpoints,
                                                        ks=ks)).items()}
    return quality_table(fits, r2)


def learnt_fit_quality(suite: Suite, tasks: Sequence[str], *, ks: ArrayLike = FIT_KS, method: Method = "fast",
                       seed: int = 0, min_cells: int = MIN_FIT_CELLS) -> pd.DataFrame:
    """`fit_quality` of every task's laws refitted to only the cells that have learnt something of
    it (`seeds.learnt_cells`), with how many cells that is (`cells`): on a suite whose models
    sit on a plateau until they learn a task, whether the misfit is the plateau's. A task with
    fewer than `min_cells` such cells has no rows; a task the suite lacks is a KeyError."""
    unknown = sorted(set(tasks) - set(suite.tasks["task"]))
    if unknown:
        raise KeyError(f"{suite.path}: no task {unknown[0]!r}; its tasks are {', '.join(suite.tasks['task'])}")
    parts = []
    for task in tasks:
        cells = learnt_cells(suite, task)
        if len(cells) < min_cells:
            continue
        fits = fit_suite(suite, [task], checkpoints=cells, ks=ks, method=method, seed=seed)
        parts.append(fit_quality(suite, fits, ks=ks, checkpoints=cells).assign(cells=len(cells)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["task", "law", "quality", "reasons", "r2", "points", "cells"])


def recipe_comparison(measured: Measured, fast: TaskFits, *, seed: int = 0,
                      approach1_restarts: int = 0) -> pd.DataFrame:
    """The paper's fitting recipe against the fast one on one task: each law's objective, time and
    number of starts under both. The Chinchilla stage and Approach 2 use the paper's full recipe
    (Approach 2 given the paper's Chinchilla stage); Approach 1 is compared when
    `approach1_restarts` > 0, with that many of the paper's 500 seeded restarts (the first of the
    same sequence: all 500 take minutes per fit, and are run by `make bench`)."""
    single = np.flatnonzero(measured.ks == 1.0)[0]
    loss_k1 = measured.task_nll[:, single]
    weights = isoflop_weights(measured.c_train, loss_k1)
    chinchilla = fit_chinchilla(measured.N, measured.D, loss_k1, weights=weights, method="paper", seed=seed)
    N, D, k = measured.long()
    approach2 = fit_t2_accuracy(N, D, k, measured.pass_at_k.ravel(), chinchilla=chinchilla.law, method="paper",
                                seed=seed)
    pairs = [("Chinchilla (k = 1)", chinchilla, fast.chinchilla)]
    if approach1_restarts > 0:
        approach1 = fit_t2_loss(N, D, k, measured.task_nll.ravel(), method="paper", seed=seed,
                                restarts=approach1_restarts)
        pairs.append(("Approach 1", approach1, fast.approach1))
    pairs.append(("Approach 2", approach2, fast.approach2))
    rows = []
    for law, paper, ours in pairs:
        rows.append({"task": measured.task, "law": law, "fast objective": ours.objective,
                     "paper objective": paper.objective, "fast − paper (relative)": ours.objective / paper.objective - 1,
                     "fast seconds": ours.seconds, "paper seconds": paper.seconds, "paper starts": paper.n_starts,
                     "paper status": paper.status})
    return pd.DataFrame(rows)


def parameter_table(fits: Mapping[str, TaskFits]) -> pd.DataFrame:
    """Every fitted parameter: one row per task and law, with how the fit ended."""
    rows = []
    for task, fit in fits.items():
        for law_name, result in fit.results().items():
            law = result.law
            values = {f.name: getattr(law, f.name) for f in fields(law) if f.name != "chinchilla"}
            rows.append({"task": task, "law": law_name, "status": result.status, **values})
    return pd.DataFrame(rows)


def approach1_residuals(measured: Measured, law: T2Loss) -> pd.DataFrame:
    """Approach 1's residuals, predicted − measured task NLL, for every checkpoint and k."""
    N, D, k = measured.long()
    observed = measured.task_nll.ravel()
    predicted = law.loss(N, D, k)
    return pd.DataFrame({"task": measured.task, "checkpoint": np.repeat(measured.checkpoints["checkpoint"].to_numpy(),
                                                                          len(measured.ks)),
                         "k": k, "measured": observed, "predicted": predicted, "residual": predicted - observed})


def isoflop_profiles(laws: Law | Sequence[Law], budgets: ArrayLike, c_inf: float, sizes: ArrayLike, *,
                     min_tokens_per_param: float = 0.0) -> pd.DataFrame:
    """The laws' macro prediction along each isoFLOP curve: one row per (budget, N), single
    pass (k = 1) and inference-corrected (k = C_inf/(2N)); sizes above C_inf/2 are left out, and
    on each curve the sizes trained on fewer than `min_tokens_per_param` tokens per parameter
    (where a suite has no data, the law is drawn only as far as the caller allows)."""
    sizes = np.asarray(sizes, dtype=float)
    sizes = sizes[sizes <= c_inf / 2]
    rows = []
    for c in np.atleast_1d(np.asarray(budgets, dtype=float)):
        kept = sizes[c / (6.0 * sizes**2) >= min_tokens_per_param]
        rows.append(pd.DataFrame({"c_train": c, "N": kept, "k": c_inf / (2 * kept),
                                  "single_pass": value_at(laws, kept, c) if len(kept) else [],
                                  "corrected": value_at(laws, kept, c, c_inf) if len(kept) else []}))
    return pd.concat(rows, ignore_index=True)


def isoflop_optima(laws: Law | Sequence[Law], budgets: ArrayLike, c_inf: float) -> pd.DataFrame:
    """Per budget: the single-pass (Chinchilla) choice, its value at k = 1 and at its affordable
    k, and the T² optimum under C_inf — the black and red points of the isoFLOP figures."""
    chinchilla = single_pass_choice(laws, budgets, c_inf)
    t2 = frontier(laws, budgets, c_inf)
    return pd.DataFrame({
        "c_train": t2["c_train"], "chinchilla_N": chinchilla["N"],
        "chinchilla_single_pass": chinchilla["single_pass_value"], "chinchilla_corrected": chinchilla["value"],
        "t2_N": t2["N"], "t2_k": t2["k"], "t2_tokens_per_param": t2["tokens_per_param"],
        "t2_corrected": t2["value"], "t2_constraint": t2["constraint"],
    })


def isoflop_panels(base: pd.DataFrame, laws: Mapping[object, Law | Sequence[Law]], c_inf: float, points: int
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64], dict[object, tuple[pd.DataFrame, pd.DataFrame]]]:
    """What an isoFLOP figure draws for the checkpoints `base` (train_flops, params, tokens) and
    each of `laws` (keyed by anything): the budgets (their levels: a run misses its level by its
    last batch), `points` sizes from just below the smallest checkpoint or optimum to just above the
    largest checkpoint, and per key its profiles (`isoflop_profiles`, drawn down to half the
    smallest tokens per parameter, not where no model was trained) and its optima (`isoflop_optima`)."""
    budgets = np.unique(budget_levels(base["train_flops"]))
    optima = {key: isoflop_optima(law, budgets, c_inf) for key, law in laws.items()}
    smallest = min(base["params"].min(), *(o["t2_N"].min() for o in optima.values()))  # curves reach every optimum
    sizes = np.logspace(np.log10(smallest) - 0.15, np.log10(base["params"].max()) + 0.15, points)
    least_ratio = (base["tokens"] / base["params"]).min() / 2
    return budgets, sizes, {key: (isoflop_profiles(law, budgets, c_inf, sizes, min_tokens_per_param=least_ratio),
                                  optima[key]) for key, law in laws.items()}


def predictions_at_budget(suite: Suite, fits: Mapping[str, TaskFits], c_inf: float, *, stage: str = "base",
                          checkpoints: Collection[str] | None = None) -> pd.DataFrame:
    """Measured and predicted values of every task at each checkpoint's k = C_inf/(2N):
    Approach 1's task NLL and Approach 2's pass@k, one row per (task, checkpoint)."""
    measured = {task: measure_at_budget(suite, task, c_inf, stage=stage, checkpoints=checkpoints) for task in fits}
    return predict_at_budget(measured, fits)


def predict_at_budget(measured: Mapping[str, pd.DataFrame], fits: Mapping[str, TaskFits]) -> pd.DataFrame:
    """`measure_at_budget` tables (one per task) with each task's laws' predictions added, one
    row per (task, checkpoint); the bootstrap reuses the measurements with refitted laws."""
    rows = []
    for task, fit in fits.items():
        table = measured[task]
        N, D, k = (table[c].to_numpy(dtype=float) for c in ("params", "tokens", "k"))
        rows.append(table.assign(predicted_task_nll=fit.approach1.law.loss(N, D, k),
                                 predicted_pass_at_k=fit.approach2.law.pass_at_k(N, D, k)))
    return pd.concat(rows, ignore_index=True)


def extrapolation_errors(predictions: pd.DataFrame) -> pd.DataFrame:
    """Relative errors of the predictions, (predicted − measured)/measured, summarised two ways:
    over every (task, checkpoint) pair, and on the macro average over tasks per checkpoint.
    `overestimates` is the share of predictions that promise better performance than measured
    (a lower task NLL, a higher pass@k)."""
    macro = predictions.groupby("checkpoint")[["task_nll", "predicted_task_nll", "pass_at_k",
                                               "predicted_pass_at_k"]].mean()
    rows = []
    for level, table in (("per task and checkpoint", predictions), ("macro average per checkpoint", macro)):
        for law, measured, predicted, better in (("Approach 1 (task NLL)", "task_nll", "predicted_task_nll", -1),
                                                 ("Approach 2 (pass@k)", "pass_at_k", "predicted_pass_at_k", 1)):
            relative = (table[predicted] - table[measured]) / table[measured]
            rows.append({"law": law, "level": level, "points": len(table),
                         "mean |relative error|": float(np.mean(np.abs(relative))),
                         "median relative error": float(np.median(relative)),
                         "overestimates": float(np.mean(better * relative > 0))})
    return pd.DataFrame(rows)
