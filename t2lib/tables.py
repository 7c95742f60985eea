"""Tables 1 and 2 of the paper, computed from a suite with the conventions of REFERENCE.md §7.

At one training budget: the "Chinchilla-optimal" checkpoint is the one with the best
single-pass (k = 1) pass@1; the "best overtrained" one is the best under k = C_inf/(2N); both
are reported at their own k = C_inf/(2N).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from t2lib.paired import DECISION_LEVEL
from t2lib.passk import pass_at_k, task_pass_at_k
from t2lib.suite import Suite

TABLE_COLUMNS = ["task", "best_overtrained_pass_at_k", "best_overtrained_size", "chinchilla_opt_pass_at_k",
                 "chinchilla_opt_size"]


def size_label(N: float) -> str:
    """A short label for a count of parameters or tokens (37,092,096 → '37.1M', 22,000 → '22K',
    6.9e9 → '6.9B', 1.67e12 → '1.67T'; from 10¹⁵ up, '2.1e+15'); the simulated suite carries
    the paper's own size labels."""
    if N >= 1e15:
        return f"{N:.3g}"
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if N >= scale:
            return f"{N / scale:.3g}{unit}"
    return f"{N:.3g}"


def checkpoint_size_label(row: pd.Series) -> str:
    """A checkpoint's size label: the suite's own `size_label` where it has one (the paper's
    labels, e.g. "455M" for 455,546,560 parameters), else `size_label` of its parameter count."""
    label = row.get("size_label")
    return str(label) if isinstance(label, str) and label else size_label(row["params"])


def _at_budget(suite: Suite, task: str, c_train: float, stage: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One task's checkpoints and NLL matrix at `stage`, and which of them were trained with c_train."""
    meta, nll = suite.nll_matrices(task, stage)
    at_budget = np.isclose(meta["train_flops"].to_numpy(), c_train, rtol=0.01)
    if not at_budget.any():
        raise ValueError(f"{suite.path}: no {stage} checkpoint of task {task!r} at c_train = {c_train:g}")
    return meta, nll, at_budget


def overtrained_vs_chinchilla(suite: Suite, tasks: list[str], *, c_train: float = 2.56e19, c_inf: float = 2e9,
                              stage: str = "base") -> pd.DataFrame:
    """One row per task: best overtrained vs Chinchilla-optimal checkpoint at one budget."""
    rows = []
    for task in tasks:
        meta, nll, at_budget = _at_budget(suite, task, c_train, stage)
        N = meta["params"].to_numpy()[at_budget]
        labels = (meta["size_label"].to_numpy()[at_budget] if "size_label" in meta
                  else [size_label(n) for n in N])
        if np.any(N > c_inf / 2):
            raise ValueError(f"c_inf = {c_inf:g} buys fewer than one sample for a {N.max():.3g}-parameter model")
        k = c_inf / (2.0 * N)
        single = np.array([task_pass_at_k(row, 1.0) for row in nll[at_budget]])
        corrected = np.array([task_pass_at_k(row, kk) for row, kk in zip(nll[at_budget], k)])
        chinchilla, best = int(np.argmax(single)), int(np.argmax(corrected))
        rows.append({
            "task": task,
            "best_overtrained_pass_at_k": float(corrected[best]),
            "best_overtrained_size": labels[best],
            "chinchilla_opt_pass_at_k": float(corrected[chinchilla]),
            "chinchilla_opt_size": labels[chinchilla],
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def margin_bands(suite: Suite, tasks: list[str], *, c_train: float = 2.56e19, c_inf: float = 2e9, stage: str = "base",
                 resamples: int = 1000, level: float = DECISION_LEVEL, seed: int = 0) -> pd.DataFrame:
    """Per task, Table 1's margin — the best overtrained checkpoint's pass@k minus the
    Chinchilla-optimal one's — with a `level` interval over `resamples` bootstrap draws of the
    questions that redo both choices in every draw (which checkpoint is best is itself uncertain).
    The margin cannot be negative (the best is chosen from a set holding the Chinchilla-optimal
    checkpoint), so the question is only whether it is told apart from zero: `outcome` is "clear"
    when the interval's low end is above zero, else "within question noise"."""
    rng = np.random.default_rng(seed)
    rows = []
    for task in tasks:
        meta, nll, at_budget = _at_budget(suite, task, c_train, stage)
        p = np.exp(-nll[at_budget])
        k = c_inf / (2.0 * meta["params"].to_numpy()[at_budget])
        single, corrected = p, pass_at_k(p, k[:, None])

        def margin(columns: np.ndarray) -> float:
            chosen = corrected[:, columns].mean(axis=1)
            return float(chosen.max() - chosen[int(np.argmax(single[:, columns].mean(axis=1)))])

        questions = p.shape[1]
        draws = np.array([margin(rng.integers(0, questions, questions)) for _ in range(resamples)])
        low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
        rows.append({"task": task, "margin": margin(np.arange(questions)), "margin_low": float(low),
                     "margin_high": float(high), "outcome": "clear" if low > 0 else "within question noise"})
    return pd.DataFrame(rows)


def compare_with_paper(ours: pd.DataFrame, paper: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Side by side with the paper's table: both values of each cell, their ratio, and whether
    overtraining wins in both."""
    merged = paper.merge(ours, on=keys, suffixes=("_paper", "_ours"), validate="one_to_one")
    for cell in ("best_overtrained_pass_at_k", "chinchilla_opt_pass_at_k"):
        merged[f"{cell}_ratio"] = merged[f"{cell}_ours"] / merged[f"{cell}_paper"]
    merged["winner_paper"] = np.where(merged["best_overtrained_pass_at_k_paper"]
                                      > merged["chinchilla_opt_pass_at_k_paper"], "overtrained", "chinchilla")
    merged["winner_ours"] = np.where(merged["best_overtrained_pass_at_k_ours"]
                                     > merged["chinchilla_opt_pass_at_k_ours"], "overtrained", "chinchilla")
    return merged


def within_factor(comparison: pd.DataFrame, factor: float = 2.0) -> float:
    """Fraction of the pass@k cells within `factor` of the paper's value."""
    ratios = comparison[["best_overtrained_pass_at_k_ratio", "chinchilla_opt_pass_at_k_ratio"]].to_numpy().ravel()
    return float(np.mean((ratios <= factor) & (ratios >= 1.0 / factor)))


def readable_table(frame: pd.DataFrame, precision: int = 3):
    """A table for a reader: no row index, column names in words (underscores as spaces,
    "pass_at_k" as pass@k) and numbers to `precision` significant digits; a Styler, which
    (unlike a DataFrame's display) never truncates a cell."""
    names = {c: str(c).replace("pass_at_k", "pass@k").replace("_", " ") for c in frame.columns}
    numbers = [names[c] for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return frame.rename(columns=names).style.hide(axis="index").format(f"{{:.{precision}g}}", subset=numbers)
