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


def planted_grid(tmp_path: Path, extra_planned: list[dict] | None = None, drop: tuple[str, ...] = (),
                 levels: tuple[float, ...] = tuple(LEVELS), extra_cells: tuple[tuple[float, float], ...] = (),
                 top_offset: float = 0.0, seeds: int = 2, overshoot: float = 1.001) -> Path:
    """Every size at every level (less `drop`, plus the (N, C) of `extra_cells`), two seeds;
    question q of a cell is right with probability exp(−TASK_LAW(N, D)) times a difficulty shared
    by every cell (its mean NLL follows the law up to a constant), times 0.95 or 1.05 by seed,
    and exp(−top_offset) at the top level (off the law); each run trains `overshoot` times its
    planned budget; grid.csv plans the cells at `seeds` seeds each (and `extra_planned`)."""
    difficulty = np.random.default_rng(0).uniform(0.5, 1.5, QUESTIONS)
    checkpoints, nll, plan = [], [], []
    for N, C in [(N, C) for C in levels for N in SIZES] + list(extra_cells):
        D = C * overshoot / (6 * N)
        cell = f"n{N:g}-c{C:g}"
        if cell in drop:
            continue
        plan.append({"cell": cell, "params": N, "train_flops": C, "seeds": seeds})
        offset = top_offset if C == max(levels) else 0.0
        for seed, factor in ((0, 0.95), (1, 1.05)):
            name = cell + (f"-s{seed}" if seed else "")
            checkpoints.append({"checkpoint": name, "params": N, "tokens": D, "train_flops": C * overshoot,
                                "source": "planted", "stage": "base", "base_checkpoint": "", "cell": cell,
                                "seed": seed, "validation_loss": float(LM_LAW.loss(N, D)) + offset})
            p = np.minimum(np.exp(-float(TASK_LAW.loss(N, D)) - offset) * difficulty * factor, 1.0)
            nll += [{"checkpoint": name, "task": t, "question": q, "nll": -np.log(p[q])}
                    for t in TASKS for q in range(QUESTIONS)]
    tasks = pd.DataFrame({"task": TASKS, "display_name": TASKS, "group": "synthetic", "n_questions": QUESTIONS,
                          "source": "planted", "guess": [1e-6, 1e-6]})
    folder = write_suite(tmp_path / "grid", pd.DataFrame(checkpoints), pd.DataFrame(nll), tasks)
    pd.DataFrame(plan + (extra_planned or [])).to_csv(folder / "grid.csv", index=False)
    return folder


def test_a_level_is_complete_when_every_cell_it_plans_is_trained_at_its_seeds(tmp_path: Path) -> None:
    suite = load_suite(planted_grid(tmp_path))
    assert complete_levels(suite) == pytest.approx(LEVELS, rel=0.01)
    assert hindcast_level(suite) == pytest.approx(8e12, rel=0.01)
    waiting = {"cell": "n3e5-c8e12", "params": 3e5, "train_flops": 8e12, "seeds": 2}
    partial = load_suite(planted_grid(tmp_path / "partial", [waiting]))
    assert complete_levels(partial) == pytest.approx(LEVELS[:3], rel=0.01)
    overshot = load_suite(planted_grid(tmp_path / "overshot", [waiting], overshoot=1.03))  # runs 3% over plan
    assert complete_levels(overshot) == pytest.approx([C * 1.03 for C in LEVELS[:3]], rel=0.01)
    assert hindcast_level(partial) == pytest.approx(4e12, rel=0.01)  # and 2e12 is below it
    assert hindcast_level(partial, minimum=6) is None  # no level has six sizes
    three_seeds = load_suite(planted_grid(tmp_path / "seeds", seeds=3))  # each cell trained at two of three
    assert complete_levels(three_seeds) == [] and hindcast_level(three_seeds) is None


def test_the_level_hindcast_has_the_most_sizes_and_half_its_budget_just_below(tmp_path: Path) -> None:
    fewer = load_suite(planted_grid(tmp_path / "fewer", drop=("n160000-c8e+12",)))
    assert hindcast_level(fewer, minimum=4) == pytest.approx(4e12, rel=0.01)  # the most sizes wins over the highest
    gap = load_suite(planted_grid(tmp_path / "gap", levels=(1e12, 2e12, 8e12)))
    assert hindcast_level(gap) == pytest.approx(2e12, rel=0.01)  # 8e12 is four times its next level down
    between = load_suite(planted_grid(tmp_path / "between", levels=(1e12, 2e12, 3e12, 4e12)))
    assert hindcast_level(between) == pytest.approx(2e12, rel=0.01)  # 4e12 has 3e12 just below: not twice its data


def test_the_hindcast_fits_below_the_level_and_recovers_the_planted_chinchilla_choice(tmp_path: Path) -> None:
    # Off the law at the top level, and a size only lower levels have: neither may reach the forecast
    # (a size only the top level has keeps it the level with the most sizes).
    suite = load_suite(planted_grid(tmp_path, top_offset=1.0, extra_cells=((5e3, 2e12), (5e3, 4e12), (3.2e5, 8e12))))
    level = hindcast_level(suite)
    assert level == pytest.approx(8e12, rel=0.01)
    assert sorted(set(below_budget(suite, level).base["train_flops"])) == pytest.approx([C * 1.001 for C in LEVELS[:3]])
    found = hindcast(suite, TASKS, level)
    assert found.fitted_up_to == pytest.approx(4e12, rel=0.01) and found.c_train == level
    assert set(sizes_of(found.tested)["N"]) == {*SIZES, 3.2e5} and (sizes_of(found.tested)["seeds"] == 2).all()
    chinchilla_fits = found.quality[found.quality["law"] == "Chinchilla (k = 1)"]
    assert (chinchilla_fits["points"] == 17).all()  # 3 levels × 5 sizes and the 5K size at two of them
    assert (chinchilla_fits["r2"] > 0.999).all()  # on the law: the top level, off it, is not among them
    # The Chinchilla law recovered from the three lower levels chooses the planted optimum at the
    # level; snapped to the nearest size trained there, it draws 1, 10 and 100 samples at the C_inf chosen.
    planted = float(frontier(TASK_LAW, np.array([level]))["N"].iloc[0])
    snapped = min([*SIZES, 3.2e5], key=lambda N: abs(np.log(N / planted)))
    assert found.c_infs == pytest.approx(tuple(2 * snapped * k for k in (1, 10, 100)))
    trained = found.forecast[found.forecast["approach"] == "trainable"]
    chinchilla = trained[trained["role"].str.contains("Chinchilla choice (task NLL", regex=False)]
    assert set(chinchilla["N"]) == {snapped}
    assert set(trained["N"]) <= {*SIZES, 3.2e5} and len(set(trained["N"])) >= 5  # never the 5K size the level lacks
    lm_planted = float(frontier(LM_LAW, np.array([level]))["N"].iloc[0])
    lm_row = trained[trained["role"].str.contains("LM loss", regex=False)]
    assert set(lm_row["N"]) == {min([*SIZES, 3.2e5], key=lambda N: abs(np.log(N / lm_planted)))}
    # Fitted to each run as a model of its own: twice the points, the same planted choice.
    each = hindcast(suite, TASKS, level, fitted_to="each run")
    each_fits = each.quality[each.quality["law"] == "Chinchilla (k = 1)"]
    assert each.fitted_to == "each run" and found.fitted_to == "pooled seeds" and (each_fits["points"] == 34).all()
    assert each.c_infs == pytest.approx(found.c_infs)
    with pytest.raises(ValueError, match="fitted_to must be one of"):
        hindcast(suite, TASKS, level, fitted_to="ensemble")


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
