"""The two model families and what they share: the RNN encoder-decoder (`rnn`,
`decoder`; `seq2seq` is its former path), the Transformer (`transformer`, `multihead`),
their settings (`config`), the attention contract both use (`attention`: the score
functions; `FixedContext` for `none`; `luong`), and the decoding they share (`search`,
`protocol`)."""
