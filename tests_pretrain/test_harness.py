"""The evaluation path, end to end on a 20K-parameter model: the Hugging Face export computes the
same logits as the trained model, lm-evaluation-harness (through its standard `hf` model) gives
the same gold-answer NLLs as a direct evaluation, t2lib's importer reads its logs, and the suite
builder keeps committed cells when it rebuilds from a partial runs folder."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import t2lib
from pretrain.corpus import Corpus
from pretrain.evaluate import answer_nll
from pretrain import suite as suite_builder
from pretrain.harness import HARNESS_TASKS, results_file
from pretrain.train import load_model

from conftest import TINY as SPEC


def test_the_export_computes_the_same_logits(evaluated: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pretrain.export import export_hf

    run = evaluated
    exported = export_hf(load_model(run), Corpus(0), tmp_path / "hf")
    hf, tokenizer = AutoModelForCausalLM.from_pretrained(exported), AutoTokenizer.from_pretrained(exported)
    ids = torch.tensor([tokenizer.encode("4 plus 7 minus 2 equals 9")])
    corpus = Corpus(0)
    assert ids[0].tolist() == [corpus.ids["<eos>"]] + corpus.encode("4 plus 7 minus 2 equals 9".split())
    with torch.no_grad():
        assert torch.allclose(hf(ids).logits, load_model(run)(ids), atol=1e-5)


def test_the_harness_nlls_equal_the_direct_ones_and_import(evaluated: Path, tmp_path: Path) -> None:
    run = evaluated
    mapping = tmp_path / "runs.csv"
    mapping.write_text(f"run,checkpoint,params,tokens\n{results_file(run)},tiny,20000,{SPEC.tokens}\n")
    suite = t2lib.load_suite(t2lib.import_lm_eval(mapping, tmp_path / "suite", tasks=HARNESS_TASKS))
    corpus, model = Corpus(0), load_model(run)
    for task in HARNESS_TASKS:
        direct = answer_nll(model, corpus, corpus.questions[task.removeprefix("t2mini_")])
        assert np.allclose(suite.task_nll("tiny", task), direct, rtol=1e-5, atol=1e-5), task


def test_a_rebuild_from_a_partial_runs_folder_keeps_the_committed_cells(evaluated: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("cell,train_flops\nfirst,6e9\nsecond,6e9\n")
    monkeypatch.setattr(suite_builder, "GRID_FILE", grid)
    out = tmp_path / "suite"
    for cell in ("second", "first"):  # two machines, each with one finished cell
        runs = tmp_path / f"runs-{cell}"
        shutil.copytree(evaluated, runs / cell)
        built = suite_builder.build(runs, out)
    assert built.checkpoints["checkpoint"].tolist() == ["first", "second"]
    assert np.array_equal(built.task_nll("first", HARNESS_TASKS[0]), built.task_nll("second", HARNESS_TASKS[0]))
    assert set(built.checkpoints["corpus_version"]) == {SPEC.corpus_version}
    assert (out / "curves.csv").read_text().count("\n") == 1 + 2 * len(load_curve(evaluated))


def load_curve(run: Path) -> list[str]:
    return (run / "curve.csv").read_text().splitlines()[1:]
