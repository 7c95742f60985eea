"""Train several seeds of one grid cell in one process as one batched computation.

The E members share a shape, a token budget and a recipe and differ only in their seeds (initial
weights and data stream). Their weights are stacked along a leading member axis; each linear
layer is one batched matmul (`torch.baddbmm`) and the members' sequences are folded into one
attention call: on a GPU, which one small model leaves mostly idle, that is the expected lever (not
yet measured by this project; on its CPU it does not pay, `make bench-pretrain`). Each
member's loss, gradient clipping (its own gradient norm) and AdamW update are its own, so a
member follows the solo run of its seed up to float reassociation (`tests_pretrain` states the
tolerance).

The ensemble checkpoints to a group folder and resumes from it bit-identically; when it ends,
each member is written as an ordinary run (model.pt, curve.csv, result.json) in its own folder,
indistinguishable in format from a solo run, and the group's state is removed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pretrain.corpus import CONTEXT, corpus_for
from pretrain.model import TinyLM
from pretrain.train import (STATE, RunSpec, atomic_save, autocast, batches, build, finish, finished, prepare_device,
                            set_learning_rate, stop_now, utc_now)


class EnsembleLM(nn.Module):
    """E TinyLMs of one shape with their parameters stacked: parameter `name` of member e is
    `self.weights[key(name)][e]`."""

    def __init__(self, members: list[TinyLM]) -> None:
        super().__init__()
        self.shape = members[0].shape
        if any(m.shape != self.shape for m in members):
            raise ValueError("ensemble members must share one shape")
        self.names = [name for name, _ in members[0].named_parameters()]
        self.weights = nn.ParameterDict({
            _key(name): nn.Parameter(torch.stack([dict(m.named_parameters())[name].detach() for m in members]))
            for name in self.names})

    def _w(self, name: str) -> torch.Tensor:
        return self.weights[_key(name)]

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """x (E, T, in) through every member's own linear layer `name`."""
        return torch.baddbmm(self._w(f"{name}.bias").unsqueeze(1), x, self._w(f"{name}.weight").transpose(1, 2))

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        x = F.layer_norm(x, x.shape[-1:])
        return x * self._w(f"{name}.weight").unsqueeze(1) + self._w(f"{name}.bias").unsqueeze(1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits (E, B, L, vocab) for token ids (E, B, L): member e reads ids[e]."""
        members, batch, length = ids.shape
        width, heads = self.shape.width, self.shape.heads
        tokens = self._w("tokens.weight")
        x = tokens[torch.arange(members, device=ids.device)[:, None, None], ids]
        x = (x + self._w("positions.weight")[:, None, :length]).reshape(members, batch * length, width)
        for layer in range(self.shape.depth):
            block = f"blocks.{layer}"
            q, k, v = self._linear(self._norm(x, f"{block}.norm1"), f"{block}.qkv").split(width, dim=2)
            q, k, v = (t.reshape(members * batch, length, heads, width // heads).transpose(1, 2) for t in (q, k, v))
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            attended = attended.transpose(1, 2).reshape(members, batch * length, width)
            x = x + self._linear(attended, f"{block}.proj")
            x = x + self._linear(F.gelu(self._linear(self._norm(x, f"{block}.norm2"), f"{block}.up")), f"{block}.down")
        logits = torch.bmm(self._norm(x, "norm"), tokens.transpose(1, 2))
        return logits.reshape(members, batch, length, -1)

    def member(self, e: int) -> TinyLM:
        """Member e as an ordinary TinyLM (on the CPU)."""
        model = TinyLM(self.shape)
        model.load_state_dict({name: self._w(name)[e].detach().cpu().clone() for name in self.names})
        return model


def _key(name: str) -> str:
    return name.replace(".", "__")


def members_of(specs: list[RunSpec]) -> None:
    """Refuse specs that cannot share one ensemble (they must differ only in name and seeds)."""
    same = [replace(s, name="", model_seed=0, data_seed=0) for s in specs]
    if any(s != same[0] for s in same):
        raise ValueError(f"an ensemble's members must differ only in their seeds: {[s.name for s in specs]}")
    if len({s.name for s in specs}) != len(specs):
        raise ValueError(f"an ensemble's members need distinct names: {[s.name for s in specs]}")


def make_optimiser(model: EnsembleLM, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW as for a solo run: weight decay on the members' matrices only."""
    decay = [p for p in model.weights.values() if p.dim() >= 3]
    no_decay = [p for p in model.weights.values() if p.dim() < 3]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))


