"""Suites at several seeds: averaging recovers planted probabilities, the spread is the seeds' SD,
and a step to more data counts as a fall only beyond two seed SDs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib.data.seeds import (has_seeds, learnt_cells, runs_as_checkpoints, seed_averaged, seed_spread,
                              steps_to_more_data)
from t2lib.data.suite import SuiteError, load_suite, write_suite
from t2lib.data.training import readiness
from t2lib.laws.analysis import measure

# Two cells of one size (D = 1e6, then 4e6), two seeds each; per seed, two questions of one task.
PROBABILITIES = {("small", 0): [0.2, 0.4], ("small", 1): [0.4, 0.6], ("long", 0): [0.1, 0.3], ("long", 1): [0.1, 0.3]}


def seeded_suite(tmp_path: Path, probabilities=PROBABILITIES) -> Path:
    tokens = {"small": 1e6, "long": 4e6}
    names = {(cell, seed): cell if seed == 0 else f"{cell}-s{seed}" for cell, seed in probabilities}
    checkpoints = pd.DataFrame([{"checkpoint": names[cell, seed], "params": 1e4, "tokens": tokens[cell],
                                 "train_flops": 6e4 * tokens[cell], "source": "t2mini-v2", "stage": "base",
                                 "base_checkpoint": "", "cell": cell, "seed": seed} for cell, seed in probabilities])
    nll = pd.DataFrame([{"checkpoint": names[key], "task": "t", "question": q, "nll": -np.log(p)}
                        for key, ps in probabilities.items() for q, p in enumerate(ps)])
    return write_suite(tmp_path / "suite", checkpoints, nll)


def test_the_seed_average_is_the_mean_probability_per_question(tmp_path: Path) -> None:
    suite = load_suite(seeded_suite(tmp_path))
    assert has_seeds(suite)
    averaged = seed_averaged(suite)
    assert list(averaged.checkpoints["checkpoint"]) == ["small", "long"]
    assert list(averaged.checkpoints["seeds"]) == [2, 2] and "seed" not in averaged.checkpoints
    np.testing.assert_allclose(np.exp(-averaged.task_nll("small", "t")), [0.3, 0.5])
    assert averaged.sha256 != suite.sha256


def test_the_spread_is_the_sd_over_seeds_of_pass_at_1(tmp_path: Path) -> None:
    spread = seed_spread(load_suite(seeded_suite(tmp_path))).set_index("cell")
    assert spread.loc["small", "mean"] == pytest.approx(0.4) and spread.loc["small", "sd"] == pytest.approx(np.sqrt(0.02))
    assert spread.loc["long", "sd"] == pytest.approx(0.0) and (spread["seeds"] == 2).all()


@pytest.mark.parametrize(("long", "falls"), [([0.1, 0.3], True), ([0.3, 0.4], False)])
def test_a_step_to_more_data_falls_only_beyond_two_seed_sds(tmp_path: Path, long: list, falls: bool) -> None:
    planted = {**PROBABILITIES, ("long", 0): long, ("long", 1): long}
    steps = steps_to_more_data(load_suite(seeded_suite(tmp_path, planted)))
    assert len(steps) == 1 and steps.loc[0, "from_cell"] == "small" and steps.loc[0, "to_tokens_per_param"] == 400
    assert steps.loc[0, "seed_sd"] == pytest.approx(np.sqrt(0.01)) and bool(steps.loc[0, "falls"]) is falls


def test_a_suite_without_seeds_is_averaged_as_it_is_and_has_no_spread(tmp_path: Path) -> None:
    suite = load_suite(seeded_suite(tmp_path))
    plain = load_suite(write_suite(tmp_path / "plain", suite.checkpoints.drop(columns=["cell", "seed"]), suite.nll))
    assert seed_averaged(plain) is plain
    with pytest.raises(SuiteError, match="no 'cell' and 'seed' columns"):
        seed_spread(plain)


@pytest.mark.parametrize(("guess", "learnt"), [(0.01, True), (0.2, False)])
def test_a_step_between_cells_at_the_guessing_level_is_marked_as_learning_nothing(
        tmp_path: Path, guess: float, learnt: bool) -> None:
    suite = load_suite(seeded_suite(tmp_path))
    tasks = pd.DataFrame({"task": ["t"], "display_name": ["T"], "group": ["synthetic"], "n_questions": [2],
                          "source": ["planted"], "guess": [guess]})
    with_guess = load_suite(write_suite(tmp_path / "guessed", suite.checkpoints, suite.nll, tasks))
    steps = steps_to_more_data(with_guess)
    assert bool(steps.loc[0, "learnt"]) is learnt  # the cells score 0.4 and 0.2: above 3 × 0.01, not above 3 × 0.2
    assert bool(steps_to_more_data(suite).loc[0, "learnt"])  # no guess recorded: nothing is set apart


@pytest.mark.parametrize(("guess", "long", "met"), [
    (1e-6, [0.3, 0.4], [True, True, True]),   # unguessable, seeded, no fall
    (1e-3, [0.1, 0.3], [False, True, False]),  # guessing's pass@1000 is 63%; the step falls beyond 2 SDs
])
def test_testability_measures_the_three_requirements(tmp_path: Path, guess: float, long: list, met: list) -> None:
    planted = {**PROBABILITIES, ("long", 0): long, ("long", 1): long}
    suite = load_suite(seeded_suite(tmp_path, planted))
    tasks = pd.DataFrame({"task": ["t"], "display_name": ["T"], "group": ["synthetic"], "n_questions": [2],
                          "source": ["planted"], "guess": [guess]})
    checks = readiness(load_suite(write_suite(tmp_path / "guessed", suite.checkpoints, suite.nll, tasks)))
    assert list(checks["met"]) == met
    assert checks.loc[1, "measured"] == "2 at the fewest"


def test_testability_says_what_a_single_seed_suite_cannot_show(tmp_path: Path) -> None:
    suite = load_suite(seeded_suite(tmp_path))
    plain = load_suite(write_suite(tmp_path / "plain", suite.checkpoints[suite.checkpoints["seed"] == 0]
                                   .drop(columns=["cell", "seed"]), suite.nll[~suite.nll["checkpoint"].str.endswith("-s1")]))
    checks = readiness(plain)
    assert list(checks["met"]) == [None, False, None]
    assert "no guess probability" in checks.loc[0, "measured"] and checks.loc[1, "measured"] == "1 at the fewest"
    assert checks.loc[2, "measured"] == "not measurable with one seed; 1 of 1 steps lower pass@1 at all"


def test_every_measurement_of_a_seeded_suite_is_of_its_cells(tmp_path: Path) -> None:
    suite = load_suite(seeded_suite(tmp_path))
    measured = measure(suite, "t", ks=[1.0, 2.0])
    assert list(measured.checkpoints["checkpoint"]) == ["long", "small"]
    np.testing.assert_allclose(measured.pass_at_k[:, 0], [0.2, 0.4])  # the seeds' mean probability, per cell
    assert seed_averaged(suite) is not suite and seed_averaged(suite).checkpoints is seed_averaged(suite).checkpoints


def test_testability_of_returns_needs_a_step_between_cells_that_learnt_something(tmp_path: Path) -> None:
    suite = load_suite(seeded_suite(tmp_path))
    tasks = pd.DataFrame({"task": ["t"], "display_name": ["T"], "group": ["synthetic"], "n_questions": [2],
                          "source": ["planted"], "guess": [0.2]})  # every cell within 3x guessing
    checks = readiness(load_suite(write_suite(tmp_path / "guessed", suite.checkpoints, suite.nll, tasks)))
    assert checks.loc[2, "met"] is None
    assert checks.loc[2, "measured"].startswith("not measurable: no step is between cells above 3× guessing")


def test_the_progress_of_a_seeded_grid_is_said_until_every_cell_is_in(tmp_path: Path) -> None:
    from t2lib.data.training import grid_progress

    folder = seeded_suite(tmp_path)
    suite = load_suite(folder)
    assert grid_progress(suite) == ""  # no plan kept
    (folder / "grid.csv").write_text("cell,seeds\nsmall,2\nlong,2\nlarger,3\n")
    assert grid_progress(suite).startswith("In progress: 4 of 7 planned runs are trained, 2 of the grid's 3 cells")
    (folder / "grid.csv").write_text("cell,seeds\nsmall,2\nlong,2\n")
    assert grid_progress(suite) == ""


def with_post_training(folder: Path, runs: list[str], stages=("ft", "sft")) -> Path:
    """The seeded suite in `folder` with `runs` post-trained at `stages` (their NLLs their base's)."""
    suite = load_suite(folder)
    base = suite.checkpoints.set_index("checkpoint")
    tuned = pd.DataFrame([{**base.loc[run].to_dict(), "checkpoint": f"{run}-{stage}", "stage": stage,
                           "base_checkpoint": run, "cell": f"{base.loc[run, 'cell']}-{stage}"}
                          for stage in stages for run in runs])
    nll = [suite.nll] + [suite.nll[suite.nll["checkpoint"] == run].assign(checkpoint=f"{run}-{stage}")
                         for stage in stages for run in runs]
    out = write_suite(folder.parent / f"tuned-{len(runs)}-{'-'.join(stages)}", pd.concat([suite.checkpoints, tuned], ignore_index=True),
                      pd.concat(nll, ignore_index=True))
    (out / "grid.csv").write_text("cell,seeds\nsmall,2\nlong,2\n")
    return out


def test_the_progress_of_post_training_is_said_until_every_run_has_every_stage(tmp_path: Path) -> None:
    from t2lib.book.requirements import suite_beside
    from t2lib.data.training import post_training_progress

    folder = seeded_suite(tmp_path)
    partial = load_suite(with_post_training(folder, ["small", "small-s1"]))
    assert post_training_progress(partial) == ("its post-training has begun: 2 of its 4 runs (1 cell) are "
                                               "post-trained at every stage (ft, sft); the others wait")
    beside = suite_beside("post_training", str(partial.path), c_train=None, c_inf=None)
    assert beside.settings is None and beside.reason.endswith(
        f"yet: {post_training_progress(partial)}; it does when every such run is.")
    # At one training budget: the small cell's runs (6e10 FLOPs) are all post-trained, the long cell's are not.
    assert post_training_progress(partial, 6e10) == ""
    assert post_training_progress(partial, 2.4e11) == (
        "its post-training has begun: 0 of its 2 runs trained with 2.4e+11 FLOPs (0 cells) are post-trained at "
        "every stage (ft, sft); the others wait")
    assert post_training_progress(load_suite(with_post_training(folder, ["small", "small-s1"], ("ft",)))) != ""
    all_ft = load_suite(with_post_training(folder, ["small", "small-s1", "long", "long-s1"], ("ft",)))
    one_sft = write_suite(Path(all_ft.path).parent / "one-sft", pd.concat(
        [all_ft.checkpoints, all_ft.checkpoints[all_ft.checkpoints["checkpoint"] == "small-ft"].assign(
            checkpoint="small-sft", stage="sft", cell="small-sft")], ignore_index=True),
        pd.concat([all_ft.nll, all_ft.nll[all_ft.nll["checkpoint"] == "small-ft"].assign(checkpoint="small-sft")],
                  ignore_index=True))
    (one_sft / "grid.csv").write_text("cell,seeds\nsmall,2\nlong,2\n")
    assert post_training_progress(load_suite(one_sft)) == (  # every run has ft, one has sft too
        "its post-training has begun: 1 of its 4 runs (1 cell) are post-trained at every stage (ft, sft), 3 more at "
        "some; the others wait")
    assert post_training_progress(load_suite(with_post_training(folder, ["small", "small-s1", "long", "long-s1"]))) == ""
    assert post_training_progress(load_suite(with_post_training(folder, []))) == ""  # none post-trained: nothing to say
    (Path(partial.path) / "grid.csv").unlink()
    unplanned = load_suite(partial.path)  # the same partial post-training, but no plan: a user's choice of checkpoints
    assert (unplanned.checkpoints["stage"] == "ft").sum() == 2 and post_training_progress(unplanned) == ""


def test_fine_tunings_are_read_against_the_copy_they_started_from(tmp_path: Path) -> None:
    from t2lib.data.training import COPIES, fine_tuned_bases, retrained_sentence

    tuned = load_suite(with_post_training(seeded_suite(tmp_path), ["small", "small-s1", "long", "long-s1"]))
    assert fine_tuned_bases(tuned) is tuned  # no copies kept: every fine-tuning started from its run
    # Run "small" was trained again on another CPU (validation loss 1.1, not 1.0) and fine-tuned from the copy.
    rows = tuned.checkpoints.assign(validation_loss=[1.0, 1.02, 1.0, 1.03] + [1.1, 1.02, 1.0, 1.03] * 2,
                                    cpu=["A"] * 4 + ["B", "A", "A", "A"] * 2)
    folder = write_suite(tmp_path / "with-copy", rows, tuned.nll)
    copy_nll = tuned.nll[tuned.nll["checkpoint"] == "small"]
    write_suite(folder / COPIES, rows[rows["checkpoint"] == "small"].assign(validation_loss=1.1, cpu="B"),
                copy_nll.assign(nll=copy_nll["nll"] + 0.5))
    suite = load_suite(folder)
    started_from = fine_tuned_bases(suite)
    np.testing.assert_allclose(started_from.task_nll("small", "t"), suite.task_nll("small", "t") + 0.5)
    np.testing.assert_allclose(started_from.task_nll("long", "t"), suite.task_nll("long", "t"))
    assert list(started_from.checkpoints["checkpoint"]) == list(suite.checkpoints["checkpoint"])
    assert started_from.checkpoints.set_index("checkpoint").loc["small", "cpu"] == "B"
    assert started_from.sha256 != suite.sha256  # a cache keyed on the suite never mistakes one for the other
    said = retrained_sentence(suite)
    assert "so 1 of the 4 fine-tuned runs were first trained again" in said and "on B. The copy is what" in said
    assert "by a median of 0.1 nats (at most 0.1), where another seed of the same cell differs by 0.025" in said
    assert retrained_sentence(suite, 2.4e11) == ("Every fine-tuning of a run trained with 2.4e+11 FLOPs starts from "
                                                 "its run's own weights.")


def test_the_fine_tunings_are_set_beside_the_pretraining_the_budgets_count(tmp_path: Path) -> None:
    from t2lib.data.training import fine_tuning_share, fine_tuning_share_sentence

    tuned = load_suite(with_post_training(seeded_suite(tmp_path), ["small", "small-s1", "long", "long-s1"]))
    assert fine_tuning_share(tuned).empty and fine_tuning_share_sentence(tuned) == ""  # no ft_tokens recorded
    rows = tuned.checkpoints.assign(ft_tokens=[None] * 4 + [2e5] * 8)  # small: 1e6 tokens, long: 4e6
    suite = load_suite(write_suite(tmp_path / "with-ft-tokens", rows, tuned.nll))
    assert fine_tuning_share(suite).to_dict() == pytest.approx({"long": 0.05, "long-s1": 0.05, "small": 0.2,
                                                                "small-s1": 0.2})
    assert fine_tuning_share(suite, 2.4e11).to_dict() == pytest.approx({"long": 0.05, "long-s1": 0.05})
    said = fine_tuning_share_sentence(suite)
    assert said.startswith("Each fine-tuning sees 200,000 tokens of question–answer pairs, which the budgets do not "
                           "count")
    assert ("12% of its run's pretraining tokens at the median over the 4 runs, more than a tenth in 2 of them, and "
            "up to 20% (10,000 parameters trained with 6e+10 FLOPs)") in said


@pytest.mark.parametrize(("guess", "learnt"), [(0.1, ["small"]), (0.01, ["small", "long"]), (None, ["small", "long"])])
def test_the_cells_that_learnt_score_above_three_times_guessing(tmp_path: Path, guess: float | None,
                                                                learnt: list) -> None:
    suite = load_suite(seeded_suite(tmp_path))  # seed-mean pass@1: small 0.4, long 0.2
    if guess is not None:
        tasks = pd.DataFrame({"task": ["t"], "display_name": ["T"], "group": ["synthetic"], "n_questions": [2],
                              "source": ["planted"], "guess": [guess]})
        suite = load_suite(write_suite(tmp_path / "guessed", suite.checkpoints, suite.nll, tasks))
    assert sorted(learnt_cells(suite, "t")) == sorted(learnt)


def test_runs_as_checkpoints_keep_every_seed_apart(tmp_path: Path) -> None:
    suite = load_suite(seeded_suite(tmp_path))
    runs = runs_as_checkpoints(suite)
    assert not has_seeds(runs) and runs.sha256 != suite.sha256
    measured = measure(runs, "t", ks=[1.0, 2.0])
    assert sorted(measured.checkpoints["checkpoint"]) == sorted(suite.checkpoints["checkpoint"])
    # Each run its own pass@2 (mean over questions of 1 − (1 − p)²), not that of the pooled probability.
    small = measured.pass_at_k[list(measured.checkpoints["checkpoint"]).index("small"), 1]
    assert small == pytest.approx(np.mean([1 - 0.8 ** 2, 1 - 0.6 ** 2]))
    with pytest.raises(SuiteError, match="no 'cell' and 'seed' columns"):
        runs_as_checkpoints(runs)
