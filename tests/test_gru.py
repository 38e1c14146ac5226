"""The hand-written GRU (`ablate.models.cpu.gru`) computes what `nn.GRU` computes: the same
outputs, final states and gradients for every input and parameter."""

import pytest
import torch
from torch import nn

from ablate.models.cpu import gru

B, E, H = 4, 5, 6


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("T", [1, 2, 9])
def test_equals_nn_gru_with_gradients(layers, T):
    torch.manual_seed(layers * 10 + T)
    rnn = nn.GRU(E, H, num_layers=layers, batch_first=True).double()
    x = torch.randn(B, T, E, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(layers, B, H, dtype=torch.double, requires_grad=True)
    up_out = torch.randn(B, T, H, dtype=torch.double)
    up_h = torch.randn(layers, B, H, dtype=torch.double)
    inputs = [x, h0, *rnn.parameters()]
    results = []
    for f in (rnn, lambda x, h0: gru(rnn, x, h0)):
        out, h = f(x, h0)
        results.append([out, h, *torch.autograd.grad([out, h], inputs, [up_out, up_h])])
    for ours, theirs in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_only_the_outputs_or_only_the_final_state_carry_a_gradient():
    """Autograd hands backward zeros for an unused output: both cases are exact."""
    torch.manual_seed(1)
    rnn = nn.GRU(E, H, batch_first=True).double()
    x = torch.randn(B, 7, E, dtype=torch.double, requires_grad=True)
    h0 = torch.zeros(1, B, H, dtype=torch.double)
    for pick in (0, 1):
        ours = torch.autograd.grad(gru(rnn, x, h0)[pick].sum(), [x, *rnn.parameters()])
        theirs = torch.autograd.grad(rnn(x, h0)[pick].sum(), [x, *rnn.parameters()])
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(2)
    rnn = nn.GRU(E, H, num_layers=2, batch_first=True, dropout=0.5)
    x, h0 = torch.randn(B, 5, E), torch.zeros(2, B, H)
    rnn.eval()
    torch.testing.assert_close(gru(rnn, x, h0)[0], rnn(x, h0)[0])
    rnn.train()
    torch.manual_seed(3)
    first = gru(rnn, x, h0)[0]
    torch.manual_seed(4)
    assert not torch.equal(first, gru(rnn, x, h0)[0])  # a fresh mask each call
