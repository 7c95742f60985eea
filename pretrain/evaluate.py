"""Gold-answer NLLs of the test questions, computed directly with the model: the pilots, the
reproducibility check and the second suite's runs use it (the same NLLs as the harness's, checked
on the reference checkpoint, at about a seventieth of its time); the first suite was evaluated
through lm-evaluation-harness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from pretrain.corpus import Corpus, Question
from pretrain.model import TinyLM
from pretrain.train import load_model


def held_out_text(corpus: Corpus, index: int, length: int) -> list[int]:
    """Up to `length` tokens of held-out training text (stream 0, far beyond any run's data), cut
    at a document's end, so that a question placed after it starts a document as in training."""
    tokens = list(corpus.sequence(2 * 10**9 + index))[:length]
    eos = corpus.ids["<eos>"]
    return tokens[: max(i for i, t in enumerate(tokens) if t == eos)] if eos in tokens else []


def answer_nll(model: TinyLM, corpus: Corpus, questions: list[Question], device: str = "cpu",
               batch_size: int = 256, context: int = 0) -> np.ndarray:
    """−log p(answer | <eos> prompt) in nats for each question, summed over the answer's tokens.
    With `context` > 0, question i follows up to `context` tokens of held-out training text
    (`held_out_text(corpus, i, context)`) instead of opening the sequence, as the harness asks it."""
    nll = np.empty(len(questions))
    eos = corpus.ids["<eos>"]
    with torch.no_grad():
        for start in range(0, len(questions), batch_size):
            chunk = questions[start:start + batch_size]
            prompts = [(held_out_text(corpus, start + i, context) if context else []) + [eos] + corpus.encode(q.prompt)
                       for i, q in enumerate(chunk)]
            answers = [corpus.encode(q.answer.split()) for q in chunk]
            width = max(len(p) + len(a) for p, a in zip(prompts, answers))
            ids = torch.full((len(chunk), width), corpus.ids["<pad>"], dtype=torch.long)
            for row, (prompt, answer) in enumerate(zip(prompts, answers)):  # right-pad: positions are learned
                ids[row, : len(prompt) + len(answer)] = torch.tensor(prompt + answer)
            log_probs = F.log_softmax(model(ids.to(device)).double(), dim=-1).cpu()
            for row, (prompt, answer) in enumerate(zip(prompts, answers)):
                predicted_at = torch.arange(len(prompt) - 1, len(prompt) + len(answer) - 1)
                nll[start + row] = -log_probs[row, predicted_at, torch.tensor(answer)].sum().item()
    return nll


def task_report(model: TinyLM, corpus: Corpus, device: str = "cpu") -> pd.DataFrame:
    """Per task: mean NLL, chance NLL (uniform over the answer's space), pass@1, the guess level
    at k = 1 and the Spearman correlation between NLL and recorded difficulty."""
    rows = []
    for task, questions in corpus.questions.items():
        nll = answer_nll(model, corpus, questions, device)
        difficulty = np.array([q.difficulty for q in questions])
        rank_correlation = pd.Series(nll).corr(pd.Series(difficulty), method="spearman")
        rows.append({"task": task, "mean_nll": nll.mean(), "chance_nll": float(np.mean([np.log(q.answer_set)
                                                                                          for q in questions])),
                     "pass_at_1": float(np.exp(-nll).mean()),
                     "guess_at_1": float(np.mean([q.guess for q in questions])),
                     "spearman_nll_difficulty": rank_correlation})
    return pd.DataFrame(rows)


DIRECT_NLL = "nll.csv"  # a run's gold-answer NLLs scored by `score_run`, beside its model.pt


def score_run(run_dir: Path, corpus: Corpus, device: str = "cpu") -> Path:
    """Write a finished run's NLL on every test question (task, question, nll; `answer_nll`, the
    quantity the harness logs) to run_dir/DIRECT_NLL, atomically; return the file."""
    model = load_model(run_dir).to(device)
    table = pd.concat([pd.DataFrame({"task": task, "question": np.arange(len(questions)),
                                     "nll": answer_nll(model, corpus, questions, device)})
                       for task, questions in corpus.questions.items()], ignore_index=True)
    scratch = run_dir / (DIRECT_NLL + ".partial")
    table.to_csv(scratch, index=False, float_format="%.9g", lineterminator="\n")
    scratch.replace(run_dir / DIRECT_NLL)
    return run_dir / DIRECT_NLL
