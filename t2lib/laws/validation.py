"""The validation experiment's verdict: the models a committed forecast named, trained and
evaluated, against what the forecast predicted for them (`against_forecast`, `forecast_order`,
`stand_ins`), and the T² choice against the Chinchilla choice at equal training and inference
budgets, with paired intervals over questions (`duel`, `inference_sweep`, `leave_one_task_out`).

`against_forecast` takes `measured`, one row per trained model with its measured task NLL and
pass@k at its own k = C_inf/(2N) (`analysis.macro_measured` at the forecast's C_inf); a model is
matched to the forecast by its size N (the forecast prices exactly the sizes it asked to train).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from t2lib.data.suite import Suite
from t2lib.laws.paired import PairedDifference, macro_guess, paired_difference
from t2lib.laws.plan import APPROACHES

# What each approach predicts.
MEASURED_COLUMN = {"1": "task_nll", "2": "pass_at_k"}


def trainable_rows(forecast: pd.DataFrame) -> pd.DataFrame:
    """The forecast's rows of the models it asked to train (made with --sizes)."""
    rows = forecast[forecast["approach"] == "trainable"]
    if rows.empty:
        raise ValueError("the forecast has no 'trainable' rows (it was made without --sizes): nothing to compare")
    return rows


def _match(trainable: pd.DataFrame, measured: pd.DataFrame) -> pd.DataFrame:
    """`measured` with each model's forecast role, refusing a model of a size the forecast did not name."""
    named = trainable.drop_duplicates("N")
    roles = pd.Series(named["role"].to_numpy(), index=named["N"].round().astype(np.int64))
    sizes = measured["params"].round().astype(np.int64)
    unknown = ~sizes.isin(roles.index)
    if unknown.any():
        first = measured[unknown].iloc[0]
        raise ValueError(f"measured model {first['checkpoint']!r} has N = {first['params']:.0f}, a size the forecast "
                         f"did not name (it named {', '.join(str(n) for n in roles.index)})")
    return measured.assign(role=sizes.map(roles).to_numpy())


def against_forecast(forecast: pd.DataFrame, measured: pd.DataFrame) -> pd.DataFrame:
    """One row per trained model and approach: its role, N, k, the predicted macro value with its
    band, the measured one, the relative error (predicted/measured − 1) and whether the
    measured value lies inside the band (NaN when the forecast has no band)."""
    trainable = trainable_rows(forecast)
    matched = _match(trainable, measured)
    rows = []
    for model in matched.itertuples(index=False):
        for key, name in APPROACHES.items():
            predicted = trainable[(trainable["priced_by"] == key) & (trainable["N"].round() == round(model.params))]
            if predicted.empty:
                continue
            row = predicted.iloc[0]
            value = float(getattr(model, MEASURED_COLUMN[key]))
            low, high = row.get("value_low", np.nan), row.get("value_high", np.nan)
            inside = np.nan if not (np.isfinite(low) and np.isfinite(high)) else float(low <= value <= high)
            rows.append({"checkpoint": model.checkpoint, "role": model.role, "approach": name, "N": model.params,
                         "k": model.k, "predicted": row["value"], "band_low": low, "band_high": high,
                         "measured": value, "relative_error": row["value"] / value - 1, "inside_band": inside})
    return pd.DataFrame(rows)


def _role_model(matched: pd.DataFrame, role: str) -> pd.DataFrame:
    return matched[matched["role"].str.contains(role, regex=False)]


# --- the head-to-head with its uncertainty (t2lib.laws.paired), as the forecast chapter and the verdict page show it ---

def nll_by_task(suite: Suite, checkpoint: str, tasks: Sequence[str], stage: str = "base") -> dict[str, np.ndarray]:
    """One checkpoint's per-question NLLs, per task (a post-trained stage: the checkpoint's fine-tuned version)."""
    if stage != "base":
        rows = suite.checkpoints
        tuned = rows[(rows["stage"] == stage) & (rows["base_checkpoint"] == checkpoint)]
        if tuned.empty:
            raise KeyError(f"{suite.path}: checkpoint {checkpoint!r} has no {stage} version")
        checkpoint = tuned["checkpoint"].iloc[0]
    return {task: suite.task_nll(checkpoint, task) for task in tasks}


def contenders(forecast: pd.DataFrame, suite: Suite) -> dict[str, str]:
    """The trained checkpoints of the head-to-head: {"T²": …, "Chinchilla": …}, the T² one being the
    model trained for Approach 2's optimum (the pass@k the head-to-head is judged on)."""
    matched = _match(trainable_rows(forecast), suite.base.assign(k=np.nan))
    found = {}
    for name, role in (("T²", "Approach 2 optimum"), ("Chinchilla", "Chinchilla choice")):
        rows = _role_model(matched, role)
        if rows["checkpoint"].nunique() != 1:
            raise ValueError(f"expected one trained model for the role {role!r}; found {rows['checkpoint'].nunique()}")
        found[name] = rows["checkpoint"].iloc[0]
    return found


def _k_of(suite: Suite, checkpoint: str, c_inf: float) -> float:
    params = float(suite.checkpoints.set_index("checkpoint").loc[checkpoint, "params"])
    return c_inf / (2.0 * params)


def duel(suite: Suite, a: str, b: str, tasks: Sequence[str], c_inf: float, measure: str, *,
         guess: Mapping[str, float] | None = None, stage: str = "base", resamples: int = 2000,
         seed: int = 0) -> PairedDifference:
    """Checkpoint a against checkpoint b on the macro `measure`, each at its own k = C_inf/(2N)."""
    return paired_difference(nll_by_task(suite, a, tasks, stage), nll_by_task(suite, b, tasks, stage),
                             _k_of(suite, a, c_inf), _k_of(suite, b, c_inf), measure, tasks=tasks, guess=guess,
                             resamples=resamples, seed=seed)


