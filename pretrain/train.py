"""Train one model of the miniature suite: AdamW, linear warmup, cosine decay to 10% of the peak.

Deterministic given its seeds on one machine (one thread; the batch of step s is a pure function
of the corpus seed, the data seed and s), and resumable: every `checkpoint_seconds` the model,
optimiser, step, RNG state and loss curve are written atomically (temporary file, then rename)
to `run_dir`, and a restarted run continues from there and ends with the same weights as an
uninterrupted one.

A run's seed is two seeds: `model_seed` draws the initial weights and `data_seed` chooses the
training stream (`Corpus.sequence(index, stream)`: independent draws from the same world; seed 0
is the first suite's stream). `with_seed` makes the run of one grid cell at another seed. Batches
come from the corpus directly or, given `stream_cache`, from a shared on-disk cache of the stream
(`pretrain.stream`: the same arrays, generated once for every run of a grid).

Devices: `device="cuda"` trains on a GPU with TF32 matmuls; `precision="bf16"` adds bfloat16
autocast (on any device; on a CPU without bfloat16 units it is slow and only for testing the path).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from pretrain.corpus import CONTEXT, CORPUS_VERSION, Corpus, corpus_for
from pretrain.model import ModelShape, TinyLM, count_parameters
from pretrain.stream import StreamCache

PRECISIONS = ("fp32", "bf16")
STATE = "state.pt"
RESULT = "result.json"
CURVE = "curve.csv"


@dataclass(frozen=True)
class RunSpec:
    """What to train: a model shape, a token budget and the optimiser's settings."""

    name: str
    width: int
    depth: int
    heads: int
    tokens: int  # training tokens D (steps × batch × CONTEXT)
    lr: float
    batch_size: int = 32
    warmup_fraction: float = 0.05
    weight_decay: float = 0.1
    model_seed: int = 0
    corpus_seed: int = 0
    corpus_version: str = CORPUS_VERSION
    data_seed: int = 0  # the training stream (0: the first suite's)
    precision: str = "fp32"  # "fp32" or "bf16" (autocast)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")

    @property
    def steps(self) -> int:
        return max(1, round(self.tokens / (self.batch_size * CONTEXT)))

    def shape(self, vocab_size: int) -> ModelShape:
        return ModelShape(self.width, self.depth, self.heads, vocab_size, CONTEXT)


def with_seed(cell: RunSpec, seed: int) -> RunSpec:
    """A grid cell (its spec at seed 0) at `seed`, which draws both its initial weights and its
    data stream: seed 0 is the cell itself, seed s > 0 the run named `<cell>-s<s>`."""
    if seed < 0:
        raise ValueError(f"a seed is a whole number ≥ 0; got {seed}")
    return replace(cell, name=cell.name if seed == 0 else f"{cell.name}-s{seed}", model_seed=seed, data_seed=seed)


def learning_rate(peak: float, steps: int, warmup_fraction: float, step: int) -> float:
    """Linear warmup over `warmup_fraction` of the steps, then cosine decay to 10% of the peak at the last step."""
    warmup = max(1, round(warmup_fraction * steps))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def stop_now(step: int, stop_after_steps: int | None, deadline: float | None) -> bool:
    """Whether a run stops (and saves its state) before training step `step`."""
    return (stop_after_steps is not None and step >= stop_after_steps) or \
        (deadline is not None and time.monotonic() > deadline)


def set_learning_rate(optimiser: torch.optim.Optimizer, spec: RunSpec, step: int) -> None:
    for group in optimiser.param_groups:
        group["lr"] = learning_rate(spec.lr, spec.steps, spec.warmup_fraction, step)


def atomic_save(obj: object, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def make_optimiser(model: TinyLM, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW with weight decay on the matrices only (not on biases, norms' gains)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))


def build(spec: RunSpec, corpus: Corpus, device: str) -> tuple[TinyLM, torch.optim.Optimizer]:
    torch.manual_seed(spec.model_seed)
    model = TinyLM(spec.shape(corpus.vocab_size)).to(device)
    return model, make_optimiser(model, spec.lr, spec.weight_decay)


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), for the training record."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def validation_loss(model: TinyLM, corpus: Corpus, device: str, sequences: int = 64) -> float:
    """Mean next-token loss on held-out positions of stream 0 (far beyond any run's training data;
    the same for every seed)."""
    ids = torch.from_numpy(np.stack([corpus.sequence(10**9 + i) for i in range(sequences)])).to(device)
    with torch.no_grad():
        logits = model(ids[:, :-1])
        return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1)))


def prepare_device(device: str) -> None:
    """One thread, deterministic kernels, and on a GPU TF32 matmuls; a device that is not there
    is refused in one line."""
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: no CUDA GPU is visible to torch {torch.__version__} "
                             "(install a CUDA build of torch, or use --device cpu)")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif device != "cpu":
        raise ValueError(f"--device must be cpu or cuda[:index]; got {device!r}")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's precision: float32 as it is, or bfloat16 autocast on the device."""
    if precision == "bf16":
        return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
    return contextlib.nullcontext()


