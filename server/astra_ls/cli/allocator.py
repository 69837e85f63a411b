"""Have the C allocator give big freed blocks back to the system at once, for a one-off check's peak memory.

glibc raises its mmap threshold to the size of each big block freed, so later blocks of that size come
from the heap, where freed space stays with the process: a check of a million events ended up holding
about 5 MB of such space at its peak. A fixed threshold keeps every big block in a mapping of its own,
returned when freed. Elsewhere (no glibc) nothing changes.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
BIG_BLOCK = 512 * 1024  # bigger than the scan's blocks of the store, so those are reused from the heap


def return_big_blocks_promptly() -> None:
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, BIG_BLOCK)
