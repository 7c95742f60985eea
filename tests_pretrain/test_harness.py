"""The evaluation path, end to end on a 20K-parameter model: the Hugging Face export computes the
same logits as the trained model, lm-evaluation-harness (through its standard `hf` model) gives
the same gold-answer NLLs as a direct evaluation, and t2lib's importer reads its logs."""

from pathlib import Path

import numpy as np
import pytest
import torch

import t2lib
from pretrain.corpus import CONTEXT, Corpus
from pretrain.evaluate import answer_nll
from pretrain.export import export_hf
from pretrain.harness import HARNESS_TASKS, run_lm_eval, write_questions, write_task_configs
from pretrain.suite import results_file
from pretrain.train import RunSpec, load_model, train

SPEC = RunSpec("tiny", width=24, depth=1, heads=2, tokens=40 * 8 * CONTEXT, lr=1e-2, batch_size=8)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run = tmp_path_factory.mktemp("harness") / "tiny"
    train(SPEC, run)
    corpus = Corpus(0)
    exported = export_hf(load_model(run), corpus, run / "hf")
    tasks = write_task_configs(write_questions(corpus, run / "questions"), run / "tasks")
    run_lm_eval(exported, tasks, run / "lm_eval")
    return run, exported


def test_the_export_computes_the_same_logits(evaluated) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run, exported = evaluated
    hf, tokenizer = AutoModelForCausalLM.from_pretrained(exported), AutoTokenizer.from_pretrained(exported)
    ids = torch.tensor([tokenizer.encode("4 plus 7 minus 2 equals 9")])
    corpus = Corpus(0)
    assert ids[0].tolist() == [corpus.ids["<eos>"]] + corpus.encode("4 plus 7 minus 2 equals 9".split())
    with torch.no_grad():
        assert torch.allclose(hf(ids).logits, load_model(run)(ids), atol=1e-5)


def test_the_harness_nlls_equal_the_direct_ones_and_import(evaluated, tmp_path: Path) -> None:
    run, _ = evaluated
    mapping = tmp_path / "runs.csv"
    mapping.write_text(f"run,checkpoint,params,tokens\n{results_file(run)},tiny,20000,{SPEC.tokens}\n")
    suite = t2lib.load_suite(t2lib.import_lm_eval(mapping, tmp_path / "suite", tasks=HARNESS_TASKS))
    corpus, model = Corpus(0), load_model(run)
    for task in HARNESS_TASKS:
        direct = answer_nll(model, corpus, corpus.questions[task.removeprefix("t2mini_")])
        assert np.allclose(suite.task_nll("tiny", task), direct, rtol=1e-5, atol=1e-5), task
