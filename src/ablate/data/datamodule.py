"""Batches for Lightning: id tensors, padding, and length-grouped batching.

Batches are drawn from pools of about 50 batches sorted by source length (the
torchtext "bucket iterator" recipe), so sentences of similar length share a batch and
padding stays small; the order of batches is shuffled with a generator seeded by
`seed + epoch`, so a run and its resumption see the same data order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Sampler

from ablate.data.corpus import Corpus, Pair
from ablate.data.vocab import Vocab


class LengthGroupedBatches(Sampler[list[int]]):
    """Batches of indices of similar source length.

    Args:
        lengths: source length of every example.
        batch_size: sentences per batch.
        shuffle: shuffle pools and batch order (training) or keep a fixed sorted order.
        seed: base seed; epoch `e` uses `seed + e`.
        pool: batches per sorted pool.
        epoch_fn: where the current epoch comes from (the trainer's), read at each pass;
            without it, `set_epoch` or the count of passes so far.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        pool: int = 50,
        epoch_fn: Callable[[], int] | None = None,
    ):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"data.batch_size must be a positive integer, got {batch_size!r}")
        self.lengths, self.batch_size, self.shuffle = list(lengths), batch_size, shuffle
        self.seed, self.pool, self.epoch, self.epoch_fn = seed, pool, 0, epoch_fn

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        idx = list(range(len(self.lengths)))
        if not self.shuffle:
            idx.sort(key=lambda i: self.lengths[i])
            return [idx[i : i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        if self.epoch_fn is not None:
            self.epoch = self.epoch_fn()
        rng = random.Random(self.seed + self.epoch)
        rng.shuffle(idx)
        size = self.pool * self.batch_size
        batches = []
        for start in range(0, len(idx), size):
            chunk = sorted(idx[start : start + size], key=lambda i: self.lengths[i])
            batches += [
                chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
            ]
        rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        self.epoch += 1  # the next pass differs even when nobody calls set_epoch
        return iter(batches)

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)


def collate(pairs: list[Pair], indices: list[int], src_vocab: Vocab, tgt_vocab: Vocab) -> dict:
    """Pad a list of pairs into id tensors.

    Returns:
        dict with `src` `(B, S)`, `src_len` `(B,)`, `tgt_in` `(B, T)` (`<s>` + target),
        `tgt_out` `(B, T)` (target + `</s>`), and `index` `(B,)` into the split.
    """
    B = len(pairs)
    src_ids = [src_vocab.encode(p.src) for p in pairs]
    tgt_ids = [tgt_vocab.encode(p.tgt) for p in pairs]
    S, T = max(map(len, src_ids)), max(map(len, tgt_ids)) + 1
    src = torch.full((B, S), Vocab.pad_id, dtype=torch.long)
    tgt_in = torch.full((B, T), Vocab.pad_id, dtype=torch.long)
    tgt_out = torch.full((B, T), Vocab.pad_id, dtype=torch.long)
    for b, (s, t) in enumerate(zip(src_ids, tgt_ids, strict=True)):
        src[b, : len(s)] = torch.tensor(s)
        tgt_in[b, : len(t) + 1] = torch.tensor([Vocab.bos_id, *t])
        tgt_out[b, : len(t) + 1] = torch.tensor([*t, Vocab.eos_id])
    return {
        "src": src,
        "src_len": torch.tensor([len(s) for s in src_ids]),
        "tgt_in": tgt_in,
        "tgt_out": tgt_out,
        "index": torch.tensor(indices),
    }


class _Split(torch.utils.data.Dataset):
    def __init__(self, pairs: list[Pair]):
        self.pairs = pairs

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        return i


class Seq2SeqData(pl.LightningDataModule):
    """Vocabularies and length-grouped loaders over a `Corpus`.

    Args:
        corpus: the dataset's splits.
        batch_size: sentences per batch.
        min_freq: training-split frequency a word needs to get its own id.
        seed: seeds the batch order.
        num_workers: loader worker processes (0 = in the main process; batches are
            cheap to build, so this rarely pays on CPU).
    """

    def __init__(
        self,
        corpus: Corpus,
        batch_size: int = 64,
        min_freq: int = 1,
        seed: int = 0,
        num_workers: int = 0,
    ):
        super().__init__()
        self.corpus, self.batch_size, self.seed, self.num_workers = (
            corpus,
            batch_size,
            seed,
            num_workers,
        )
        self.src_vocab = Vocab.build((p.src for p in corpus.train), min_freq)
        self.tgt_vocab = Vocab.build((p.tgt for p in corpus.train), min_freq)

    def split(self, name: str) -> list[Pair]:
        return getattr(self.corpus, name)

    def loader(
        self, name: str, shuffle: bool = False, epoch_fn: Callable[[], int] | None = None
    ) -> DataLoader:
        pairs = self.split(name)
        sampler = LengthGroupedBatches(
            [len(p.src) for p in pairs],
            self.batch_size,
            shuffle=shuffle,
            seed=self.seed,
            epoch_fn=epoch_fn,
        )
        return DataLoader(
            _Split(pairs),
            batch_sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=lambda idx: collate(
                [pairs[i] for i in idx], idx, self.src_vocab, self.tgt_vocab
            ),
        )

    def train_dataloader(self):
        # The batch order of epoch e depends on e alone, read from the trainer at each pass
        # (Lightning builds this loader before it restores a resumed run's epoch, and sets
        # epochs only on `batch_sampler.sampler`, which a batch sampler has not).
        def epoch() -> int:
            return self.trainer.fit_loop.epoch_progress.current.processed

        return self.loader("train", shuffle=True, epoch_fn=epoch if self.trainer else None)

    def val_dataloader(self):
        return self.loader("valid")

    def test_dataloader(self):
        return self.loader("test")
