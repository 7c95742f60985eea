"""The loaders of the public overtrained suites (data/real/sardana2024, data/real/gadre2024,
data/real/olmo-ladder) reject malformed copies with errors naming the file, the column or key and the bad value, and
the analysis of the "Real overtrained models" part recovers what was planted."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib.book.report import real_data_note
from t2lib.data.gadre import load_gadre_baselines, load_gadre_runs, load_published_errors, published_fit_set
from t2lib.data.olmo_ladder import load_olmo_runs, task_label, task_summaries
from t2lib.data.sardana import load_sardana_runs
from t2lib.data.tablecheck import DataFileError
from t2lib.laws import overtraining as ot
from t2lib.laws.fit import fit_chinchilla, fit_chinchilla_tied
from t2lib.laws.frontier import frontier
from t2lib.laws.laws import Chinchilla
from t2lib.laws.passk import beta_from_mean_and_log_mean, pass_at_k_range_from_mean

REPO_ROOT = Path(__file__).resolve().parent.parent
SARDANA = REPO_ROOT / "data" / "real" / "sardana2024"
GADRE = REPO_ROOT / "data" / "real" / "gadre2024"


def _rejects_one_broken_cell(source: Path, loader, tmp_path: Path, column: str, row: int, value: str,
                             expected: str) -> None:
    """A copy of `source` with one cell changed fails to load, naming the copy and `expected`."""
    frame = pd.read_csv(source, dtype=str)
    frame.loc[row, column] = value
    broken = tmp_path / source.name
    frame.to_csv(broken, index=False)
    with pytest.raises(DataFileError) as error:
        loader(broken)
    assert str(error.value).startswith(f"{broken}: {expected}")


def test_the_sardana_copy_loads_whole() -> None:
    runs = load_sardana_runs(SARDANA / "trainingresults.csv")
    assert len(runs) == 47 and runs["tokens_per_param"].max() == 10_000
    assert runs.groupby("size_label").size().to_dict() == {"150M": 12, "370M": 10, "750M": 9, "1.3B": 8, "2.5B": 7,
                                                          "6B": 1}


@pytest.mark.parametrize(("column", "row", "value", "expected"), [
    ("Smoothed Loss", 3, "abc", "column 'loss', line 5: must be a number; got 'abc'"),
    ("Smoothed Loss", 5, "-1", "column 'loss', line 7: must be > 0; got -1.0"),
    ("Parameters", 0, "", "column 'params', line 2: must be a finite number; got nan"),
    ("Tokens/Params", 2, "30", "column 'tokens_per_param', line 4: must equal Tokens / Parameters within 1%"),
    ("eval_gauntlet/core_average", 7, "1.5", "column 'core_average', line 9: must lie in [-1, 1]; got 1.5"),
    ("mmlu_5_shot_avg", 1, "-0.1", "column 'mmlu_5_shot', line 3: must lie in [0, 1]; got -0.1"),
])
def test_a_broken_sardana_file_is_rejected_by_name(tmp_path: Path, column: str, row: int, value: str,
                                                   expected: str) -> None:
    _rejects_one_broken_cell(SARDANA / "trainingresults.csv", load_sardana_runs, tmp_path, column, row, value, expected)


def test_sardana_missing_columns_files_and_duplicates_are_named(tmp_path: Path) -> None:
    frame = pd.read_csv(SARDANA / "trainingresults.csv", dtype=str)
    frame.drop(columns="Tokens").to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataFileError, match="missing column 'Tokens'"):
        load_sardana_runs(tmp_path / "a.csv")
    pd.concat([frame, frame.iloc[[4]]]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataFileError, match="column 'tokens', line 49: duplicate run"):
        load_sardana_runs(tmp_path / "b.csv")
    with pytest.raises(DataFileError, match="missing"):
        load_sardana_runs(tmp_path / "absent.csv")


def test_the_gadre_copy_loads_whole() -> None:
    runs = load_gadre_runs(GADRE)
    assert len(runs) == 104 and runs["dataset"].value_counts().to_dict() == {"rpj": 35, "rw_original": 35,
                                                                            "c4_original": 34}
    assert sum(c.startswith("loss_") for c in runs.columns) == 8 and sum(c.startswith("acc_") for c in runs.columns) == 46
    np.testing.assert_allclose(runs["tokens_per_param"], 20 * runs["chinchilla_multiplier"], rtol=1e-3)
    baselines = load_gadre_baselines(GADRE)
    assert {c[4:] for c in runs.columns if c.startswith("acc_")} <= set(baselines["task"])


def _gadre_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "gadre"
    shutil.copytree(GADRE, copy)
    return copy


def _edit(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


RUN = "rpj-d=576_l=24_h=8-0.5"


@pytest.mark.parametrize(("where", "change", "expected"), [
    ("models", lambda r: r["hyperparameters"].pop("tokens"), "missing key 'hyperparameters.tokens'"),
    ("models", lambda r: r["hyperparameters"].update(params=-5), "'hyperparameters.params' must be a finite number > 0; got -5"),
    ("models", lambda r: r["results"][2].update(loss="nan"), "'results[2].loss' must be a finite number > 0; got 'nan'"),
    ("models", lambda r: r.update(name="other"), "'name' must match the file name"),
    ("models", lambda r: r.update(dataset_name="pile"), "'dataset_name' must be one of c4_original, rpj, rw_original; got 'pile'"),
    ("evals", lambda r: r["eval_metrics"]["icl"].update(arc_easy=1.2),
     "'eval_metrics.icl.arc_easy' must be a finite number >= 0 and <= 1; got 1.2"),
    ("evals", lambda r: r["eval_metrics"]["icl"].pop("copa"), "reports a different set of losses or tasks"),
])
def test_a_broken_gadre_run_is_rejected_by_name(tmp_path: Path, where: str, change, expected: str) -> None:
    copy = _gadre_copy(tmp_path)
    path = copy / "models" / f"{RUN}.json" if where == "models" else copy / "evals" / f"evaluation_{RUN}_heavy.json"
    _edit(path, change)
    with pytest.raises(DataFileError) as error:
        load_gadre_runs(copy)
    assert expected in str(error.value)
    assert str(error.value).startswith(str(copy))


def test_gadre_truncated_json_missing_eval_and_bad_baseline_are_named(tmp_path: Path) -> None:
    copy = _gadre_copy(tmp_path)
    model = copy / "models" / f"{RUN}.json"
    model.write_text(model.read_text()[:200])
    with pytest.raises(DataFileError, match=rf"{RUN}.json: line \d+: malformed JSON"):
        load_gadre_runs(copy)
    shutil.copy(GADRE / "models" / f"{RUN}.json", model)
    (copy / "evals" / f"evaluation_{RUN}_heavy.json").unlink()
    with pytest.raises(DataFileError, match=f"evaluation_{RUN}_heavy.json: missing"):
        load_gadre_runs(copy)
    metadata = pd.read_csv(copy / "eval_metadata.csv")
    metadata.loc[3, "Random baseline"] = 250
    metadata.to_csv(copy / "eval_metadata.csv", index=False)
    with pytest.raises(DataFileError, match=r"column 'Random baseline', line 5: must lie in \[0, 100\]; got 250"):
        load_gadre_baselines(copy)


def test_the_published_gadre_loss_errors_are_reproduced_with_their_law_and_fit_set() -> None:
    runs = load_gadre_runs(GADRE)
    for _, target in load_published_errors(GADRE).query("quantity == 'C4 eval loss'").iterrows():
        fit_set = published_fit_set(runs, target["dataset"])
        tied = fit_chinchilla_tied(fit_set["params"], fit_set["tokens"], fit_set["loss_c4_val"])
        run = runs[(runs["dataset"] == target["dataset"]) & (runs["params"] == target["params"])
                   & np.isclose(runs["tokens_per_param"], target["tokens_per_param"], rtol=1e-3)].iloc[0]
        error = 100 * abs(tied.law.loss(run["params"], run["tokens"]) / run["loss_c4_val"] - 1)
        assert tied.converged and error == pytest.approx(target["relative_error_percent"], abs=0.005)


def test_tied_fit_recovers_a_planted_law() -> None:
    planted = Chinchilla(E=1.7, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    N = np.array([1e7, 3e7, 1e8, 3e8, 1e9, 1e7, 1e8])
    D = N * np.array([20, 20, 20, 20, 20, 300, 80])
    result = fit_chinchilla_tied(N, D, planted.loss(N, D))
    assert result.converged
    for name in ("E", "A", "B", "alpha", "beta"):
        assert getattr(result.law, name) == pytest.approx(getattr(planted, name), rel=1e-4)
    with pytest.raises(ValueError, match="too few points"):
        fit_chinchilla_tied(N[:4], D[:4], planted.loss(N[:4], D[:4]))


def _planted_runs(law: Chinchilla) -> pd.DataFrame:
    N = np.repeat([1e8, 3e8, 1e9], 6)
    ratio = np.tile([10, 20, 50, 100, 1000, 10000], 3).astype(float)
    return pd.DataFrame({"params": N, "tokens": N * ratio, "tokens_per_param": ratio, "loss": law.loss(N, N * ratio)})


def test_extrapolation_of_a_law_that_holds_everywhere_has_no_error() -> None:
    planted = Chinchilla(E=1.8, A=400.0, B=1200.0, alpha=0.34, beta=0.28)
    runs = _planted_runs(planted)
    fit = ot.fit_up_to(runs, 100)
    assert fit.n_points == 12
    errors = ot.extrapolation_errors(runs, fit.law, 100)
    assert errors["held_out"].sum() == 6 and np.abs(errors["relative_error"]).max() < 1e-6
    table = ot.errors_by_ratio(errors)
    assert table.loc[table["held_out"], "tokens_per_param"].tolist() == [1000.0, 10000.0]
    with pytest.raises(ValueError, match="no run has at most 5 tokens per parameter"):
        ot.fit_up_to(runs, 5)


def test_a_law_that_overestimates_long_runs_gives_negative_errors() -> None:
    planted = Chinchilla(E=1.8, A=400.0, B=1200.0, alpha=0.34, beta=0.28)
    runs = _planted_runs(planted)
    runs["loss"] += 0.02 * np.log10(runs["tokens_per_param"] / 100).clip(0)  # long runs do worse than the law
    errors = ot.extrapolation_errors(runs, ot.fit_up_to(runs, 100).law, 100)
    assert (errors.loc[errors["held_out"], "relative_error"] < 0).all()
    sensitivity = ot.cutoff_sensitivity(runs, [50, 100])
    assert list(sensitivity["held_out_runs"]) == [9, 6]
    assert (sensitivity["error_at_most_overtrained_pct"] < 0).all()


def test_centred_accuracy_and_trends() -> None:
    np.testing.assert_allclose(ot.centred_accuracy([0.25, 0.625, 1.0], [0.25, 0.25, 0.25]), [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="baseline"):
        ot.centred_accuracy([0.5], [1.0])
    runs = pd.DataFrame({"params": [1, 1, 1, 2, 2], "tokens_per_param": [10, 100, 1000, 10, 100],
                         "score": [0.1, 0.2, 0.25, 0.3, 0.2]})
    trend = ot.trend_with_overtraining(runs, "score").set_index("params")
    assert trend.loc[1, "rises"] == 2 and trend.loc[1, "change_per_decade"] == pytest.approx(0.075)
    assert trend.loc[2, "rises"] == 0 and trend.loc[2, "score_last"] == 0.2
    baselines = pd.DataFrame({"task": ["a", "b"], "random_baseline": [0.5, 0.0]})
    frame = pd.DataFrame({"acc_a": [0.75], "acc_b": [0.5]})
    assert ot.mean_centred_accuracy(frame, baselines, ["a", "b"]).iloc[0] == pytest.approx(0.5)
    with pytest.raises(KeyError, match="'c'"):
        ot.mean_centred_accuracy(frame, baselines, ["c"])


def test_t2_optima_do_not_depend_on_the_floor_and_flag_runs_outside() -> None:
    law = Chinchilla(E=1.8, A=400.0, B=1200.0, alpha=0.34, beta=0.28)
    shifted = Chinchilla(E=2.8, A=400.0, B=1200.0, alpha=0.34, beta=0.28)
    optima = ot.t2_optima({"a": law, "b": shifted}, [1.0], [0.3], [1e20, 1e21], 1e11)
    a, b = optima[optima["surface"] == "a"], optima[optima["surface"] == "b"]
    np.testing.assert_allclose(a["N"].to_numpy(), b["N"].to_numpy(), rtol=1e-6)  # the search's tolerance
    np.testing.assert_allclose(a["chinchilla_tokens_per_param"], frontier(law, [1e20, 1e21])["tokens_per_param"])
    runs = pd.DataFrame({"params": [1e8, 1e9], "tokens_per_param": [10.0, 100.0]})
    flags = ot.outside_runs(pd.DataFrame({"N": [5e7, 5e8, 2e9], "tokens_per_param": [50.0, 500.0, 5.0]}), runs)
    assert flags.tolist() == ["N < 10⁸", "D/N > 100", "N > 10⁹"]


def test_real_data_note_names_source_license_and_checksum(tmp_path: Path) -> None:
    note = real_data_note(SARDANA)
    assert "**real**" in note and "LICENSE" in note and "Sardana et al. 2024" in note
    (tmp_path / "SOURCE.md").write_text("# x\n")
    with pytest.raises(FileNotFoundError, match="license"):
        real_data_note(tmp_path)


OLMO = REPO_ROOT / "data" / "real" / "olmo-ladder" / "olmo_ladder_final_checkpoints.csv"


def test_the_olmo_copy_loads_whole() -> None:
    runs = load_olmo_runs(OLMO)
    assert len(runs) == 32 and runs["target"].sum() == 2 and runs["is_rerun"].sum() == 5
    assert set(runs.loc[runs["target"], "run"]) == {"peteish7_eval_anneal", "peteish13_eval_final"}
    summaries = task_summaries(runs)
    assert summaries["task"].nunique() == 20 and len(summaries) == 32 * 20
    assert (summaries["soft_log"] <= np.log(summaries["soft"])).all()
    labels = summaries["task"].map(task_label)
    assert labels.nunique() == 20 and not labels.str.contains("_").any()  # every task named for readers
    assert task_label("mmlu_social_sciences_val") == "MMLU social sciences (val)" and task_label("new_task") == "new_task"


@pytest.mark.parametrize(("column", "row", "value", "expected"), [
    ("N", 4, "0", "column 'N', line 6: must be > 0; got 0.0"),
    ("tokens_per_param", 2, "55", "column 'tokens_per_param', line 4: must equal tokens / N within 1%"),
    ("is_rerun", 1, "maybe", "column 'is_rerun', line 3: must be True or False; got 'maybe'"),
    ("eval/downstream_soft/piqa_val_rc_5shot_soft", 6, "1.5",
     "column 'eval/downstream_soft/piqa_val_rc_5shot_soft', line 8: must lie in [0, 1]; got 1.5"),
    ("eval/downstream_soft/piqa_val_rc_5shot_soft", 2, "0",
     "column 'eval/downstream_soft/piqa_val_rc_5shot_soft', line 4: must be > 0 (its mean log is finite); got 0.0"),
    ("eval/downstream_soft_log/piqa_val_rc_5shot_soft_log", 3, "-0.01",
     "column 'eval/downstream_soft_log/piqa_val_rc_5shot_soft_log', line 5: must not exceed log of"),
])
def test_a_broken_olmo_file_is_rejected_by_name(tmp_path: Path, column: str, row: int, value: str,
                                                expected: str) -> None:
    _rejects_one_broken_cell(OLMO, load_olmo_runs, tmp_path, column, row, value, expected)


def test_pass_at_k_range_from_a_mean_is_reached_at_both_ends() -> None:
    low, high = pass_at_k_range_from_mean(0.3, [1.0, 4.0, 64.0])
    np.testing.assert_allclose(low, 0.3)
    identical = 1 - (1 - 0.3) ** np.array([1.0, 4.0, 64.0])
    np.testing.assert_allclose(high, identical, rtol=1e-12)
    all_or_nothing = np.array([1.0] * 3 + [0.0] * 7)
    assert np.mean(1 - (1 - all_or_nothing) ** 64) == pytest.approx(low[2])
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 1.2, 200_000)
    for k, lo, hi in zip([1.0, 4.0, 64.0], *pass_at_k_range_from_mean(p.mean(), [1.0, 4.0, 64.0])):
        assert lo - 1e-12 <= np.mean(1 - (1 - p) ** k) <= hi + 1e-12


def test_the_beta_matched_to_mean_and_mean_log_recovers_a_planted_beta() -> None:
    from scipy.special import digamma

    for a, b in ((0.4, 2.0), (10.9, 20.5), (3.0, 0.7)):
        mean_log = digamma(a) - digamma(a + b)
        fitted = beta_from_mean_and_log_mean(a / (a + b), mean_log)
        np.testing.assert_allclose(fitted, (a, b), rtol=1e-8)
    with pytest.raises(ValueError, match="Jensen"):
        beta_from_mean_and_log_mean(0.3, np.log(0.3) + 0.01)


def test_fit_and_predict_is_exact_for_a_law_that_holds() -> None:
    planted = Chinchilla(E=0.6, A=400.0, B=60.0, alpha=0.38, beta=0.21)
    N = np.repeat([2e8, 4e8, 8e8, 1.6e9, 3.2e9], 5)
    ratio = np.tile([10.0, 20.0, 40.0, 100.0, 200.0], 5)
    ladder = pd.DataFrame({"run": [f"r{i}" for i in range(25)], "params": N, "tokens": N * ratio,
                           "tokens_per_param": ratio, "task": planted.loss(N, N * ratio)})
    targets = pd.DataFrame({"run": ["7B"], "params": [7e9], "tokens": [4e12], "tokens_per_param": [4e12 / 7e9],
                            "task": planted.loss(7e9, 4e12)})
    result = ot.fit_and_predict(ladder, targets, ["task"])
    assert result["status"].iloc[0] == "converged" and abs(result["relative_error"].iloc[0]) < 1e-6


def test_fit_diagnostics_report_residuals_and_held_out_error() -> None:
    planted = Chinchilla(E=1.8, A=400.0, B=1200.0, alpha=0.34, beta=0.28)
    runs = _planted_runs(planted)
    fit = ot.fit_up_to(runs, 100)
    row = ot.fit_diagnostics("planted", fit, ot.extrapolation_errors(runs, fit.law, 100))
    assert row["runs fitted"] == 12 and row["held-out runs"] == 6
    assert row["in-fit RMS error (%)"] < 1e-4 and abs(row["held-out mean error (%)"]) < 1e-4
    everything = ot.fit_diagnostics("all", fit, ot.extrapolation_errors(runs, fit.law, 10_000))
    assert everything["held-out runs"] == 0 and everything["held-out mean error (%)"] is None
