"""Where ablate keeps what it makes once and reuses: generated `toy_fr` splits, subword
models and the downloaded Multi30k files. Every entry's name is a hash of what made it,
and every write is atomic (`ablate.atomic`), so a stale or half-written entry is never
read back."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """`$ABLATE_CACHE_DIR`, else `~/.cache/ablate`."""
    return Path(os.environ.get("ABLATE_CACHE_DIR", "~/.cache/ablate")).expanduser()


def cache_root(cache_dir: str | None) -> Path:
    """The folder a loader's `cache_dir` setting names: that folder (with `~` expanded),
    or `default_cache_dir()` when it is None or empty."""
    return Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