def batches(spec: RunSpec, corpus: Corpus, stream_cache: Path | None):
    """The function step -> batch (token ids, B × (CONTEXT + 1)) of `spec`'s data stream."""
    if stream_cache is None:
        return lambda step: corpus.batch(step, spec.batch_size, spec.data_seed)
    cache = StreamCache(corpus, stream_cache, spec.data_seed)
    return lambda step: cache.batch(step, spec.batch_size)


def next_token_loss(model: TinyLM, batch: torch.Tensor) -> torch.Tensor:
    logits = model(batch[:, :-1])
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def utc_now() -> str:
    """The time now in UTC, to the second (ISO 8601): when a run started or finished."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def finish(spec: RunSpec, model: TinyLM, corpus: Corpus, curve: list, seconds: float, device: str,
           run_dir: Path, ensemble: int = 1, started_at: str | None = None) -> dict:
    """Write a finished run: model.pt, curve.csv and result.json (last, so that a run is finished
    exactly when result.json exists). `ensemble`: how many members were trained with it in one
    process (1: alone); `wall_seconds` is then the whole ensemble's. `started_at`: when its
    training first started (UTC), recorded with when it finished."""
    model.eval()
    result = {"name": spec.name, **asdict(spec), "params": count_parameters(model), "steps": spec.steps,
              "final_train_loss": curve[-1][2], "validation_loss": validation_loss(model, corpus, device),
              "wall_seconds": round(seconds, 1), "torch": torch.__version__,
              "cpu": cpu_name(), "device": device,
              "gpu": torch.cuda.get_device_name(device) if device.startswith("cuda") else None,
              "ensemble": ensemble, "started_at": started_at, "finished_at": utc_now()}
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_save({"spec": asdict(spec), "model": {k: v.cpu() for k, v in model.state_dict().items()}},
                run_dir / "model.pt")
    atomic_text("step,tokens,train_loss\n" + "".join(f"{s},{t},{l:.6f}\n" for s, t, l in curve), run_dir / CURVE)
    atomic_text(json.dumps(result, indent=1), run_dir / RESULT)
    return result


def finished(spec: RunSpec, run_dir: Path) -> dict | None:
    """The result record of `run_dir` if it holds a finished run of `spec`'s corpus design."""
    if not (run_dir / RESULT).exists():
        return None
    result = json.loads((run_dir / RESULT).read_text())
    if result.get("corpus_version") != spec.corpus_version:
        raise ValueError(f"{run_dir}: trained on corpus {result.get('corpus_version')!r}, not {spec.corpus_version!r}")
    return result


def train(spec: RunSpec, run_dir: Path, *, device: str = "cpu", stream_cache: Path | None = None,
          checkpoint_seconds: float = 300.0, stop_after_steps: int | None = None,
          deadline: float | None = None) -> dict | None:
    """Train `spec` in `run_dir`, resuming from its state if there is one. Returns the result
    record when training is complete, None when stopped early (after `stop_after_steps`, or at
    `deadline` on time.monotonic()) with its state saved."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if (result := finished(spec, run_dir)) is not None:
        return result
    prepare_device(device)
    corpus = corpus_for(spec.corpus_seed, spec.corpus_version)
    batch_of = batches(spec, corpus, stream_cache)
    model, optimiser = build(spec, corpus, device)
    step, curve, seconds, started_at = 0, [], 0.0, utc_now()
    state_file = run_dir / STATE
    if state_file.exists():
        state = torch.load(state_file, map_location=device, weights_only=False)
        if state["spec"] != asdict(spec):
            raise ValueError(f"{state_file}: saved for {state['spec']}, not {asdict(spec)}")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        torch.set_rng_state(state["torch_rng"])
        step, curve, seconds = state["step"], state["curve"], state["seconds"]
        started_at = state.get("started_at")  # None for a state saved before start times were kept
    last_save, started = time.monotonic(), time.monotonic() - seconds
    log_every = max(1, spec.steps // 200)

    def save() -> None:
        atomic_save({"spec": asdict(spec), "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                      "torch_rng": torch.get_rng_state(), "step": step, "curve": curve,
                      "seconds": time.monotonic() - started, "started_at": started_at}, state_file)

    model.train()
    while step < spec.steps:
        if stop_now(step, stop_after_steps, deadline):
            save()
            return None
        set_learning_rate(optimiser, spec, step)
        batch = torch.from_numpy(batch_of(step)).to(device)
        with autocast(device, spec.precision):
            loss = next_token_loss(model, batch)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        step += 1
        if step % log_every == 0 or step == spec.steps:
            curve.append((step, step * spec.batch_size * CONTEXT, loss.item()))
        if time.monotonic() - last_save > checkpoint_seconds:
            save()
            last_save = time.monotonic()
    result = finish(spec, model, corpus, curve, time.monotonic() - started, device, run_dir, started_at=started_at)
    state_file.unlink(missing_ok=True)
    return result


def load_model(run_dir: Path, device: str = "cpu") -> TinyLM:
    """The trained model of a finished run."""
    saved = torch.load(run_dir / "model.pt", map_location=device, weights_only=False)
    spec = RunSpec(**saved["spec"])
    model = TinyLM(spec.shape(corpus_for(spec.corpus_seed, spec.corpus_version).vocab_size)).to(device)
    model.load_state_dict(saved["model"])
    return model.eval()
