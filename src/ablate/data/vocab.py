"""Word vocabularies built from the training split (sizes then come from the data)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    """Token ↔ id map with `<pad>`=0, `<unk>`=1, `<s>`=2, `</s>`=3.

    Args:
        tokens: the known tokens, most frequent first, specials excluded.
        counts: training-split frequency of each token (for rare-word analyses).
    """

    def __init__(self, tokens: Sequence[str], counts: dict[str, int] | None = None):
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.counts = dict(counts or {})

    # The specials' ids: their places in SPECIALS, the first entries of every vocabulary.
    pad_id, unk_id, bos_id, eos_id = range(len(SPECIALS))

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1) -> Vocab:
        """Every token seen at least `min_freq` times, by frequency then alphabetically."""
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"data.min_freq must be an integer >= 1, got {min_freq!r}")
        counts = Counter(t for s in sentences for t in s)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t)
        )
        return cls(kept, counts)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens up to the first `</s>`, without padding or `<s>`."""
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                out.append(self.itos[i])
        return out

    def state_dict(self) -> dict:
        return {"itos": self.itos, "counts": self.counts}

    @classmethod
    def from_state_dict(cls, state: dict) -> Vocab:
        return cls(state["itos"][len(SPECIALS) :], state.get("counts"))
