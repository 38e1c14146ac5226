"""What a run leaves on disk (the contract in DESIGN.md): results, hypotheses, plots.

Every file is written atomically (a temporary file, then a rename), so a killed run
never leaves a half-written `results.json` for a sweep report to misread.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from matplotlib.figure import Figure

from ablate.data.datasets import atomic_write_bytes, atomic_write_text


def write_json(path: Path, data: Mapping) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_tsv(path: Path, header: Iterable[str], rows: Iterable[Iterable[str]]) -> None:
    """Tab-separated rows; tabs and newlines inside fields become spaces."""

    def clean(x):
        return str(x).replace("\t", " ").replace("\n", " ")

    lines = ["\t".join(header)] + ["\t".join(clean(x) for x in row) for row in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")


def save_figure(fig: Figure, path: Path) -> Path:
    """Render `fig` to PNG at `path` (atomically) and return the path."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return path
