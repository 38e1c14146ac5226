"""Shared test set-up: W&B offline always, caches in a temp dir, tiny configs."""

import os
from pathlib import Path

import pytest

os.environ["WANDB_MODE"] = "offline"  # never the network, never a prompt
os.environ["WANDB_SILENT"] = "true"
os.environ.pop("WANDB_API_KEY", None)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
# A checkpoint of a TINY toy_fr run written before the vocabularies moved into the
# datamodule's state (they sat in `checkpoint["ablate"]`): older checkpoints must load.
OLD_CHECKPOINT = ROOT / "tests" / "data" / "old_layout.ckpt"

# Small enough that a run takes a couple of seconds on 2 CPU cores.
TINY = [
    "dataset.train_size=64",
    "dataset.valid_size=16",
    "dataset.test_size=24",
    "dataset.max_len=12",
    "model.embed=8",
    "model.hidden=8",
    "data.batch_size=16",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2",
    "threads=1",
]
# TINY's model sizes per `model` option whose keys are not the RNN's embed and hidden.
TINY_SIZES = {"transformer": ["model.d_model=8", "model.heads=2", "model.ff=16"]}


def tiny(model: str = "default") -> list[str]:
    """TINY for the `model` option `model`: its own sizes in place of the RNN's."""
    if model not in TINY_SIZES:
        return list(TINY)
    rnn = ("model.embed=", "model.hidden=")
    return [o for o in TINY if not o.startswith(rnn)] + TINY_SIZES[model]


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ABLATE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def one_thread():
    """One torch thread for tiny models: a second only adds contention (many times slower
    on a busy machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


UNBUILT = object()  # an alignment figure that `skip_figures` checked but did not build


def unrendered(fig, path: Path) -> Path:
    """`ablate.outputs.save_figure` without the PNG: an empty file where it would go."""
    from matplotlib.figure import Figure

    assert fig is UNBUILT or (isinstance(fig, Figure) and fig.axes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def unbuilt_alignment(weights, src_tokens, tgt_tokens, *, title=""):
    """`ablate.plots.alignment_figure`'s check of its input (weights of shape (T, S) for T
    target and S source tokens), without building the figure."""
    from ablate.plots import _check_panel

    _check_panel(weights, src_tokens, tgt_tokens)
    assert isinstance(title, str) and title
    return UNBUILT


def skip_figures(mp: pytest.MonkeyPatch) -> None:
    """A run's figures, as `no_png` leaves them: the BLEU-by-length figure built, the three
    alignment heatmaps checked (their weights against their tokens) but not built, and no
    PNG rendered. Building and rendering are most of a tiny run's time; the figures are
    tested in tests/test_plots.py, and the smoke runs of the default settings and of real
    text (tests/test_run.py), test_run_dir_contract and the W&B run render theirs."""
    mp.setattr("ablate.outputs.save_figure", unrendered)
    mp.setattr("ablate.outputs.alignment_figure", unbuilt_alignment)


@pytest.fixture
def no_png(monkeypatch):
    """`skip_figures` for one test: for tests whose claim is not the figures."""
    skip_figures(monkeypatch)


@pytest.fixture(scope="session")
def reverse_ckpt(tmp_path_factory):
    """`last.ckpt` of a TINY `dataset=reverse` run: the same 30 symbols as `dataset=copy`,
    so only the data's identity tells the two apart."""
    from ablate.train import run

    run_dir = tmp_path_factory.mktemp("reverse")
    with pytest.MonkeyPatch.context() as mp:
        skip_figures(mp)  # `no_png`, for a session
        run(compose([*TINY, "logger=none", "dataset=reverse"]), run_dir)
    return run_dir / "checkpoints" / "last.ckpt"


