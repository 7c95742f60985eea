"""The validation plan: the trainable sizes are the trainer's shapes within the time cap, and a
forecast's trainable rows become run specifications of those shapes at the forecast's budget (a
size that is no shape is refused)."""

import json
from pathlib import Path

import pytest

from pretrain.corpus import CONTEXT
from pretrain.executors import Placement
from pretrain.grid import LEARNING_RATE, estimated_hours, parameters_of, shape_table
from pretrain.validation import plan_validation, trainable_sizes


def forecast(tmp_path: Path, sizes: list[float], c_train: float = 2.56e14) -> Path:
    rows = [{"approach": "1", "priced_by": "1", "N": 123456.7}]
    rows += [{"approach": "trainable", "priced_by": key, "N": N, "role": "neighbour"} for N in sizes for key in "12"]
    path = tmp_path / "forecast.json"
    path.write_text(json.dumps({"format": "t2lib-forecast-1", "c_train": c_train, "c_inf": 1e6, "rows": rows}))
    return path


def test_the_trainable_sizes_are_the_shapes_within_the_time_cap(tmp_path: Path) -> None:
    sizes = trainable_sizes(4.0, 3.5)
    every = shape_table()
    assert all(parameters_of(r.width, r.depth, r.heads) == r.params for r in every.itertuples())
    assert (sizes["train_flops"] == 4 * 6.4e13).all() and (sizes["estimated_hours"] <= 3.5).all()
    left_out = every[~every["params"].isin(sizes["params"])]
    assert all(estimated_hours(n, 2.56e14 / (6 * n)) > 3.5 for n in left_out["params"])
    assert len(left_out) > 0 and left_out["params"].max() < sizes["params"].min()  # the smallest are the slowest
    sizes.to_csv(tmp_path / "sizes.csv", index=False)


def test_the_plan_trains_each_trainable_size_once_at_the_forecast_budget(tmp_path: Path) -> None:
    sizes = trainable_sizes(4.0, 3.5)
    sizes.to_csv(tmp_path / "sizes.csv", index=False)
    chosen = [float(n) for n in sizes["params"].iloc[[0, 1, 5]]]
    plan = plan_validation(forecast(tmp_path, chosen), tmp_path / "sizes.csv")
    assert plan["params"].tolist() == [int(n) for n in chosen]
    assert plan["cell"].tolist() == [f"v-w{w}d{d}" for w, d in zip(sizes["width"].iloc[[0, 1, 5]],
                                                                     sizes["depth"].iloc[[0, 1, 5]])]
    assert (plan["tokens"] % (32 * CONTEXT) == 0).all() and (plan["lr"] == LEARNING_RATE).all()
    assert ((6 * plan["params"] * plan["tokens"]) / 2.56e14 - 1).abs().max() < 0.01


def test_a_size_that_is_no_shape_is_refused(tmp_path: Path) -> None:
    trainable_sizes().to_csv(tmp_path / "sizes.csv", index=False)
    with pytest.raises(SystemExit, match="size 12345 is not a shape"):
        plan_validation(forecast(tmp_path, [12345.0]), tmp_path / "sizes.csv")


def fake_train_job(job) -> list[tuple[str, bool]]:
    """Stands in for training and evaluating a job's runs: returns at once."""
    return [(spec.name, True) for spec in job.specs]


def test_the_runner_trains_every_pending_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    from pretrain import grid
    from pretrain.train import RunSpec

    monkeypatch.setattr(grid, "_train_job", fake_train_job)  # the forked workers inherit it
    specs = [RunSpec(f"cell{i}", 16, 1, 2, 4096, 1e-2) for i in range(5)]
    grid.run(tmp_path, 5, Placement(workers=2), "cpu", specs)
    reported = [line.split(":")[0] for line in capsys.readouterr().out.splitlines() if "trained and evaluated" in line]
    assert sorted(reported) == [spec.name for spec in specs]


