"""One tiny model trained and evaluated with the harness once per test session, shared by the
tests of the evaluation path and of fine-tuning (each harness run costs tens of seconds)."""

from pathlib import Path

import pytest

from pretrain.corpus import CONTEXT, Corpus
from pretrain.harness import evaluate_run, prepare_tasks
from pretrain.train import RunSpec, train

TINY = RunSpec("tiny", width=24, depth=1, heads=2, tokens=40 * 8 * CONTEXT, lr=1e-2, batch_size=8)


@pytest.fixture(scope="session")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The harness task configs and question files."""
    return prepare_tasks(Corpus(0), tmp_path_factory.mktemp("harness_tasks"))


@pytest.fixture(scope="session")
def evaluated(tmp_path_factory: pytest.TempPathFactory, tasks_dir: Path) -> Path:
    """The run folder of TINY, trained and evaluated with the harness (copy it before changing it)."""
    run = tmp_path_factory.mktemp("harness") / "tiny"
    train(TINY, run)
    evaluate_run(run, Corpus(0), tasks_dir)
    return run
