"""The tiny models the tests build, one factory per family, so that every test file
makes its models the same way (through the typed settings, `ablate.models.config`).

Each factory seeds torch first (`seed`), so the same call gives the same weights, and
takes any setting of its family by name; what a file does not give is a small model
without dropout, in eval mode where `eval` is left True.
"""

import torch

from ablate.models.config import RNNConfig, TransformerConfig
from ablate.models.rnn import RNNEncoderDecoder
from ablate.models.transformer import Transformer

from conftest import V_SRC, V_TGT

# Small enough for a CPU test, big enough that every size differs (E ≠ H ≠ V).
RNN_SIZES = dict(embed=16, hidden=12, layers=1, dropout=0.0)
TRANSFORMER_SIZES = dict(d_model=16, heads=4, layers=2, ff=32, dropout=0.0)


def rnn_model(
    attention="additive",
    *,
    src_vocab_size: int = V_SRC,
    tgt_vocab_size: int = V_TGT,
    seed: int | None = 0,
    eval: bool = True,
    **settings,
) -> RNNEncoderDecoder:
    """An `RNNEncoderDecoder` of `RNN_SIZES` updated by `settings` (`RNNConfig`'s fields); `seed`
    None draws from torch's current random state."""
    if seed is not None:
        torch.manual_seed(seed)
    config = RNNConfig(
        src_vocab_size=src_vocab_size,
        tgt_vocab_size=tgt_vocab_size,
        attention=attention,
        **(RNN_SIZES | settings),
    )
    model = RNNEncoderDecoder(config)
    return model.eval() if eval else model


def transformer_model(
    attention="scaled_dot",
    *,
    src_vocab_size: int = V_SRC,
    tgt_vocab_size: int = V_TGT,
    seed: int | None = 0,
    eval: bool = True,
    dtype: torch.dtype | None = None,
    **settings,
) -> Transformer:
    """A `Transformer` of `TRANSFORMER_SIZES` updated by `settings`
    (`TransformerConfig`'s fields), in `dtype` where given."""
    if seed is not None:
        torch.manual_seed(seed)
    config = TransformerConfig(
        src_vocab_size=src_vocab_size,
        tgt_vocab_size=tgt_vocab_size,
        attention=attention,
        **(TRANSFORMER_SIZES | settings),
    )
    model = Transformer(config)
    model = model if dtype is None else model.to(dtype)
    return model.eval() if eval else model
