"""`make bench`: wall time and objective of the paper's recipes against the fast methods.

Run as `python -m t2lib.bench`. Two problems, each given to both methods:
- planted: noisy planted laws on the paper's grid of (N, C_train) and k = 1, 2, …, 1024;
- suite: one task of the project's default suite (data/t2_suite, base checkpoints), its
  measured task NLL and pass@k at k = 1, 2, …, 1024 — the data the chapters fit.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import t2lib
from t2lib import Chinchilla, T2Accuracy, T2Loss

SIZES = np.array([5.18e6, 7.51e6, 9.82e6, 1.56e7, 2.25e7, 2.87e7, 3.71e7, 5.74e7, 8.49e7, 1.09e8, 1.49e8, 2.21e8,
                  3.47e8, 4.56e8, 6.12e8, 9.02e8])
BUDGETS = 1.25e16 * 2.0 ** np.arange(12)
KS = 2.0 ** np.arange(11)


def planted_problem(seed: int = 0) -> dict[str, np.ndarray]:
    """Checkpoints with 1 ≤ tokens/param ≤ 10^4 on the paper's grid, with 1% noise on every target."""
    rng = np.random.default_rng(seed)
    N, C = (a.ravel() for a in np.meshgrid(SIZES, BUDGETS))
    D = C / (6 * N)
    keep = (D / N >= 1) & (D / N <= 1e4)
    N, C, D = N[keep], C[keep], D[keep]
    task = Chinchilla(E=2.0, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    t2 = T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
    acc = T2Accuracy(task, theta0=3.5, theta1=2.0, theta2=0.8, theta3=0.5, theta4=-0.3)
    NK, DK, KK = np.repeat(N, len(KS)), np.repeat(D, len(KS)), np.tile(KS, len(N))
    noise = lambda n: 1 + 0.01 * rng.standard_normal(n)  # noqa: E731
    return {"N": N, "D": D, "C": C, "task_loss": task.loss(N, D) * noise(len(N)), "NK": NK, "DK": DK, "KK": KK,
            "t2_loss": t2.loss(NK, DK, KK) * noise(len(NK)),
            "pass_at_k": np.clip(acc.pass_at_k(NK, DK, KK) * noise(len(NK)), 0, 1)}


def suite_problem(path: str = "data/t2_suite", task: str = "lambada_openai") -> dict[str, np.ndarray]:
    """The targets the chapters fit, for one task of a suite (`t2lib.laws.analysis.measure`): task
    NLL at k = 1 (Chinchilla stage), task NLL over k (Approach 1) and pass@k over k (Approach 2)."""
    from t2lib.data.suite import load_suite
    from t2lib.laws.analysis import measure

    measured = measure(load_suite(path), task, ks=KS)
    NK, DK, KK = measured.long()
    return {"N": measured.N, "D": measured.D, "C": measured.c_train, "task_loss": measured.task_nll[:, 0],
            "NK": NK, "DK": DK, "KK": KK, "t2_loss": measured.task_nll.ravel(), "pass_at_k": measured.pass_at_k.ravel()}


def compare_fits(data: dict[str, np.ndarray]) -> list[dict[str, object]]:
    weights = t2lib.isoflop_weights(data["C"], data["task_loss"])
    runs = {
        "fit_chinchilla": lambda m: t2lib.fit_chinchilla(data["N"], data["D"], data["task_loss"], weights=weights,
                                                         method=m),
        "fit_t2_loss": lambda m: t2lib.fit_t2_loss(data["NK"], data["DK"], data["KK"], data["t2_loss"], method=m),
    }
    rows = []
    for name, run in runs.items():
        rows.append(_row(name, run("paper"), run("fast")))
    chinchilla = t2lib.fit_chinchilla(data["N"], data["D"], data["task_loss"], weights=weights).law
    fit_acc = lambda m: t2lib.fit_t2_accuracy(data["NK"], data["DK"], data["KK"], data["pass_at_k"],  # noqa: E731
                                              chinchilla=chinchilla, method=m)
    rows.append(_row("fit_t2_accuracy", fit_acc("paper"), fit_acc("fast")))
    return rows


def _row(name: str, paper: t2lib.FitResult, fast: t2lib.FitResult) -> dict[str, object]:
    return {"task": name, "paper_s": paper.seconds, "paper_objective": paper.objective, "paper_status": paper.status,
            "fast_s": fast.seconds, "fast_objective": fast.objective, "fast_status": fast.status,
            "speedup": paper.seconds / fast.seconds,
            "fast_no_worse": fast.objective <= paper.objective * (1 + 1e-9)}


def compare_frontier(data: dict[str, np.ndarray], n_budgets: int = 1000) -> dict[str, object]:
    """t2lib.frontier (scan + golden section) against a dense walk of each isoFLOP curve."""
    chinchilla = t2lib.fit_chinchilla(data["N"], data["D"], data["task_loss"]).law
    law = t2lib.fit_t2_accuracy(data["NK"], data["DK"], data["KK"], data["pass_at_k"], chinchilla=chinchilla).law
    budgets, c_inf = np.logspace(16, 25, n_budgets), 1.4e11
    start = time.perf_counter()
    fast = t2lib.frontier(law, budgets, c_inf=c_inf)
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    dense_best = np.empty(n_budgets)
    for i, c in enumerate(budgets):
        N = np.logspace(3, np.log10(min(c / 6, c_inf / 2)), 20_000)  # ~1,000 points per decade
        dense_best[i] = t2lib.value_at(law, N, c, c_inf).max()
    dense_s = time.perf_counter() - start
    return {"task": f"frontier ({n_budgets} budgets)", "paper_s": dense_s, "paper_objective": -dense_best.sum(),
            "paper_status": "dense grid", "fast_s": fast_s, "fast_objective": -fast.value.sum(),
            "fast_status": "scan + golden section", "speedup": dense_s / fast_s,
            "fast_no_worse": bool(np.all(fast.value.to_numpy() >= dense_best - 1e-12))}


def main() -> None:
    problems = {"planted data (1% noise)": planted_problem(), "data/t2_suite, task lambada_openai": suite_problem()}
    for name, data in problems.items():
        table = pd.DataFrame(compare_fits(data) + [compare_frontier(data)])
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format",
                               "{:.6g}".format):
            print(f"Paper recipe vs fast method on {name}, same objective:\n")
            print(table.to_string(index=False), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
