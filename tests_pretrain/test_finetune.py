"""Post-training in miniature: the fine-tuning data never show a test question and mark exactly
the answers, fine-tuning is deterministic and lowers its loss, a record made with another recipe
is refused, the suite builder imports an evaluated fine-tuned checkpoint as its stage, and the
suite's README says whether every base checkpoint is fine-tuned."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import t2lib
from pretrain import suite as suite_builder
from pretrain.corpus import CONTEXT, RELATIONS, TASKS, Corpus
from pretrain.finetune import FinetuneSpec, finetune
from pretrain.harness import HARNESS_TASKS, evaluate_run

RECIPES = {stage: FinetuneSpec(stage, steps=30, batch_size=8) for stage in ("ft", "sft")}


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(0)


@pytest.fixture(scope="module")
def base_run(evaluated: Path) -> Path:
    """The shared tiny model (trained and evaluated); tests copy it before fine-tuning."""
    return evaluated


def test_the_fine_tuning_data_hold_no_test_question_and_mark_the_answers(corpus: Corpus) -> None:
    eos = corpus.ids["<eos>"]
    for index in range(200):
        tokens, answers = corpus.finetune_sequence(index)
        assert tokens.shape == (CONTEXT + 1,) and answers.shape == (CONTEXT,)
        assert np.array_equal(tokens, corpus.finetune_sequence(index)[0])
        starts = [i for i, t in enumerate(tokens) if t == eos] + [CONTEXT + 1]
        for start, end in zip(starts, starts[1:]):
            if end > CONTEXT:  # the last pair may be cut off by the context
                break
            words = tuple(corpus.words[t] for t in tokens[start + 1:end])
            assert words[:-1] not in corpus.test_prompts
            assert answers[start:end - 1].tolist() == [False] * (end - start - 2) + [True]


def test_every_task_is_fine_tuned(corpus: Corpus) -> None:
    tokens, _ = corpus.finetune_batch(0, 32)
    words = {corpus.words[t] for t in tokens.ravel()}
    markers = {"knowledge": set(RELATIONS), "arithmetic": {"equals"}, "causal": {"so"}, "spatial": {"on"}}
    assert set(markers) == set(TASKS)
    assert [task for task, marker in markers.items() if not marker & words] == []


@pytest.mark.parametrize("stage", ["ft", "sft"])
def test_fine_tuning_is_deterministic_and_lowers_its_loss(base_run: Path, tmp_path: Path, stage: str) -> None:
    copies = [tmp_path / "a", tmp_path / "b"]
    for copy in copies:
        shutil.copytree(base_run, copy)
        finetune(copy, RECIPES[stage])
    weights = [torch.load(copy / stage / "model.pt", weights_only=False)["model"] for copy in copies]
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])
    losses = np.loadtxt(copies[0] / stage / "curve.csv", delimiter=",", skiprows=1)[:, 1]
    assert losses[-5:].mean() < losses[:5].mean()


def test_the_two_stages_differ_and_another_recipe_is_refused(base_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    for recipe in RECIPES.values():
        finetune(run, recipe)
    ft, sft = (torch.load(run / stage / "model.pt", weights_only=False)["model"] for stage in RECIPES)
    assert not torch.equal(ft["tokens.weight"], sft["tokens.weight"])
    with pytest.raises(ValueError, match="fine-tuned with"):
        finetune(run, replace(RECIPES["sft"], lr=3e-3))
    with pytest.raises(ValueError, match="stage must be 'ft' or 'sft'"):
        FinetuneSpec("rlhf")


def test_the_suite_imports_an_evaluated_fine_tuned_checkpoint_as_its_stage(
        base_run: Path, tasks_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("cell,train_flops\ntiny,6e9\n")
    monkeypatch.setattr(suite_builder, "GRID_FILE", grid)
    runs = tmp_path / "runs"
    shutil.copytree(base_run, runs / "tiny")  # evaluated already
    for recipe in RECIPES.values():
        finetune(runs / "tiny", recipe)
    evaluate_run(runs / "tiny" / "sft", Corpus(0), tasks_dir)  # one harness run (tens of seconds) is enough
    built = suite_builder.build(runs, tmp_path / "suite")
    rows = built.checkpoints.set_index("checkpoint")
    assert list(rows.index) == ["tiny", "tiny-sft"]  # ft is trained but not evaluated: not imported
    row = rows.loc["tiny-sft"]
    assert row["stage"] == "sft" and row["base_checkpoint"] == "tiny" and row["params"] == rows.loc["tiny", "params"]
    assert float(row["ft_steps"]) == RECIPES["sft"].steps  # the loader keeps extra columns as text
    record = json.loads((runs / "tiny" / "sft" / "result.json").read_text())
    assert float(row["ft_final_loss"]) == pytest.approx(record["final_loss"])
    assert not np.array_equal(built.task_nll("tiny", HARNESS_TASKS[0]), built.task_nll("tiny-sft", HARNESS_TASKS[0]))


def test_the_suite_readme_says_whether_every_base_checkpoint_is_fine_tuned(tmp_path: Path) -> None:
    suite = t2lib.load_suite("data/real/t2mini")
    base, grid, readme = suite.base, pd.read_csv(suite_builder.GRID_FILE), tmp_path / "README.md"
    suite_builder.write_readme(replace(suite, checkpoints=base), grid, readme)
    assert f"{len(base)} base checkpoint(s) not yet fine-tuned both ways" in readme.read_text()
    tuned = [base.assign(checkpoint=base["checkpoint"] + f"-{stage}", stage=stage, base_checkpoint=base["checkpoint"])
             for stage in ("ft", "sft")]
    suite_builder.write_readme(replace(suite, checkpoints=pd.concat([base, *tuned])), grid, readme)
    assert "every base checkpoint, both ways" in readme.read_text()


def test_fine_tuning_runs_where_the_placement_says_and_only_what_fits(
        base_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner hands its jobs to the executors the grid uses (pool, submitit local, Slurm),
    one per pending (cell, stage), and starts none whose estimated time no longer fits."""
    from pretrain import finetune as runner
    from pretrain.executors import Placement

    runs = tmp_path / "runs"
    shutil.copytree(base_run, runs / "tiny")  # evaluated, not yet fine-tuned
    spec = json.loads((base_run / "result.json").read_text())
    cells = tmp_path / "grid.csv"
    cells.write_text("cell,width,depth,heads,params,train_flops,tokens,lr\n"
                     f"tiny,{spec['width']},{spec['depth']},{spec['heads']},{spec['params']},1,1,0.01\n")
    handed = {}

    def fake_launch(function, jobs, placement, deadline):
        handed.update(function=function, jobs=list(jobs), placement=placement)
        return iter([])

    monkeypatch.setattr(runner, "launch", fake_launch)
    monkeypatch.setattr(runner, "prepare_tasks", lambda corpus, folder: folder)
    placement = Placement("local", workers=1, folder=tmp_path / "submitit")
    runner.run(runs, 60, placement, "cpu", cells)
    assert handed["placement"] is placement and handed["function"] is runner._finetune_run
    assert sorted((job[0].name, job[1]) for job in handed["jobs"]) == [("tiny", "ft"), ("tiny", "sft")]
    runner.run(runs, 1e-6, Placement(workers=1), "cpu", cells)
    assert handed["jobs"] == []
