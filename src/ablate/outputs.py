"""Figures to files: a run's and a sweep's plots are written through `save_figure`.

Plots themselves are pure (`ablate.plots`: arrays in, a Figure out); everything else a
run leaves on disk is `ablate.results`.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure

from ablate.atomic import atomic_write_bytes


def save_figure(fig: Figure, path: Path) -> Path:
    """Render `fig` to PNG at `path` (atomically) and return the path."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return path
