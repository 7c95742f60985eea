"""The validation experiment's verdict: the models a committed forecast named, trained and
evaluated, against what the forecast predicted for them, and the T² choice against the
Chinchilla choice at equal training and inference budgets.

Both take `measured`, one row per trained model (and task, for `head_to_head`) with its
measured task NLL and pass@k at its own k = C_inf/(2N) (`analysis.measure_at_budget` or
`analysis.macro_measured` at the forecast's C_inf); a model is matched to the forecast by its
size N (the forecast prices exactly the sizes it asked to train).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from t2lib.plan import APPROACHES

# What each approach predicts, and whether higher is better.
MEASURED_COLUMN = {"1": "task_nll", "2": "pass_at_k"}
HIGHER_IS_BETTER = {"1": False, "2": True}


def _trainable(forecast: pd.DataFrame) -> pd.DataFrame:
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
    trainable = _trainable(forecast)
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


def head_to_head(forecast: pd.DataFrame, measured: pd.DataFrame) -> pd.DataFrame:
    """For each approach's T² model against the Chinchilla model, per task (and `macro` if
    `measured` has a task column, the mean over tasks): both measured values at their own k, the
    difference (T² − Chinchilla) and whether the T² model won."""
    matched = _match(_trainable(forecast), measured)
    if "task" not in matched:
        matched = matched.assign(task="macro")
    chinchilla = _role_model(matched, "Chinchilla choice")
    if chinchilla["checkpoint"].nunique() != 1:
        raise ValueError(f"expected one trained Chinchilla model; found {chinchilla['checkpoint'].nunique()}")
    rows = []
    for key, name in APPROACHES.items():
        t2 = _role_model(matched, f"{name} optimum")
        if t2.empty:
            continue
        column = MEASURED_COLUMN[key]
        pair = t2[["task", column, "checkpoint"]].merge(chinchilla[["task", column, "checkpoint"]], on="task",
                                                         suffixes=("_t2", "_chinchilla"))
        if len(pair) > 1:
            macro = {"task": "macro", **pair[[f"{column}_t2", f"{column}_chinchilla"]].mean().to_dict(),
                     "checkpoint_t2": pair["checkpoint_t2"].iloc[0],
                     "checkpoint_chinchilla": pair["checkpoint_chinchilla"].iloc[0]}
            pair = pd.concat([pair, pd.DataFrame([macro])], ignore_index=True)
        for row in pair.to_dict(orient="records"):
            t2_value, chinchilla_value = float(row[f"{column}_t2"]), float(row[f"{column}_chinchilla"])
            difference = t2_value - chinchilla_value
            won = difference > 0 if HIGHER_IS_BETTER[key] else difference < 0
            rows.append({"approach": name, "task": row["task"], "measure": column, "t2_model": row["checkpoint_t2"],
                         "chinchilla_model": row["checkpoint_chinchilla"], "t2": t2_value, "chinchilla": chinchilla_value,
                         "difference": difference, "t2_won": bool(won)})
    return pd.DataFrame(rows)
