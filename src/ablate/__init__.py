"""ablate: run and track ablations of the attention mechanism in seq2seq models."""

__version__ = "0.1.0"
