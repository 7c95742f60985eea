"""The validation verdict: trained models against the forecast (errors, bands) and the T² model
against the Chinchilla model, on hand-made forecasts and measurements."""

import numpy as np
import pandas as pd
import pytest

from t2lib.validation import against_forecast, head_to_head

SIZES = {"small": 1000, "t2": 2000, "chin": 8000}
ROLES = {1000: "neighbour", 2000: "Approach 1 optimum, Approach 2 optimum", 8000: "Chinchilla choice"}


def forecast() -> pd.DataFrame:
    rows = [{"approach": "1", "priced_by": "1", "N": 2000.0, "value": 9.0}]  # a plan row: ignored
    for N, role in ROLES.items():
        rows.append({"approach": "trainable", "priced_by": "1", "N": float(N), "role": role, "value": 2.0 + N / 8000,
                     "value_low": 1.9 + N / 8000, "value_high": 2.1 + N / 8000})
        rows.append({"approach": "trainable", "priced_by": "2", "N": float(N), "role": role, "value": 0.5 - N / 80000,
                     "value_low": 0.45 - N / 80000, "value_high": 0.55 - N / 80000})
    return pd.DataFrame(rows)


def measured(tasks: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for name, N in SIZES.items():
        for task in tasks or [None]:
            row = {"checkpoint": name, "params": N, "k": 8000 / N, "task_nll": 2.0 + N / 8000 + 0.05,
                   "pass_at_k": 0.5 - N / 80000 - (0.2 if name == "small" else 0.0)}
            rows.append(row if task is None else {**row, "task": task})
    return pd.DataFrame(rows)


def test_each_model_is_compared_with_its_prediction_and_band() -> None:
    table = against_forecast(forecast(), measured())
    assert len(table) == 6
    row = table[(table["checkpoint"] == "t2") & (table["approach"] == "Approach 1")].iloc[0]
    assert row["predicted"] == pytest.approx(2.25) and row["measured"] == pytest.approx(2.30)
    assert row["relative_error"] == pytest.approx(2.25 / 2.30 - 1) and row["inside_band"] == 1.0
    small = table[(table["checkpoint"] == "small") & (table["approach"] == "Approach 2")].iloc[0]
    assert small["inside_band"] == 0.0 and small["role"] == "neighbour"


def test_the_t2_model_is_set_against_the_chinchilla_model_per_task_and_macro() -> None:
    table = head_to_head(forecast(), measured(["a", "b"]))
    assert set(table["task"]) == {"a", "b", "macro"}
    one = table[(table["approach"] == "Approach 1") & (table["task"] == "macro")].iloc[0]
    assert one["t2_model"] == "t2" and one["chinchilla_model"] == "chin"
    assert one["difference"] == pytest.approx((2.25 + 0.05) - (3.0 + 0.05)) and one["t2_won"]  # lower NLL wins
    two = table[(table["approach"] == "Approach 2") & (table["task"] == "a")].iloc[0]
    assert two["difference"] == pytest.approx(-2000 / 80000 + 8000 / 80000) and two["t2_won"]


def test_a_model_of_a_size_the_forecast_did_not_name_is_refused() -> None:
    stray = pd.concat([measured(), pd.DataFrame([{"checkpoint": "stray", "params": 3000, "k": 1.0, "task_nll": 1.0,
                                                  "pass_at_k": 0.1}])])
    with pytest.raises(ValueError, match="'stray' has N = 3000, a size the forecast did not name"):
        against_forecast(forecast(), stray)
    with pytest.raises(ValueError, match="no 'trainable' rows"):
        head_to_head(forecast().query("approach != 'trainable'"), measured())


def test_without_bands_inside_is_unknown() -> None:
    table = against_forecast(forecast().drop(columns=["value_low", "value_high"]), measured())
    assert table["inside_band"].isna().all() and np.isfinite(table["relative_error"]).all()