def clip_per_member(model: EnsembleLM, max_norm: float = 1.0) -> None:
    """Each member's gradient clipped to `max_norm` by its own norm (clip_grad_norm_'s rule)."""
    grads = [p.grad for p in model.weights.values() if p.grad is not None]
    norms = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0).sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *[1] * (g.dim() - 1)))


def train_ensemble(specs: list[RunSpec], run_dirs: list[Path], group_dir: Path, *, device: str = "cpu",
                   stream_cache: Path | None = None, checkpoint_seconds: float = 300.0,
                   stop_after_steps: int | None = None, deadline: float | None = None) -> list[dict] | None:
    """Train the members `specs` together, checkpointing in `group_dir`; write member e as an
    ordinary run in `run_dirs[e]`. Returns the members' result records when done, None when
    stopped early (its state saved). Members already finished are read back, not retrained, if all are."""
    members_of(specs)
    done = [finished(s, d) for s, d in zip(specs, run_dirs)]
    if all(done):
        return done
    group_dir.mkdir(parents=True, exist_ok=True)
    prepare_device(device)
    spec = specs[0]
    corpus = corpus_for(spec.corpus_seed, spec.corpus_version)
    batch_of = [batches(s, corpus, stream_cache) for s in specs]
    model = EnsembleLM([build(s, corpus, "cpu")[0] for s in specs]).to(device)
    optimiser = make_optimiser(model, spec.lr, spec.weight_decay)
    step, curves, seconds, started_at = 0, [[] for _ in specs], 0.0, utc_now()
    state_file, saved_specs = group_dir / STATE, [asdict(s) for s in specs]
    if state_file.exists():
        state = torch.load(state_file, map_location=device, weights_only=False)
        if state["specs"] != saved_specs:
            raise ValueError(f"{state_file}: saved for members {[s['name'] for s in state['specs']]}, "
                             f"not {[s.name for s in specs]}")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, curves, seconds = state["step"], state["curves"], state["seconds"]
        started_at = state.get("started_at")  # None for a state saved before start times were kept
    last_save, started = time.monotonic(), time.monotonic() - seconds
    log_every = max(1, spec.steps // 200)

    def save() -> None:
        atomic_save({"specs": saved_specs, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                     "step": step, "curves": curves, "seconds": time.monotonic() - started,
                     "started_at": started_at}, state_file)

    model.train()
    while step < spec.steps:
        if stop_now(step, stop_after_steps, deadline):
            save()
            return None
        set_learning_rate(optimiser, spec, step)
        batch = torch.from_numpy(np.stack([of(step) for of in batch_of])).to(device)
        with autocast(device, spec.precision):
            logits = model(batch[:, :, :-1]).float()
        losses = F.cross_entropy(logits.flatten(0, 2), batch[:, :, 1:].flatten(), reduction="none")
        losses = losses.view(len(specs), -1).mean(1)
        optimiser.zero_grad(set_to_none=True)
        losses.sum().backward()  # member e's gradient is that of its own mean loss
        clip_per_member(model)
        optimiser.step()
        step += 1
        if step % log_every == 0 or step == spec.steps:
            for curve, loss in zip(curves, losses.tolist()):
                curve.append((step, step * spec.batch_size * CONTEXT, loss))
        if time.monotonic() - last_save > checkpoint_seconds:
            save()
            last_save = time.monotonic()
    elapsed = time.monotonic() - started
    results = [finish(s, model.member(e).to(device), corpus, curves[e], elapsed, device, d, len(specs), started_at)
               for e, (s, d) in enumerate(zip(specs, run_dirs))]
    state_file.unlink(missing_ok=True)
    return results
