"""The command line as a practitioner meets it: every class of bad input is one line naming the
file, line, entry or argument and the bad value, with exit status 2 and no scratch file left;
a failed import leaves the suite already at --out byte-identical; degenerate fits are refused,
or flagged on every row they touch; the harness's real layouts (generate_until tasks, gzipped
samples, recorded parameter counts, counts as people write them) import."""

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib.data.lm_eval import import_lm_eval_folder, parse_count, write_lm_eval_runs
from t2lib.laws.forecast import chinchilla_size
from t2lib.laws.saved import load_fits
from user_suites import USER_SUITES, write_user_suite

REPO_ROOT = Path(__file__).resolve().parent.parent
ONE_TASK = next(spec for spec in USER_SUITES if spec.name == "one_task")


def run_cli(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "t2lib", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def scratch_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob(".*") if path.name.endswith(".tmp")]


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str, folder: Path | None = None) -> None:
    """Exit status 2, one line on stderr holding every expected fragment, no traceback, and no
    scratch file left in `folder`."""
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in result.stderr, result.stderr
    for fragment in expected:
        assert fragment in message, (fragment, message)
    if folder is not None:
        assert scratch_files(folder) == []


@pytest.fixture(scope="module")
def user_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user-like suite (one task, 20 checkpoints, 40 questions) written as lm-eval runs."""
    root = tmp_path_factory.mktemp("user")
    suite = t2lib.load_suite(write_user_suite(ONE_TASK, root / "suite"))
    return write_lm_eval_runs(suite, root / "evals", tasks=["my_benchmark"], checkpoints=list(suite.base["checkpoint"]))


@pytest.fixture()
def runs(user_runs: Path, tmp_path: Path) -> Path:
    """A private copy of the runs and their models.csv, to break."""
    return Path(shutil.copytree(user_runs, tmp_path / "evals"))


def results_files(runs: Path) -> list[Path]:
    return sorted((runs / "runs").rglob("results_*.json"))


def edit_results(file: Path, change) -> None:
    record = json.loads(file.read_text())
    file.write_text(json.dumps(change(record)))


def import_args(runs: Path, out: Path, *extra: str) -> list[str]:
    return ["import-lm-eval", runs / "runs", "--models", runs / "models.csv", "--out", out, *extra]


# --- Imports that never lose data ---------------------------------------------------------------

def test_a_failed_import_leaves_the_suite_at_out_byte_identical(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "suite"
    assert run_cli(*import_args(runs, out)).returncode == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    first = results_files(runs)[0]
    first.write_text(first.read_text()[:50])  # a truncated results file
    assert_one_line_error(run_cli(*import_args(runs, out)), str(first), "line 1", "malformed JSON", folder=tmp_path)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_out_that_is_a_file_is_refused_and_nothing_is_left(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "suite.txt"
    out.write_text("my notes")
    assert_one_line_error(run_cli(*import_args(runs, out)), str(out), "is a file", folder=tmp_path)
    assert out.read_text() == "my notes"


@pytest.mark.parametrize("command", ["fit", "forecast"])
def test_an_output_file_that_is_a_folder_is_refused(tmp_path: Path, command: str) -> None:
    suite = write_user_suite(ONE_TASK, tmp_path / "suite")
    out = tmp_path / "taken"
    out.mkdir()
    assert_one_line_error(run_cli(command, suite, "--out", out), f"--out {out}", "is a folder", folder=tmp_path)


# --- Harness outputs as they come -----------------------------------------------------------------

@pytest.mark.parametrize(("change", "fragments"), [
    (lambda record: [record], ("a results file holds one JSON object; got a JSON list",)),
    (lambda record: {**record, "config": None}, ("no row of", "revision 'main'")),
    (lambda record: {**record, "configs": "arc"}, ("'configs' must be a JSON object; got str 'arc'",)),
    (lambda record: {**record, "config": {**record["config"], "model_args": 7}}, ("config.model_args must be",)),
    (lambda record: {**record, "config": {**record["config"], "model_num_parameters": "many"}},
     ("config.model_num_parameters must be a number; got 'many'",)),
])
def test_malformed_results_files_are_one_line(runs: Path, tmp_path: Path, change, fragments: tuple) -> None:
    file = results_files(runs)[3]
    edit_results(file, change)
    assert_one_line_error(run_cli(*import_args(runs, tmp_path / "suite")), str(file), *fragments, folder=tmp_path)


def test_generate_until_tasks_are_skipped_with_a_note_and_refused_when_named(runs: Path, tmp_path: Path) -> None:
    for file in results_files(runs):
        date_id = file.stem.removeprefix("results_")
        edit_results(file, lambda record: {**record, "configs": {**record["configs"],
                                                                 "gsm8k": {"output_type": "generate_until"}}})
        (file.parent / f"samples_gsm8k_{date_id}.jsonl").write_text(
            '{"doc_id": 0, "filter": "none", "filtered_resps": ["42"]}\n')
    result = run_cli(*import_args(runs, tmp_path / "suite"))
    assert result.returncode == 0, result.stderr
    assert "skipped (no likelihood of a gold answer, which T² needs to price every question): gsm8k (generate_until)" \
        in result.stdout
    assert list(t2lib.load_suite(tmp_path / "suite").tasks["task"]) == ["my_benchmark"]
    named = run_cli(*import_args(runs, tmp_path / "other", "--tasks", "my_benchmark,gsm8k"))
    assert_one_line_error(named, "task 'gsm8k' is 'generate_until'", "leave the task out of --tasks", folder=tmp_path)


def test_gzipped_samples_are_read(runs: Path, tmp_path: Path) -> None:
    plain = t2lib.load_suite(import_lm_eval_folder(runs / "runs", runs / "models.csv",
                                                                 tmp_path / "plain").out)
    for file in (runs / "runs").rglob("samples_*.jsonl"):
        file.with_name(file.name + ".gz").write_bytes(gzip.compress(file.read_bytes()))
        file.unlink()
    zipped = t2lib.load_suite(import_lm_eval_folder(runs / "runs", runs / "models.csv",
                                                                  tmp_path / "zipped").out)
    assert zipped.sha256 == plain.sha256
    broken = next((runs / "runs").rglob("samples_*.jsonl.gz"))
    broken.write_bytes(broken.read_bytes()[:20])
    assert_one_line_error(run_cli(*import_args(runs, tmp_path / "again")), str(broken), "not a readable gzip file",
                          folder=tmp_path)


def recorded_counts(runs: Path, params: dict[str, float], factor: float = 1.0) -> None:
    """Record in every run the parameter count of its revision (`params`), times `factor`."""
    for file in results_files(runs):
        edit_results(file, lambda record: {**record, "config": {
            **record["config"], "model_num_parameters": int(params[record["config"]["model_args"]["revision"]] * factor)}})


def test_params_left_empty_come_from_the_run_and_written_ones_are_checked(runs: Path, tmp_path: Path) -> None:
    models = pd.read_csv(runs / "models.csv")
    expected = models["params"].to_numpy()
    recorded_counts(runs, dict(zip(models["revision"], expected)))
    models["params"] = ""
    models.to_csv(runs / "models.csv", index=False)
    result = run_cli(*import_args(runs, tmp_path / "suite"))
    assert result.returncode == 0, result.stderr
    assert "N read from the runs' model_num_parameters for 20 checkpoint(s)" in result.stdout
    np.testing.assert_allclose(t2lib.load_suite(tmp_path / "suite").checkpoints["params"], expected, rtol=1e-9)
    recorded_counts(runs, dict(zip(models["revision"], expected)), factor=10.0)  # ten times the written N
    models["params"] = expected
    models.to_csv(runs / "models.csv", index=False)
    assert_one_line_error(run_cli(*import_args(runs, tmp_path / "other")), "models.csv: column 'params', line 2",
                          "is 0.1× the", "model_num_parameters", folder=tmp_path)


@pytest.mark.parametrize(("written", "value"), [("1618080", 1618080.0), ("1,618,080", 1618080.0), ("1.6e6", 1.6e6),
                                                ("1.6M", 1.6e6), ("16k", 16e3), ("2B", 2e9), ("1_000", 1000.0)])
def test_counts_are_read_as_people_write_them(written: str, value: float) -> None:
    assert parse_count(written) == value


@pytest.mark.parametrize("written", ["1,6", "many", "1.6Q", "", "1,61,8080", "inf", "nan", "1e400"])
def test_counts_that_are_no_number_are_refused(written: str) -> None:
    assert np.isnan(parse_count(written))


@pytest.mark.parametrize(("row", "column", "value", "fragments"), [
    (2, "params", "1.6 million", ("models.csv: column 'params', line 4", "must be a count > 0", "got '1.6 million'")),
    (0, "tokens", "-3", ("models.csv: column 'tokens', line 2", "got '-3'")),
    (5, "checkpoint", "CHECKPOINT_OF_ROW_1", ("models.csv: column 'checkpoint', line 7", "already the id of line 3",
                                              "give every row its own checkpoint id")),
    (1, "stage", "rlhf", ("models.csv: column 'stage', line 3", "got 'rlhf'")),
])
def test_bad_models_rows_name_the_users_file_and_line(runs: Path, tmp_path: Path, row: int, column: str, value: str,
                                                      fragments: tuple) -> None:
    models = pd.read_csv(runs / "models.csv", dtype=str)
    models[column] = models[column].astype(object) if column in models else "base"
    models.loc[row, column] = models.loc[1, "checkpoint"] if value == "CHECKPOINT_OF_ROW_1" else value
    models.to_csv(runs / "models.csv", index=False)
    assert_one_line_error(run_cli(*import_args(runs, tmp_path / "suite")), *fragments, folder=tmp_path)


def test_rows_without_a_run_are_reported(runs: Path, tmp_path: Path) -> None:
    models = pd.read_csv(runs / "models.csv", dtype=str)
    extra = models.iloc[[0]].assign(revision="never-evaluated", checkpoint="ghost")
    pd.concat([models, extra]).to_csv(runs / "models.csv", index=False)
    result = run_cli(*import_args(runs, tmp_path / "suite"))
    assert result.returncode == 0, result.stderr
    assert "row without a run: " in result.stdout and "line 22 (model 'example/model', revision 'never-evaluated')" \
        in result.stdout


# --- Fits files --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fits_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fits")
    suite = write_user_suite(ONE_TASK, folder / "suite")
    result = run_cli("fit", suite, "--out", folder / "fits.json")
    assert result.returncode == 0, result.stderr
    return folder / "fits.json"


LAWS = "tasks.my_benchmark.laws"


@pytest.mark.parametrize(("change", "fragments"), [
    (lambda record: [record], ("not a t2lib fits file (format 'a JSON list'",)),
    (lambda record: set_at(record, ["tasks", "my_benchmark", "laws", "Approach 1", "law", "alpha"], None),
     (f"{LAWS}.Approach 1.law.alpha: must be a number; got None",)),
    (lambda record: set_at(record, ["tasks", "my_benchmark", "laws", "Approach 2", "law", "theta1"], "2.0"),
     (f"{LAWS}.Approach 2.law.theta1: must be a number; got '2.0'",)),
    (lambda record: drop_at(record, ["tasks", "my_benchmark", "laws", "Approach 2"]),
     (f"{LAWS}: no 'Approach 2' law",)),
    (lambda record: set_at(record, ["tasks", "my_benchmark", "fitted_range", "N"], [1e9, 1e6]),
     ("tasks.my_benchmark.fitted_range.N: must be [low, high] with 0 < low <= high; got [1000000000.0, 1000000.0]",)),
    (lambda record: set_at(record, ["tasks"], {}), ("tasks: no fitted task",)),
    (lambda record: set_at(record, ["tasks", "my_benchmark", "laws", "Approach 1", "law", "E"], -1.0),
     (f"{LAWS}.Approach 1.law: T2Loss.E must be >= 0; got -1.0",)),
])
def test_malformed_fits_files_are_one_line(fits_file: Path, tmp_path: Path, change, fragments: tuple) -> None:
    broken = tmp_path / "fits.json"
    broken.write_text(json.dumps(change(json.loads(fits_file.read_text()))))
    result = run_cli("plan", "--fits", broken, "--c-train", "1e18", "--c-inf", "1e9")
    assert_one_line_error(result, str(broken), *fragments, folder=tmp_path)


def set_at(record: dict, keys: list[str], value: object) -> dict:
    node = record
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return record


def drop_at(record: dict, keys: list[str]) -> dict:
    node = record
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]
    return record


# --- Arguments ----------------------------------------------------------------------------------

def test_arguments_are_named_with_their_values(fits_file: Path, tmp_path: Path) -> None:
    assert_one_line_error(run_cli("plan", "--fits", fits_file, "--c-train", "1e18", "--c-inf", "1"),
                          "--c-inf 1: too small for one sample of the smallest model searched")
    assert_one_line_error(run_cli("plan", "--fits", fits_file, "--c-train", "1e18", "1e18", "--c-inf", "1e9"),
                          "--c-train: 1e+18 is given twice")
    assert_one_line_error(run_cli("plan", "--fits", fits_file, "--c-train", "1e18", "--c-inf", "1e9", "--tasks",
                                  "my_benchmark,my_benchmark"), "task 'my_benchmark' is named twice")
    assert_one_line_error(run_cli("fit", fits_file, "--out", tmp_path / "x.json"), str(fits_file),
                          "is a file; a suite is a folder")
    assert_one_line_error(run_cli("plan", "--fits", fits_file, "--c-train", "1e18", "--c-inf", "1e9",
                                  "--resamples", "-2"), "argument --resamples: must be a whole number >= 0; got '-2'")
    sizes = tmp_path / "sizes.csv"
    sizes.write_text("params\n")
    suite = fits_file.parent / "suite"
    assert_one_line_error(run_cli("forecast", suite, "--out", tmp_path / "f.json", "--sizes", sizes),
                          str(sizes), "no rows below the header", folder=tmp_path)


def test_a_task_with_too_few_questions_is_not_fitted(tmp_path: Path) -> None:
    suite = t2lib.load_suite(write_user_suite(ONE_TASK, tmp_path / "suite"))
    one = suite.nll[suite.nll["question"] == 0]
    small = t2lib.write_suite(tmp_path / "one_question", suite.checkpoints, one,
                              suite.tasks.assign(n_questions=1))
    assert_one_line_error(run_cli("fit", small, "--out", tmp_path / "fits.json"),
                          "task 'my_benchmark' has 1 question; a law needs at least 20 per task", folder=tmp_path)


# --- The fit-quality gate -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def degenerate_fits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first miniature suite's spatial task, whose laws the gate calls degenerate."""
    out = tmp_path_factory.mktemp("degenerate") / "fits.json"
    result = run_cli("fit", REPO_ROOT / "data/real/t2mini", "--tasks", "t2mini_spatial", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "degenerate" in result.stdout and "plan and forecast refuse them unless --allow-degenerate" in result.stdout
    return out


def test_plan_refuses_a_degenerate_law_with_why_and_what_would_fix_it(degenerate_fits: Path) -> None:
    result = run_cli("plan", "--fits", degenerate_fits, "--c-train", "2.56e14", "--c-inf", "3.2e6")
    assert_one_line_error(result, str(degenerate_fits), "law of task 't2mini_spatial' is degenerate",
                          "what would fix it:", "--allow-degenerate")


@pytest.mark.parametrize("output", ["--json", "--csv", None])
def test_allowed_degenerate_laws_flag_every_row_they_touch(degenerate_fits: Path, output: str | None) -> None:
    args = ["plan", "--fits", degenerate_fits, "--c-train", "2.56e14", "1e15", "--c-inf", "3.2e6", "--allow-degenerate"]
    result = run_cli(*args, *([output] if output else []))
    assert result.returncode == 0, result.stderr
    if output == "--json":
        rows = json.loads(result.stdout)
        assert len(rows) == 8 and all("degenerate fit:" in row["flags"] for row in rows)
    elif output == "--csv":
        rows = pd.read_csv(pd.io.common.StringIO(result.stdout))
        assert len(rows) == 8 and rows["flags"].str.contains("degenerate fit:").all()
    else:
        table = result.stdout.split("\n\n")[0].splitlines()[2:]
        notes = [line for line in result.stdout.splitlines() if line.startswith("[") and "degenerate fit:" in line]
        numbers = {line.split("]")[0].strip("[") for line in notes}
        assert len(table) == 8 and all(numbers & set(line.split()[-1].split(",")) or
                                       numbers & {n.strip(",") for n in line.split()} for line in table)
        assert "(rests on a degenerate fit)" in result.stdout


# --- Plans a non-expert can read ----------------------------------------------------------------

def test_the_text_plan_has_units_whole_samples_size_labels_and_bands(tmp_path: Path) -> None:
    suite = write_user_suite(ONE_TASK, tmp_path / "suite")
    result = run_cli("plan", "--suite", suite, "--c-train", "1e18", "--c-inf", "2.1e9", "--resamples", "3",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "C_inf = 2.1×10⁹ FLOPs per token" in text and "N params" in text and "k samples" in text
    assert "C_train: training budget, FLOPs (6·N·D)" in text and "Approach 2: the N that maximises" in text
    assert "[low, high]: the 90% bootstrap band" in text
    first = text.splitlines()[2]
    assert re.search(r" \d+(\.\d+)?M \[\d+(\.\d+)?M, \d+(\.\d+)?M\] ", first), first  # N: "29.1M [27.7M, 32.3M]"
    assert re.search(r" \d+ \[\d+, \d+\] ", first), first  # k in whole samples: "36 [32, 37]"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["suite"]  # nothing written where it ran


def test_forecast_prints_its_budgets_and_prices_the_snapped_chinchilla_choice(fits_file: Path, tmp_path: Path) -> None:
    suite = fits_file.parent / "suite"
    saved = load_fits(fits_file)
    c_train = 4 * t2lib.load_suite(suite).checkpoints["train_flops"].max()
    law_choice = chinchilla_size(saved, float(f"{c_train:.3g}"))
    sizes = tmp_path / "sizes.csv"
    sizes.write_text(f"params\n{law_choice * 0.8:.0f}\n{law_choice * 0.05:.0f}\n")  # the nearest is smaller
    result = run_cli("forecast", suite, "--out", tmp_path / "f.json", "--sizes", sizes, "--resamples", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("C_train = ") and "C_inf = " in result.stdout.splitlines()[0]
    rows = pd.DataFrame(json.loads((tmp_path / "f.json").read_text())["rows"])
    chinchilla = rows[rows["approach"] == "chinchilla"]
    assert len(chinchilla) == 2 and chinchilla["value"].notna().all()
    assert chinchilla["N"].tolist() == [round(law_choice * 0.8)] * 2
    assert chinchilla["flags"].str.contains("snapped to the nearest trainable size").all()
    assert scratch_files(tmp_path) == []


def test_a_refused_forecast_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "f.fits.json").write_text("an earlier forecast's fits")
    result = run_cli("forecast", REPO_ROOT / "data/real/t2mini", "--tasks", "t2mini_spatial", "--out", tmp_path / "f.json",
                     "--resamples", "0", "--replace")
    assert_one_line_error(result, "data/real/t2mini: the", "is degenerate", folder=tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["f.fits.json"]
    assert (tmp_path / "f.fits.json").read_text() == "an earlier forecast's fits"


def test_a_task_with_too_few_checkpoints_is_named_with_the_remedy(tmp_path: Path) -> None:
    few = next(spec for spec in USER_SUITES if spec.name == "few_cells")
    suite = write_user_suite(few, tmp_path / "suite")
    assert_one_line_error(run_cli("fit", suite, "--out", tmp_path / "fits.json"), "task 'qa_alpha' (base checkpoints)",
                          "too few points to fit: 6, and this law needs at least 7", "add checkpoints",
                          folder=tmp_path)
    assert not (tmp_path / "fits.json").exists()



def test_a_forecast_is_never_written_over_unasked(fits_file: Path, tmp_path: Path) -> None:
    suite = fits_file.parent / "suite"
    notes = tmp_path / "notes.json"
    notes.write_text("{}")
    assert_one_line_error(run_cli("forecast", suite, "--out", notes, "--resamples", "0"), f"{notes} exists",
                          "a forecast is written once", "--replace", folder=tmp_path)
    assert_one_line_error(run_cli("forecast", suite, "--out", notes, "--resamples", "0", "--replace"), str(notes),
                          "not a t2lib forecast", folder=tmp_path)
    assert notes.read_text() == "{}"
    first = run_cli("forecast", suite, "--out", tmp_path / "f.json", "--resamples", "0")
    assert first.returncode == 0, first.stderr
    assert_one_line_error(run_cli("forecast", suite, "--out", tmp_path / "f.json", "--resamples", "0"), "exists")
    assert run_cli("forecast", suite, "--out", tmp_path / "f.json", "--resamples", "0", "--replace").returncode == 0
