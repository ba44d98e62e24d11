"""portal.heap returns freed C-heap memory to the system (glibc only)."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import pytest

from portal import heap

libc_name = ctypes.util.find_library("c")
glibc = pytest.mark.skipif(
    heap._glibc() is None or not Path("/proc/self/statm").exists(), reason="glibc and /proc only"
)


def _resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


@glibc
def test_a_trim_returns_the_free_pages_between_live_blocks():
    libc = ctypes.CDLL(libc_name)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    block, count = 64 * 1024, 1600  # below the mmap threshold: these come from the heap
    assert heap.set_mmap_threshold(128 * 1024)
    blocks = [libc.malloc(block) for _ in range(count)]
    try:
        for address in blocks:
            ctypes.memset(address, 1, block)  # resident
        for address in blocks[::2]:  # every other block freed: the free ones cannot merge into the top
            libc.free(address)
        before = _resident_bytes()
        assert heap.release_free_memory()
        returned = before - _resident_bytes()
        # Half the blocks' pages (50 MiB) go back, less a page or two of each free block's bookkeeping.
        assert returned > 0.8 * (count // 2) * block
    finally:
        for address in blocks[1::2]:
            libc.free(address)


def test_nothing_is_set_for_a_threshold_of_zero():
    assert heap.set_mmap_threshold(0) is False
