"""The data the book ships: checksums, the default suite, its calibration and reproducibility."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib import load_suite

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT / "data"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listed_checksums() -> dict[str, str]:
    lines = (DATA / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines)}


def test_every_data_file_is_listed_with_its_checksum() -> None:
    listed = listed_checksums()
    present = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file() and p.name != "SHA256SUMS"}
    assert set(listed) == present, "data/SHA256SUMS is out of date: run `make checksums`"
    for name, digest in listed.items():
        assert sha256(DATA / name) == digest, f"data/{name} does not match data/SHA256SUMS"


def test_data_stays_small() -> None:
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file()) < 30 * 2**20


@pytest.fixture(scope="module")
def suite():
    return load_suite(DATA / "t2_suite")


def test_default_suite_has_the_paper_grid_and_tasks(suite) -> None:
    assert len(suite.base) == 106
    assert suite.base["source"].value_counts().to_dict() == {"porian": 85, "overtrained": 21}
    assert len(suite.tasks) == 8
    counts = suite.tasks.set_index("task")["n_questions"].to_dict()
    assert counts["lambada_openai"] == 5153 and counts["arc_easy"] == 2376
    assert counts["sciq"] == 1000 and counts["openbookqa"] == 500
    post = suite.checkpoints[suite.checkpoints["stage"] != "base"]
    assert post["stage"].value_counts().to_dict() == {"ft": 106, "sft": 106}
    assert set(suite.nll[suite.nll["checkpoint"].isin(post["checkpoint"])]["task"]) == {"arc_easy", "sciq",
                                                                                          "openbookqa"}


def test_porian_cells_carry_the_measured_losses(suite) -> None:
    porian = pd.read_csv(DATA / "real/porian2024/porian2024_isoflop_points.csv")
    measured = suite.base[suite.base["source"] == "porian"]
    assert (measured["loss_kind"] == "measured (Porian et al.)").all()
    known = porian["loss"].to_numpy()
    for loss in measured["backbone_loss"]:  # stored to 10 significant digits
        assert np.isclose(known, loss, rtol=1e-9, atol=0).any(), loss


def test_calibration_meets_the_issue_criteria() -> None:
    report = pd.read_csv(DATA / "t2_suite/calibration.csv")
    assert (report["winner_paper"] == report["winner_ours"]).all()
    ratios = report[["best_overtrained_pass_at_k_ratio", "chinchilla_opt_pass_at_k_ratio"]].to_numpy().ravel()
    assert ((ratios <= 2) & (ratios >= 0.5)).mean() >= 0.75


def test_make_data_regenerates_identical_bytes(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "t2lib.simulate", "--out", str(tmp_path), "--seed", "0"],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    for name in ("checkpoints.csv", "nll.parquet", "tasks.csv", "calibration.csv"):
        assert sha256(tmp_path / name) == sha256(DATA / "t2_suite" / name), name
