"""Tables 1 and 2 of the paper, computed from a suite with the paper's conventions.

At one training budget: the "Chinchilla-optimal" checkpoint is the one with the best
single-pass (k = 1) pass@1; the "best overtrained" one is the best under k = C_inf/(2N); both
are reported at their own k = C_inf/(2N).
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np
import pandas as pd

from t2lib.book.formatting import MINUS, format_number, powers_of_ten
from t2lib.data.seeds import has_seeds, seed_averaged, seed_rows
from t2lib.data.suite import Suite
from t2lib.laws.paired import DECISION_LEVEL
from t2lib.laws.passk import pass_at_k, task_pass_at_k

TABLE_COLUMNS = ["task", "best_overtrained_pass_at_k", "best_overtrained_size", "chinchilla_opt_pass_at_k",
                 "chinchilla_opt_size", "best_overtrained_k", "chinchilla_opt_k"]


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
    """One task's checkpoints and NLL matrix at `stage`, and which of them were trained with c_train;
    on a suite with seeds, its cells (`seeds.seed_averaged`)."""
    meta, nll = seed_averaged(suite).nll_matrices(task, stage)
    at_budget = np.isclose(meta["train_flops"].to_numpy(), c_train, rtol=0.01)
    if not at_budget.any():
        raise ValueError(f"{suite.path}: no {stage} checkpoint of task {task!r} at c_train = {c_train:g}")
    return meta, nll, at_budget


def overtrained_vs_chinchilla(suite: Suite, tasks: list[str], *, c_train: float = 2.56e19, c_inf: float = 2e9,
                              stage: str = "base") -> pd.DataFrame:
    """One row per task: best overtrained vs Chinchilla-optimal checkpoint at one budget, each
    with its pass@k at its own k = C_inf/(2N) and that k."""
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
            "best_overtrained_k": float(k[best]),
            "chinchilla_opt_k": float(k[chinchilla]),
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def margin_bands(suite: Suite, tasks: list[str], *, c_train: float = 2.56e19, c_inf: float = 2e9, stage: str = "base",
                 resamples: int = 1000, level: float = DECISION_LEVEL, seed: int = 0) -> pd.DataFrame:
    """Per task, Table 1's margin — the best overtrained checkpoint's pass@k minus the
    Chinchilla-optimal one's — with a `level` interval over `resamples` bootstrap draws of the
    questions (and, on a suite with seeds, of each cell's seeds) that redo both choices in every
    draw (which checkpoint is best is itself uncertain). The margin cannot be negative (the best
    is chosen from a set holding the Chinchilla-optimal checkpoint), so the question is only
    whether it is told apart from zero: `outcome` is "clear" when the interval's low end is above
    zero, else "within noise" (of the questions, and of the seeds where there are seeds). On a
    suite with seeds a cell scores its seeds' mean probability per question, which scores like an
    ensemble (more than any one run, the more so the larger k); `best_per_run` and
    `chinchilla_per_run` give the two chosen cells' pass@k run by run instead (each seed's own,
    averaged over seeds). Each task draws from its own stream (`seed` and the task's name), so a
    task's interval is the same whichever tasks are shown beside it."""
    rows = []
    for task in tasks:
        stream = zlib.crc32(task.encode())
        rng, seed_rng = np.random.default_rng([seed, stream]), np.random.default_rng([seed, 1, stream])
        meta, nll, at_budget = _at_budget(suite, task, c_train, stage)
        k = c_inf / (2.0 * meta["params"].to_numpy()[at_budget])
        per_seed = _seed_probabilities(suite, task, stage, meta["checkpoint"][at_budget], np.exp(-nll[at_budget]))

        def chosen(columns: np.ndarray, seeds: list[np.ndarray]) -> tuple[np.ndarray, int, int]:
            """Each cell's pass@k, and the best and the Chinchilla (best at k = 1) cells' indices."""
            p = np.stack([cell[drawn][:, columns].mean(axis=0) for cell, drawn in zip(per_seed, seeds)])
            corrected = pass_at_k(p, k[:, None]).mean(axis=1)
            return corrected, int(np.argmax(corrected)), int(np.argmax(p.mean(axis=1)))

        def margin(columns: np.ndarray, seeds: list[np.ndarray]) -> float:
            corrected, best, chinchilla = chosen(columns, seeds)
            return float(corrected[best] - corrected[chinchilla])

        questions = nll.shape[1]
        every_seed = [np.arange(len(cell)) for cell in per_seed]
        draws = np.array([margin(rng.integers(0, questions, questions),
                                 [seed_rng.integers(0, len(cell), len(cell)) for cell in per_seed])
                          for _ in range(resamples)])
        low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
        corrected, best, chinchilla = chosen(np.arange(questions), every_seed)
        per_run = [float(pass_at_k(per_seed[i], k[i]).mean()) for i in (best, chinchilla)]
        rows.append({"task": task, "margin": float(corrected[best] - corrected[chinchilla]), "margin_low": float(low),
                     "margin_high": float(high), "outcome": "clear" if low > 0 else "within noise",
                     "best_per_run": per_run[0], "chinchilla_per_run": per_run[1]})
    return pd.DataFrame(rows)


def _seed_probabilities(suite: Suite, task: str, stage: str, cells: pd.Series, averaged: np.ndarray) -> list[np.ndarray]:
    """Per cell, its seeds' per-question probabilities (seeds × questions); a suite without seeds
    gives each checkpoint's own (`averaged`, one row each)."""
    if not has_seeds(suite):
        return [row[None, :] for row in averaged]
    nll, members = seed_rows(suite, task, stage, list(cells))
    return [np.exp(-nll[rows]) for rows in members]


def compare_with_paper(ours: pd.DataFrame, paper: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Side by side with the paper's table: both values of each cell, their ratio, and whether
    overtraining wins in both."""
    ours = ours[[c for c in ours.columns if c in paper.columns]]  # the paper reports no k: compare what it has
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


# Column names the book uses, as a reader should see them (units in brackets).
HEADERS = {
    "c_train": "C_train (FLOPs)", "c_inf": "C_inf (FLOPs)", "N": "N (parameters)", "D": "D (tokens)",
    "k": "k (samples)", "tokens_per_param": "D/N", "params": "parameters", "priced_by": "priced by",
    "t2_won": "T² won", "r2": "in-sample R²", "guess_at_k": "guessing at the same k",
    "alpha": "α", "beta": "β", "gamma": "γ", "eta": "η", **{f"theta{i}": f"θ{'₀₁₂₃₄'[i]}" for i in range(5)},
    **{f"{role}_{what}": f"{name}: {shown}" for role, name in (("best_overtrained", "best overtrained"),
                                                             ("chinchilla_opt", "Chinchilla-optimal"))
       for what, shown in (("pass_at_k", "pass@k"), ("size", "size"), ("k", "k"))},
}
SUBSCRIPTS = {"C_train": "C<sub>train</sub>", "C_inf": "C<sub>inf</sub>"}
WIDE_TEXT = 28  # a text column with a longer cell wraps in a wide column instead of a narrow one
WIDE_HEADER = 24  # a longer header gets a column wide enough to read it in two or three lines


def _subscripted(text: str) -> str:
    """C_train and C_inf with their subscripts."""
    for raw, shown in SUBSCRIPTS.items():
        text = text.replace(raw, shown)
    return text


def header(name: object) -> str:
    """A column name in words: the book's names with units, pass_at_k as pass@k, C_train with a
    subscript, no underscores."""
    text = HEADERS.get(str(name), str(name)).replace("pass_at_k", "pass@k").replace("tokens_per_param", "D/N")
    return _subscripted(text).replace("_", " ")


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _integral(column: pd.Series) -> bool:
    values = pd.to_numeric(column, errors="coerce").dropna()
    return len(values) > 0 and bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def cell_text(value: object, style: str | None = None, digits: int = 3, missing: str = "—") -> str:
    """One cell: missing as `missing`, booleans as yes/no, numbers by `style` ("count": a whole
    number with separators, below 10⁷; "percent"; "signed percent"; "signed"; a format string such as
    "{:.2f}"; None: format_number), anything else as its text, numbers in e-notation within it
    written as powers of ten."""
    if _is_missing(value):
        return missing
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return powers_of_ten(", ".join(str(v) for v in value)) or missing
    if not isinstance(value, (int, float, np.integer, np.floating)):
        return powers_of_ten(str(value))
    x = float(value)
    if style == "count" and np.isfinite(x) and abs(x) < 1e7:
        text = f"{round(x):,}"
    elif style in ("percent", "signed percent"):
        text = f"{x:{'+' if style == 'signed percent' else ''}.{max(digits - 2, 0)}%}"
    elif style == "signed":
        text = ("+" if x > 0 else "") + format_number(x, digits)
    elif style and "{" in style:
        text = powers_of_ten(style.format(x))
    else:
        text = format_number(x, digits)
    return MINUS + text[1:] if text.startswith("-") else text


def band_text(value: float, low: float, high: float, digits: int = 3, style: str | None = None) -> str:
    """A value and its band, each formatted by `style` (as in cell_text): "value [low, high]"."""
    parts = [cell_text(v, style, digits) for v in (value, low, high)]
    return parts[0] if parts[1:] == ["—", "—"] else f"{parts[0]} [{parts[1]}, {parts[2]}]"


def show_table(frame: pd.DataFrame, *, formats: dict[str, str] | None = None,
               bands: dict[str, tuple[str, str]] | None = None, headers: dict[str, str] | None = None,
               digits: int = 3, missing: str = "—"):
    """The book's one way to show a table: no row index (a named index becomes the first column),
    headers in words with units (`headers` for this table's own names), every cell formatted by
    its kind (whole numbers with separators, others to `digits` significant digits, `formats` per
    column as in cell_text), missing values as `missing`, no True/False, a band as
    "value [low, high]" (`bands` maps a value column to its low and high columns, which are then
    dropped), and long text in wide wrapping columns. Returns a pandas Styler of the formatted
    text, which never truncates a cell; wide tables scroll in their cell (_static/t2book.css)."""
    formats = formats or {}
    shown = frame.reset_index() if frame.index.name or isinstance(frame.index, pd.MultiIndex) else frame
    shown = shown.reset_index(drop=True).copy()
    for value, (low, high) in (bands or {}).items():
        shown[value] = [band_text(v, lo, hi, digits, formats.get(value))
                        for v, lo, hi in zip(shown[value], shown[low], shown[high])]
        shown = shown.drop(columns=[low, high])
    texts, classes = {}, {}
    for column in shown.columns:
        values = shown[column]
        style = formats.get(column)
        if style is None and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) \
                and _integral(values):
            style = "count"
        texts[column] = [cell_text(v, style, digits, missing) for v in values]
        numeric = all(isinstance(v, (int, float, np.integer, np.floating)) or _is_missing(v) for v in values)
        longest = max((len(t) for t in texts[column]), default=0)
        kind = "t2-num" if numeric or column in (bands or {}) else "t2-wide" if longest > WIDE_TEXT else "t2-text"
        classes[column] = [kind] * len(values)
    text = pd.DataFrame(texts, columns=shown.columns)
    names = {**{c: header(c) for c in shown.columns}, **{c: _subscripted(h) for c, h in (headers or {}).items()}}
    class_frame = pd.DataFrame(classes, columns=shown.columns)
    digest = hashlib.sha1((text.to_csv() + repr(names)).encode()).hexdigest()[:10]  # stable: same table, same ids
    long_headers = [{"selector": f"th.col{i}", "props": "min-width: 9em;"} for i, c in enumerate(shown.columns)
                    if len(re.sub(r"<[^>]+>", "", names[c])) > WIDE_HEADER]
    return (text.style.hide(axis="index").set_td_classes(class_frame).set_uuid(digest).set_table_styles(long_headers)
            .set_table_attributes('class="t2-table"').relabel_index([names[c] for c in shown.columns], axis="columns"))


AT_GUESSING = "at the guessing level"
SAME_CHECKPOINT = "same checkpoint"  # the best checkpoint under its k is the Chinchilla choice: no margin to judge


def with_margins_and_guessing(suite: Suite, table: pd.DataFrame, bands: pd.DataFrame) -> pd.DataFrame:
    """Table 1 or 2 (`overtrained_vs_chinchilla`) ready to show: task names, each pass@k beside what
    guessing scores at the same k (tasks.csv's guess; NaN where not recorded), and each row's
    margin with its band (`margin_bands`, rows in the same order). A row where either checkpoint
    scores no more than guessing at its k is marked AT_GUESSING, whatever its interval: guessing
    alone rises with k, so such a margin can be guessing's, not skill's."""
    guess = lambda column: [float(suite.guess_pass_at_k(task, k)) for task, k in zip(table["task"], table[column])]
    shown = table.assign(guess_best=guess("best_overtrained_k"), guess_chinchilla=guess("chinchilla_opt_k"),
                         margin=bands["margin"].to_numpy(), margin_low=bands["margin_low"].to_numpy(),
                         margin_high=bands["margin_high"].to_numpy(), gap=bands["outcome"].to_numpy())
    guessed = ((shown["best_overtrained_pass_at_k"] <= shown["guess_best"])  # False where guessing is not recorded
               | (shown["chinchilla_opt_pass_at_k"] <= shown["guess_chinchilla"]))
    shown["gap"] = shown["gap"].where(~guessed, AT_GUESSING)
    shown["gap"] = shown["gap"].where(shown["best_overtrained_size"] != shown["chinchilla_opt_size"], SAME_CHECKPOINT)
    shown["task"] = shown["task"].map(suite.display_names)
    per_run = has_seeds(suite)  # a cell pools its seeds: show what its runs score one by one beside it
    if per_run:
        shown = shown.assign(best_per_run=bands["best_per_run"].to_numpy(),
                             chinchilla_per_run=bands["chinchilla_per_run"].to_numpy())
    return shown[[*(["method"] if "method" in shown else []), "task", "best_overtrained_size", "best_overtrained_k",
                  "best_overtrained_pass_at_k", *(["best_per_run"] if per_run else []), "guess_best",
                  "chinchilla_opt_size", "chinchilla_opt_k", "chinchilla_opt_pass_at_k",
                  *(["chinchilla_per_run"] if per_run else []), "guess_chinchilla", "margin", "margin_low",
                  "margin_high", "gap"]]


def gap_sentence(shown: pd.DataFrame) -> str:
    """What a Table 1 or 2 shown with `with_margins_and_guessing` says, in words, with its
    construction named: how often the best checkpoint under k is the Chinchilla choice itself, how
    many rows are at the guessing level, and how often the others' margin excludes zero."""
    rows = len(shown)
    same = int((shown["gap"] == SAME_CHECKPOINT).sum())
    guessed = int((shown["gap"] == AT_GUESSING).sum())
    clear = int((shown["gap"] == "clear").sum())
    return (f"The best checkpoint under its own $k$ is the Chinchilla choice itself in {same} of {rows} rows. In "
            f"{guessed} of the other {rows - same}, one of the two scores no more than guessing does at its own $k$: "
            "there the margin (whatever its interval) can be guessing's, since guessing alone rises with $k$, and says "
            f"nothing about skill. Of the remaining {rows - same - guessed}, the margin's interval excludes zero in "
            f"{clear}. The sample counts "
            "$k = C_\\text{inf}/(2N)$ are not rounded (pass@$k$ is exact for any real $k$), and \"best overtrained\" "
            "is the paper's name for the best checkpoint under its $k$, however many tokens per parameter it saw. "
            "This comparison **cannot lose by construction**: it measures the size of the gap on real models, not "
            "whether overtraining wins.")


COMMITTED_BASE = "base (committed runs)"  # Table 2's base rows on a suite whose fine-tunings started from copies
FINE_TUNED_BASE = "base (weights fine-tuned)"


def base_shift_sentence(shown: pd.DataFrame) -> str:
    """How far the base rows of the weights fine-tuned (FINE_TUNED_BASE) are from the committed runs'
    (COMMITTED_BASE) in a Table 2 shown with `with_margins_and_guessing`: the largest change in
    either checkpoint's pass@k, and on which task; "" where the table has no such pair of rows."""
    committed = shown[shown["method"] == COMMITTED_BASE].set_index("task")
    copies = shown[shown["method"] == FINE_TUNED_BASE].set_index("task")
    if committed.empty or copies.empty:
        return ""
    columns = {"best_overtrained_pass_at_k": "best checkpoint", "chinchilla_opt_pass_at_k": "Chinchilla choice"}
    change = (copies[list(columns)] - committed.loc[copies.index, list(columns)]).abs()
    task, column = change.stack().idxmax()
    size = column.replace("pass_at_k", "size")
    sizes = ((f" ({committed.loc[task, size]} and {copies.loc[task, size]}: the two sets of weights pick different "
              "sizes)") if committed.loc[task, size] != copies.loc[task, size] else f" (both {copies.loc[task, size]})")
    return (f"The two base rows differ by up to {change.to_numpy().max():.3f} in pass@$k$ (the {columns[column]} on "
            f"{task}: {committed.loc[task, column]:.3f} for the committed runs, {copies.loc[task, column]:.3f} for "
            f"the weights fine-tuned{sizes}), so a fine-tuned row is to be read against the second: where it falls "
            "below Table 1, its starting weights may be the cause, not the fine-tuning.")


GUESS_HEADERS = {"margin": "margin [band]", "guess_best": "guessing at the overtrained k",
                 "guess_chinchilla": "guessing at the Chinchilla k",
                 "best_per_run": "best overtrained: pass@k, run by run",
                 "chinchilla_per_run": "Chinchilla-optimal: pass@k, run by run"}


CEILING = 0.95  # pass@k above which a margin has little room left


def ceiling_sentence(shown: pd.DataFrame) -> str:
    """The tasks of a Table 1 or 2 (`with_margins_and_guessing`) on which both checkpoints score above
    CEILING, where any margin is capped by the little room left; "" where there are none."""
    capped = shown[(shown["best_overtrained_pass_at_k"] > CEILING) & (shown["chinchilla_opt_pass_at_k"] > CEILING)]
    if capped.empty:
        return ""
    tasks = list(dict.fromkeys(capped["task"]))
    return (f"On {' and '.join(tasks) if len(tasks) <= 2 else ', '.join(tasks[:-1]) + ' and ' + tasks[-1]} both "
            f"checkpoints score above {CEILING:g} ({len(capped)} row{'s' if len(capped) != 1 else ''}): there no margin "
            f"can exceed {format_number(1 - float(capped['chinchilla_opt_pass_at_k'].min()), 2)}, whatever the sizes.")


def per_run_sentence(shown: pd.DataFrame) -> str:
    """What scoring run by run instead of pooling a cell's seeds does to a Table 1 or 2 shown with
    `with_margins_and_guessing` on a seeded suite: how many of the rows whose two checkpoints
    differ keep a lead for the best one; "" where the table pools no seeds."""
    if "best_per_run" not in shown:
        return ""
    differ = shown[shown["gap"] != SAME_CHECKPOINT]
    lead = differ["best_per_run"] - differ["chinchilla_per_run"]
    return (f"Each cell's pass@$k$ pools its seeds (their mean probability per question), which scores like an "
            f"ensemble, above any one run, the more so the larger $k$, and the smaller model has the larger $k$; run "
            f"by run (each seed's own pass@$k$, averaged over seeds), the best checkpoint's point estimate is ahead of "
            f"the Chinchilla choice's in {int((lead > 0).sum())} of the {len(differ)} rows where they differ, by at "
            f"most {format_number(max(float(lead.max()), 0.0))} (no interval is computed run by run).")
