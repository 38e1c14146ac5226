"""A GRU layer over a whole sequence with a hand-written backward pass (the CPU path).

It computes what `nn.GRU` computes (Cho et al. 2014, Eq. 5–8, in PyTorch's form, where
the reset gate multiplies the projected state):

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Why: on a CPU a training step of the model is mostly its RNNs, and ATen's GRU records
a dozen small autograd nodes per time step (~12 kernels forwards, ~25 backwards). Here
a time step is 6 kernels forwards and 3 backwards: everything in the backward step
that does not depend on the incoming gradient is computed for all steps at once
before the loop, and the weight gradients are one matrix product over all steps
after it. A layer's forward + backward is 1.2× faster (B 64, T 28, H 256, 2 threads);
the values are the same (float64: to 1e-15).
"""

from __future__ import annotations

import torch
from torch import nn


class GRULayer(torch.autograd.Function):
    """One unidirectional GRU layer over a batch-first sequence: `apply(x, h0, w_ih,
    w_hh, b_ih, b_hh)` → outputs `(B, T, H)` and the final state `(B, H)`.

    Args (of `apply`):
        x: inputs `(B, T, E)`.
        h0: initial state `(B, H)`.
        w_ih, w_hh, b_ih, b_hh: `nn.GRU`'s `weight_ih_l*`, `weight_hh_l*`, `bias_ih_l*`,
            `bias_hh_l*` (gates in the order r, z, n).
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
