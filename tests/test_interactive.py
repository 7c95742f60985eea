"""The interactive figure's data: the T² optimum and the Chinchilla choice on a grid of budgets."""

import json
import re

import numpy as np

import t2lib
from t2lib.book.interactive import explorer_html, optimum_grid

LAW = t2lib.T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
COLOURS = {"Approach 1": "#1f5fa8", "Approach 2": "#c0392b", "Chinchilla": "#111111"}


def test_the_grid_holds_each_budgets_optimum_and_chinchilla_choice() -> None:
    c_trains, c_infs = np.logspace(18, 22, 5), np.logspace(9, 12, 4)
    grid = optimum_grid({"Approach 1": LAW}, c_trains, c_infs)
    assert len(grid) == 20
    row = grid[(grid["c_train"] == c_trains[2]) & (grid["c_inf"] == c_infs[1])].iloc[0]
    optimum = t2lib.frontier(LAW, [c_trains[2]], c_infs[1]).iloc[0]
    assert np.isclose(row["N"], optimum["N"]) and np.isclose(row["k"], c_infs[1] / (2 * optimum["N"]))
    assert row["value"] <= row["chinchilla_value"] + 1e-12  # lower task NLL is better: the optimum never loses
    assert (grid["outside data"] == "").all()  # no fitted range given: nothing flagged


def test_optima_beyond_the_fitted_data_are_flagged_for_the_page() -> None:
    c_trains, c_infs = np.logspace(18, 22, 5), np.logspace(9, 12, 4)
    grid = optimum_grid({"Approach 1": LAW}, c_trains, c_infs, smallest_N=1e6, largest_k=100.0)
    expected = t2lib.frontier(LAW, c_trains, c_infs[3], smallest_N=1e6, largest_k=100.0)["outside data"]
    assert list(grid[grid["c_inf"] == c_infs[3]]["outside data"]) == list(expected)
    assert (grid["outside data"] != "").any() and (grid["outside data"] == "").any()
    html = explorer_html(grid, lower_is_better={"Approach 1": True}, colours=COLOURS)
    payload = json.loads(re.search(r'<script type="application/json">(.*?)</script>', html, re.S).group(1))
    beyond = np.array(payload["laws"]["Approach 1"]["beyond"])
    assert beyond.shape == (5, 4) and beyond.sum() == (grid["outside data"] != "").sum()


def test_the_page_carries_the_grid_offline_and_the_same_grid_gives_the_same_html() -> None:
    grid = optimum_grid({"Approach 1": LAW}, np.logspace(18, 22, 5), np.logspace(9, 12, 4))
    html = explorer_html(grid, lower_is_better={"Approach 1": True}, colours=COLOURS, start=(1e22, 1e10))
    assert html == explorer_html(grid, lower_is_better={"Approach 1": True}, colours=COLOURS, start=(1e22, 1e10))
    payload = json.loads(re.search(r'<script type="application/json">(.*?)</script>', html, re.S).group(1))
    assert len(payload["logCTrain"]) == 5 and len(payload["laws"]["Approach 1"]["logN"]) == 5
    assert 'value="4"' in html and 'value="1"' in html  # the start: the largest c_train, c_inf nearest 1e10
    assert not re.search(r"https?://|NaN|Infinity", html.replace("http://www.w3.org/2000/svg", ""))
