"""Attention diagnostics: what a model's attention scores and weights look like, and how
much gradient reaches the scores — the measurements behind "why scale by √d".

Vaswani et al. 2017 (§3.2.1, footnote 4): for a query and a key whose components are
independent with variance 1, `q·k` has variance `d_k`, which pushes the softmax "into
regions where it has extremely small gradients"; hence the `1/√d_k`. Whether that holds
for a trained RNN, whose states tanh bounds, is measured here rather than assumed:

- per query (one target position under teacher forcing): `score_std`, the population std
  of its pre-softmax scores over the real source positions; `entropy`, `−Σ_i α_i log α_i`
  of its weights (nats); `max_weight`, `max_i α_i`; `saturated`, whether that is at least
  `ablate.scores.SATURATED` (0.99);
- per training batch: `score_grad_norm`, the Frobenius norm of `∂loss/∂scores` over the
  real positions, through a tensor hook on the scores.

An `AttentionProbe` is a forward hook on an `Attention` module's hook point
(`Attention.inspect`, through which `align` passes its masked scores and weights);
`Probes(model)` keeps one for every `Attention` module of a model, named by its module
path (`decoder.attention`; a Transformer's `decoder.0.cross_attention.attention`, …), so
a model with several attention layers is measured layer by layer; a Transformer's
self-attention, not the ablation axis, is left out. The hooks are attached only inside
`Probes.recording` (or between `start` and `stop`) and removed after it, so the model
knows nothing of them, decoding passes untouched, and a module with no hook attached may
take a fused kernel that forms no scores (`ablate.models.attention.inspected`). A probe
reads the tensors without changing a value. What it records of a batch are per-sentence
sums (`ablate.scores.ATTENTION_SUMS`), so a split's statistics, its buckets' and a
bootstrap's resamples are all ratios of sums (`ablate.scoring.attention_stats`).

In a run, the Lightning callback `ablate.callbacks.AttentionDiagnostics` records with
`Probes` (so that this module, like the models, stays free of Lightning): the
teacher-forced pass of every validation and test batch, and the gradient norm of every
`every_n_train_batches`-th training batch; the batches it does not sample run with no
hook attached.

Real positions: a source position is real where its score is finite (`align` masks
padding with −inf, as a causal mask does); a query is real where the target mask given
to `recording` says so (in a run, where the batch's `tgt_out` is not padding). Scores
may carry dimensions between the batch and the queries (`(B, heads, T, S)`): each head's
row is one more query. A decoder that teacher-forces
one step at a time (input feeding, Bahdanau's) calls `align` once per step, `(B, 1, S)`:
the probe walks along the target mask call by call. Weights are taken as `align`
returns them (local-p's are reweighted by its Gaussian and sum to less than 1), as the
alignment entropy takes them (`ablate.alignment`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ablate.models.attention import Attention
from ablate.scores import SATURATED


def query_stats(scores: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Each query's statistics.

    Args:
        scores: masked pre-softmax scores `(B, …, T, S)`, −inf where the key is not real.
        weights: the weights `(B, …, T, S)`.

    Returns:
        `(B, …, T, 4)`: score std over the real keys (population), weight entropy in
        nats, largest weight, and 1.0 where that is at least `SATURATED` (else 0.0).
    """
    scores, weights = scores.float(), weights.float()
    real = torch.isfinite(scores)
    n = real.sum(-1).clamp_min(1)  # (B, …, T)
    x = torch.where(real, scores, 0.0)
    mean = x.sum(-1, keepdim=True) / n[..., None]
    std = (torch.where(real, x - mean, 0.0).square().sum(-1) / n).sqrt()
    entropy = -torch.xlogy(weights, weights).sum(-1)  # 0 log 0 = 0
    top = weights.amax(-1)
    return torch.stack([std, entropy, top, (top >= SATURATED).float()], dim=-1)


