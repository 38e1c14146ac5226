"""The CPU speed paths: the same values as the plain model, computed faster on a CPU.

The model files compute as the papers write (`nn.GRU`/`nn.LSTM` over packed batches,
`nn.Dropout`, `vᵀ tanh(W_s s + W_h h)`). `speed_up(model)`, called once where a model is
built for a CPU (the entry point does it when the trainer runs on one), swaps the classes
of some of its modules in place for the subclasses below, which compute the same values
(tests hold each one equal to the code it replaces, gradients included) faster there.
Parameters stay where they are, so the state dict and checkpoints are the same either
way. Why each exists and what it gained are measured in `docs/performance.md`.

- `Dropout` for `nn.Dropout`: the mask drawn with `rand_like`, not ATen's slow CPU
  `bernoulli_` (the same distribution, another random stream).
- `UnpackedGRUEncoder` for the `Encoder` of a GRU (`bidirectional_gru`): no packing, both
  directions running forwards (the backward one over each sentence reversed within its
  length).
- `GRU` for a unidirectional `nn.GRU` (the decoder's): `gru` / `GRULayer`, a GRU layer with
  a hand-written backward pass, where gradients are recorded (training): a few kernels
  per step instead of a dozen autograd nodes.
- `SigmoidAdditiveAttention` for `AdditiveAttention`: `vᵀ tanh(a) = 2 vᵀ σ(2a) − Σv`
  (`additive_score` / `AdditiveScore`), in blocks of query steps, σ recomputed in
  backward, so no `(B, T, S, A)` tensor is kept for backward; ATen's CPU tanh is also
  much slower than its sigmoid. Equal to the tanh form up to rounding.
"""

from __future__ import annotations

import torch
from torch import nn

from ablate.models.attention import AdditiveAttention
from ablate.models.rnn import Encoder, merge_directions


def speed_up(model: nn.Module) -> nn.Module:
    """Swap the CPU paths of this module into `model`, in place; returns `model`.

    Only modules of exactly the plain classes are swapped (a user's subclass keeps its
    own code), parameters and buffers stay as they are, and a second call changes
    nothing. Every swapped module computes the values its plain class computes.
    """
    for module in model.modules():
        fast = _fast_class(module)
        if fast is not None:
            module.__class__ = fast
    return model


def _fast_class(module: nn.Module) -> type[nn.Module] | None:
    """The CPU path that replaces `module`'s class, or None."""
    cls = type(module)
    if cls is nn.Dropout and not module.inplace:
        return Dropout
    if cls is Encoder and type(module.rnn) is nn.GRU:
        return UnpackedGRUEncoder
    if cls is nn.GRU and module.batch_first and module.bias and not module.bidirectional:
        return GRU
    if cls is AdditiveAttention:
        return SigmoidAdditiveAttention
    return None


class Dropout(nn.Dropout):
    """`nn.Dropout` with its mask drawn by `rand_like`.

    The same distribution: each unit kept with probability 1 − p and scaled by
    1 / (1 − p). ATen's CPU `bernoulli_` is slow.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return super().forward(x)
        keep = torch.rand_like(x) >= self.p
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))


class UnpackedGRUEncoder(Encoder):
    """`Encoder` over a GRU, without packing (`bidirectional_gru`)."""

    def forward(self, src: torch.Tensor, src_len: torch.Tensor):
        x = self.dropout(self.embedding(src))  # (B, S, E)
        states, final = bidirectional_gru(self.rnn, x, src_len.to(x.device), self.training)
        return states, merge_directions(final)  # (B, S, H)


class GRU(nn.GRU):
    """`nn.GRU` (unidirectional, batch-first) through `gru` where gradients are recorded:
    its forward + backward is faster this way on a CPU (decoding, one step at a time
    without gradients, is not)."""

    def forward(self, input, hx=None):
        if torch.is_grad_enabled() and isinstance(input, torch.Tensor) and hx is not None:
            return gru(self, input, hx)
        return super().forward(input, hx)


class SigmoidAdditiveAttention(AdditiveAttention):
    """`AdditiveAttention` through `additive_score`: `2 vᵀ σ(2 W_s s + 2 (W_h h + b)) − Σv`."""

    def prepare(self, keys):
        return 2 * self.W_h(keys)  # (B, S, A), doubled for the sigmoid form

    def score(self, query, prepared):
        return additive_score(2 * self.W_s(query), prepared, self.v.weight[0])  # (B, T, S)


def bidirectional_gru(rnn: nn.GRU, x: torch.Tensor, lengths: torch.Tensor, training: bool):
    """What the bidirectional `rnn` computes on the packed batch, without packing.

    On a CPU a packed RNN projects its input one step at a time, and its backward pass
    zero-fills a whole-batch gradient at every step; unpacked, the input projection is
    one matrix product. Both directions run forwards: the backward one over each
    sentence reversed within its length (padding stays at the end), so neither reads
    padding before a real token. A GRU's state is its output, so the final state of each
    direction is its output at the sentence's last token. Batches are grouped by length,
    so the padding this computes over is small.

    Args:
        rnn: a bidirectional, batch-first `nn.GRU`.
        x: embedded sources `(B, S, E)`.
        lengths: `(B,)` true lengths, on `x`'s device.
        training: whether dropout between layers applies.

    Returns:
        states `(B, S, H)` (meaningless on padding) and the final states `(2L, B, H/2)` in
        `nn.GRU`'s order.
    """
    B, S, _ = x.shape
    position = torch.arange(S, device=x.device)[None, :]  # (1, S)
    last = (lengths - 1)[:, None]  # (B, 1)
    flip = torch.where(position <= last, last - position, position)  # (B, S), its own inverse
    h0 = x.new_zeros(B, rnn.hidden_size)
    finals = []
    for layer in range(rnn.num_layers):
        if layer:
            x = nn.functional.dropout(x, rnn.dropout, training)
        outputs = []
        for reverse in (False, True):
            inputs = _gather_steps(x, flip) if reverse else x
            out, _ = gru_layer(rnn, layer, inputs, h0, reverse)
            finals.append(_gather_steps(out, last)[:, 0])  # (B, H/2)
            outputs.append(_gather_steps(out, flip) if reverse else out)
        x = torch.cat(outputs, dim=-1)  # (B, S, H)
    return x, torch.stack(finals)


def _gather_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`x[b, index[b, i]]` for `x` `(B, S, D)` and `index` `(B, N)`: `(B, N, D)`."""
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[-1]))