def duel_row(result: PairedDifference, **labels: object) -> dict:
    """A PairedDifference as a table row, after `labels`."""
    return {**labels, "measure": result.measure, "a": result.a, "b": result.b, "difference": result.difference,
            "low": result.low, "high": result.high, "outcome": result.outcome}


def inference_sweep(suite: Suite, a: str, b: str, tasks: Sequence[str], c_infs: Sequence[float], *,
                    guess: Mapping[str, float] | None = None, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """a against b on macro pass@k at each inference budget in `c_infs` (each model at its own k),
    with the paired interval and outcome, and the guessing level at each model's k."""
    rows = []
    for c_inf in c_infs:
        k_a, k_b = _k_of(suite, a, c_inf), _k_of(suite, b, c_inf)
        if min(k_a, k_b) < 1:
            continue
        result = duel(suite, a, b, tasks, c_inf, "pass_at_k", resamples=resamples, seed=seed)
        row = duel_row(result, c_inf=c_inf, k_a=k_a, k_b=k_b)
        if guess is not None:
            row.update(guess_a=macro_guess(guess, tasks, k_a), guess_b=macro_guess(guess, tasks, k_b))
        rows.append(row)
    return pd.DataFrame(rows)


def leave_one_task_out(suite: Suite, a: str, b: str, tasks: Sequence[str], c_inf: float, measure: str, *,
                       guess: Mapping[str, float] | None = None, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The macro head-to-head recomputed without each task in turn."""
    return pd.DataFrame([duel_row(duel(suite, a, b, [t for t in tasks if t != left], c_inf, measure, guess=guess,
                                       resamples=resamples, seed=seed), left_out=left) for left in tasks])


def forecast_order(forecast: pd.DataFrame, suite: Suite, tasks: Sequence[str], c_inf: float, *,
                   resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Every pair of trained models, ordered as Approach 2's forecast ranks them (predicted better
    first): the predicted and measured pass@k differences, the measured one's interval, and
    whether the measurement kept the forecast's order ("as forecast"), reversed it ("reversed") or
    cannot tell ("tie")."""
    predicted = trainable_rows(forecast)
    predicted = predicted[predicted["priced_by"] == "2"].drop_duplicates("N")
    predicted = predicted.set_index(predicted["N"].round())
    models = suite.base.assign(size=suite.base["params"].round()).set_index("size")["checkpoint"]
    sizes = sorted(set(predicted.index) & set(models.index))
    rows = []
    for i, first in enumerate(sizes):
        for second in sizes[i + 1:]:
            better, worse = ((first, second) if predicted.loc[first, "value"] >= predicted.loc[second, "value"]
                             else (second, first))
            result = duel(suite, models[better], models[worse], tasks, c_inf, "pass_at_k", resamples=resamples, seed=seed)
            order = {"win": "as forecast", "loss": "reversed", "tie": "tie"}[result.outcome]
            rows.append({**duel_row(result, predicted_better=models[better], predicted_worse=models[worse],
                                    predicted_difference=predicted.loc[better, "value"] - predicted.loc[worse, "value"]),
                         "order": order})
    return pd.DataFrame(rows)


def stand_ins(forecast: pd.DataFrame) -> pd.DataFrame:
    """Each approach's forecast optimum against the model trained in its place: both sizes and
    their ratio (trained/optimal)."""
    trained = trainable_rows(forecast).drop_duplicates("N")
    rows = []
    for key, name in APPROACHES.items():
        optimum = forecast[(forecast["approach"] == key) & (forecast["priced_by"] == key)].iloc[0]
        stand_in = trained[trained["role"].str.contains(f"{name} optimum", regex=False)].iloc[0]
        rows.append({"approach": name, "optimal_N": optimum["N"], "trained_N": stand_in["N"],
                     "ratio": stand_in["N"] / optimum["N"]})
    chinchilla = forecast[(forecast["approach"] == "chinchilla")].iloc[0]
    stand_in = trained[trained["role"].str.contains("Chinchilla choice", regex=False)].iloc[0]
    rows.append({"approach": "Chinchilla", "optimal_N": chinchilla["N"], "trained_N": stand_in["N"],
                 "ratio": stand_in["N"] / chinchilla["N"]})
    return pd.DataFrame(rows)


def earlier_checkpoints(grid: Suite, validation: Suite, tasks: Sequence[str], *, resamples: int = 2000,
                        seed: int = 0) -> pd.DataFrame:
    """For each validation model, the grid checkpoint of the same shape (width, depth) with the
    highest macro pass@1: its compute and tokens per parameter, both models' validation loss, and
    the paired pass@1 difference (grid checkpoint − validation model) with its outcome."""
    rows = []
    for model in validation.base.itertuples():
        same = grid.base[(grid.base["width"] == model.width) & (grid.base["depth"] == model.depth)]
        if same.empty:
            continue
        scores = {c: float(np.mean([np.exp(-grid.task_nll(c, t)).mean() for t in tasks])) for c in same["checkpoint"]}
        best = same.set_index("checkpoint").loc[max(scores, key=scores.get)]
        result = paired_difference(nll_by_task(grid, best.name, tasks), nll_by_task(validation, model.checkpoint, tasks),
                                   1.0, 1.0, "pass_at_k", tasks=tasks, resamples=resamples, seed=seed)
        rows.append(duel_row(result, validation_model=model.checkpoint, grid_checkpoint=best.name,
                             compute_ratio=model.train_flops / best["train_flops"],
                             grid_tokens_per_param=best["tokens"] / best["params"],
                             validation_tokens_per_param=model.tokens / model.params,
                             grid_loss=best["validation_loss"], validation_loss=model.validation_loss))
    return pd.DataFrame(rows)
