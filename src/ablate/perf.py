"""Process-level speed settings and measures that belong to no single module.

`keep_freed_memory()`: glibc returns every freed block of more than a few MB to the
kernel, so each training step's large attention tensors (`(B, T, S, H)` for additive
scores, ~60 MB at batch 64) come back as fresh pages and pay a page fault per 4 KB.
Raising the mmap and trim thresholds keeps those blocks in the heap for reuse; on the
2-core reference machine that makes `attention=additive` training ~1.5× faster
(benchmarks/throughput.py measures it). A no-op where glibc is not the C library.

`peak_rss_mb()`: the process's peak resident memory so far, for the run's record
(`ablate.run_files.RunResults.train`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_done = False


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed large blocks for reuse. Returns True if it took effect."""
    global _done
    if _done:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    # Blocks up to 1 GB come from the heap, and the heap is never trimmed mid-run.
    ok = bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30))
    ok = bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)) and ok
    _done = ok
    return ok


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (`ru_maxrss`).

    A process that ran several jobs (the basic launcher runs a sweep's jobs in one
    process, joblib reuses its workers) reports the largest of them so far.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
