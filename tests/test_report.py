"""The helpers that carry numbers into the chapters' prose and "Paper vs this book" tables."""

import numpy as np
import pandas as pd
import pytest

from t2lib import report


def test_number_row_states_both_values_and_their_difference() -> None:
    row = report.number_row("relative error (%)", 2.8, np.float64(3.3), ".2g")
    assert row["paper"] == "2.8" and row["this book"] == "3.3"
    assert row["difference"] == "+0.5 (1.2× the paper's)"


def test_number_row_refuses_a_non_finite_value() -> None:
    with pytest.raises(ValueError, match="relative error: our value is not finite"):
        report.number_row("relative error", 2.8, float("nan"))


def test_paper_vs_book_has_one_row_per_quantity() -> None:
    table = report.paper_vs_book([report.number_row("a", 1, 2), report.claim_row("b", "yes", "no", False)])
    assert list(table.columns) == ["paper", "this book", "difference", "note"]
    assert table.loc["b", "difference"] == "differs"
    with pytest.raises(ValueError, match="at least one row"):
        report.paper_vs_book([])


def test_calibration_note_only_for_calibrated_tasks() -> None:
    class FakeSuite:
        tasks = pd.DataFrame({"task": ["x", "y"], "source": ["simulated; calibrated to the paper's Table 1", "real"]})

    note = report.calibration_note(FakeSuite, "Table 1")
    assert "by construction" in note and "(x)" in note
    assert report.calibration_note(FakeSuite, "Table 2") == ""
