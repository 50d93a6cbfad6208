"""Reduction of per-chunk buffers: how parallel kernels avoid scatter races.

A kernel that scatters forces to atoms other than its own splits its atoms into chunks, one per
thread; each chunk accumulates into its own slice of a (n_chunks, N, 3) buffer, and the slices are
summed here, in parallel over atoms (each atom's sum is written by one thread only).
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def sum_chunks(chunk_buffers):
    """Sum (n_chunks, N, 3) per-chunk buffers into one (N, 3) array, in chunk order."""
    n_chunks, n_atoms = chunk_buffers.shape[0], chunk_buffers.shape[1]
    total = np.zeros((n_atoms, 3))
    for i in prange(n_atoms):
        for c in range(n_chunks):
            for a in range(3):
                total[i, a] += chunk_buffers[c, i, a]
    return total


@njit(cache=True)
def chunk_range(chunk, n_chunks, n_atoms):
    """First and one-past-last atom of a chunk: contiguous, near-equal ranges."""
    return chunk * n_atoms // n_chunks, (chunk + 1) * n_atoms // n_chunks
