"""The lm-evaluation-harness importer, on the fixture files in tests/fixtures/lm_eval."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from t2lib import load_suite
from t2lib.lm_eval import LmEvalError, import_lm_eval, read_samples

FIXTURES = Path(__file__).parent / "fixtures" / "lm_eval"
MODEL = "EleutherAI__tiny"
FIRST = "2026-11-20T10-00-00.000001"


def copy_fixtures(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES, tmp_path / "runs"))


def test_imported_suite_passes_the_loader(tmp_path: Path) -> None:
    out = import_lm_eval(FIXTURES / "runs.csv", tmp_path / "suite")
    suite = load_suite(out)
    assert sorted(suite.checkpoints["checkpoint"]) == ["old-main", "tiny-step1000", "tiny-step2000"]
    assert suite.checkpoints.set_index("checkpoint").loc["tiny-step2000", "train_flops"] == pytest.approx(6 * 14e6 * 4e9)
    # Gold choice of each ARC question (B, 1, B): log-likelihoods −3.2, −1.5, −2.25, in doc order.
    np.testing.assert_allclose(suite.task_nll("tiny-step1000", "arc_easy"), [3.2, 1.5, 2.25])
    np.testing.assert_allclose(suite.task_nll("tiny-step2000", "lambada_openai"), [1.0, 2.0, 0.5])
    # The old-format run: a JSON array with native values; gold is the last of four choices.
    np.testing.assert_allclose(suite.task_nll("old-main", "sciq"), [0.5, 2.0])
    assert set(suite.tasks["task"]) == {"arc_easy", "lambada_openai", "sciq"}


def test_a_truncated_line_is_reported_with_its_number(tmp_path: Path) -> None:
    runs = copy_fixtures(tmp_path)
    file = runs / MODEL / f"samples_arc_easy_{FIRST}.jsonl"
    lines = file.read_text().splitlines()
    file.write_text("\n".join(lines[:2] + [lines[2][:40]]) + "\n")
    with pytest.raises(LmEvalError, match=r"samples_arc_easy_.*\.jsonl: line 3: malformed JSON"):
        import_lm_eval(runs / "runs.csv", tmp_path / "suite")


def rewrite_first_record(file: Path, **changes) -> None:
    lines = file.read_text().splitlines()
    record = json.loads(lines[0])
    record.update(changes)
    file.write_text("\n".join([json.dumps(record)] + lines[1:]) + "\n")


@pytest.mark.parametrize("changes,message", [
    ({"filtered_resps": [["0.5", "True"]]}, r"line 1: log-likelihood must be finite and <= 0; got 0.5"),
    ({"filtered_resps": [["nan", "True"]]}, r"line 1: log-likelihood must be finite"),
    ({"filtered_resps": [["abc", "True"]]}, r"line 1: log-likelihood 'abc' is not a number"),
    ({"doc_id": 1}, r"line 2: duplicate doc_id 1"),
])
def test_malformed_lambada_records_are_rejected(tmp_path: Path, changes: dict, message: str) -> None:
    runs = copy_fixtures(tmp_path)
    rewrite_first_record(runs / MODEL / f"samples_lambada_openai_{FIRST}.jsonl", **changes)
    with pytest.raises(LmEvalError, match=message):
        import_lm_eval(runs / "runs.csv", tmp_path / "suite")


@pytest.mark.parametrize("changes,message", [
    ({"target": "7"}, r"line 1: target index 7 outside the 4 choices"),
    ({"target": "[0, 2]"}, r"line 1: several gold answers"),
    ({"target": "B"}, r"line 1: target 'B' is not a choice index"),
])
def test_malformed_multiple_choice_records_are_rejected(tmp_path: Path, changes: dict, message: str) -> None:
    runs = copy_fixtures(tmp_path)
    rewrite_first_record(runs / MODEL / f"samples_arc_easy_{FIRST}.jsonl", **changes)
    with pytest.raises(LmEvalError, match=message):
        import_lm_eval(runs / "runs.csv", tmp_path / "suite")


def test_other_filters_are_skipped_but_counts_are_checked(tmp_path: Path) -> None:
    runs = copy_fixtures(tmp_path)
    file = runs / MODEL / f"samples_lambada_openai_{FIRST}.jsonl"
    extra = json.loads(file.read_text().splitlines()[0]) | {"filter": "strict-match"}
    file.write_text(file.read_text() + json.dumps(extra) + "\n")
    assert len(read_samples(file, "loglikelihood")) == 3
    file.write_text("\n".join(file.read_text().splitlines()[1:]) + "\n")  # now a doc is missing
    with pytest.raises(LmEvalError, match=r"2 docs, but the results file says 3 were evaluated"):
        import_lm_eval(runs / "runs.csv", tmp_path / "suite")


def test_bad_mapping_is_rejected(tmp_path: Path) -> None:
    runs = copy_fixtures(tmp_path)
    mapping = runs / "runs.csv"
    mapping.write_text(mapping.read_text().replace("14000000,4000000000", "-1,4000000000"))
    with pytest.raises(LmEvalError, match=r"runs.csv: column 'params', row 1: must be > 0; got '-1'"):
        import_lm_eval(mapping, tmp_path / "suite")
    mapping.write_text("run,checkpoint,params,tokens\nEleutherAI__tiny,x,1,1\n")
    with pytest.raises(LmEvalError, match=r"holds 2 results_\*.json files; name the run's results file itself"):
        import_lm_eval(mapping, tmp_path / "suite")
    with pytest.raises(ValueError, match=r"tasks: unsupported task 'mmlu'"):
        import_lm_eval(FIXTURES / "runs.csv", tmp_path / "suite", tasks=["mmlu"])


def test_real_harness_output_imports_to_the_committed_miniature_suite(tmp_path: Path, repo_root: Path) -> None:
    """The raw --log_samples output of one trained checkpoint (tests/fixtures/lm_eval_t2mini)
    imports to exactly that checkpoint's rows of data/real/t2mini."""
    results = next((Path(__file__).parent / "fixtures" / "lm_eval_t2mini").glob("*/results_*.json"))
    committed = load_suite(repo_root / "data" / "real" / "t2mini")
    row = committed.checkpoints.set_index("checkpoint").loc["w16d1-c0"]
    mapping = tmp_path / "runs.csv"
    mapping.write_text(f"run,checkpoint,params,tokens\n{results},w16d1-c0,{row['params']:.0f},{row['tokens']:.0f}\n")
    tasks = list(committed.tasks["task"])
    imported = load_suite(import_lm_eval(mapping, tmp_path / "suite", tasks=tasks))
    for task in tasks:
        assert np.array_equal(imported.task_nll("w16d1-c0", task), committed.task_nll("w16d1-c0", task)), task
