"""Decoding: batched greedy and beam search, for any `ablate.models.protocol.StepDecoder`.

Search knows a model through the decoder-step protocol alone (`start`, `step`,
`reorder`, `select`, the special token ids and `vocab_size`), so every family that
implements it — the RNN encoder–decoder, a Transformer — shares this code.

Both advance every live sentence in one `step` call per output token, carrying the
model's state, and drop a sentence from the work as soon as it is finished (`select`
on the memory, `reorder` on the state), so later steps only pay for the live ones. Both
stop at `max_len` output tokens, by default `max_output_len(S)`.

- `greedy` takes the most likely token at every step;
- `beam_search` (Sutskever et al. 2014, §3.2) keeps the K best prefixes of every
  sentence, advancing all sentences × beams in one step call. A hypothesis
  ends when it emits EOS, scored `log p(y | x) / |y|^α` (`|y|` counts the EOS,
  α = `length_penalty`, 0 = no normalisation; fairseq's `--lenpen`, of which Wu et al.
  2016, §7, use a smoothed variant); a sentence is done when K of its hypotheses have
  ended, or at the step cap. With K = 1 it computes exactly what `greedy` computes.

The decoding settings are checked once, where a run starts (`check_decoding`), not at
every call.
"""

from __future__ import annotations

import torch

from ablate.models.protocol import StepDecoder

# Output tokens a decoder may emit for a source of S tokens: 2 S + MAX_LEN_EXTRA. Twice the
# source leaves room for one-to-many words; the extra lets very short sources grow.
MAX_LEN_EXTRA = 10


def max_output_len(source_len: int) -> int:
    """The default decoding cap for a source of `source_len` tokens: `2 S + 10`."""
    return 2 * source_len + MAX_LEN_EXTRA


def check_decoding(beam_size: int, length_penalty: float) -> None:
    """Raise ValueError unless `decode.beam_size` and `decode.length_penalty` are valid."""
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"decode.beam_size must be a positive integer, got {beam_size!r}")
    if (
        isinstance(length_penalty, bool)
        or not isinstance(length_penalty, (int, float))
        or not length_penalty >= 0
    ):
        raise ValueError(
            f"decode.length_penalty must be a number >= 0 (0 = no length "
            f"normalisation), got {length_penalty!r}"
        )


@torch.no_grad()
def greedy(model: StepDecoder, src, src_len, max_len: int | None = None):
    """Batched greedy decoding.

    Args:
        model: the encoder–decoder.
        src: `(B, S)`; src_len: `(B,)`.
        max_len: most output tokens; default `max_output_len(S)`.

    Returns:
        tokens `(B, T)` (EOS not included, padded with `pad_id`) and weights `(B, T, S)`
        (None where the model has none, as `attention=none`).
    """
    B, S = src.shape
    max_len = max_len or max_output_len(S)
    memory, state = model.start(src, src_len)
    tokens = src.new_full((B, max_len), model.pad_id)
    weights = None  # (B, max_len, S), from the first step that returns weights
    lengths = src.new_full((B,), max_len)
    active = torch.arange(B, device=src.device)  # rows still decoding
    y = src.new_full((B, 1), model.bos_id)
    for t in range(max_len):
        logits, w, state = model.step(memory, state, y)  # (b, V), (b, S)
        y = logits.argmax(-1, keepdim=True)  # (b, 1)
        tokens[active, t] = y[:, 0]
        if w is not None:
            if weights is None:
                weights = w.new_zeros((B, max_len, S))
            weights[active, t] = w
        done = y[:, 0] == model.eos_id
        if done.any():
            lengths[active[done]] = t
            keep = ~done
            if not keep.any():
                break
            rows = keep.nonzero()[:, 0]  # drop the finished: later steps pay for the live
            memory, state = model.select(memory, rows), model.reorder(state, rows)
            active, y = active[rows], y[rows]
    T = int(lengths.max()) if B else 0
    positions = torch.arange(max_len, device=src.device)[None, :]
    tokens = tokens.masked_fill(positions >= lengths[:, None], model.pad_id)[:, :T]
    if weights is not None:
        weights = weights.masked_fill((positions >= lengths[:, None])[..., None], 0.0)
        weights = weights[:, :T]
    return tokens, weights


