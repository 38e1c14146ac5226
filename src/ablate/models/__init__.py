"""The RNN encoder-decoder and its attention score functions."""
