"""The validation verdict: trained models against the forecast (errors, bands, its ordering of
them) and the T² model against the Chinchilla model with paired intervals, on hand-made
forecasts, measurements and a planted suite."""

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib.laws.validation import (against_forecast, contenders, duel, forecast_order, inference_sweep,
                                   leave_one_task_out, stand_ins)

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


def test_a_model_of_a_size_the_forecast_did_not_name_is_refused() -> None:
    stray = pd.concat([measured(), pd.DataFrame([{"checkpoint": "stray", "params": 3000, "k": 1.0, "task_nll": 1.0,
                                                  "pass_at_k": 0.1}])])
    with pytest.raises(ValueError, match="'stray' has N = 3000, a size the forecast did not name"):
        against_forecast(forecast(), stray)
    with pytest.raises(ValueError, match="no 'trainable' rows"):
        against_forecast(forecast().query("approach != 'trainable'"), measured())


def test_without_bands_inside_is_unknown() -> None:
    table = against_forecast(forecast().drop(columns=["value_low", "value_high"]), measured())
    assert table["inside_band"].isna().all() and np.isfinite(table["relative_error"]).all()


def tiny_suite(tmp_path) -> t2lib.Suite:
    """Three trained models answering the same 300 questions of two tasks: the T² model (N 2,000)
    certain of 90% of each task's answers, the Chinchilla model (N 8,000) of 60%, the neighbour
    (N 1,000) of 30%; every other answer has p = 0.01."""
    rng = np.random.default_rng(0)
    rows, checkpoints = [], []
    for name, N, right in (("small", 1000, 0.3), ("t2", 2000, 0.9), ("chin", 8000, 0.6)):
        checkpoints.append({"checkpoint": name, "params": float(N), "tokens": 1e6, "train_flops": 6e6 * N,
                            "source": "test", "stage": "base", "base_checkpoint": ""})
        for task in ("a", "b"):
            known = rng.random(300) < right
            rows += [{"checkpoint": name, "task": task, "question": q, "nll": 0.0 if ok else -np.log(0.01)}
                     for q, ok in enumerate(known)]
    return t2lib.load_suite(t2lib.write_suite(tmp_path / "suite", pd.DataFrame(checkpoints), pd.DataFrame(rows)))


def test_paired_head_to_heads_on_a_planted_suite(tmp_path) -> None:
    suite, plan = tiny_suite(tmp_path), forecast()
    assert contenders(plan, suite) == {"T²": "t2", "Chinchilla": "chin"}
    won = duel(suite, "t2", "chin", ["a", "b"], 16_000.0, "pass_at_k", resamples=300)
    assert won.outcome == "win" and won.low > 0
    order = forecast_order(plan, suite, ["a", "b"], 16_000.0, resamples=300)
    # the forecast ranks 1,000 > 2,000 > 8,000 on pass@k; measured, the neighbour is the weakest
    kept = order.set_index(["predicted_better", "predicted_worse"])["order"]
    assert kept[("small", "t2")] == "reversed" and kept[("t2", "chin")] == "as forecast"
    dropped = leave_one_task_out(suite, "t2", "chin", ["a", "b"], 16_000.0, "pass_at_k", resamples=300)
    assert list(dropped["left_out"]) == ["a", "b"] and (dropped["outcome"] == "win").all()
    sweep = inference_sweep(suite, "t2", "chin", ["a", "b"], [8_000.0, 16_000.0, 32_000.0], resamples=100)
    assert list(sweep["c_inf"]) == [16_000.0, 32_000.0]  # 8,000 buys the 8,000-parameter model half a sample


def test_stand_ins_compare_each_optimum_with_the_model_trained_for_it() -> None:
    plan = pd.concat([forecast(), pd.DataFrame([{"approach": "2", "priced_by": "2", "N": 500.0, "value": 0.6},
                                                {"approach": "chinchilla", "priced_by": "1", "N": 6000.0, "value": 3.0}])])
    found = stand_ins(plan).set_index("approach")["ratio"]
    assert found["Approach 1"] == pytest.approx(1.0) and found["Approach 2"] == pytest.approx(4.0)
    assert found["Chinchilla"] == pytest.approx(8000 / 6000)