@torch.no_grad()
def beam_search(
    model: StepDecoder,
    src,
    src_len,
    beam_size: int = 5,
    max_len: int | None = None,
    length_penalty: float = 1.0,
):
    """Batched beam search: one step call per output token for every beam of every sentence.

    At each step every live beam proposes its `2K` most likely next tokens; of the
    `2K` best (beam score + log-probability) per sentence, an EOS among the first K
    ends that hypothesis, and the first K others become the new beams (with `2K`
    there are always K: each beam proposes one EOS at most). An ended hypothesis is
    scored `sum of log-probs / length**length_penalty`, its length counting the EOS.
    A sentence is done once K hypotheses have ended (the common rule: under length
    normalisation a live beam's final score has no cheap bound, so none earlier) and
    is then dropped from the work; at `max_len` the best ended hypothesis is chosen,
    or the best live one where none ended. Ties go to the lower token id (as long as
    fewer than `2K` tokens tie), then the earlier beam, so with `beam_size=1` the
    result equals `greedy`'s exactly.

    Args:
        model: the encoder–decoder.
        src: `(B, S)`; src_len: `(B,)`.
        beam_size: K, the hypotheses kept per sentence.
        max_len: most output tokens; default `max_output_len(S)`.
        length_penalty: the exponent α of the length normalisation (0 = none).

    Returns:
        tokens `(B, T)` of the chosen hypotheses (EOS not included, padded with
        `pad_id`) and their weights `(B, T, S)` (None where the model has none), as
        `greedy`.
    """
    B, S = src.shape
    K, V = beam_size, model.vocab_size
    device = src.device
    max_len = max_len or max_output_len(S)
    n = min(2 * K, V)  # candidates per beam
    c = 2 * K  # candidates per sentence (K·n >= 2K since V >= 2)
    memory, state = model.start(src, src_len)
    # Rows are sentence-major, (B·K, …). The beams of a sentence share its memory, so
    # reordering beams never moves it: only dropping a finished sentence does. One beam
    # keeps the sentences' own rows, so that the steps are greedy's exactly.
    if K > 1:
        rows = torch.arange(B, device=device).repeat_interleave(K)
        memory, state = model.select(memory, rows), model.reorder(state, rows)
    score = None  # (B, K) log-prob sum of each beam, in the log-probabilities' dtype
    y = src.new_full((B * K, 1), model.bos_id)
    live = torch.arange(B, device=device)  # sentences still decoding
    # Back-pointers rather than every beam's history copied at every step: beam k
    # after step t is token_at[:, t, k] appended to beam parent_at[:, t, k] after
    # step t - 1, and weights_at[:, t, j] are the weights row j computed at step t.
    token_at = src.new_full((B, max_len, K), model.pad_id)
    parent_at = src.new_zeros((B, max_len, K))
    weights_at = None  # (B, max_len, K, S), from the first step that returns weights
    # Only the best ended hypothesis per sentence is kept, and how many ended.
    best = None  # (B,) its normalised score
    best_len = src.new_full((B,), max_len)  # its length without EOS
    best_beam = src.new_zeros((B,))  # the beam after step best_len - 1 it extends
    ended = src.new_zeros((B,))
    rank = torch.arange(c, device=device)
    for t in range(max_len):
        logits, w, state = model.step(memory, state, y)  # (b·K, V), (b·K, S)
        b = live.numel()
        top, token = logits.topk(n)  # (b·K, n)
        # topk orders tied logits arbitrarily; greedy's argmax takes the lower id.
        token, perm = token.sort()
        top, perm = top.gather(1, perm).sort(descending=True, stable=True)
        token = token.gather(1, perm)
        # The top logits minus logsumexp: their log-probabilities, in the same order
        # as the logits (a full log_softmax could round near-ties into ties).
        logp = top - logits.logsumexp(-1, keepdim=True)  # (b·K, n)
        if score is None:
            score = logp.new_full((B, K), float("-inf"))
            score[:, 0] = 0.0  # the K beams start as one: only the first may extend
            best = logp.new_full((B,), float("-inf"))
        cand = (score[:, :, None] + logp.view(b, K, n)).view(b, K * n)
        # Stable: equal scores keep beam order, then the order above.
        cand, order = cand.sort(descending=True, stable=True)
        cand, order = cand[:, :c], order[:, :c]  # (b, 2K)
        parent = torch.div(order, n, rounding_mode="floor")  # (b, 2K) beam extended
        token = token.view(b, K * n).gather(1, order)  # (b, 2K)
        eos = token == model.eos_id
        ends = eos & (rank < K) & (cand > float("-inf"))
        if ends.any():
            norm = (cand / (t + 1) ** length_penalty).masked_fill(~ends, float("-inf"))
            norm, r = norm.max(1)  # (b,) the best hypothesis ending now
            better = norm > best[live]
            won = live[better]
            best[won] = norm[better]
            best_len[won] = t
            best_beam[won] = parent.gather(1, r[:, None])[better, 0]
            ended[live] += ends.sum(1)
        # The first K candidates that are not EOS go on (ascending rank).
        pick = torch.where(eos, -1, c - rank).topk(K).indices  # (b, K)
        score, parent, token = (
            cand.gather(1, pick),
            parent.gather(1, pick),
            token.gather(1, pick),
        )
        token_at[live, t] = token
        parent_at[live, t] = parent
        if w is not None:
            if weights_at is None:
                weights_at = w.new_zeros((B, max_len, K, S))
            weights_at[live, t] = w.view(b, K, S)
        rows = torch.arange(b, device=device)[:, None] * K + parent  # (b, K) rows extended
        y = token.reshape(b * K, 1)
        done = ended[live] >= K
        if done.any():
            keep = ~done
            if not keep.any():
                break
            # Drop the finished sentences, their K rows of memory with them.
            memory = model.select(memory, keep.repeat_interleave(K).nonzero()[:, 0])
            kept = keep.nonzero()[:, 0]
            live, score, rows, y = live[kept], score[kept], rows[kept], y.view(b, K)[kept]
            y = y.view(-1, 1)
        state = model.reorder(state, rows.flatten())
    # Sentences where no hypothesis ended keep best_len = max_len and best_beam = 0:
    # the best live beam (beams stay sorted by score).
    T = int(best_len.max()) if B else 0
    tokens = src.new_full((B, T), model.pad_id)
    weights = None if weights_at is None else weights_at.new_zeros((B, T, S))
    batch, beam = torch.arange(B, device=device), best_beam
    for t in range(T - 1, -1, -1):  # follow the back-pointers
        on = t < best_len  # (B,) whose hypothesis has a token at step t
        tokens[:, t] = torch.where(on, token_at[batch, t, beam], model.pad_id)
        parent = parent_at[batch, t, beam]
        if weights is not None:
            weights[on, t] = weights_at[batch, t, parent][on]
        beam = torch.where(on, parent, beam)
    return tokens, weights


def decode(
    model: StepDecoder,
    src,
    src_len,
    beam_size: int = 1,
    length_penalty: float = 1.0,
    max_len: int | None = None,
):
    """Greedy decoding for `beam_size=1`, beam search otherwise; arguments and return
    values as `beam_search`."""
    if beam_size == 1:
        return greedy(model, src, src_len, max_len)
    return beam_search(model, src, src_len, beam_size, max_len, length_penalty)
