"""The second suite's builder: every scored run of the grid at each of its seeds becomes a checkpoint
with its cell and seed; a rebuild from a runs folder that lacks earlier runs keeps them; a run's
fine-tunings become checkpoints of a stage cell of their own, which enters only with every seed; the
validation sweep's suite is built the same way, only beside a committed forecast."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib.data.seeds import runs_digest, seed_averaged, seed_spread
from t2lib.data.training import COPIES, fine_tuned_bases
from pretrain import finetune, grid, suite_v2, validation_v2
from pretrain.corpus import CONTEXT
from pretrain.corpus_v2 import CORPUS_VERSION
from pretrain.executors import Placement

COLUMNS = "cell,width,depth,heads,params,train_flops,tokens,tokens_per_param,lr,seeds,corpus_version,estimated_hours\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two tiny cells of a two-cell grid, at two seeds and one, trained and scored."""
    folder = tmp_path_factory.mktemp("v2")
    tokens = 6 * 32 * CONTEXT  # six batches
    plan = folder / "grid.csv"
    plan.write_text(COLUMNS + "".join(
        f"{cell},16,1,1,{params},{6 * params * tokens},{tokens},{tokens / params},0.01,{seeds},{CORPUS_VERSION},0.001\n"
        for cell, params, seeds in (("w16d1-c1", 9376, 2), ("w16d1-c0", 9376, 1))))
    grid.run(folder / "runs", 5, Placement(workers=2), "cpu", grid.read_grid(plan), seeds=grid.seeds_of_cells(plan))
    return folder, plan


def test_each_seed_is_a_checkpoint_with_its_cell_and_seed(trained: tuple[Path, Path]) -> None:
    folder, plan = trained
    suite = suite_v2.build(folder / "runs", folder / "suite", plan)
    rows = suite.checkpoints.set_index("checkpoint")
    assert list(rows.index) == ["w16d1-c1", "w16d1-c1-s1", "w16d1-c0"]
    assert list(rows["seed"]) == [0, 1, 0] and list(rows["cell"]) == ["w16d1-c1", "w16d1-c1", "w16d1-c0"]
    assert set(suite.tasks["task"]) == {"t2mini_knowledge", "t2mini_arithmetic", "t2mini_causal", "t2mini_spatial"}
    assert (suite.tasks["guess"] < 1e-4).all()  # guess-proof: one guess is right with probability < 1e-4
    scored = pd.read_csv(folder / "runs" / "w16d1-c1-s1" / "nll.csv")
    committed = suite.task_nll("w16d1-c1-s1", "t2mini_causal")
    assert np.allclose(committed, scored.loc[scored["task"] == "causal", "nll"], rtol=1e-7)  # stored as float32
    spread = seed_spread(suite)
    assert set(spread.loc[spread["cell"] == "w16d1-c1", "seeds"]) == {2}
    readme = (folder / "suite" / "README.md").read_text()
    assert "**3 of 3 planned runs**" in readme and "2 of 2 cells" in readme
    assert (rows["started_at"] <= rows["finished_at"]).all()  # every run records when it trained (UTC)


