"""The miniature-suite pipeline on a 20K-parameter model for a few dozen steps (CI never trains
a real grid cell): the corpus is a pure function of its seed and keeps test questions out of
the training stream; training is deterministic and a resumed run equals an uninterrupted one."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain.corpus import CONTEXT, HELD_OUT, QUESTIONS_PER_TASK, TASKS, Corpus, _is_test_instance
from pretrain.evaluate import answer_nll
from pretrain.model import count_parameters
from pretrain.train import RunSpec, load_model, train

SPEC = RunSpec("tiny", width=24, depth=1, heads=2, tokens=40 * 8 * CONTEXT, lr=1e-2, batch_size=8)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(0)


def test_the_stream_is_a_pure_function_of_seed_and_position(corpus: Corpus) -> None:
    assert np.array_equal(corpus.sequence(12345), Corpus(0).sequence(12345))
    assert not np.array_equal(corpus.sequence(12345), Corpus(1).sequence(12345))
    assert corpus.batch(3, 4).shape == (4, CONTEXT + 1)
    assert np.array_equal(corpus.batch(3, 4)[1], corpus.sequence(13))


def test_each_task_has_its_questions_and_none_is_in_the_training_stream(corpus: Corpus) -> None:
    questions = corpus.questions
    assert set(questions) == set(TASKS)
    for task, items in questions.items():
        assert len(items) == QUESTIONS_PER_TASK
        assert len({q.prompt for q in items}) == QUESTIONS_PER_TASK, task
        if task in HELD_OUT:  # knowledge and arithmetic are drawn from the training distribution
            assert all(_is_test_instance(q.prompt) for q in items)
    # a question is a document: it follows <eos>, as in evaluation (a sequence starts a document too)
    stream = " ".join("<eos> " + " ".join(corpus.words[i] for i in corpus.sequence(i)) for i in range(2000))
    assert stream.count("<eos> ") > 20_000
    held_out = ["<eos> " + " ".join(q.prompt) + " " for task in HELD_OUT for q in questions[task]]
    assert not any(prompt in stream for prompt in held_out)


def test_training_is_deterministic_and_resumes_exactly(tmp_path: Path) -> None:
    first = train(SPEC, tmp_path / "a")
    again = train(SPEC, tmp_path / "b")
    assert train(SPEC, tmp_path / "c", stop_after_steps=17) is None  # interrupted, state saved
    first_start_of_c = torch.load(tmp_path / "c" / "state.pt", weights_only=False)["started_at"]
    resumed = train(SPEC, tmp_path / "c")
    assert first["params"] == count_parameters(load_model(tmp_path / "a")) and first["params"] < 25_000
    for other in (tmp_path / "b", tmp_path / "c"):
        for (name, x), (_, y) in zip(load_model(tmp_path / "a").state_dict().items(),
                                     load_model(other).state_dict().items()):
            assert torch.equal(x, y), (other, name)
    assert first["final_train_loss"] == again["final_train_loss"] == resumed["final_train_loss"]
    assert first["final_train_loss"] < np.log(Corpus(0).vocab_size)  # it learned something
    assert (tmp_path / "a" / "curve.csv").read_text() == (tmp_path / "c" / "curve.csv").read_text()
    # A run records when it first started and when it finished (UTC); a resumed one keeps its first start.
    assert first["started_at"] <= first["finished_at"] <= again["started_at"] <= again["finished_at"]
    assert resumed["started_at"] == first_start_of_c <= resumed["finished_at"] and resumed["started_at"].endswith("+00:00")


def test_a_state_saved_for_another_spec_is_refused(tmp_path: Path) -> None:
    train(SPEC, tmp_path / "run", stop_after_steps=3)
    with pytest.raises(ValueError, match="saved for"):
        train(RunSpec("tiny", 24, 1, 2, SPEC.tokens, lr=3e-3, batch_size=8), tmp_path / "run")


def test_answer_nlls_are_finite_and_rank_questions(tmp_path: Path, corpus: Corpus) -> None:
    train(SPEC, tmp_path / "run")
    questions = corpus.questions["arithmetic"][:50]
    nll = answer_nll(load_model(tmp_path / "run"), corpus, questions)
    assert nll.shape == (50,) and np.isfinite(nll).all() and (nll > 0).all()


def test_a_finished_run_of_another_corpus_design_is_refused(tmp_path: Path) -> None:
    train(SPEC, tmp_path / "run")
    from dataclasses import replace

    with pytest.raises(ValueError, match="trained on corpus"):
        train(replace(SPEC, corpus_version="t2mini-corpus-0"), tmp_path / "run")


def test_a_question_can_be_asked_after_held_out_text(tmp_path: Path, corpus: Corpus) -> None:
    from pretrain.evaluate import held_out_text
    from pretrain.pilot import position_report

    text = held_out_text(corpus, 5, 64)
    stream = list(corpus.sequence(2 * 10**9 + 5))
    assert 0 < len(text) < 64 and text == stream[:len(text)] and stream[len(text)] == corpus.ids["<eos>"]
    train(SPEC, tmp_path / "run")
    questions = corpus.questions["spatial"][:20]
    opening, inside = (answer_nll(load_model(tmp_path / "run"), corpus, questions, context=c) for c in (0, 64))
    assert np.isfinite(inside).all() and not np.allclose(opening, inside)
    report = position_report([tmp_path / "run"], questions=20)
    assert set(report["task"]) == set(TASKS) and (report["pass_at_1_after_text"] > 0).all()
    assert set(report["checkpoint"]) == {"tiny"} and (report["tokens"] == SPEC.tokens).all()


def test_design_6_opens_each_sequence_with_eos_and_is_otherwise_design_5(corpus: Corpus) -> None:
    opened = Corpus(0, "t2mini-corpus-6")
    for index in (0, 77):
        assert opened.sequence(index)[0] == corpus.ids["<eos>"]
        assert np.array_equal(opened.sequence(index)[1:], corpus.sequence(index)[:-1])
    assert opened.questions["causal"][:5] == corpus.questions["causal"][:5]
    with pytest.raises(ValueError, match="unknown corpus design"):
        Corpus(0, "t2mini-corpus-0")