def test_read_plan_keeps_only_the_named_models_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    from pretrain.validation import read_plan

    plan = tmp_path / "validation.csv"
    plan.write_text("cell,width,depth,heads,params,tokens,lr,estimated_hours\n"
                    "v-a,16,1,2,10448,4096,0.01,1.0\nv-b,24,1,2,20000,4096,0.01,2.0\nv-c,32,2,2,30000,4096,0.01,0.5\n")
    assert [spec.name for spec in read_plan(plan)] == ["v-b", "v-a", "v-c"]  # longest first
    assert [spec.name for spec in read_plan(plan, cells=["v-c", "v-a"])] == ["v-a", "v-c"]
    with pytest.raises(SystemExit, match="no model named 'v-z'"):
        read_plan(plan, cells=["v-a", "v-z"])


def test_the_experiment_runs_its_steps_in_order_and_stops_at_the_first_unfinished(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from types import SimpleNamespace

    import pandas as pd

    from pretrain import validation

    calls, trained = [], set()
    untuned = {"rows": pd.DataFrame({"run": ["v-w48d3"], "stage": ["ft"]})}
    monkeypatch.setattr(validation, "run", lambda runs, minutes, placement, device, specs: calls.append("train"))
    monkeypatch.setattr(validation, "results_file", lambda run_dir: run_dir if run_dir.name in trained else None)
    monkeypatch.setattr(validation.finetune, "run", lambda *args, **kwargs: calls.append("fine-tune"))
    monkeypatch.setattr(validation.finetune, "pending", lambda runs, grid: untuned["rows"])
    monkeypatch.setattr(validation, "build", lambda runs, out: calls.append("build") or SimpleNamespace(summary=str))
    models = [spec.name for spec in validation.read_plan()]

    assert not validation.experiment(tmp_path, tmp_path / "suite", 1.0, Placement(workers=1))
    assert calls == ["train"] and f"not yet trained and evaluated: {', '.join(models)}" in capsys.readouterr().out
    trained.update(models)
    assert not validation.experiment(tmp_path, tmp_path / "suite", 1.0, Placement(workers=1))
    assert calls[1:] == ["train", "fine-tune"] and "not yet fine-tuned: v-w48d3-ft" in capsys.readouterr().out
    untuned["rows"] = untuned["rows"].iloc[:0]
    assert validation.experiment(tmp_path, tmp_path / "suite", 1.0, Placement(workers=1))
    assert calls[3:] == ["train", "fine-tune", "build"]


def test_the_archive_keeps_each_model_s_record_and_a_base_model_s_weights(tmp_path: Path) -> None:
    import gzip

    from pretrain.validation import archive_runs

    def fake_run(run_dir: Path) -> Path:
        harness = run_dir / "lm_eval" / "model__hf"
        harness.mkdir(parents=True)
        for name in ("result.json", "curve.csv", "model.pt"):
            (run_dir / name).write_text(name)
        (harness / "results_2026-11-29T10-00-00.json").write_text("{}")
        (harness / "samples_t2mini_causal_2026-11-29T10-00-00.jsonl").write_text('{"doc_id": 0}\n')
        return run_dir

    base, tuned = fake_run(tmp_path / "runs" / "v-a"), fake_run(tmp_path / "runs" / "v-a" / "ft")
    archive = tmp_path / "suite" / "runs"
    archive_runs([("v-a", base), ("v-a-ft", tuned)], archive)
    kept = sorted(str(p.relative_to(archive)) for p in archive.rglob("*") if p.is_file())
    assert kept == ["v-a-ft/curve.csv", "v-a-ft/lm_eval_results.json", "v-a-ft/lm_eval_samples_t2mini_causal.jsonl.gz",
                    "v-a-ft/result.json", "v-a/curve.csv", "v-a/lm_eval_results.json",
                    "v-a/lm_eval_samples_t2mini_causal.jsonl.gz", "v-a/model.pt", "v-a/result.json"]
    packed = archive / "v-a" / "lm_eval_samples_t2mini_causal.jsonl.gz"
    assert gzip.decompress(packed.read_bytes()) == b'{"doc_id": 0}\n'
    first = packed.read_bytes()
    archive_runs([("v-a", base)], archive)  # rebuilt: byte-identical, and nothing left of the old archive
    assert packed.read_bytes() == first and not (archive / "v-a-ft").exists()