class GRULayer(torch.autograd.Function):
    """One unidirectional GRU layer over a batch-first sequence, what `nn.GRU` computes
    (Cho et al. 2014, Eq. 5–8, in PyTorch's form, where the reset gate multiplies the
    projected state):

        r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    A time step is 6 kernels forwards and 3 backwards: everything in the backward step
    that does not depend on the incoming gradient is computed for all steps at once
    before the loop, and the weight gradients are one matrix product over all steps
    after it.

    `apply(x, h0, w_ih, w_hh, b_ih, b_hh)` → outputs `(B, T, H)` and the final state
    `(B, H)`, for inputs `x` `(B, T, E)`, the initial state `h0` `(B, H)` and `nn.GRU`'s
    `weight_ih_l*`, `weight_hh_l*`, `bias_ih_l*`, `bias_hh_l*` (gates in the order r, z, n).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        B, T, E = x.shape
        H = h0.shape[-1]
        x_steps = x.transpose(0, 1).reshape(T * B, E)  # time-major: a step is contiguous
        gi = torch.addmm(b_ih, x_steps, w_ih.t()).view(T, B, 3 * H)  # all input projections
        gates = x.new_empty(T, B, 3 * H)  # per step: r, z, then W_hn h + b_hn
        n = x.new_empty(T, B, H)
        out = x.new_empty(T, B, H)
        w_hh_t = w_hh.t()
        h = h0
        for t in range(T):
            g = torch.addmm(b_hh, h, w_hh_t, out=gates[t])  # (B, 3H)
            g[:, : 2 * H].add_(gi[t, :, : 2 * H]).sigmoid_()  # r, z
            n_t = torch.addcmul(gi[t, :, 2 * H :], g[:, :H], g[:, 2 * H :], out=n[t]).tanh_()
            h = torch.lerp(n_t, h, g[:, H : 2 * H], out=out[t])  # n + z (h − n)
        ctx.save_for_backward(x_steps, h0, w_ih, w_hh, gates, n, out)
        return out.transpose(0, 1), h.clone()  # (B, T, H), (B, H)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out, grad_h):
        x_steps, h0, w_ih, w_hh, gates, n, out = ctx.saved_tensors
        T, B, H = out.shape
        r, z, hn = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
        h_prev = torch.cat([h0[None], out[:-1]])  # (T, B, H)
        # ∂L/∂(pre-activations) = ∂L/∂h_t ⊙ m_t, with m_t known before the loop:
        # n: (1 − z)(1 − n²); z: (h_{t-1} − n) z (1 − z); r: that of n times hn r (1 − r).
        dn = (1 - z) * (1 - n * n)  # (T, B, H)
        m = torch.empty(T, B, 3, H, dtype=out.dtype, device=out.device)
        torch.mul(dn * hn, r * (1 - r), out=m[:, :, 0])
        torch.mul(h_prev - n, z * (1 - z), out=m[:, :, 1])
        torch.mul(dn, r, out=m[:, :, 2])  # the n slot takes ∂L/∂(W_hn h + b_hn)
        grad_out = grad_out.transpose(0, 1)  # (T, B, H)
        grad_h_steps = torch.empty(T, B, H, dtype=out.dtype, device=out.device)  # ∂L/∂h_t
        grad_gh = torch.empty(T, B, 3 * H, dtype=out.dtype, device=out.device)
        dh = torch.add(grad_out[T - 1], grad_h, out=grad_h_steps[T - 1])
        for t in range(T - 1, -1, -1):
            if t < T - 1:  # ∂L/∂h_t: from the output, through z, through W_hh
                dh = torch.addcmul(grad_out[t], dh, z[t + 1], out=grad_h_steps[t])
                dh.addmm_(grad_gh[t + 1], w_hh)
            torch.mul(dh[:, None, :], m[t], out=grad_gh[t].view(B, 3, H))
        grad_h0 = torch.addmm(dh * z[0], grad_gh[0], w_hh)
        grad_gi = grad_gh.clone()  # r and z pre-activations are shared; n differs
        torch.mul(grad_h_steps, dn, out=grad_gi[..., 2 * H :])
        grad_gh, grad_gi = grad_gh.view(T * B, 3 * H), grad_gi.view(T * B, 3 * H)
        grad_x = (grad_gi @ w_ih).view(T, B, -1).transpose(0, 1)  # (B, T, E)
        return (
            grad_x,
            grad_h0,
            grad_gi.t() @ x_steps,
            grad_gh.t() @ h_prev.view(T * B, H),
            grad_gi.sum(0),
            grad_gh.sum(0),
        )


def gru_layer(
    rnn: nn.GRU, layer: int, x: torch.Tensor, h0: torch.Tensor, reverse: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer `layer` (one direction) of `rnn` over `x` `(B, T, E)` from `h0` `(B, H)`,
    with `rnn`'s own parameters: outputs `(B, T, H)` and the final state `(B, H)`.
    `reverse` picks the backward direction's weights; the caller reverses the input."""
    suffix = "_reverse" if reverse else ""
    weights = [
        getattr(rnn, f"{name}_l{layer}{suffix}")
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    return GRULayer.apply(x, h0, *weights)


def gru(rnn: nn.GRU, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`rnn(x, h0)` for a unidirectional, batch-first `nn.GRU` with biases, through
    `GRULayer`: outputs `(B, T, H)` and final states `(L, B, H)`."""
    finals = []
    for layer in range(rnn.num_layers):
        if layer:  # nn.GRU's dropout sits between layers
            x = nn.functional.dropout(x, rnn.dropout, rnn.training)
        x, h = gru_layer(rnn, layer, x, h0[layer])
        finals.append(h)
    return x, torch.stack(finals)


def additive_score(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """`2 vᵀ σ(q_t + k_i) − Σv` for every query step t and key i, through `AdditiveScore`.

    Args:
        q: `2 W_s s`, `(B, T, A)`; k: `2 (W_h h + b)`, `(B, S, A)`; v: `(A,)`.

    Returns:
        `(B, T, S)` scores.
    """
    return AdditiveScore.apply(q, k, v, AdditiveScore.rows_for(k))


class AdditiveScore(torch.autograd.Function):
    """`2 vᵀ σ(q_t + k_i) − Σv` for all t, i, a few query steps at a time.

    Autograd on the one-line form builds the whole `(B, T, S, A)` tensor, keeps it for
    backward and makes three more of its size there; on a CPU that is memory traffic,
    not arithmetic. Here a block of `rows` query steps (`(B, rows, S, A)`, a few MB, so
    it stays in cache) is built, used and dropped, and backward rebuilds σ per block
    instead of keeping it: nothing of size `(B, T, S, A)` outlives the call.
    """

    BLOCK_BYTES = 1 << 22

    @staticmethod
    def rows_for(prepared: torch.Tensor) -> int:
        """Query steps per block so that a block is about `BLOCK_BYTES`."""
        B, S, A = prepared.shape
        return max(1, AdditiveScore.BLOCK_BYTES // (B * S * A * prepared.element_size()))

    @staticmethod
    def forward(ctx, q, k, v, rows):
        """Args:
            q: `2 W_s s`, `(B, T, A)`.
            k: `2 (W_h h + b)`, `(B, S, A)`.
            v: `(A,)`.
            rows: query steps per block.

        Returns:
            `(B, T, S)` scores.
        """
        B, T, A = q.shape
        out = q.new_empty(B, T, k.shape[1])  # (B, T, S)
        v2 = 2 * v
        for t in range(0, T, rows):
            z = (q[:, t : t + rows, None, :] + k[:, None]).sigmoid_()  # (B, rows, S, A)
            # mv, not matmul: matmul sends a (…, A)·(A,) product to a much slower GEMM here.
            out[:, t : t + rows] = torch.mv(z.view(-1, A), v2).view(z.shape[:-1])  # (B, rows, S)
        ctx.save_for_backward(q, k, v)
        ctx.rows = rows
        return out.sub_(v.sum())

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        q, k, v = ctx.saved_tensors
        rows = ctx.rows
        A = q.shape[-1]
        grad_q, grad_k = torch.empty_like(q), torch.zeros_like(k)
        grad_v = torch.zeros_like(v)
        v2 = 2 * v
        for t in range(0, q.shape[1], rows):
            g = grad[:, t : t + rows]  # (B, rows, S)
            z = (q[:, t : t + rows, None, :] + k[:, None]).sigmoid_()  # (B, rows, S, A)
            grad_v.addmv_(z.reshape(-1, A).t(), g.reshape(-1))  # Σ g σ
            z.addcmul_(z, z, value=-1).mul_(g[..., None]).mul_(v2)  # g · 2v · σ(1 − σ)
            torch.sum(z, 2, out=grad_q[:, t : t + rows])
            grad_k += z.sum(1)
        return grad_q, grad_k, 2 * grad_v - grad.sum(), None