def test_run_times_enter_the_suite_only_where_every_run_records_them(trained: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    folder, plan = trained
    runs = tmp_path / "runs"
    shutil.copytree(folder / "runs", runs)
    record = json.loads((runs / "w16d1-c0" / "result.json").read_text())
    del record["started_at"]  # as a run trained before the trainer kept the times
    (runs / "w16d1-c0" / "result.json").write_text(json.dumps(record))
    suite = suite_v2.build(runs, tmp_path / "suite", plan)
    assert "started_at" not in suite.checkpoints and "finished_at" in suite.checkpoints


def test_a_rebuild_from_a_partial_runs_folder_keeps_the_committed_runs(trained: tuple[Path, Path]) -> None:
    folder, plan = trained
    whole = suite_v2.build(folder / "runs", folder / "kept", plan).sha256
    partial = folder / "partial"
    partial.mkdir()
    shutil.copytree(folder / "runs" / "w16d1-c0", partial / "w16d1-c0")
    rebuilt = suite_v2.build(partial, folder / "kept", plan)
    assert len(rebuilt.checkpoints) == 3
    assert t2lib.load_suite(folder / "kept").sha256 == whole
    with pytest.raises(SystemExit, match="no cell of .* is scored at all its seeds"):
        suite_v2.build(folder / "nothing", folder / "empty", plan)


def test_a_cell_enters_the_suite_only_with_all_its_seeds(trained: tuple[Path, Path]) -> None:
    folder, plan = trained
    three_seeds = folder / "three_seeds.csv"
    three_seeds.write_text(plan.read_text().replace(",0.01,2,", ",0.01,3,"))
    suite = suite_v2.build(folder / "runs", folder / "waiting", three_seeds)
    assert list(suite.checkpoints["checkpoint"]) == ["w16d1-c0"]
    readme = (folder / "waiting" / "README.md").read_text()
    assert "**1 of 4 planned runs**" in readme and "wait for their cell's other seeds: 2)" in readme


def test_the_reference_harness_output_is_copied_with_its_samples_gzipped_byte_for_byte(tmp_path: Path) -> None:
    import gzip

    run = tmp_path / "lm_eval" / "model"
    run.mkdir(parents=True)
    (run / "results_2026.json").write_text('{"n-samples": {}}')
    (run / "samples_t2mini_causal_2026.jsonl").write_text('{"doc_id": 0}\n' * 50)
    suite_v2.copy_harness_output(tmp_path / "lm_eval", tmp_path / "first")
    suite_v2.copy_harness_output(tmp_path / "lm_eval", tmp_path / "second")
    packed = tmp_path / "first" / "model" / "samples_t2mini_causal_2026.jsonl.gz"
    assert gzip.decompress(packed.read_bytes()) == (run / "samples_t2mini_causal_2026.jsonl").read_bytes()
    assert packed.read_bytes() == (tmp_path / "second" / "model" / packed.name).read_bytes()
    assert (tmp_path / "first" / "model" / "results_2026.json").read_text() == '{"n-samples": {}}'


def test_fine_tunings_are_scored_directly_and_average_into_cells_of_their_own(
        trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, plan = trained
    runs = folder / "tuned"
    shutil.copytree(folder / "runs", runs)
    monkeypatch.setattr(finetune, "RECIPES", {stage: finetune.FinetuneSpec(stage, steps=4, batch_size=4)
                                             for stage in ("ft", "sft")})
    todo = finetune.pending(runs, plan)
    assert len(todo) == 6 and set(todo["scorer"]) == {"direct"}  # three runs, two stages each
    for job in todo.itertuples():
        if (job.run, job.stage) != ("w16d1-c1-s1", "sft"):  # one seed of one stage cell left out
            finetune._finetune_run((runs / job.run, job.stage, None, "cpu"))
    assert list(finetune.pending(runs, plan)[["run", "stage"]].itertuples(index=False, name=None)) == [
        ("w16d1-c1-s1", "sft")]
    suite = suite_v2.build(runs, folder / "with_ft", plan)
    rows = suite.checkpoints.set_index("checkpoint")
    assert list(rows.index) == ["w16d1-c1", "w16d1-c1-s1", "w16d1-c0", "w16d1-c1-ft", "w16d1-c1-s1-ft",
                                "w16d1-c0-ft", "w16d1-c0-sft"]  # w16d1-c1-sft waits for its seed 1
    assert rows.loc["w16d1-c1-s1-ft", "cell"] == "w16d1-c1-ft" and rows.loc["w16d1-c1-s1-ft", "seed"] == 1
    assert rows.loc["w16d1-c1-s1-ft", "base_checkpoint"] == "w16d1-c1-s1"
    assert rows.loc["w16d1-c1-s1-ft", "tokens"] == rows.loc["w16d1-c1-s1", "tokens"]
    assert float(rows.loc["w16d1-c0-sft", "ft_steps"]) == 4
    assert float(rows.loc["w16d1-c0-sft", "ft_tokens"]) == 4 * 4 * 128  # as the fine-tuning recorded them
    assert not np.allclose(suite.task_nll("w16d1-c0-sft", "t2mini_causal"), suite.task_nll("w16d1-c0", "t2mini_causal"))
    averaged = seed_averaged(suite).checkpoints.set_index("checkpoint")
    assert averaged.loc["w16d1-c1-ft", "seeds"] == 2 and averaged.loc["w16d1-c1-ft", "base_checkpoint"] == "w16d1-c1"
    assert set(pd.read_csv(folder / "with_ft" / "curves.csv")["checkpoint"]) == {"w16d1-c1", "w16d1-c1-s1", "w16d1-c0"}
    readme = (folder / "with_ft" / "README.md").read_text()
    assert "Post-training in miniature: 1 of 3 runs fine-tuned both ways (every seed of 1 cell(s))" in readme
    assert "wait for their cell's other seeds: 1)" in readme


def test_a_run_trained_again_adds_only_its_fine_tunings_and_its_committed_scores_stay(
        trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, plan = trained
    out = folder / "committed"
    suite_v2.build(folder / "runs", out, plan)
    before = t2lib.load_suite(out)
    assert "Every fine-tuning starts from its run's own weights." in (out / "README.md").read_text()
    again = folder / "again"  # the runs trained again on another machine: other scores, other losses
    shutil.copytree(folder / "runs", again)
    for run in ("w16d1-c1", "w16d1-c1-s1", "w16d1-c0"):
        scores = pd.read_csv(again / run / "nll.csv")
        scores.assign(nll=scores["nll"] + 1.0).to_csv(again / run / "nll.csv", index=False)
        record = json.loads((again / run / "result.json").read_text())
        (again / run / "result.json").write_text(json.dumps({**record, "validation_loss": record["validation_loss"] + 0.01,
                                                             "cpu": "Another CPU"}))
    monkeypatch.setattr(finetune, "RECIPES", {stage: finetune.FinetuneSpec(stage, steps=2, batch_size=2)
                                             for stage in ("ft", "sft")})
    for job in finetune.pending(again, plan).itertuples():
        finetune._finetune_run((again / job.run, job.stage, None, "cpu"))
    after = suite_v2.build(again, out, plan)
    assert len(after.checkpoints) == 9
    kept = ["checkpoint", "validation_loss", "cpu", "finished_at"]
    assert after.base[kept].equals(before.base[kept])
    for run in ("w16d1-c1", "w16d1-c1-s1", "w16d1-c0"):
        assert np.array_equal(after.task_nll(run, "t2mini_causal"), before.task_nll(run, "t2mini_causal"))
    tuned = after.checkpoints.set_index("checkpoint")
    assert tuned.loc["w16d1-c0-ft", "cpu"] == "Another CPU"  # the row describes the weights fine-tuned
    readme = (out / "README.md").read_text()
    assert "so 3 of the 3 fine-tuned runs were first trained again" in readme and "on Another CPU" in readme
    assert "by a median of 0.01 nats (at most 0.01)" in readme
    copies = t2lib.load_suite(out / COPIES)  # the weights fine-tuned, kept beside the committed runs
    assert list(copies.checkpoints["checkpoint"]) == ["w16d1-c1", "w16d1-c1-s1", "w16d1-c0"]
    assert set(copies.checkpoints["cpu"]) == {"Another CPU"}
    fine_tuned_from = fine_tuned_bases(after)
    for run in ("w16d1-c1", "w16d1-c1-s1", "w16d1-c0"):
        assert np.allclose(fine_tuned_from.task_nll(run, "t2mini_causal"), before.task_nll(run, "t2mini_causal") + 1.0)
    assert fine_tuned_from.sha256 != after.sha256 and list(fine_tuned_from.checkpoints["checkpoint"]) == list(
        after.checkpoints["checkpoint"])
    third = folder / "third"  # trained a third time: not the weights the committed fine-tunings started from
    shutil.copytree(again, third)
    record = json.loads((third / "w16d1-c0" / "result.json").read_text())
    (third / "w16d1-c0" / "result.json").write_text(json.dumps({**record, "validation_loss": 9.0}))
    shutil.rmtree(out / COPIES)
    suite_v2.build(third, out, plan)
    assert list(t2lib.load_suite(out / COPIES).checkpoints["checkpoint"]) == ["w16d1-c1", "w16d1-c1-s1"]


def test_the_sweeps_suite_is_built_beside_its_committed_forecast_with_its_provenance(
        trained: tuple[Path, Path]) -> None:
    folder, plan = trained
    sweep_plan = folder / "sweep_plan.csv"
    pd.read_csv(plan).assign(role=["Approach 2 optimum at C_inf 2×10⁶", "isoFLOP curve"]).to_csv(sweep_plan, index=False)
    out = folder / "sweep"
    with pytest.raises(SystemExit, match="no committed forecast"):
        validation_v2.build(folder / "runs", out, sweep_plan)
    out.mkdir()
    meta = {"format": "t2lib-sweep-forecast-1", "made": "2026-12-06", "t2lib_version": "planted",
            "suite_sha256": runs_digest("ab12"), "fits_sha256": "cd34", "tasks": ["t2mini_knowledge"], "resamples": 20,
            "c_train": 7.2e13, "rule": "planted rule", "c_infs": [2e6, 2e7], "fitted_to": "each run",
            "fit_quality": {"a": "converged", "b": "converged", "c": "degenerate"}, "rows": []}
    (out / "forecast.json").write_text(json.dumps(meta))
    with pytest.raises(SystemExit, match="forecast_pooled.json: no committed forecast"):
        validation_v2.build(folder / "runs", out, sweep_plan)
    pooled = {**meta, "suite_sha256": "ab12", "fits_sha256": "ef56", "fitted_to": "pooled seeds", "c_infs": [3e6, 3e7],
              "rule": "pooled rule", "fit_quality": {"a": "degenerate"}, "made_at": "2026-12-06T17:00:00+00:00"}
    (out / "forecast_pooled.json").write_text(json.dumps(pooled))
    suite = validation_v2.build(folder / "runs", out, sweep_plan)
    assert list(suite.checkpoints["checkpoint"]) == ["w16d1-c1", "w16d1-c1-s1", "w16d1-c0"]
    readme = (out / "README.md").read_text()
    for fact in ("made 2026-12-06 (UTC)", "made 2026-12-06T17:00:00+00:00 (UTC)", f"`{runs_digest('ab12')}`", "`ab12`", "`cd34`", "`ef56`", "planted rule",
                 "pooled rule", "2×10⁶, 2×10⁷", "3×10⁶, 3×10⁷", "2 converged, 1 degenerate", "its laws: 1 degenerate",
                 "--lm-loss validation_loss --each-run", "**Laws fitted to pooled seeds**: `forecast_pooled.json`",
                 "**3 of 3 planned runs**", "The earliest run started 20", "after the later forecast was made",
                 "| `w16d1-c1` | 9,376 | 2.62 | 2 of 2 | Approach 2 optimum at C_inf 2×10⁶ |"):
        assert fact in readme, fact
    assert "{" not in readme  # every field of the template filled
    # Before any run is scored, the README has the forecasts and no runs.
    validation_v2.write_sweep_readme(None, pd.read_csv(sweep_plan), out / "README.md")
    before = (out / "README.md").read_text()
    assert "**0 of 3 planned runs**" in before and "No run records when it started yet." in before and "`ef56`" in before and "| 0 of 2 |" in before and "{" not in before
