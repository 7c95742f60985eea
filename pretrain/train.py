"""Train one model of the miniature suite: AdamW, linear warmup, cosine decay to 10% of the peak.

Deterministic given its seeds on one machine (one thread; the batch of step s is a pure function
of the corpus seed and s), and resumable: every `checkpoint_seconds` the model, optimiser, step,
RNG state and loss curve are written atomically (temporary file, then rename) to `run_dir`, and
a restarted run continues from there and ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from pretrain.corpus import CONTEXT, CORPUS_VERSION, Corpus
from pretrain.model import ModelShape, TinyLM, count_parameters

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

    @property
    def steps(self) -> int:
        return max(1, round(self.tokens / (self.batch_size * CONTEXT)))

    def shape(self, vocab_size: int) -> ModelShape:
        return ModelShape(self.width, self.depth, self.heads, vocab_size, CONTEXT)


def learning_rate(peak: float, steps: int, warmup_fraction: float, step: int) -> float:
    """Linear warmup over `warmup_fraction` of the steps, then cosine decay to 10% of the peak at the last step."""
    warmup = max(1, round(warmup_fraction * steps))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


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
    """Mean next-token loss on held-out stream positions (far beyond any run's training data)."""
    ids = torch.from_numpy(np.stack([corpus.sequence(10**9 + i) for i in range(sequences)])).to(device)
    with torch.no_grad():
        logits = model(ids[:, :-1])
        return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1)))


def train(spec: RunSpec, run_dir: Path, *, device: str = "cpu", checkpoint_seconds: float = 300.0,
          stop_after_steps: int | None = None, deadline: float | None = None) -> dict | None:
    """Train `spec` in `run_dir`, resuming from its state if there is one. Returns the result
    record when training is complete, None when stopped early (after `stop_after_steps`, or at
    `deadline` on time.monotonic()) with its state saved."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / RESULT).exists():
        result = json.loads((run_dir / RESULT).read_text())
        if result.get("corpus_version") != spec.corpus_version:
            raise ValueError(f"{run_dir}: trained on corpus {result.get('corpus_version')!r}, not {spec.corpus_version!r}")
        return result
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    corpus = Corpus(spec.corpus_seed)
    model, optimiser = build(spec, corpus, device)
    step, curve, seconds = 0, [], 0.0
    state_file = run_dir / STATE
    if state_file.exists():
        state = torch.load(state_file, map_location=device, weights_only=False)
        if state["spec"] != asdict(spec):
            raise ValueError(f"{state_file}: saved for {state['spec']}, not {asdict(spec)}")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        torch.set_rng_state(state["torch_rng"])
        step, curve, seconds = state["step"], state["curve"], state["seconds"]
    last_save, started = time.monotonic(), time.monotonic() - seconds
    log_every = max(1, spec.steps // 200)

    def save() -> None:
        atomic_save({"spec": asdict(spec), "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                      "torch_rng": torch.get_rng_state(), "step": step, "curve": curve,
                      "seconds": time.monotonic() - started}, state_file)

    model.train()
    while step < spec.steps:
        if (stop_after_steps is not None and step >= stop_after_steps) or \
                (deadline is not None and time.monotonic() > deadline):
            save()
            return None
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(spec.lr, spec.steps, spec.warmup_fraction, step)
        batch = torch.from_numpy(corpus.batch(step, spec.batch_size)).to(device)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
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
    model.eval()
    result = {"name": spec.name, **asdict(spec), "params": count_parameters(model), "steps": spec.steps,
              "final_train_loss": curve[-1][2], "validation_loss": validation_loss(model, corpus, device),
              "wall_seconds": round(time.monotonic() - started, 1), "torch": torch.__version__,
              "cpu": cpu_name(), "device": device,
              "gpu": torch.cuda.get_device_name(device) if device.startswith("cuda") else None}
    atomic_save({"spec": asdict(spec), "model": model.state_dict()}, run_dir / "model.pt")
    atomic_text("step,tokens,train_loss\n" + "".join(f"{s},{t},{l:.6f}\n" for s, t, l in curve), run_dir / CURVE)
    atomic_text(json.dumps(result, indent=1), run_dir / RESULT)
    state_file.unlink(missing_ok=True)
    return result


def load_model(run_dir: Path, device: str = "cpu") -> TinyLM:
    """The trained model of a finished run."""
    saved = torch.load(run_dir / "model.pt", map_location=device, weights_only=False)
    spec = RunSpec(**saved["spec"])
    model = TinyLM(spec.shape(Corpus(spec.corpus_seed).vocab_size)).to(device)
    model.load_state_dict(saved["model"])
    return model.eval()
