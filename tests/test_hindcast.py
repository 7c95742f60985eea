"""The hindcast: a sweep forecast made from a seeded grid's cells below one of its budget levels
and judged on the cells at that level. The level is the highest whose planned cells are all
trained; the laws see only the cells below it; the Chinchilla choice a planted law makes is
recovered and snapped to the sizes trained at the level."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib.data.suite import load_suite, write_suite
from t2lib.data.training import complete_levels
from t2lib.laws.frontier import frontier
from t2lib.laws.laws import Chinchilla
from t2lib.laws.sweep import below_budget, hindcast, hindcast_level, sizes_of

SIZES = [1e4, 2e4, 4e4, 8e4, 1.6e5]
LEVELS = [1e12, 2e12, 4e12, 8e12]
TASK_LAW = Chinchilla(E=0.3, A=30.0, B=80.0, alpha=0.35, beta=0.35)  # every task's NLL at k = 1
LM_LAW = Chinchilla(E=1.0, A=50.0, B=200.0, alpha=0.3, beta=0.3)
TASKS = ["x", "y"]
QUESTIONS = 100


def planted_grid(tmp_path: Path, extra_planned: list[dict] | None = None, drop: tuple[str, ...] = ()) -> Path:
    """Every size at every level, two seeds; question q of a cell is right with probability
    exp(−TASK_LAW(N, D)) times a difficulty shared by every cell (its mean NLL follows the law up
    to a constant), times 0.95 or 1.05 by seed; grid.csv plans the cells (and `extra_planned`),
    leaving out those of `drop`."""
    difficulty = np.random.default_rng(0).uniform(0.5, 1.5, QUESTIONS)
    checkpoints, nll, plan = [], [], []
    for C in LEVELS:
        for N in SIZES:
            D = C / (6 * N)
            cell = f"n{N:g}-c{C:g}"
            if cell in drop:
                continue
            plan.append({"cell": cell, "params": N, "train_flops": C, "seeds": 2})
            for seed, factor in ((0, 0.95), (1, 1.05)):
                name = cell + (f"-s{seed}" if seed else "")
                checkpoints.append({"checkpoint": name, "params": N, "tokens": D, "train_flops": C * 1.001,
                                    "source": "planted", "stage": "base", "base_checkpoint": "", "cell": cell,
                                    "seed": seed, "validation_loss": float(LM_LAW.loss(N, D))})
                p = np.minimum(np.exp(-float(TASK_LAW.loss(N, D))) * difficulty * factor, 1.0)
                nll += [{"checkpoint": name, "task": t, "question": q, "nll": -np.log(p[q])}
                        for t in TASKS for q in range(QUESTIONS)]
    tasks = pd.DataFrame({"task": TASKS, "display_name": TASKS, "group": "synthetic", "n_questions": QUESTIONS,
                          "source": "planted", "guess": [1e-6, 1e-6]})
    folder = write_suite(tmp_path / "grid", pd.DataFrame(checkpoints), pd.DataFrame(nll), tasks)
    pd.DataFrame(plan + (extra_planned or [])).to_csv(folder / "grid.csv", index=False)
    return folder


def test_a_level_is_complete_when_every_cell_it_plans_is_trained(tmp_path: Path) -> None:
    suite = load_suite(planted_grid(tmp_path))
    assert complete_levels(suite) == pytest.approx(LEVELS, rel=0.01)
    assert hindcast_level(suite) == pytest.approx(8e12, rel=0.01)
    waiting = {"cell": "n3e5-c8e12", "params": 3e5, "train_flops": 8e12, "seeds": 2}
    partial = load_suite(planted_grid(tmp_path / "partial", [waiting]))
    assert complete_levels(partial) == pytest.approx(LEVELS[:3], rel=0.01)
    assert hindcast_level(partial) == pytest.approx(4e12, rel=0.01)  # and 2e12 is below it
    assert hindcast_level(partial, minimum=6) is None  # no level has six sizes
    fewer = load_suite(planted_grid(tmp_path / "fewer", drop=("n160000-c8e+12",)))
    assert hindcast_level(fewer, minimum=4) == pytest.approx(4e12, rel=0.01)  # the most sizes wins over the highest


def test_the_hindcast_fits_below_the_level_and_recovers_the_planted_chinchilla_choice(tmp_path: Path) -> None:
    suite = load_suite(planted_grid(tmp_path))
    level = hindcast_level(suite)
    assert sorted(set(below_budget(suite, level).base["train_flops"])) == pytest.approx([C * 1.001 for C in LEVELS[:3]])
    found = hindcast(suite, TASKS, level)
    assert found.fitted_up_to == pytest.approx(4e12, rel=0.01) and found.c_train == level
    assert set(sizes_of(found.tested)["N"]) == set(SIZES) and (sizes_of(found.tested)["seeds"] == 2).all()
    # The Chinchilla law recovered from the three lower levels chooses the planted optimum at the
    # level; snapped to the nearest trained size, it draws 1, 10 and 100 samples at the C_inf chosen.
    planted = float(frontier(TASK_LAW, np.array([level]))["N"].iloc[0])
    snapped = min(SIZES, key=lambda N: abs(np.log(N / planted)))
    assert found.c_infs == pytest.approx(tuple(2 * snapped * k for k in (1, 10, 100)))
    trained = found.forecast[found.forecast["approach"] == "trainable"]
    chinchilla = trained[trained["role"].str.contains("Chinchilla choice (task NLL", regex=False)]
    assert set(chinchilla["N"]) == {snapped}
    assert set(trained["N"]) <= set(SIZES) and len(set(trained["N"])) >= 5
    assert (found.quality["points"] > 0).all() and set(found.quality["task"]) == set(TASKS)


def test_the_chapter_names_what_a_suite_without_a_level_to_hindcast_lacks(tmp_path: Path) -> None:
    from t2lib.book.requirements import SuiteRequirementError, resolve
    def with_training_records(folder: Path) -> t2lib.Suite:
        (folder / "curves.csv").write_text("run,step\n")  # the chapter checks that they exist
        (folder / "questions").mkdir()
        return load_suite(folder)

    short = with_training_records(planted_grid(tmp_path, drop=tuple(f"n160000-c{C:g}" for C in LEVELS)))
    with pytest.raises(SuiteRequirementError, match="no budget level has every planned cell trained, at least 5 sizes"):
        resolve("second_forecast", short)  # four sizes at every level
    full = with_training_records(planted_grid(tmp_path / "full"))
    assert resolve("second_forecast", full)["level"] == pytest.approx(8e12, rel=0.01)
