"""The classroom lab (`make lab`), as a smoke test: a plan at budgets small enough to train in
seconds, trained, fitted and checked against the committed suite."""

from pathlib import Path

import pandas as pd
import pytest

from pretrain.lab import LAB_BUDGET, RESULTS, main, plan_table

TINY = ["w16d1:2e9", "w16d1:4e9", "w24d1:2e9", "w24d1:4e9", "w24d2:2e9", "w24d2:4e9", "w32d2:4e9"]


def test_a_plan_is_priced_and_refused_over_budget(capsys: pytest.CaptureFixture[str]) -> None:
    table = plan_table(TINY)
    assert list(table["run"]) == ["w16d1-2e09", "w16d1-4e09", "w24d1-2e09", "w24d1-4e09", "w24d2-2e09", "w24d2-4e09",
                                  "w32d2-4e09"]
    assert abs(table["train_flops"].sum() / 2.2e10 - 1) < 0.01
    assert main(["plan", "--run", f"w24d2:{LAB_BUDGET * 2:g}"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "more than the lab's budget" in error
    assert main(["plan", "--run", "w24d2:4e11", "w24d2:4e11"]) == 2 and "asked for twice" in capsys.readouterr().err
    assert main(["plan", "--run", "w99d9:4e11"]) == 2 and "unknown shape 'w99d9'" in capsys.readouterr().err


def test_the_lab_trains_fits_predicts_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["all", "--out", str(tmp_path), "--run", *TINY, "--workers", "2", "--target", "4e12"]) == 0
    report = capsys.readouterr().out
    results = pd.read_csv(tmp_path / RESULTS)
    assert len(results) == len(TINY) and results["validation_loss"].between(0, 20).all()
    assert "fit status:" in report and "Measured best: w40d2-c3" in report
    assert "the law predicts the best size" in report or "has no best size" in report
    assert main(["check", "--out", str(tmp_path), "--target", "1e13"]) == 2
    assert "has no checkpoints trained at that budget" in capsys.readouterr().err
    pd.read_csv(tmp_path / RESULTS).head(6).to_csv(tmp_path / RESULTS, index=False)
    assert main(["check", "--out", str(tmp_path)]) == 2 and "at least 7 runs" in capsys.readouterr().err
