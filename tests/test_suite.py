"""The suite loader: a valid suite loads; each rejection rule fires on a deliberately broken file."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib.data.suite import SuiteError, load_suite, write_suite


def valid_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    checkpoints = pd.DataFrame({
        "checkpoint": ["a", "b", "a/ft"], "params": [1e7, 2e7, 1e7], "tokens": [2e9, 1e9, 2e9],
        "train_flops": [1.2e17, 1.2e17, 1.2e17], "source": ["user"] * 3, "stage": ["base", "base", "ft"],
        "base_checkpoint": ["", "", "a"],
    })
    nll = pd.DataFrame({
        "checkpoint": ["a", "a", "b", "b", "a/ft", "a/ft"], "task": ["t"] * 6, "question": [0, 1, 0, 1, 0, 1],
        "nll": [0.5, 2.0, 0.7, 3.0, 0.1, 1.0],
    })
    tasks = pd.DataFrame({"task": ["t"], "display_name": ["T"], "group": ["real"], "n_questions": [2], "source": ["x"]})
    return checkpoints, nll, tasks


def write(tmp_path: Path, checkpoints=None, nll=None, tasks=None) -> Path:
    c, n, t = valid_tables()
    folder = tmp_path / "suite"
    folder.mkdir(parents=True, exist_ok=True)  # written directly: write_suite refuses a broken suite
    (c if checkpoints is None else checkpoints).to_csv(folder / "checkpoints.csv", index=False)
    (n if nll is None else nll).to_parquet(folder / "nll.parquet", index=False)
    (t if tasks is None else tasks).to_csv(folder / "tasks.csv", index=False)
    return folder


def test_a_valid_suite_loads_with_checksums(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path))
    assert len(suite.base) == 2
    assert len(suite.nll) == 6
    assert len(suite.sha256) == 64 and set(suite.file_sha256) == {"checkpoints.csv", "nll.parquet", "tasks.csv"}
    meta, matrix = suite.nll_matrices("t")
    assert list(meta["checkpoint"]) == ["a", "b"] and matrix.shape == (2, 2)
    np.testing.assert_allclose(suite.task_nll("b", "t"), [0.7, 3.0])
    assert suite.display_names.to_dict() == dict(zip(suite.tasks["task"], suite.tasks["display_name"]))
    assert "2 base checkpoints (+1 ft, 0 sft)" in suite.summary()


def broken_checkpoints(**changes) -> pd.DataFrame:
    c, _, _ = valid_tables()
    for column, (row, value) in changes.items():
        c[column] = c[column].astype(object)
        c.loc[row, column] = value
    return c


@pytest.mark.parametrize("checkpoints,message", [
    (broken_checkpoints(params=(1, -5.0)), r"checkpoints.csv: column 'params', line 3: must be > 0; got -5.0"),
    (broken_checkpoints(tokens=(0, 0.0)), r"column 'tokens', line 2: must be > 0; got 0.0"),
    (broken_checkpoints(params=(2, "many")), r"column 'params', line 4: must be a number; got 'many'"),
    (broken_checkpoints(train_flops=(1, 5e17)), r"column 'train_flops', line 3: must equal 6·params·tokens within 1%"),
    (broken_checkpoints(checkpoint=(1, "a")), r"column 'checkpoint', line 3: duplicate checkpoint id; got 'a'"),
    (broken_checkpoints(stage=(0, "rlhf")), r"column 'stage', line 2: must be one of base, ft, sft; got 'rlhf'"),
    (broken_checkpoints(base_checkpoint=(2, "zzz")), r"column 'base_checkpoint', line 4: a post-trained checkpoint "
                                                     r"must name a base checkpoint"),
    (broken_checkpoints(base_checkpoint=(1, "a")), r"column 'base_checkpoint', line 3: must be empty for a base"),
])
def test_bad_checkpoints_are_rejected(tmp_path: Path, checkpoints: pd.DataFrame, message: str) -> None:
    _, nll, _ = valid_tables()
    nll = nll[nll["checkpoint"].isin(checkpoints["checkpoint"])]
    with pytest.raises(SuiteError, match=message):
        load_suite(write(tmp_path, checkpoints=checkpoints, nll=nll))


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    c, _, _ = valid_tables()
    folder = write(tmp_path)
    c.drop(columns=["tokens"]).to_csv(folder / "checkpoints.csv", index=False)
    with pytest.raises(SuiteError, match=r"checkpoints.csv: missing column 'tokens'"):
        load_suite(folder)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    folder = write(tmp_path)
    (folder / "nll.parquet").unlink()
    with pytest.raises(SuiteError, match=r"nll.parquet: missing"):
        load_suite(folder)
    with pytest.raises(SuiteError, match=r"suite folder not found"):
        load_suite(tmp_path / "nowhere")


def test_a_file_that_is_not_parquet_is_named(tmp_path: Path) -> None:
    folder = write(tmp_path)
    (folder / "nll.parquet").write_text("checkpoint,task\n")
    with pytest.raises(SuiteError, match=r"nll.parquet: cannot be read as parquet"):
        load_suite(folder)


def broken_nll(row: int, column: str, value) -> pd.DataFrame:
    _, n, _ = valid_tables()
    if column == "question" and not float(value).is_integer():
        n[column] = n[column].astype(float)
    n.loc[row, column] = value
    return n


@pytest.mark.parametrize("nll,message", [
    (broken_nll(3, "nll", -0.5), r"nll.parquet: column 'nll', row 4: must be >= 0 .*; got -0.5"),
    (broken_nll(2, "nll", np.inf), r"column 'nll', row 3: must be finite; got inf"),
    (broken_nll(1, "nll", np.nan), r"column 'nll', row 2: must be finite; got nan"),
    (broken_nll(4, "checkpoint", "ghost"), r"column 'checkpoint', row 5: unknown checkpoint .*; got 'ghost'"),
    (broken_nll(5, "question", 0), r"column 'question', row 6: duplicate \(checkpoint, task, question\) row"),
    (broken_nll(0, "question", 0.5), r"column 'question', row 1: must be an integer question index; got 0.5"),
])
def test_bad_nll_rows_are_rejected(tmp_path: Path, nll: pd.DataFrame, message: str) -> None:
    with pytest.raises(SuiteError, match=message):
        load_suite(write(tmp_path, nll=nll))


def test_nll_with_wrong_type_is_rejected(tmp_path: Path) -> None:
    _, n, _ = valid_tables()
    n["nll"] = ["low", "2", "3", "4", "5", "6"]
    with pytest.raises(SuiteError, match=r"column 'nll', row 1: must be a number; got 'low'"):
        load_suite(write(tmp_path, nll=n))


def test_different_question_sets_are_an_error_unless_allowed(tmp_path: Path) -> None:
    _, n, t = valid_tables()
    n.loc[3, "question"] = 7  # checkpoint b answers questions 0 and 7, a answers 0 and 1
    folder = write(tmp_path, nll=n, tasks=t.assign(n_questions=3))
    with pytest.raises(SuiteError, match=r"task 't' is answered by different question sets"):
        load_suite(folder)
    assert len(load_suite(folder, allow_varying_questions=True).nll) == 6


@pytest.mark.parametrize("change,message", [
    ({"n_questions": [5]}, r"tasks.csv: column 'n_questions', line 2: differs from the number of questions"),
    ({"group": ["natural"]}, r"tasks.csv: column 'group', line 2: must be one of real, synthetic"),
    ({"task": ["other"]}, r"tasks.csv: column 'task', line 2: task has no rows in nll.parquet"),
    ({"guess": [1.5]}, r"tasks.csv: column 'guess', line 2: must be a probability in \(0, 1\], or empty where unknown"),
    ({"guess": ["one in ten"]}, r"tasks.csv: column 'guess', line 2: must be a number; got 'one in ten'"),
])
def test_bad_tasks_file_is_rejected(tmp_path: Path, change: dict, message: str) -> None:
    _, _, t = valid_tables()
    with pytest.raises(SuiteError, match=message):
        load_suite(write(tmp_path, tasks=t.assign(**change)))


def test_the_optional_guess_column_gives_the_guessing_level_at_k(tmp_path: Path) -> None:
    _, _, t = valid_tables()
    guessed = load_suite(write(tmp_path, tasks=t.assign(guess=[0.125])))
    np.testing.assert_allclose(guessed.guess_pass_at_k("t", [1, 15]), [0.125, 1 - 0.875 ** 15])
    for tasks in (t, t.assign(guess=[""])):  # absent or empty: unknown
        assert np.isnan(load_suite(write(tmp_path, tasks=tasks)).guess_pass_at_k("t", 15))
    rewritten = write_suite(tmp_path / "again", guessed.checkpoints, guessed.nll, guessed.tasks)
    assert load_suite(rewritten).tasks["guess"].tolist() == [0.125]


def test_write_subset_keeps_checkpoints_and_draws_questions_reproducibly(tmp_path: Path) -> None:
    from t2lib.data.suite import write_subset

    checkpoints, _, tasks = valid_tables()
    nll = pd.DataFrame([{"checkpoint": c, "task": "t", "question": q, "nll": 0.1 * q + i}
                        for i, c in enumerate(checkpoints["checkpoint"]) for q in range(10)])
    suite = load_suite(write(tmp_path, nll=nll, tasks=tasks.assign(n_questions=10)))
    first = load_suite(write_subset(suite, tmp_path / "a", max_questions=4, seed=3))
    again = load_suite(write_subset(suite, tmp_path / "b", max_questions=4, seed=3))
    assert first.sha256 == again.sha256
    assert len(first.checkpoints) == 3 and first.nll.groupby("checkpoint")["question"].nunique().eq(4).all()
    assert "subset of suite (4 questions, seed 3)" in first.tasks["source"][0]
    with pytest.raises(SuiteError, match="no task 'nope'"):
        write_subset(suite, tmp_path / "c", tasks=["nope"])


def test_suite_sha256_matches_the_loaded_checksum(tmp_path: Path) -> None:
    from t2lib.data.suite import suite_sha256

    folder = write(tmp_path)
    assert suite_sha256(folder) == load_suite(folder).sha256
    (folder / "nll.parquet").unlink()
    with pytest.raises(SuiteError, match="nll.parquet: missing"):
        suite_sha256(folder)
