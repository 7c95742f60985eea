"""The second suite's grid: the committed plan is the planner's, meets the issue's coverage rules,
and the grid runner trains each of its cells at the cell's own seeds."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from pretrain import grid, grid_v2
from pretrain.corpus_v2 import CORPUS_VERSION


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    return pd.read_csv(grid_v2.GRID_FILE)


def test_the_committed_grid_is_the_planners(committed: pd.DataFrame) -> None:
    planned = grid_v2.plan_grid()
    pd.testing.assert_frame_equal(committed, planned, check_exact=False, rtol=1e-5, check_dtype=False)


def test_the_grid_covers_two_decades_eight_sizes_and_tokens_per_parameter_from_2_to_5000(
        committed: pd.DataFrame) -> None:
    assert committed["train_flops"].max() / committed["train_flops"].min() >= 100
    assert committed["params"].nunique() >= 8
    assert committed["tokens_per_param"].min() <= 2 and committed["tokens_per_param"].max() >= 5000
    assert (committed["corpus_version"] == CORPUS_VERSION).all()


def test_every_cell_has_three_seeds(committed: pd.DataFrame) -> None:
    assert (committed["seeds"] >= 3).all()  # the issue's minimum is 2 above 100K parameters; see grid_v2's rules


def test_the_runner_reads_each_cells_design_and_seeds(committed: pd.DataFrame) -> None:
    cells = grid.read_grid(grid_v2.GRID_FILE)
    assert {spec.corpus_version for spec in cells} == {CORPUS_VERSION}
    seeds = grid.seeds_of_cells(grid_v2.GRID_FILE)
    runs = grid.plan_jobs(Path("/nonexistent"), cells, seeds, ensemble=1, evaluate=False)
    assert len(runs) == committed["seeds"].sum()
    small = committed.loc[committed["params"].idxmin(), "cell"]
    assert {spec.name for (spec,) in runs if spec.name.startswith(small)} == {small, f"{small}-s1", f"{small}-s2"}
    assert grid.seeds_of_cells(grid.GRID_FILE)["w16d1-c0"] == [0]  # the first suite: one seed per cell


def test_the_dry_run_prices_the_second_grid_with_its_own_throughput(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(sys, "argv", ["pretrain.grid", "run", "--runs", str(tmp_path), "--grid", str(grid_v2.GRID_FILE),
                                      "--cells", "w24d1-c0", "--dry-run"])
    grid.main()
    out = capsys.readouterr().out
    assert "w24d1-c0-s2" in out and "3 run(s)" in out
    cap, flops = grid.THROUGHPUT_BY_DESIGN[(CORPUS_VERSION, "cpu")]
    assert grid.estimated_hours(37_600, 1e7, "cpu", CORPUS_VERSION) == pytest.approx(
        1e7 * (1 / cap + 6 * 37_600 / flops) / 3600)
    assert grid.estimated_hours(37_600, 1e7, "cpu", CORPUS_VERSION) != grid.estimated_hours(37_600, 1e7, "cpu")
    monkeypatch.setattr(sys, "argv", ["pretrain.grid", "run", "--grid", str(tmp_path / "missing.csv"), "--dry-run"])
    with pytest.raises(SystemExit) as stop:
        grid.main()
    assert stop.value.code == 2 and "--grid:" in capsys.readouterr().err.strip().splitlines()[-1]


def test_the_runner_scores_a_second_suite_run_directly_at_each_cells_seeds(tmp_path: Path) -> None:
    from pretrain.corpus import CONTEXT, corpus_for
    from pretrain.evaluate import DIRECT_NLL, answer_nll
    from pretrain.executors import Placement
    from pretrain.train import RunSpec, load_model

    cell = RunSpec("v2cell", width=16, depth=1, heads=1, tokens=6 * 8 * CONTEXT, lr=1e-2, batch_size=8,
                   corpus_version=CORPUS_VERSION)
    grid.run(tmp_path, 5, Placement(workers=1), "cpu", [cell], seeds={"v2cell": [0, 1]})
    corpus = corpus_for(0, CORPUS_VERSION)
    for name in ("v2cell", "v2cell-s1"):
        scored = pd.read_csv(tmp_path / name / DIRECT_NLL)
        assert len(scored) == sum(map(len, corpus.questions.values()))
        assert not (tmp_path / name / "lm_eval").exists()  # no harness run
    spatial = scored[scored["task"] == "spatial"]["nll"].to_numpy()
    direct = answer_nll(load_model(tmp_path / "v2cell-s1"), corpus, corpus.questions["spatial"])
    assert spatial == pytest.approx(direct, rel=1e-7)
    assert grid.plan_jobs(tmp_path, [cell], {"v2cell": [0, 1]}, ensemble=1, evaluate=True) == []
