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
    images = np.array([(p, q) for p in range(-na, na + 1) for q in range(-nb, nb + 1)], float)
    rows = []
    for i in range(n):
        # (n_atoms, n_images, 2) image indices of every j relative to i's folded frame
        image = images[None, :, :] + (fold[i] - fold)[:, None, :]
        shift = image[..., 0:1] * cell[0] + image[..., 1:2] * cell[1]
        r = positions[:, None, :] + shift - positions[i]
        d2 = np.einsum("jmk,jmk->jm", r, r)
        keep = d2 < cutoff * cutoff
        keep[i, (images[:, 0] == 0) & (images[:, 1] == 0)] = False
        if mode == "intralayer":
            keep[layer != layer[i]] = False
        elif mode == "interlayer":
            keep[layer == layer[i]] = False
        js, ms = np.nonzero(keep)
        rows.append((js, shift[js, ms]))
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(js) for js, _ in rows])
    neighbors = np.concatenate([js for js, _ in rows]).astype(np.int64)
    shifts = np.concatenate([sh for _, sh in rows]).reshape(-1, 3)
    return offsets, neighbors, shifts
