"""The RNN family's old module, kept because old paths name it: run dirs' `.hydra/`
configs from before the typed configs hold `_target_: ablate.models.seq2seq.Seq2Seq`,
and old code imports from here. The family lives in `ablate.models.rnn`; `Seq2Seq` is
`RNNEncoderDecoder`, the same class (the Transformer is a seq2seq model too, so the
class's name says RNN now)."""

from ablate.models.rnn import Encoder, Memory, merge_directions
from ablate.models.rnn import RNNEncoderDecoder as Seq2Seq

__all__ = ["Encoder", "Memory", "Seq2Seq", "merge_directions"]
