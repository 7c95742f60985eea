"""The sweep's chapter on a planted sweep: two forecasts made by the command line from a planted
seeded grid (one fitted to each run, one to pooled seeds), then every size at the forecasts' budget
trained at two seeds. Before the runs the chapter shows the forecasts and says that nothing is
measured; with them, it judges each forecast and its numbers are those of `sweep.judge`."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from t2lib.data.suite import load_suite, write_suite
from t2lib.data.seeds import runs_digest
from t2lib.laws.forecast import SWEEP_FORECAST_FILES, largest_difference, load_sweep_forecasts
from t2lib.laws.sweep import judge
from test_hindcast import LEVELS, SIZES, planted_grid
from test_verdict import glued

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTER = REPO_ROOT / "chapters" / "second_sweep.md"


@pytest.fixture(scope="module")
def planted_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sweep folder before its runs ("before": both forecasts and the plan, grid.csv) and
    after them ("after": the same with the sweep's suite)."""
    base = tmp_path_factory.mktemp("sweep")
    grid = planted_grid(base / "grid")
    sizes = base / "sizes.csv"
    pd.DataFrame({"params": SIZES}).to_csv(sizes, index=False)
    folder = base / "forecasts"
    folder.mkdir()
    for fitted_to, name in SWEEP_FORECAST_FILES.items():
        command = [sys.executable, "-m", "t2lib", "forecast", str(grid), "--factor", "2", "--sizes", str(sizes),
                   "--k-at-chinchilla", "1", "10", "100", "--lm-loss", "validation_loss", "--resamples", "0",
                   "--allow-degenerate", "--min-sizes", "3", "--out", str(folder / name)]
        result = subprocess.run(command + (["--each-run"] if fitted_to == "each run" else []), capture_output=True,
                                text=True, cwd=REPO_ROOT)
        assert result.returncode == 0, result.stderr[-2000:]
    forecasts = load_sweep_forecasts({f: folder / n for f, n in SWEEP_FORECAST_FILES.items()})
    # Each forecast says what its laws were fitted to; the per-run one records its runs' checksum.
    (each, each_rows), (pooled, pooled_rows) = forecasts["each run"], forecasts["pooled seeds"]
    assert each["fitted_to"] == "each run" and pooled["fitted_to"] == "pooled seeds"
    assert pooled["suite_sha256"] == load_suite(grid).sha256 and each["suite_sha256"] == runs_digest(pooled["suite_sha256"])
    assert "seeds' mean probability" in pooled["rule"] and "each seed's run" in each["rule"]
    assert largest_difference(each_rows, pooled_rows) > 1e-6  # fitted to different data
    c_train = forecasts["each run"][0]["c_train"] / 1.001  # the planted runs overshoot their plan by 0.1%
    trained = planted_grid(base / "trained", levels=(c_train,))
    runs = load_suite(trained)  # each run started on 1 January 2000, long before the forecasts
    write_suite(trained, runs.checkpoints.assign(started_at="2000-01-01T00:00:00+00:00"), runs.nll, runs.tasks)
    named = sorted({float(n) for _, rows in forecasts.values() for n in rows.loc[rows["approach"] == "trainable", "N"]})
    plan = pd.DataFrame({"cell": [f"n{n:g}-c{c_train:g}" for n in named], "params": named, "seeds": 2,
                         "tokens_per_param": [c_train / (6 * n * n) for n in named], "role": "planted"})
    for target in (folder, trained):
        plan.to_csv(target / "grid.csv", index=False)
    for name in [*SWEEP_FORECAST_FILES.values(), *(f"{Path(n).stem}.fits.json" for n in SWEEP_FORECAST_FILES.values())]:
        shutil.copy(folder / name, trained / name)
    return {"before": folder, "after": trained}


def shown(notebook: Path) -> str:
    """What the executed chapter displays: the text of every output (not its source)."""
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(text) if isinstance(text, list) else str(text)
                     for cell in cells for output in cell.get("outputs", [])
                     for kind, text in {**output.get("data", {}), "stream": output.get("text", "")}.items()
                     if kind in ("text/markdown", "text/plain", "text/html", "stream"))


def run(sweep: Path, output: Path, *extra: str) -> Path:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_chapter.py"), str(CHAPTER), str(output),
                             "-p", "sweep", str(sweep), "-p", "fast", "true", *extra], capture_output=True, text=True,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    notebook = json.loads(output.read_text())
    assert not [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return output


@pytest.mark.chapter
def test_before_the_forecasts_the_chapter_says_how_far_their_grid_has_got(planted_sweep: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    grid = planted_sweep["before"].parent / "grid" / "grid"
    text = shown(run(tmp_path / "nothing", tmp_path / "empty.ipynb", "-p", "grid_suite", str(grid)))
    assert "The forecasts are made when the grid they are fitted to is complete" in text
    assert "Not all committed yet" in text and "Not measured yet (the forecasts are not made yet)." in text
    assert "Nothing to weigh yet" in text


@pytest.mark.chapter
def test_before_the_runs_the_chapter_shows_the_forecasts_and_measures_nothing(planted_sweep: dict[str, Path],
                                                                              tmp_path: Path) -> None:
    notebook = run(planted_sweep["before"], tmp_path / "before.ipynb")
    text = shown(notebook)
    assert "0 of 2" in text and "Not measured yet (0 of " in text
    assert "n_wins" not in glued(notebook) and "The one fitted to each run was made 20" in text
    assert "0 of 2" in text


@pytest.mark.chapter
def test_with_the_runs_each_forecast_is_judged_as_sweep_judge_judges_it(planted_sweep: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    notebook = run(planted_sweep["after"], tmp_path / "after.ipynb")
    suite = load_suite(planted_sweep["after"])
    meta, rows = load_sweep_forecasts({"each run": planted_sweep["after"] / "forecast.json"})["each run"]
    expected = judge(suite, rows, list(suite.tasks["task"])[:2], meta["c_infs"], scored="each run",
                     guess=dict(zip(suite.tasks["task"], suite.tasks["guess"])), resamples=200, duel_resamples=200)
    values = glued(notebook)
    assert (values["n_wins"], values["n_losses"], values["n_ties"]) == tuple(
        expected.summary.outcomes[o] for o in ("win", "loss", "tie"))
    # Each forecast judged on curves scored as its laws were fitted, at its own inference budgets.
    for fitted_to, name in (("each run", "measured_each"), ("pooled seeds", "measured_pooled")):
        meta, rows = load_sweep_forecasts({fitted_to: planted_sweep["after"] / SWEEP_FORECAST_FILES[fitted_to]})[fitted_to]
        found = judge(suite, rows, list(suite.tasks["task"])[:2], meta["c_infs"], scored=fitted_to, resamples=200,
                      duel_resamples=10).judged
        assert values[name] == list(found.loc[found["approach"] == "Approach 2", "measured_N"])
    text = shown(notebook)
    assert notebook.read_text().count("image/png") >= 2 and notebook.read_text().count("<table") == 2 + 1 + 1 + 1 + 2
    assert "Laws fitted to each run:" in text and "Laws fitted to pooled seeds:" in text
    assert "measured inside the band" in notebook.read_text()  # the predictions the verdict page weighs, shown
    assert "Not measured yet" not in text and "In progress" not in text
    assert "The earliest sweep run started 2000-01-01T00:00:00+00:00 (UTC), **before** both forecasts" in text
    assert "this test is not preregistered" in text and "2 seeds per size" in text and "2 synthetic tasks" in text
    assert "**The primary comparison**, at the largest inference budget" in text and ", trained as " in text
