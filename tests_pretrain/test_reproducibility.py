"""The committed miniature suites reproduce: re-evaluating questions with the committed weights of
each suite's reference checkpoint gives the NLLs in its nll.parquet (the first suite's written by
lm-evaluation-harness; the second's scored directly, and its reference's committed harness output
gives the same NLLs)."""

from pathlib import Path

import numpy as np
import pytest

import t2lib
from pretrain.corpus import Corpus
from pretrain.corpus_v2 import CorpusV2
from pretrain.evaluate import answer_nll
from pretrain.harness import HARNESS_TASKS, results_file
from pretrain.suite import REFERENCE_CELL
from pretrain.suite_v2 import REFERENCE_RUN
from pretrain.train import load_model

SUITE = Path(__file__).resolve().parent.parent / "data" / "real" / "t2mini"
SUITE_V2 = SUITE.with_name("t2mini-v2")
QUESTIONS_PER_TASK = 50


@pytest.mark.parametrize(("folder", "corpus_of", "reference"), [(SUITE, Corpus, REFERENCE_CELL),
                                                                (SUITE_V2, CorpusV2, REFERENCE_RUN)],
                         ids=["t2mini", "t2mini-v2"])
def test_the_reference_checkpoint_gives_the_committed_nlls(folder: Path, corpus_of: type, reference: str) -> None:
    suite = t2lib.load_suite(folder)
    corpus, model = corpus_of(0), load_model(folder / "reference")
    for task in suite.tasks["task"]:
        questions = corpus.questions[task.removeprefix("t2mini_")][:QUESTIONS_PER_TASK]
        committed = suite.task_nll(reference, task)[:QUESTIONS_PER_TASK]
        assert np.allclose(answer_nll(model, corpus, questions), committed, rtol=1e-5, atol=1e-5), task


def test_the_second_suites_harness_output_gives_its_nlls(tmp_path: Path) -> None:
    suite = t2lib.load_suite(SUITE_V2)
    reference = suite.checkpoints.set_index("checkpoint").loc[REFERENCE_RUN]
    mapping = tmp_path / "runs.csv"
    mapping.write_text(f"run,checkpoint,params,tokens\n{results_file(SUITE_V2 / 'reference')},harness,"
                       f"{reference['params']},{reference['tokens']}\n")
    harness = t2lib.load_suite(t2lib.import_lm_eval(mapping, tmp_path / "suite", tasks=HARNESS_TASKS))
    for task in HARNESS_TASKS:
        assert np.allclose(harness.task_nll("harness", task), suite.task_nll(REFERENCE_RUN, task),
                           rtol=1e-5, atol=1e-5), task
