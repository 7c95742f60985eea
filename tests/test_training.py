"""t2lib.data.training: the records of a suite trained with pretrain/, read and summarised without torch."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib.book.requirements import SuiteRequirementError, resolve
from t2lib.data.training import (difficulty_correlation, guessing_pass_at_k, read_questions, read_training_records,
                                 returns_to_data, task_summary)


def write_trained_suite(folder: Path, nll: np.ndarray, difficulty: np.ndarray, answer_set: int = 16) -> t2lib.Suite:
    """A one-task suite of two checkpoints (rows of `nll`) with its training records."""
    checkpoints = pd.DataFrame({"checkpoint": ["a", "b"], "params": [1e4, 2e4], "tokens": [1e6, 5e5],
                                "train_flops": [6e10, 6e10], "source": "t2mini", "stage": "base", "base_checkpoint": ""})
    rows = pd.DataFrame([{"checkpoint": c, "task": "t2mini_recall", "question": q, "nll": nll[i, q]}
                         for i, c in enumerate(checkpoints["checkpoint"]) for q in range(nll.shape[1])])
    tasks = pd.DataFrame({"task": ["t2mini_recall"], "display_name": ["Recall"], "group": ["synthetic"],
                          "n_questions": [nll.shape[1]], "source": ["real: test"]})
    t2lib.write_suite(folder, checkpoints, rows, tasks)
    (folder / "questions").mkdir()
    (folder / "questions" / "recall.jsonl").write_text("".join(
        json.dumps({"prompt": f"q{q}", "answer": "x", "difficulty": float(d), "answer_set": answer_set}) + "\n"
        for q, d in enumerate(difficulty)))
    (folder / "grid.csv").write_text("cell,params\na,10000\nb,20000\n")
    (folder / "curves.csv").write_text("step,tokens,train_loss,checkpoint\n1,100,2.0,a\n1,100,2.1,b\n")
    return t2lib.load_suite(folder)


def test_the_summary_gives_pass_at_1_and_chance_from_the_questions(tmp_path: Path) -> None:
    nll = np.array([[0.1, 0.5, 2.0, 4.0], [1.0, 1.0, 1.0, 1.0]])
    suite = write_trained_suite(tmp_path / "suite", nll, difficulty=np.arange(4))
    records = read_training_records(suite)
    summary = task_summary(suite, records.questions).set_index("checkpoint")
    assert summary.loc["a", "pass_at_1"] == pytest.approx(np.exp(-nll[0]).mean(), rel=1e-12)
    assert summary.loc["b", "mean_nll"] == pytest.approx(1.0)
    assert summary.loc["a", "chance_nll"] == pytest.approx(np.log(16))
    assert summary.loc["a", "chance_pass_at_1"] == pytest.approx(1 / 16)
    assert summary.loc["a", "tokens_per_param"] == pytest.approx(100)
    assert list(records.curves["checkpoint"]) == ["a", "b"]


def test_difficulty_correlation_recovers_a_planted_ordering(tmp_path: Path) -> None:
    nll = np.array([[0.1, 0.5, 2.0, 4.0], [4.0, 2.0, 0.5, 0.1]])
    suite = write_trained_suite(tmp_path / "suite", nll, difficulty=np.array([1, 5, 9, 30]))
    correlation = difficulty_correlation(suite, read_questions(tmp_path / "suite")).set_index("checkpoint")
    assert correlation.loc["a", "spearman"] == pytest.approx(1.0)
    assert correlation.loc["b", "spearman"] == pytest.approx(-1.0)


def test_a_question_without_an_entry_is_named(tmp_path: Path) -> None:
    suite = write_trained_suite(tmp_path / "suite", np.ones((2, 3)), difficulty=np.arange(3))
    questions = read_questions(tmp_path / "suite")
    with pytest.raises(t2lib.SuiteError, match=r"nll.parquet: question 2 of task 't2mini_recall' has no entry"):
        task_summary(suite, questions[questions["question"] < 2])


def test_a_bad_answer_class_is_named_with_its_line(tmp_path: Path) -> None:
    write_trained_suite(tmp_path / "suite", np.ones((2, 3)), difficulty=np.arange(3), answer_set=1)
    with pytest.raises(t2lib.SuiteError, match=r"recall.jsonl: line 1: answer_set must be at least 2; got 1"):
        read_questions(tmp_path / "suite")


def test_a_suite_without_training_records_is_refused_by_file_and_by_chapter(tmp_path: Path) -> None:
    suite = write_trained_suite(tmp_path / "suite", np.ones((2, 3)), difficulty=np.arange(3))
    (tmp_path / "suite" / "curves.csv").unlink()
    with pytest.raises(t2lib.SuiteError, match=r"curves.csv: missing"):
        read_training_records(suite)
    with pytest.raises(SuiteRequirementError, match=r"it has no curves.csv \(it was not trained with pretrain/\)"):
        resolve("miniature_suite", suite)
    with pytest.raises(SuiteRequirementError, match=r"make pretrain-suite`, or rerun the chapter on data/real/t2mini\.$"):
        resolve("miniature_suite", suite)
    with pytest.raises(SuiteRequirementError, match=r"pretrain.suite_v2 build`, or rerun the chapter on data/real/t2mini-v2"):
        resolve("second_suite", suite)  # a chapter of the second suite names the second suite's commands


def test_guessing_is_measured_per_question_where_the_suite_keeps_its_questions(tmp_path: Path) -> None:
    suite = write_trained_suite(tmp_path / "suite", np.ones((2, 2)), difficulty=np.arange(2))
    path = tmp_path / "suite" / "questions" / "recall.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"q{q}", "answer": "x", "difficulty": 1.0, "answer_set": 16,
                                        "guess": g}) + "\n" for q, g in enumerate((0.5, 0.0))))
    exact, how = guessing_pass_at_k(suite, 2)
    assert exact["t2mini_recall"] == pytest.approx((0.75 + 0.0) / 2) and how == "each question's own guess probability"
    path.unlink()
    path.write_text('{"prompt": "q0", "answer": "x", "difficulty": 1.0, "answer_set": 4}\n')
    assert read_questions(tmp_path / "suite")["guess"].tolist() == [0.25]  # none recorded: uniform in its class
    (tmp_path / "suite" / "questions" / "recall.jsonl").unlink()
    (tmp_path / "suite" / "questions").rmdir()
    tasks = suite.tasks.assign(guess=0.25)
    bound, how = guessing_pass_at_k(t2lib.load_suite(t2lib.write_suite(tmp_path / "bound", suite.checkpoints,
                                                                        suite.nll, tasks)), 2)
    assert bound["t2mini_recall"] == pytest.approx(1 - 0.75**2) and how.startswith("an upper bound")
    assert guessing_pass_at_k(t2lib.load_suite(tmp_path / "suite"), 2) == (None, "")


def test_a_question_line_without_its_difficulty_is_named(tmp_path: Path) -> None:
    write_trained_suite(tmp_path / "suite", np.ones((2, 3)), difficulty=np.arange(3))
    path = tmp_path / "suite" / "questions" / "recall.jsonl"
    path.write_text(path.read_text() + '{"prompt": "q3", "answer_set": 4}\n')
    with pytest.raises(t2lib.SuiteError, match=r"recall.jsonl: line 4: no 'difficulty'"):
        read_questions(tmp_path / "suite")


def test_budget_levels_group_runs_that_miss_their_planned_budget() -> None:
    from t2lib.data.suite import budget_levels

    runs = [6.3981e13, 4.9907e11, 5.0012e11, 1.28e12, 5.03e11, 1.2795e12, 6.4009e13]
    assert budget_levels(runs).tolist() == [6.4e13, 5e11, 5e11, 1.28e12, 5e11, 1.28e12, 6.4e13]
    assert budget_levels([1e16, 2e16, 4e16]).tolist() == [1e16, 2e16, 4e16]  # exact budgets stay themselves
    assert budget_levels([]).size == 0


def test_returns_to_data_counts_the_steps_that_lower_pass_at_1_by_where_they_end() -> None:
    # one size, four token counts: 50 -> 200 (+0.1), 200 -> 2,000 (-0.02), 2,000 -> 8,000 (-0.2);
    # a second size with one step ending at 50 (+0.05); a second task mirrors the first size
    rows = [("a", 100, 5e3, 0.2), ("a", 100, 2e4, 0.3), ("a", 100, 2e5, 0.28), ("a", 100, 8e5, 0.08),
            ("a", 1000, 2e4, 0.1), ("a", 1000, 5e4, 0.15), ("b", 100, 5e3, 0.5), ("b", 100, 2e4, 0.4)]
    summary = pd.DataFrame(rows, columns=["task", "params", "tokens", "pass_at_1"])
    summary["tokens_per_param"] = summary["tokens"] / summary["params"]
    table = returns_to_data(summary).set_index("tokens_per_param")
    assert table.loc["below 100"].tolist() == [1, 0, 0]
    assert table.loc["between 100 and 1,000"].tolist() == [2, 1, 1]  # task b: 0.5 -> 0.4 at 200
    assert table.loc["above 1,000"].tolist() == [2, 2, 1]
