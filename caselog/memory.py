"""Giving freed memory back to the system (no Qt: the service's long counts and the app's worker tasks use it)."""

from __future__ import annotations

import ctypes


def give_back_freed_memory() -> None:
    """Return to the system the memory the C allocator keeps after objects were freed (glibc's malloc_trim).

    A long read leaves its freed objects in the allocator's arena (a worker thread's own), scattered among what
    is still held, where later work reuses little of it: about 15 MB after the dashboard's build at a million
    cases, and 30 to 45 MB between the passes of its first build after the upgrade (mallinfo2's free bytes,
    measured by benchmarks/bench_ui.py). Nothing happens where there is no glibc."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