def _query_mask(query_mask: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The `(B, T)` query mask broadcast to scores of shape `(B, …, T, S)`, without S."""
    B, T = query_mask.shape
    return query_mask.reshape(B, *([1] * (len(shape) - 3)), T).expand(shape[:-1])


def sentence_sums(
    scores: torch.Tensor, weights: torch.Tensor, query_mask: torch.Tensor
) -> torch.Tensor:
    """Per sentence, the sums `ablate.scores.ATTENTION_SUMS` over its real queries.

    Args:
        scores, weights: as `query_stats`'.
        query_mask: `(B, T)` bool, True on real target positions.

    Returns:
        `(B, 5)`: real queries, and the sums of score std, entropy, largest weight and
        saturated queries over them.
    """
    stats = query_stats(scores, weights)  # (B, …, T, 4)
    mask = _query_mask(query_mask, scores.shape).float()  # (B, …, T)
    queries = mask.flatten(1).sum(1)  # (B,)
    sums = (stats * mask[..., None]).flatten(1, -2).sum(1)  # (B, 4)
    return torch.cat([queries[:, None], sums], dim=1)


class AttentionProbe:
    """The forward hook on one `Attention` module's `inspect`: it sees `align`'s masked
    scores and weights. Between `start` and `stop` it adds each call's per-sentence sums
    (`sentence_sums`), or, recording gradients, hooks the scores so that backward adds the
    squared gradient norm over the real positions; it returns nothing, so the values go
    on unchanged."""

    def __init__(self):
        self._mask: torch.Tensor | None = None  # (B, T) while recording
        self._grad = False
        self._offset = 0  # the target positions the calls so far covered
        self.sums: torch.Tensor | None = None  # (B, 5) of this recording
        self.grad_sq: torch.Tensor | None = None  # ‖∂L/∂scores‖² of this batch so far

    def start(self, query_mask: torch.Tensor, grad: bool) -> None:
        self._mask, self._grad, self._offset, self.sums = query_mask, grad, 0, None

    def stop(self) -> None:
        self._mask = None

    def __call__(self, module: nn.Module, args: tuple, output: tuple) -> None:
        if self._mask is None:
            return
        scores, weights = output
        B, folded = self._mask.shape[0], scores
        if scores.shape[0] != B:  # heads folded into the batch, (B·n, T, S): (B, n, T, S)
            scores, weights = scores.unflatten(0, (B, -1)), weights.unflatten(0, (B, -1))
        T = scores.shape[-2]
        mask = self._mask[:, self._offset : self._offset + T]  # (B, T') of these queries
        if mask.shape[1] != T:
            raise ValueError(
                f"an attention module was called for target positions {self._offset}–"
                f"{self._offset + T - 1}, beyond the {self._mask.shape[1]} of the batch: a "
                "module teacher-forced one step at a time must be called once per step"
            )
        self._offset += T
        if not self._grad:
            sums = sentence_sums(scores.detach(), weights.detach(), mask)
            self.sums = sums if self.sums is None else self.sums + sums
        elif scores.requires_grad:
            real = torch.isfinite(scores.detach()) & _query_mask(mask, scores.shape)[..., None]
            # On the tensor the loss depends on (a view of it would get no gradient).
            folded.register_hook(partial(self._add_grad, real.reshape(folded.shape)))

    def _add_grad(self, real: torch.Tensor, grad: torch.Tensor) -> None:
        sq = torch.where(real, grad, 0.0).float().square().sum()
        self.grad_sq = sq if self.grad_sq is None else self.grad_sq + sq


class _Mean:
    """A running mean of tensors, kept on their device until asked for (one sync)."""

    def __init__(self):
        self.total: torch.Tensor | float = 0.0
        self.n = 0

    def add(self, x: torch.Tensor) -> None:
        self.total, self.n = self.total + x, self.n + 1

    def take(self) -> float | None:
        value = float(self.total) / self.n if self.n else None
        self.total, self.n = 0.0, 0
        return value


class Probes:
    """An `AttentionProbe` for every `Attention` module of `model`, by module path, hooked
    on while recording.

    Args:
        model: the model whose attention it reads; nothing of it is changed.
    """

    def __init__(self, model: nn.Module):
        # The attention option's modules: a Transformer's self-attention (each query
        # position its own row there) is not the ablation axis and is not probed.
        self.modules = {
            name: m
            for name, m in model.named_modules()
            if isinstance(m, Attention) and "self_attention" not in name
        }
        self.probes = {name: AttentionProbe() for name in self.modules}
        self._hooks: list[RemovableHandle] = []
        self._epoch = {name: _Mean() for name in [None, *self.probes]}  # None: all pooled

    def start(self, query_mask: torch.Tensor, grad: bool = False) -> None:
        """Hook every probe onto its module's `inspect`, recording the passes until `stop`.

        Args:
            query_mask: `(B, T)` bool, True on the batch's real target positions.
            grad: hook the scores for the gradient norm (training), instead of summing
                the statistics of the forward pass (validation, test).
        """
        self.stop()
        for name, p in self.probes.items():
            p.start(query_mask, grad)
            self._hooks.append(self.modules[name].inspect.register_forward_hook(p))

    def stop(self) -> None:
        """Remove the hooks (the scores' tensor hooks stay, for the pending backward)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        for p in self.probes.values():
            p.stop()

    @contextmanager
    def recording(self, query_mask: torch.Tensor, grad: bool = False) -> Iterator[None]:
        """Record the attention of the teacher-forced pass inside this block (`start`'s
        arguments)."""
        self.start(query_mask, grad)
        try:
            yield
        finally:
            self.stop()

    def sums(self) -> dict[str, torch.Tensor]:
        """The per-sentence sums `(B, 5)` of the last recording, for each module that
        attended (none for `attention=none`)."""
        return {name: p.sums for name, p in self.probes.items() if p.sums is not None}

    def end_batch(self) -> None:
        """After a training batch's backward: add its gradient norms (each module's, and
        all of them together) to the epoch's means."""
        squares = {}
        for name, p in self.probes.items():
            if p.grad_sq is not None:
                squares[name], p.grad_sq = p.grad_sq, None
        if not squares:
            return
        self._epoch[None].add(torch.stack(list(squares.values())).sum().sqrt())
        for name, sq in squares.items():
            self._epoch[name].add(sq.sqrt())

    def grad_norms(self) -> tuple[float | None, dict[str, float | None]]:
        """The mean gradient norm at the scores over the training batches since the last
        call: all modules' together, and each module's; then start anew."""
        pooled = self._epoch[None].take()
        return pooled, {name: self._epoch[name].take() for name in self.probes}

    def state_dict(self) -> dict:
        """The running means (a checkpoint may be saved in the middle of an epoch)."""
        return {
            "pooled": [float(self._epoch[None].total), self._epoch[None].n],
            "layers": {
                name: [float(self._epoch[name].total), self._epoch[name].n] for name in self.probes
            },
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict`'s running means."""
        running = {None: state.get("pooled"), **(state.get("layers") or {})}
        for name, value in running.items():
            if name in self._epoch and value:
                self._epoch[name].total, self._epoch[name].n = value
