"""This machine's peak rates, the roofs of the roofline: float32 GEMM FLOP/s and memory bytes/s.

Both are measured once per session and cached, so every table and plot uses the same roofs.

Example
-------
>>> 1e6 < peak_flops_per_second(n=128, repeats=2) < 1e14    # FLOP/s; a laptop core does ~1e10
True
>>> memory_bytes_per_second(megabytes=8, repeats=2) > 1e6   # bytes/s
True
"""
from __future__ import annotations

import functools
import time

import numpy as np

__all__ = ["peak_flops_per_second", "memory_bytes_per_second"]

_BYTES_PER_FLOAT = 4


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@functools.lru_cache(maxsize=None)
def _peak_cached(n, repeats):
    from ..cost import measure_flops_per_second

    return float(measure_flops_per_second(n=n, repeats=repeats))


def peak_flops_per_second(n=512, repeats=20, refresh=False):
    """Peak float32 FLOP/s of this machine, measured with an n x n numpy GEMM (2 n^3 / time).

    The measurement is :func:`efficientnn.cost.measure_flops_per_second`, cached for the
    session so every table and plot uses the same peak (``refresh=True`` measures again).

    Returns
    -------
    float, FLOP/s (e.g. 3e11 for 300 GFLOP/s)
    """
    if refresh:
        _peak_cached.cache_clear()
    return _peak_cached(int(n), int(repeats))


@functools.lru_cache(maxsize=None)
def _bandwidth_cached(megabytes, repeats):
    src = np.ones(int(megabytes * 2**20) // _BYTES_PER_FLOAT, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # first touch
    best = min(_timed(lambda: np.copyto(dst, src)) for _ in range(repeats))
    return 2.0 * src.nbytes / best  # one read and one write of every byte


def memory_bytes_per_second(megabytes=64, repeats=5, refresh=False):
    """Main-memory bandwidth in bytes/s, from copying a ``megabytes`` float32 array (read + write).

    The array is larger than the caches, so this is the DRAM roof of the roofline; layers whose
    tensors fit in cache can beat it. Cached for the session (``refresh=True`` measures again).

    Returns
    -------
    float, bytes/s (e.g. 1.5e10 for 15 GB/s)
    """
    if refresh:
        _bandwidth_cached.cache_clear()
    return _bandwidth_cached(float(megabytes), int(repeats))
