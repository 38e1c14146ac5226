"""Batches for Lightning: id tensors, padding, and length-grouped batching; and what a
checkpoint keeps of the data.

Batches are drawn from pools of about 50 batches sorted by source length (the
torchtext "bucket iterator" recipe), so sentences of similar length share a batch and
padding stays small; the order of batches is shuffled with a generator seeded by
`seed + epoch`, so a run and its resumption see the same data order. With
`data.batch_tokens` the training batches hold a token budget instead (`TokenBatches`, the
NMT norm), seeded the same way.

`Seq2SeqData.state_dict()` is what Lightning stores of the datamodule in every checkpoint
(under the class's name): the vocabularies and subword models `ablate.translate` needs,
and the data's identity (`DataIdentity`: the dataset's settings and a fingerprint of its
three splits), which a resumed run is checked against (`mismatch`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Sampler

from ablate.data.corpus import Corpus, Pair
from ablate.data.vocab import Vocab


class _EpochBatches(Sampler[list[int]]):
    """What both training samplers share: batches drawn afresh each pass from a generator
    seeded by `seed + epoch`, the epoch read from `epoch_fn` (the trainer's) where given,
    else set by `set_epoch` or counted by the passes so far. A subclass gives `_batches`."""

    def __init__(self, seed: int, epoch_fn: Callable[[], int] | None):
        self.seed, self.epoch, self.epoch_fn = seed, 0, epoch_fn

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rng(self) -> random.Random:
        """This pass's generator."""
        if self.epoch_fn is not None:
            self.epoch = self.epoch_fn()
        return random.Random(self.seed + self.epoch)

    def _batches(self) -> list[list[int]]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        self.epoch += 1  # the next pass differs even when nobody calls set_epoch
        return iter(batches)


class LengthGroupedBatches(_EpochBatches):
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
        super().__init__(seed, epoch_fn)
        self.lengths, self.batch_size, self.shuffle = list(lengths), batch_size, shuffle
        self.pool = pool

    def _batches(self) -> list[list[int]]:
        idx = list(range(len(self.lengths)))
        if not self.shuffle:
            idx.sort(key=lambda i: self.lengths[i])
            return [idx[i : i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        rng = self._rng()
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

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)


def check_batch_tokens(batch_tokens) -> None:
    """Raise ValueError for a `data.batch_tokens` that is neither null nor a positive
    integer."""
    if batch_tokens is None:
        return
    if isinstance(batch_tokens, bool) or not isinstance(batch_tokens, int) or batch_tokens < 1:
        raise ValueError(
            f"data.batch_tokens must be a positive integer (target tokens per batch) or null, "
            f"got {batch_tokens!r}"
        )


class TokenBatches(_EpochBatches):
    """Training batches of at most `batch_tokens` target tokens, in place of a number of
    sentences (fairseq's `--max-tokens`, JoeyNMT's `batch_type: token`): a batch's tokens
    are its padded target, sentences × its longest target length, so a budget bounds the
    memory a batch takes whatever the lengths. A sentence whose target alone is longer
    than the budget is a batch of its own, the only kind of batch over it.

    The sentences are sorted by target length and cut greedily into batches, so a batch
    holds targets of about one length and little padding. The cuts follow from the sorted
    lengths alone, so every epoch has the same number of batches (Lightning reads `len`
    once, before the first epoch); what changes with the epoch is which of the sentences
    of one target length share a batch (shuffled among themselves) and the order of the
    batches, both drawn from a generator seeded by `seed + epoch`, so a resumed run sees
    the batches of the uninterrupted one.

    Args:
        lengths: the target length of every example, `</s>` included (`tgt_out`'s).
        batch_tokens: the budget, in target tokens.
        seed: base seed; epoch `e` uses `seed + e`.
        epoch_fn: where the current epoch comes from (the trainer's), read at each pass;
            without it, `set_epoch` or the count of passes so far.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_tokens: int,
        seed: int = 0,
        epoch_fn: Callable[[], int] | None = None,
    ):
        check_batch_tokens(batch_tokens)
        super().__init__(seed, epoch_fn)
        self.lengths, self.batch_tokens = list(lengths), batch_tokens
        ordered = sorted(self.lengths)
        self.cuts, start = [], 0  # [start, end) positions in the sorted order
        for k, length in enumerate(ordered):  # ascending: `length` is the batch's longest
            if k > start and (k - start + 1) * length > batch_tokens:
                self.cuts.append((start, k))
                start = k
        if ordered:
            self.cuts.append((start, len(ordered)))

    def _batches(self) -> list[list[int]]:
        rng = self._rng()
        by_length: dict[int, list[int]] = {}
        for i, length in enumerate(self.lengths):
            by_length.setdefault(length, []).append(i)
        order = []
        for length in sorted(by_length):
            group = by_length[length]
            rng.shuffle(group)
            order += group
        batches = [order[a:b] for a, b in self.cuts]
        rng.shuffle(batches)
        return batches

    def __len__(self) -> int:
        return len(self.cuts)


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


def splits_fingerprint(corpus: Corpus) -> str:
    """A fingerprint of the tokens of the three splits: equal for the same sentences."""
    digest = hashlib.sha256()
    for name in ("train", "valid", "test"):
        digest.update(f"{name}\x1d".encode())
        for p in getattr(corpus, name):
            digest.update(("\x1f".join(p.src) + "\x1e" + "\x1f".join(p.tgt) + "\n").encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class DataIdentity:
    """What a model was trained on.

    Args:
        name: the dataset's name (`Corpus.name`).
        settings: the dataset's settings (its `dataset` config), to name in messages.
        splits: `splits_fingerprint` of its three splits: what decides sameness.
    """

    name: str
    settings: Mapping
    splits: str

    def describe(self, keys: Sequence[str]) -> str:
        """`dataset reverse (dataset.task=reverse; splits 1f2e…)`, naming `keys`."""
        shown = [f"dataset.{k}={self.settings.get(k)}" for k in keys]
        return f"dataset {self.name} ({'; '.join([*shown, f'splits {self.splits}'])})"


def mismatch(saved: Mapping, current: Mapping) -> str | None:
    """Why data saved in a checkpoint (`Seq2SeqData.state_dict()`, or the vocabularies of
    an older checkpoint) is not this run's, or None: the vocabularies first, then the
    data's identity where the checkpoint has one."""
    for side in ("src", "tgt"):
        then, now = saved[f"{side}_vocab"]["itos"], current[f"{side}_vocab"]["itos"]
        if list(then) != list(now):
            return (
                f"was trained on another {side} vocabulary ({len(then)} words, this run has "
                f"{len(now)}); resume with the same dataset and data settings, or start a "
                f"new run"
            )
    if saved.get("data") is None:  # an older checkpoint: its vocabularies are all it knows
        return None
    then, now = DataIdentity(**saved["data"]), DataIdentity(**current["data"])
    if then.splits == now.splits:
        return None
    keys = sorted(
        k
        for k in {*then.settings, *now.settings} - {"cache_dir"}
        if then.settings.get(k) != now.settings.get(k)
    )
    return (
        f"was trained on other data, {then.describe(keys)}; this run has "
        f"{now.describe(keys)}; resume with the same dataset and data settings, or start a "
        f"new run"
    )


class Seq2SeqData(pl.LightningDataModule):
    """Vocabularies and length-grouped loaders over a `Corpus`.

    Args:
        corpus: the dataset's splits.
        batch_size: sentences per batch (validation and test; training too unless
            `batch_tokens` is given).
        min_freq: training-split frequency a word needs to get its own id.
        seed: seeds the batch order.
        num_workers: loader worker processes (0 = in the main process; batches are
            cheap to build, so this rarely pays on CPU).
        dataset: the dataset's settings (its config), kept in checkpoints with the
            splits' fingerprint (`identity`).
        batch_tokens: training batches of at most this many target tokens
            (`TokenBatches`) instead of `batch_size` sentences; None for sentences.
    """

    def __init__(
        self,
        corpus: Corpus,
        batch_size: int = 64,
        min_freq: int = 1,
        seed: int = 0,
        num_workers: int = 0,
        dataset: Mapping | None = None,
        batch_tokens: int | None = None,
    ):
        super().__init__()
        check_batch_tokens(batch_tokens)  # now, not when training starts
        self.batch_tokens = batch_tokens
        self.corpus, self.dataset = corpus, dict(dataset or {})
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.src_vocab = Vocab.build((p.src for p in corpus.train), min_freq)
        self.tgt_vocab = Vocab.build((p.tgt for p in corpus.train), min_freq)

    @cached_property
    def identity(self) -> DataIdentity:
        """The data's name, settings and splits' fingerprint (computed once)."""
        return DataIdentity(self.corpus.name, self.dataset, splits_fingerprint(self.corpus))

    def state_dict(self) -> dict:
        """What a checkpoint keeps of the data: the vocabularies, the subword models
        (None for word tokens) and the identity; plain values, loadable with
        `torch.load(..., weights_only=True)`."""
        return {
            "src_vocab": self.src_vocab.state_dict(),
            "tgt_vocab": self.tgt_vocab.state_dict(),
            "subword": {
                side: None if sw is None else sw.state_dict()
                for side, sw in (("src", self.corpus.src_subword), ("tgt", self.corpus.tgt_subword))
            },
            "data": dataclasses.asdict(self.identity),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Check that a checkpoint being restored was trained on this data; the
        vocabularies are this corpus's own already.

        Raises:
            ValueError: another vocabulary or other data (`mismatch`).
        """
        if problem := mismatch(state_dict, self.state_dict()):
            raise ValueError(f"the checkpoint {problem}")

    def split(self, name: str) -> list[Pair]:
        return getattr(self.corpus, name)

    def loader(
        self, name: str, shuffle: bool = False, epoch_fn: Callable[[], int] | None = None
    ) -> DataLoader:
        pairs = self.split(name)
        if shuffle and self.batch_tokens is not None:  # training by a token budget
            sampler = TokenBatches(
                [len(p.tgt) + 1 for p in pairs],  # tgt_out's lengths: with </s>
                self.batch_tokens,
                seed=self.seed,
                epoch_fn=epoch_fn,
            )
        else:
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
