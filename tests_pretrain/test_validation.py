"""The validation plan: the committed shapes file is the trainer's, and a forecast's trainable
rows become run specifications of those shapes at the forecast's budget (a size that is no shape
is refused)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from pretrain.corpus import CONTEXT
from pretrain.grid import LEARNING_RATE, SHAPES_FILE, parameters_of, shape_table
from pretrain.validation import plan_validation


def forecast(tmp_path: Path, sizes: list[float], c_train: float = 2.56e14) -> Path:
    rows = [{"approach": "1", "priced_by": "1", "N": 123456.7}]
    rows += [{"approach": "trainable", "priced_by": key, "N": N, "role": "neighbour"} for N in sizes for key in "12"]
    path = tmp_path / "forecast.json"
    path.write_text(json.dumps({"format": "t2lib-forecast-1", "c_train": c_train, "c_inf": 1e6, "rows": rows}))
    return path


def test_the_committed_shapes_are_the_trainer_s() -> None:
    committed = pd.read_csv(SHAPES_FILE)
    pd.testing.assert_frame_equal(committed, shape_table())
    assert all(parameters_of(r.width, r.depth, r.heads) == r.params for r in committed.itertuples())


def test_the_plan_trains_each_trainable_size_once_at_the_forecast_budget(tmp_path: Path) -> None:
    shapes = pd.read_csv(SHAPES_FILE)
    sizes = [float(n) for n in shapes["params"].iloc[[8, 9, 12]]]
    plan = plan_validation(forecast(tmp_path, sizes))
    assert plan["params"].tolist() == [int(n) for n in sizes]
    assert plan["cell"].tolist() == ["v-w96d4", "v-w128d4", "v-w224d7"]
    assert (plan["tokens"] % (32 * CONTEXT) == 0).all() and (plan["lr"] == LEARNING_RATE).all()
    assert ((6 * plan["params"] * plan["tokens"]) / 2.56e14 - 1).abs().max() < 0.01


def test_a_size_that_is_no_shape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="size 12345 is not a shape"):
        plan_validation(forecast(tmp_path, [12345.0]))
