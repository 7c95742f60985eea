"""The committed miniature suite reproduces: re-evaluating questions with the committed weights of
its reference checkpoint gives the NLLs that lm-evaluation-harness wrote into nll.parquet."""

from pathlib import Path

import numpy as np

import t2lib
from pretrain.corpus import Corpus
from pretrain.evaluate import answer_nll
from pretrain.suite import REFERENCE_CELL
from pretrain.train import load_model

SUITE = Path(__file__).resolve().parent.parent / "data" / "real" / "t2mini"
QUESTIONS_PER_TASK = 50


def test_the_reference_checkpoint_gives_the_committed_nlls() -> None:
    suite = t2lib.load_suite(SUITE)
    corpus, model = Corpus(0), load_model(SUITE / "reference")
    for task in suite.tasks["task"]:
        questions = corpus.questions[task.removeprefix("t2mini_")][:QUESTIONS_PER_TASK]
        committed = suite.task_nll(REFERENCE_CELL, task)[:QUESTIONS_PER_TASK]
        assert np.allclose(answer_nll(model, corpus, questions), committed, rtol=1e-5, atol=1e-5), task
