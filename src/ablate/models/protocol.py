"""The decoder-step protocol: all that decoding (`ablate.models.search`) knows of a model.

Greedy and beam search drive any encoder–decoder family through these calls, as
fairseq's `SequenceGenerator` drives a `FairseqIncrementalDecoder` (its
`reorder_encoder_out` and `reorder_incremental_state` are `select` and `reorder` here)
and JoeyNMT's `search.py` takes the decoder, not the model class:

    memory, state = model.start(src, src_len)          # encode once
    logits, weights, state = model.step(memory, state, y_prev)   # one output token
    state = model.reorder(state, rows)                 # hypotheses follow their beams
    memory = model.select(memory, rows)                # sentences dropped or repeated

- `memory` is what every step reads about its sentences and never changes: the encoder
  states, the source mask, what the attention prepares from the keys once (the keys'
  projections, a Transformer's cross-attention keys and values). One row per hypothesis.
- `state` is what a step changes: an RNN's hidden state (and Luong's `h̃_{t-1}`), a
  Transformer decoder's cached self-attention keys and values of the earlier positions.
  One row per hypothesis.

Beams of one sentence share its memory, so reordering beams calls `reorder` alone, and
only dropping a finished sentence (or repeating sentences into beams) calls `select`.
Both take `rows`, a `(b',)` long tensor of row indices into the current rows.

`step` returns logits `(b, V)`, log-probabilities up to a constant per row (search takes
their argmax, or their top-k minus a logsumexp; a full log-softmax could round near-ties
into ties), the attention weights `(b, S)` shown for this token (None where the model has
none, as `attention=none`), and the new state.

Search imports this module alone; the model families implement it without importing
search (`ablate.models.rnn`, `ablate.models.transformer`).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

Memory = Any  # a model's own per-sentence encoder output (a NamedTuple of tensors)
State = Any  # a model's own per-hypothesis decoder state


@runtime_checkable
class StepDecoder(Protocol):
    """An encoder–decoder that decodes one token at a time (see the module docstring)."""

    pad_id: int
    bos_id: int
    eos_id: int
    vocab_size: int  # V, the size of the logits a step returns

    def start(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[Memory, State]:
        """Encode `src` `(B, S)` with lengths `src_len` `(B,)`: the memory and the state
        before the first step, one row per sentence."""
        ...

    def step(
        self, memory: Memory, state: State, y_prev: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, State]:
        """One step for every row: `y_prev` `(b, 1)` the previous tokens (BOS first).

        Returns:
            logits `(b, V)`, attention weights `(b, S)` or None, the next state.
        """
        ...

    def reorder(self, state: State, rows: torch.Tensor) -> State:
        """The state at rows `rows` `(b',)`, in that order."""
        ...

    def select(self, memory: Memory, rows: torch.Tensor) -> Memory:
        """The memory at rows `rows` `(b',)`, in that order."""
        ...
