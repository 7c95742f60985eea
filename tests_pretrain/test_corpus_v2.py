"""Design 7, the second suite's corpus: answers of several tokens that no content-blind guesser
can reach, test instances kept out of the training stream, multi-token answers scored as the
sum of their tokens' NLLs, and the trainer building it from a run's spec."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from pretrain.corpus import CONTEXT, TASKS, _is_test_instance, corpus_for
from pretrain.corpus_v2 import CORPUS_VERSION, MIXTURE, CorpusV2, carries, sum_probability
from pretrain.evaluate import answer_nll
from pretrain.train import RunSpec, load_model, train


@pytest.fixture(scope="module")
def corpus() -> CorpusV2:
    return CorpusV2(0)


def test_guessing_reaches_at_most_one_percent_at_pass_at_1000(corpus: CorpusV2) -> None:
    for task, questions in corpus.questions.items():
        guess = np.array([q.guess for q in questions])
        assert (1 - (1 - guess) ** 1000).mean() <= 0.01, task
        assert all(len(q.answer.split()) >= 4 for q in questions), task


def test_the_guess_is_the_likelier_of_the_uniform_and_prior_guessers(corpus: CorpusV2) -> None:
    assert sum_probability(0) == 1e-10 and sum_probability(99_999) == pytest.approx(1e-5)
    assert sum_probability(2 * 99_999) == 1e-10 and sum_probability(2 * 10**5) == 0
    knowledge = corpus.questions["knowledge"][0]
    world = corpus.world
    ranks = [world.people.index(tuple(knowledge.prompt[i:i + 2])) for i in (0, 3)]
    prior = world.share("people", ranks[0]) * world.share("people", ranks[1])
    assert knowledge.guess == pytest.approx(max(64.0 ** -4, prior))
    assert knowledge.answer.split() == [*world.person_code[ranks[0]], *world.person_code[ranks[1]]]


def test_arithmetic_answers_are_the_reversed_sums(corpus: CorpusV2) -> None:
    for question in corpus.questions["arithmetic"][:50]:
        words = question.prompt
        a, b = (int("".join(reversed(words[i:i + 5]))) for i in (0, 6))
        assert words[5] == "plus" and words[-1] == "equals"
        assert question.answer == " ".join(reversed(f"{a + b:06d}"))
        assert question.difficulty == carries(words)


def test_no_test_instance_is_a_training_document(corpus: CorpusV2) -> None:
    for questions in corpus.questions.values():
        assert all(_is_test_instance(q.prompt) for q in questions)
    documents = " ".join(corpus.words[i] for index in range(400) for i in corpus.sequence(index)).split("<eos>")
    prompts = {q.prompt for questions in corpus.questions.values() for q in questions}
    answered = [tuple(d.split()) for d in documents if d.strip().endswith(".")]
    assert len(answered) > 2000
    assert not any(words[:end] in prompts for words in answered for end in range(1, len(words)))


def test_the_stream_opens_with_eos_and_depends_only_on_seed_stream_and_index(corpus: CorpusV2) -> None:
    assert corpus.sequence(5)[0] == corpus.ids["<eos>"] and corpus.sequence(5).shape == (CONTEXT + 1,)
    assert np.array_equal(corpus.sequence(5, 2), CorpusV2(0).sequence(5, 2))
    assert not np.array_equal(corpus.sequence(5, 2), corpus.sequence(5, 1))
    assert not np.array_equal(corpus.sequence(5), CorpusV2(1).sequence(5))
    assert set(TASKS) == set(corpus.questions) and abs(sum(MIXTURE.values()) - 1) < 1e-12


def test_a_multi_token_answer_scores_the_sum_of_its_tokens(corpus: CorpusV2, tmp_path: Path) -> None:
    spec = RunSpec("v2", width=16, depth=1, heads=2, tokens=20 * 8 * CONTEXT, lr=1e-2, batch_size=8,
                   corpus_version=CORPUS_VERSION)
    train(spec, tmp_path / "v2")
    model = load_model(tmp_path / "v2")
    assert model.tokens.num_embeddings == corpus_for(0, CORPUS_VERSION).vocab_size == corpus.vocab_size
    question = corpus.questions["spatial"][3]
    prompt, answer = [corpus.ids["<eos>"], *corpus.encode(question.prompt)], corpus.encode(question.answer.split())
    with torch.no_grad():
        log_probs = F.log_softmax(model(torch.tensor([prompt + answer])).double(), dim=-1)[0]
    by_hand = -sum(log_probs[len(prompt) - 1 + j, token].item() for j, token in enumerate(answer))
    assert answer_nll(model, corpus, [question])[0] == pytest.approx(by_hand, rel=1e-9)
    tokens, mask = corpus.finetune_batch(0, 2)
    for row in range(2):  # every masked target is an answer token (a code symbol or a digit)
        targets = [corpus.words[t] for t in tokens[row, 1:][mask[row]]]
        assert len(targets) >= 4 and all(w[0] == "c" or w.isdigit() for w in targets)


def test_pilot_9s_rule_passes_through_its_sweeps_optima() -> None:
    from pretrain.pilot import PILOTS, pilot9_lr

    assert pilot9_lr(9_376) == pytest.approx(3e-2) and pilot9_lr(37_600) == pytest.approx(1e-2)
    ladder = PILOTS["10"]
    assert {spec.corpus_version for spec in ladder} == {CORPUS_VERSION}
    assert {spec.lr for spec in ladder if spec.width == 16} == {3e-2}
    assert {spec.model_seed for spec in ladder} == {0, 1} and len({spec.name for spec in ladder}) == len(ladder)


def test_the_grids_learning_rate_is_the_rule_fitted_to_the_committed_sweeps() -> None:
    from pretrain.pilot import GRID_LR, fit_lr_rule, grid_lr, lr_optima, read_lr_sweeps

    optima = lr_optima(read_lr_sweeps())
    assert len(optima) >= 4 and optima["optimum"].notna().sum() >= 3  # the rule rests on ≥ 3 sizes' optima
    fitted = fit_lr_rule(optima)
    assert GRID_LR == (float(f"{fitted[0]:.2g}"), float(f"{fitted[1]:.2g}"))
    assert grid_lr(1e5) == pytest.approx(GRID_LR[0])


def test_the_optimum_is_the_vertex_of_a_planted_parabola() -> None:
    import numpy as np
    import pandas as pd

    from pretrain.pilot import fit_lr_rule, lr_optima

    rates = [1e-3, 4e-3, 1.6e-2, 6.4e-2]
    rows = [{"params": n, "lr": lr, "seed": 0, "validation_loss": 1 + (np.log(lr) - np.log(best)) ** 2}
            for n, best in ((1e4, 4e-3), (1e5, 8e-3), (1e6, 1.6e-2)) for lr in rates]
    optima = lr_optima(pd.DataFrame(rows)).set_index("params")
    assert optima.loc[1e4, "optimum"] == pytest.approx(4e-3) and optima.loc[1e5, "optimum"] == pytest.approx(8e-3)
    assert np.isnan(optima.loc[1e6, "optimum"]) or optima.loc[1e6, "optimum"] == pytest.approx(1.6e-2)
    edge = lr_optima(pd.DataFrame([{**row, "params": 5e5} for row in rows if row["params"] == 1e4 and row["lr"] >= 4e-3]))
    assert np.isnan(edge.loc[0, "optimum"])  # best at the sweep's smallest rate: the optimum lies beyond
    assert fit_lr_rule(optima.reset_index().iloc[:2]) == pytest.approx((8e-3, np.log(2) / np.log(10)))