def compose(overrides=()):
    """The config `python -m ablate OVERRIDES` would run."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from hydra_plugins.ablate_tuning import register

    register()  # as `ablate.cli.entry` does: `hydra/sweeper=tune` under an editable install

    with initialize_config_dir(str(CONF), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def ablate_in_process(args: list[str]) -> int:
    """`python -m ablate ARGS` in this process (`runpy` of `ablate/__main__.py`: the checks
    of `ablate.cli.entry`, Hydra, `train.run`), without starting a Python; its exit code.
    Its output goes where the test captures it (capsys)."""
    import logging
    import runpy
    import sys

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["ablate", *args])
        mp.setenv("HYDRA_FULL_ERROR", "0")
        try:
            runpy.run_module("ablate", run_name="__main__")
            return 0
        except SystemExit as e:
            return 0 if e.code is None else e.code
        finally:  # Hydra configured logging for the job: give pytest its own back
            for handler in set(root.handlers) - set(handlers):
                handler.close()
            root.handlers[:], root.level = handlers, level


def write_parallel(root: Path, n=(40, 10, 12), mismatch=False):
    """A tiny aligned corpus in the `dataset=parallel` layout."""
    root.mkdir(parents=True, exist_ok=True)
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "black", "small", "ran"]
    for split, size in zip(("train", "valid", "test"), n, strict=True):
        src = [" ".join(words[(i + k) % len(words)] for k in range(2 + i % 6)) for i in range(size)]
        tgt = [s.upper() for s in src]
        (root / f"{split}.src").write_text("\n".join(src) + "\n", encoding="utf-8")
        (root / f"{split}.tgt").write_text(
            "\n".join(tgt[: size - (1 if mismatch else 0)]) + "\n", encoding="utf-8"
        )
    return root


# One row per concept: German, English, French (a few words apiece, umlauts included).
MULTI30K_WORDS = [
    ("ein", "a", "un"),
    ("Hund", "dog", "chien"),
    ("läuft", "runs", "court"),
    ("über", "over", "sur"),
    ("die", "the", "la"),
    ("grüne", "green", "verte"),
    ("Wiese", "meadow", "prairie"),
    ("Mädchen", "girl", "fille"),
    ("spielt", "plays", "joue"),
    ("größer", "bigger", "plus grand"),
    ("schön", "beautiful", "belle"),
    ("Straße", "street", "rue"),
]


def multi30k_sentence(i: int, lang: str) -> str:
    """Sentence `i` of the fake Multi30k in `lang` (de, en or fr)."""
    col = ("de", "en", "fr").index(lang)
    words = [MULTI30K_WORDS[(i + k) % len(MULTI30K_WORDS)][col] for k in range(2 + i % 7)]
    return " ".join(words).capitalize() + "."


def write_multi30k(root: Path, n=(40, 10, 12), gz=True):
    """A tiny fake Multi30k in the release's layout: `{split}.{lang}.gz` (or plain)."""
    import gzip

    root.mkdir(parents=True, exist_ok=True)
    for split, size in zip(("train", "val", "test_2016_flickr"), n, strict=True):
        for lang in ("de", "en", "fr"):
            text = "".join(multi30k_sentence(i, lang) + "\n" for i in range(size)).encode()
            if gz:
                # mtime=0: the same sentences give the same bytes (and sha256) every time.
                (root / f"{split}.{lang}.gz").write_bytes(gzip.compress(text, mtime=0))
            else:
                (root / f"{split}.{lang}").write_bytes(text)
    return root


# Vocabulary sizes of the hand-made token batches the model tests share.
V_SRC, V_TGT = 20, 25


def token_batch(B=4, S=9, T=7, seed=0):
    """A seeded batch of `B` sources padded to `S` (lengths S, 5, 1, 7; pad id 0) and
    teacher-forcing inputs of length `T` that start with BOS (id 2)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    src_len = torch.tensor([S, 5, 1, 7][:B])
    src = torch.randint(4, V_SRC, (B, S), generator=g)
    src = src.masked_fill(torch.arange(S)[None] >= src_len[:, None], 0)
    tgt_in = torch.randint(4, V_TGT, (B, T), generator=g)
    tgt_in[:, 0] = 2
    return src, src_len, tgt_in
