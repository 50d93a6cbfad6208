"""Brute-force neighbour pairs in NumPy: the oracle the numba cell lists are tested against.

O(N^2 * images); for tests and small systems only. The format is the one every slidesim
neighbour list uses (a *full* list in CSR form, see :mod:`slidesim.neighbors`):

- ``offsets`` (N+1,) int64: the neighbours of atom i are entries ``offsets[i]:offsets[i+1]``
- ``neighbors`` (M,) int64: index j of each neighbour
- ``shifts`` (M, 3) float64 [A]: periodic shift, so that the pair vector is
  ``r_ij = positions[j] + shifts[k] - positions[i]`` for the *given* (possibly unwrapped)
  positions.

Each (i, j, image) inside the cutoff appears once in i's list and once in j's list; an atom
may meet itself and the same j several times through different images when the cutoff exceeds
half the cell width.
"""

import numpy as np

#: which pairs a list holds
PAIR_MODES = ("all", "intralayer", "interlayer")


def in_plane_widths(cell):
    """Perpendicular widths [A] of the cell across its a and b faces (periodic directions)."""
    a, b = np.asarray(cell[0], float), np.asarray(cell[1], float)
    area = abs(a[0] * b[1] - a[1] * b[0])
    return area / np.hypot(b[0], b[1]), area / np.hypot(a[0], a[1])


def brute_force_neighbors(positions, cell, layer, cutoff, mode="all"):
    """All pairs within ``cutoff`` [A], periodic along a and b, open along z."""
    positions = np.asarray(positions, float)
    cell = np.asarray(cell, float)
    n = len(positions)
    inv = np.linalg.inv(cell[:2, :2])
    frac = positions[:, :2] @ inv
    fold = np.floor(frac)
    wa, wb = in_plane_widths(cell)
    na, nb = int(np.ceil(cutoff / wa)) + 1, int(np.ceil(cutoff / wb)) + 1
    rows = [[] for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if mode == "intralayer" and layer[i] != layer[j]:
                continue
            if mode == "interlayer" and layer[i] == layer[j]:
                continue
            for p in range(-na, na + 1):
                for q in range(-nb, nb + 1):
                    image = np.array([p, q]) + fold[i] - fold[j]
                    shift = image[0] * cell[0] + image[1] * cell[1]
                    r = positions[j] + shift - positions[i]
                    d2 = r @ r
                    if d2 < cutoff * cutoff and not (i == j and p == 0 and q == 0):
                        rows[i].append((j, shift))
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    neighbors = np.array([j for r in rows for j, _ in r], np.int64)
    shifts = np.array([s for r in rows for _, s in r], float).reshape(-1, 3)
    return offsets, neighbors, shifts
