"""The trainer's speed-ups keep its results: the stream cache gives the same batches (and the same
weights), seeds are runs of their own, an ensemble member follows the solo run of its seed, the
runner works through submitit's local executor, and the GPU path runs on the CPU up to the device."""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain import grid
from pretrain.corpus import CONTEXT, Corpus
from pretrain.ensemble import train_ensemble
from pretrain.executors import Placement
from pretrain.stream import DTYPE, ROW, StreamCache
from pretrain.train import RunSpec, load_model, prepare_device, train, with_seed

CELL = RunSpec("tiny", width=24, depth=1, heads=2, tokens=40 * 8 * CONTEXT, lr=1e-2, batch_size=8)
# An ensemble member and the solo run of its seed differ only by float reassociation (batched
# matmuls against single ones); after CELL's 40 steps at lr 1e-2 their losses agree to 1e-5
# (relative) and 99% of their weights to 1e-5. A few weights whose gradient is nearly zero may
# move further: Adam divides such a gradient's rounding by its own tiny scale.
LOSS_RTOL, WEIGHT_ATOL, WEIGHT_SHARE = 1e-5, 1e-5, 0.99


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_model(run).state_dict()


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(0)


def test_the_stream_cache_gives_the_corpus_batches_and_refuses_another_corpus(tmp_path: Path, corpus: Corpus) -> None:
    for stream in (0, 2):
        cache = StreamCache(corpus, tmp_path, stream, chunk=16)
        for step in (0, 3, 5):  # step 5 lies beyond the first two chunks
            assert np.array_equal(cache.batch(step, 8), corpus.batch(step, 8, stream))
    assert not np.array_equal(corpus.batch(3, 8, 0), corpus.batch(3, 8, 2))  # streams are independent draws
    # a writer killed mid-row leaves a partial row: it is not counted, and the next extension replaces it
    path = StreamCache(corpus, tmp_path, 0).path
    rows = path.stat().st_size // (ROW * DTYPE.itemsize)
    with open(path, "ab") as out:
        out.write(b"\x07" * (ROW * DTYPE.itemsize // 2))
    cache = StreamCache(corpus, tmp_path, 0, chunk=16)
    assert cache.rows() == rows
    assert np.array_equal(cache.batch(rows // 8 + 1, 8), corpus.batch(rows // 8 + 1, 8))
    # a cache written by other corpus code is refused with the remedy
    data = bytearray(path.read_bytes())
    data[:2] = (int.from_bytes(data[:2], "little") ^ 1).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="row 0 differs.*delete it"):
        StreamCache(corpus, tmp_path, 0)


def test_training_from_the_cache_gives_the_same_weights(tmp_path: Path) -> None:
    train(CELL, tmp_path / "generated")
    train(CELL, tmp_path / "cached", stream_cache=tmp_path / "_stream")
    assert same_weights(tmp_path / "generated", tmp_path / "cached")


def test_a_seed_draws_its_own_weights_and_data() -> None:
    assert with_seed(CELL, 0) == CELL
    seeded = with_seed(CELL, 2)
    assert (seeded.name, seeded.model_seed, seeded.data_seed) == ("tiny-s2", 2, 2)
    with pytest.raises(ValueError, match="seed"):
        with_seed(CELL, -1)


def test_a_cell_at_several_seeds_in_one_command_through_submitit(tmp_path: Path) -> None:
    """The grid runner trains one cell at two seeds through submitit's local executor; each
    seed is an ordinary run, seed 0 is the cell itself (the solo run's weights), and seeds differ."""
    grid.run(tmp_path / "runs", 5, Placement("local", workers=2, folder=tmp_path / "submitit"), "cpu", [CELL],
             seeds=[0, 1], evaluate=False)
    runs = tmp_path / "runs"
    assert all((runs / name / "result.json").exists() for name in ("tiny", "tiny-s1"))
    train(CELL, tmp_path / "solo")
    assert same_weights(runs / "tiny", tmp_path / "solo")
    assert not same_weights(runs / "tiny", runs / "tiny-s1")
    assert list((tmp_path / "submitit").glob("*_log.out"))  # the jobs ran under submitit


def test_an_ensemble_member_follows_the_solo_run_of_its_seed_and_resumes_exactly(tmp_path: Path) -> None:
    specs = [with_seed(CELL, seed) for seed in (0, 1)]
    solo = [train(spec, tmp_path / "solo" / spec.name) for spec in specs]
    whole = train_ensemble(specs, [tmp_path / "whole" / s.name for s in specs], tmp_path / "group-whole")
    assert train_ensemble(specs, [tmp_path / "cut" / s.name for s in specs], tmp_path / "group-cut",
                          stop_after_steps=17) is None
    resumed = train_ensemble(specs, [tmp_path / "cut" / s.name for s in specs], tmp_path / "group-cut")
    for spec, alone, member, again in zip(specs, solo, whole, resumed):
        for key in ("final_train_loss", "validation_loss"):
            assert member[key] == pytest.approx(alone[key], rel=LOSS_RTOL), (spec.name, key)
        a, b = weights(tmp_path / "solo" / spec.name), weights(tmp_path / "whole" / spec.name)
        gaps = torch.cat([(a[k] - b[k]).abs().flatten() for k in a])
        assert float(torch.quantile(gaps, WEIGHT_SHARE)) < WEIGHT_ATOL, spec.name
        assert same_weights(tmp_path / "whole" / spec.name, tmp_path / "cut" / spec.name)
        assert member["final_train_loss"] == again["final_train_loss"] and member["ensemble"] == 2
    assert not (tmp_path / "group-cut" / "state.pt").exists()


def test_ensembles_of_seeds_through_the_runner(tmp_path: Path) -> None:
    jobs = grid.plan_jobs(tmp_path, [CELL], [0, 1, 2], ensemble=2, evaluate=False)
    assert [[s.name for s in job] for job in jobs] == [["tiny", "tiny-s1"], ["tiny-s2"]]
    grid.run(tmp_path, 5, Placement(workers=2), "cpu", [CELL], seeds=[0, 1, 2], ensemble=2, evaluate=False)
    assert grid.plan_jobs(tmp_path, [CELL], [0, 1, 2], ensemble=2, evaluate=False) == []
    train(with_seed(CELL, 2), tmp_path / "solo-s2")
    assert same_weights(tmp_path / "tiny-s2", tmp_path / "solo-s2")  # a lone seed trains as a solo run


def test_the_gpu_path_runs_on_the_cpu_up_to_the_device(tmp_path: Path) -> None:
    bf16 = replace(CELL, precision="bf16", tokens=8 * 8 * CONTEXT)
    result = train(bf16, tmp_path / "bf16")  # bfloat16 autocast, the GPU recipe, on the CPU
    assert np.isfinite(result["final_train_loss"]) and result["precision"] == "bf16"
    with pytest.raises(ValueError, match="precision"):
        replace(CELL, precision="fp8")
    with pytest.raises(ValueError, match="--device must be cpu or cuda"):
        prepare_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            prepare_device("cuda")
    assert grid.estimated_hours(10**5, 10**8, "cuda") < grid.estimated_hours(10**5, 10**8, "cpu")


def test_the_grid_command_prices_a_dry_run_and_refuses_bad_options(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def command(*args: str) -> int:
        monkeypatch.setattr(sys, "argv", ["pretrain.grid", "run", "--runs", str(tmp_path), *args])
        try:
            grid.main()
        except SystemExit as stop:
            return stop.code
        return 0

    assert command("--cells", "w16d1-c0", "w24d2-c4", "--seeds", "0", "1", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "w16d1-c0-s1" in out and "4 run(s)" in out and "model-hours" in out
    assert not any(tmp_path.iterdir())  # a dry run trains nothing
    for args, message in [(["--cells", "w99d9-c0"], "no cell named 'w99d9-c0'"),
                          (["--ensemble", "0"], "--ensemble must be ≥ 1"),
                          (["--workers", "0"], "--workers must be at least 1"),
                          (["--device", "tpu"], "--device must be cpu or cuda")]:
        assert command(*args) == 2, args
        err = capsys.readouterr().err
        assert message in err.strip().splitlines()[-1] and err.count("error:") == 1, err  # usage, then one line
