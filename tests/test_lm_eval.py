"""The lm-evaluation-harness importer, on the fixture files in tests/fixtures/lm_eval."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from t2lib import load_suite
from t2lib.data.lm_eval import LmEvalError, import_lm_eval, read_samples

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
    with pytest.raises(LmEvalError, match=r"runs.csv: column 'params', line 3: must be a count > 0, .*; got '-1'"):
        import_lm_eval(mapping, tmp_path / "suite")
    mapping.write_text("run,checkpoint,params,tokens\nEleutherAI__tiny,x,1,1\n")
    with pytest.raises(LmEvalError, match=r"holds 2 results files; name the run's results file itself"):
        import_lm_eval(mapping, tmp_path / "suite")
    with pytest.raises(LmEvalError, match=r"no samples of --tasks mmlu beside it \(its folder has samples of: .*\) — check"):
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


def runs_folder(tmp_path: Path) -> Path:
    """A folder of lm-eval runs in three layouts: two revisions of one model in one folder, a
    v0.4.0-0.4.2 run (results.json beside <model_args>_<task>.jsonl) and a real t2mini run."""
    runs = tmp_path / "runs"
    shutil.copytree(FIXTURES / MODEL, runs / "eval-a" / MODEL)
    old = runs / "eval-b"
    old.mkdir(parents=True)
    shutil.copy(FIXTURES / "old_harness" / "results_2024-03-01T00-00-00.000000.json", old / "results.json")
    shutil.copy(FIXTURES / "old_harness" / "samples_sciq_2024-03-01T00-00-00.000000.jsonl",
                old / "pretrained__tiny,revision__main_sciq.jsonl")
    shutil.copytree(Path(__file__).parent / "fixtures" / "lm_eval_t2mini", runs / "eval-c")
    return runs


MODELS = ("model,revision,checkpoint,params,tokens\n"
          "EleutherAI/tiny,step1000,tiny-1000,14000000,2000000000\n"
          "EleutherAI/tiny,step2000,tiny-2000,14000000,4000000000\n"
          "tiny,,old-main,14000000,8000000000\n")


def test_a_folder_of_runs_imports_through_the_models_table(tmp_path: Path) -> None:
    from t2lib.data.lm_eval import import_lm_eval_folder

    runs = runs_folder(tmp_path)
    models = tmp_path / "models.csv"
    models.write_text(MODELS)
    with pytest.raises(LmEvalError, match=r"results_2026-11-29T13-03-40.284109.json: no row of .*models.csv maps this "
                                          r"run \(model '/work/main/runs/w16d1-c0/hf', revision 'main'\); 1 run"):
        import_lm_eval_folder(runs, models, tmp_path / "suite")
    imported = import_lm_eval_folder(runs, models, tmp_path / "suite", allow_unmapped=True)
    suite = load_suite(imported.out)
    assert sorted(suite.checkpoints["checkpoint"]) == ["old-main", "tiny-1000", "tiny-2000"]
    np.testing.assert_allclose(suite.task_nll("tiny-1000", "arc_easy"), [3.2, 1.5, 2.25])
    np.testing.assert_allclose(suite.task_nll("old-main", "sciq"), [0.5, 2.0])
    report = imported.report()
    assert "found 4 runs; imported 3 as checkpoints" in report
    assert "not imported (no row of the models table)" in report and "w16d1-c0" in report
    assert "checkpoint 'old-main' has no samples for task 'arc_easy'" in report
    assert imported.questions == {"arc_easy": 3, "lambada_openai": 3, "sciq": 2}


def test_a_duplicate_run_and_differing_question_sets_are_named(tmp_path: Path) -> None:
    from t2lib.data.lm_eval import import_lm_eval_folder

    runs = runs_folder(tmp_path)
    models = tmp_path / "models.csv"
    models.write_text(MODELS)
    shutil.copytree(runs / "eval-b", runs / "eval-b-again")
    with pytest.raises(LmEvalError, match=r"checkpoint 'old-main': the model and revision of its row in .*models.csv "
                                          r"were evaluated by several runs \(.*eval-b/results.json, "
                                          r".*eval-b-again/results.json\); move all but one out of"):
        import_lm_eval_folder(runs, models, tmp_path / "suite", allow_unmapped=True)
    shutil.rmtree(runs / "eval-b-again")
    # One revision evaluated on fewer lambada documents than the other.
    second = runs / "eval-a" / MODEL
    samples = second / "samples_lambada_openai_2026-11-20T11-30-00.000002.jsonl"
    samples.write_text("".join(samples.read_text().splitlines(keepends=True)[:2]))
    results = second / "results_2026-11-20T11-30-00.000002.json"
    record = json.loads(results.read_text())
    record["n-samples"]["lambada_openai"]["effective"] = 2
    results.write_text(json.dumps(record))
    with pytest.raises(LmEvalError, match=r"task 'lambada_openai': checkpoints 'tiny-1000' and 'tiny-2000' answered "
                                          r"different questions \(3 and 2\)"):
        import_lm_eval_folder(runs, models, tmp_path / "suite", allow_unmapped=True)
    models.write_text(MODELS + "tiny,main,again,1,1\n")
    with pytest.raises(LmEvalError, match=r"models.csv: line 5: model 'tiny' with revision 'main' is already on line 4"):
        import_lm_eval_folder(runs, models, tmp_path / "suite")
