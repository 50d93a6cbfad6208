"""Cell-list neighbour search on a cell periodic along a and b (any angle), open along z.

The output is the full CSR list of :mod:`slidesim.neighbors_reference`: ``offsets`` (N+1,)
int64, ``neighbors`` (M,) int64, ``shifts`` (M, 3) float64 [A] with
``r_ij = positions[j] + shifts[k] - positions[i]`` for the given, possibly unwrapped, positions.

How it works. Fractional in-plane coordinates s = (x, y) @ inv(cell[:2, :2]) are folded into
[0, 1) and binned on an n_a x n_b grid. Two atoms in bins b and b + d (along one periodic
direction) are at least (|d| - 1) * bin width apart perpendicular to the bin faces, so searching
d in [-k, k] with k = ceil(cutoff / perpendicular bin width) finds every pair. Bin b + d stands
for bin (b + d) mod n in periodic image floor((b + d) / n); distinct d are distinct (bin, image)
pairs, so a cutoff wider than the cell (k > n / 2, even k > n) finds each periodic image exactly
once. Atom j seen from atom i in that image gets the shift
``(image + floor(s_i) - floor(s_j)) . (a, b)``, which undoes the folding of unwrapped positions.

The list is built in two passes (count, prefix sum, fill); both are ``prange`` loops over atoms
that write only their own row and run the same row walk, so they agree exactly. Within a row,
neighbours come in a fixed order (layer group, bin offsets d_a then d_b, then atom index within
a bin), which does not depend on the number of threads.

Pair modes (by layer id): 0 = all pairs, 1 = same layer only, 2 = different layers only. Bins
are kept per layer, so a row walk in modes 1 and 2 never looks at atoms it would reject.
"""

import numba
import numpy as np
from numba import prange


@numba.njit(cache=True)
def bin_grid(cell, cutoff, bins_per_cutoff, max_bins):
    """Number of bins and bin search range along a and b.

    cell (3, 3) float64 [A] rows a, b, c; cutoff [A] > 0; bins_per_cutoff: bins are about
    cutoff / bins_per_cutoff wide and never narrower; max_bins: cap on n_a * n_b (keeps
    the grid O(N) for tiny cutoffs). Returns (n_a, n_b, k_a, k_b) int64.
    """
    area = abs(cell[0, 0] * cell[1, 1] - cell[0, 1] * cell[1, 0])
    width_a = area / np.sqrt(cell[1, 0] ** 2 + cell[1, 1] ** 2)   # across the faces spanned by b
    width_b = area / np.sqrt(cell[0, 0] ** 2 + cell[0, 1] ** 2)   # across the faces spanned by a
    target = cutoff / bins_per_cutoff
    n_a = max(1, int(np.floor(width_a / target)))
    n_b = max(1, int(np.floor(width_b / target)))
    while n_a * n_b > max(1, max_bins):
        if n_a >= n_b:
            n_a = max(1, n_a // 2)
        else:
            n_b = max(1, n_b // 2)
    k_a = int(np.ceil(cutoff / (width_a / n_a)))
    k_b = int(np.ceil(cutoff / (width_b / n_b)))
    return n_a, n_b, k_a, k_b


@numba.njit(cache=True, parallel=True)
def fold_and_bin(positions, cell, n_a, n_b):
    """Fold atoms into the cell and find their bins.

    positions (N, 3) [A]; cell (3, 3) [A]. Returns ``fold`` (N, 2) float64, floor of the
    fractional coordinates (whole cells the atom lies away from the home cell), and ``bin_ab``
    (N, 2) int64, bin indices along a and b of the folded atom.
    """
    n = positions.shape[0]
    det = cell[0, 0] * cell[1, 1] - cell[0, 1] * cell[1, 0]
    fold = np.empty((n, 2))
    bin_ab = np.empty((n, 2), np.int64)
    for i in prange(n):
        # s solves (x, y) = s_a * a + s_b * b in the plane
        s_a = (positions[i, 0] * cell[1, 1] - positions[i, 1] * cell[1, 0]) / det
        s_b = (positions[i, 1] * cell[0, 0] - positions[i, 0] * cell[0, 1]) / det
        fold[i, 0] = np.floor(s_a)
        fold[i, 1] = np.floor(s_b)
        # round-off can put s - floor(s) at exactly 1.0: clamp into the last bin
        bin_ab[i, 0] = min(n_a - 1, int((s_a - fold[i, 0]) * n_a))
        bin_ab[i, 1] = min(n_b - 1, int((s_b - fold[i, 1]) * n_b))
    return fold, bin_ab


@numba.njit(cache=True)
def layer_groups(layer):
    """Rank of each atom's layer id among the distinct ids: (N,) int64, and the number of ids."""
    ids = np.unique(layer)
    return np.searchsorted(ids, layer).astype(np.int64), ids.shape[0]


@numba.njit(cache=True)
def sort_into_bins(positions, fold, bin_ab, group, n_groups, n_a, n_b):
    """Counting sort of atoms by (layer group, bin), ascending atom index within a bin.

    Bin (g, p, q) has the flat index c = (g * n_a + p) * n_b + q; its atoms occupy the slots
    ``bin_start[c]:bin_start[c + 1]``. Returns ``bin_start`` (n_groups * n_a * n_b + 1,) int64,
    and per slot: ``bin_atoms`` (N,) int64 atom index, ``bin_positions`` (N, 3) [A] and
    ``bin_fold`` (N, 2) copies laid out contiguously for the row walk.
    """
    n = bin_ab.shape[0]
    n_bins = n_groups * n_a * n_b
    flat = np.empty(n, np.int64)
    bin_start = np.zeros(n_bins + 1, np.int64)
    for i in range(n):
        flat[i] = (group[i] * n_a + bin_ab[i, 0]) * n_b + bin_ab[i, 1]
        bin_start[flat[i] + 1] += 1
    for c in range(n_bins):
        bin_start[c + 1] += bin_start[c]
    fill = bin_start[:-1].copy()
    bin_atoms = np.empty(n, np.int64)
    bin_positions = np.empty((n, 3))
    bin_fold = np.empty((n, 2))
    for i in range(n):
        slot = fill[flat[i]]
        fill[flat[i]] += 1
        bin_atoms[slot] = i
        bin_positions[slot] = positions[i]
        bin_fold[slot] = fold[i]
    return bin_start, bin_atoms, bin_positions, bin_fold


@numba.njit(cache=True)
def walk_row(i, positions, cell, cutoff_sq, mode, fold, bin_ab, group, n_groups, bin_start,
             bin_atoms, bin_positions, bin_fold, n_a, n_b, k_a, k_b, write, start, neighbors,
             shifts):
    """Visit the neighbours of atom i; store them from ``start`` on if ``write``.

    Returns the number of neighbours. The pair test uses exactly the expression a consumer
    of the list evaluates: r = (positions[j] + shift) - positions[i].
    """
    count = 0
    # scalars in locals: the compiler cannot prove that the output arrays alias none of these
    x_i, y_i, z_i = positions[i, 0], positions[i, 1], positions[i, 2]
    fold_a, fold_b = fold[i, 0], fold[i, 1]
    ax, ay, az = cell[0, 0], cell[0, 1], cell[0, 2]
    bx, by, bz = cell[1, 0], cell[1, 1], cell[1, 2]
    for g in range(n_groups):
        if (mode == 1 and g != group[i]) or (mode == 2 and g == group[i]):
            continue
        for d_a in range(-k_a, k_a + 1):
            virtual_a = bin_ab[i, 0] + d_a
            image_a = virtual_a // n_a          # floor division, also for negative values
            p = virtual_a - image_a * n_a
            for d_b in range(-k_b, k_b + 1):
                virtual_b = bin_ab[i, 1] + d_b
                image_b = virtual_b // n_b
                q = virtual_b - image_b * n_b
                c = (g * n_a + p) * n_b + q
                for slot in range(bin_start[c], bin_start[c + 1]):
                    m_a = image_a + fold_a - bin_fold[slot, 0]
                    m_b = image_b + fold_b - bin_fold[slot, 1]
                    sx = m_a * ax + m_b * bx
                    sy = m_a * ay + m_b * by
                    sz = m_a * az + m_b * bz
                    rx = (bin_positions[slot, 0] + sx) - x_i
                    ry = (bin_positions[slot, 1] + sy) - y_i
                    rz = (bin_positions[slot, 2] + sz) - z_i
                    inside = rx * rx + ry * ry + rz * rz < cutoff_sq
                    # the atom itself in its home image is no neighbour
                    if inside and not (image_a == 0 and image_b == 0 and bin_atoms[slot] == i):
                        if write:
                            neighbors[start + count] = bin_atoms[slot]
                            shifts[start + count, 0] = sx
                            shifts[start + count, 1] = sy
                            shifts[start + count, 2] = sz
                        count += 1
    return count


@numba.njit(cache=True, parallel=True)
def build_neighbor_list(positions, cell, layer, cutoff, mode, bins_per_cutoff):
    """Full CSR neighbour list of all pairs closer than ``cutoff``.

    positions (N, 3) float64 [A], possibly unwrapped; cell (3, 3) float64 [A], rows a, b, c
    (periodic along a and b, open along z); layer (N,) int64; cutoff [A] > 0; mode int
    (0 all, 1 intralayer, 2 interlayer); bins_per_cutoff int >= 1 (bin width ~ cutoff / it).
    Returns ``offsets`` (N+1,) int64, ``neighbors`` (M,) int64, ``shifts`` (M, 3) float64 [A].
    """
    n = positions.shape[0]
    n_a, n_b, k_a, k_b = bin_grid(cell, cutoff, bins_per_cutoff, 4 * n + 16)
    fold, bin_ab = fold_and_bin(positions, cell, n_a, n_b)
    group, n_groups = layer_groups(layer)
    bin_start, bin_atoms, bin_positions, bin_fold = sort_into_bins(
        positions, fold, bin_ab, group, n_groups, n_a, n_b)
    cutoff_sq = cutoff * cutoff
    counts = np.empty(n, np.int64)
    no_neighbors = np.empty(0, np.int64)
    no_shifts = np.empty((0, 3))
    for i in prange(n):
        counts[i] = walk_row(i, positions, cell, cutoff_sq, mode, fold, bin_ab, group,
                             n_groups, bin_start, bin_atoms, bin_positions, bin_fold,
                             n_a, n_b, k_a, k_b, False, 0, no_neighbors, no_shifts)
    offsets = np.zeros(n + 1, np.int64)
    for i in range(n):
        offsets[i + 1] = offsets[i] + counts[i]
    neighbors = np.empty(offsets[n], np.int64)
    shifts = np.empty((offsets[n], 3))
    for i in prange(n):
        walk_row(i, positions, cell, cutoff_sq, mode, fold, bin_ab, group, n_groups,
                 bin_start, bin_atoms, bin_positions, bin_fold, n_a, n_b, k_a, k_b, True,
                 offsets[i], neighbors, shifts)
    return offsets, neighbors, shifts


@numba.njit(cache=True)
def keeps_pair(i, j, m_a, m_b):
    """Whether the half list keeps entry (i, j, image m_a a + m_b b) of the full list.

    Of the two entries of an unordered pair, (i, j) and (j, i), the parity of i + j picks one:
    j > i when i + j is odd, j < i when it is even, so every row keeps about half of its
    entries (a balanced load, unlike j > i). An atom meeting its own image keeps the image
    whose (m_a, m_b) is lexicographically positive.
    """
    if j != i:
        return ((i + j) & 1 == 1) == (j > i)
    return m_a > 0 or (m_a == 0 and m_b > 0)


@numba.njit(cache=True)
def walk_row_half(i, positions, cell, cutoff_sq, mode, fold, bin_ab, group, n_groups,
                  bin_start, bin_atoms, bin_positions, bin_fold, n_a, n_b, k_a, k_b, write,
                  start, neighbors, images):
    """:func:`walk_row` keeping only the entries :func:`keeps_pair` picks.

    Stores, from ``start`` on if ``write``, the neighbour (int32) and the image (m_a, m_b)
    (int64) of each kept entry. Returns the number kept. Same row order as walk_row.
    """
    count = 0
    x_i, y_i, z_i = positions[i, 0], positions[i, 1], positions[i, 2]
    fold_a, fold_b = fold[i, 0], fold[i, 1]
    ax, ay, az = cell[0, 0], cell[0, 1], cell[0, 2]
    bx, by, bz = cell[1, 0], cell[1, 1], cell[1, 2]
    for g in range(n_groups):
        if (mode == 1 and g != group[i]) or (mode == 2 and g == group[i]):
            continue
        for d_a in range(-k_a, k_a + 1):
            virtual_a = bin_ab[i, 0] + d_a
            image_a = virtual_a // n_a
            p = virtual_a - image_a * n_a
            for d_b in range(-k_b, k_b + 1):
                virtual_b = bin_ab[i, 1] + d_b
                image_b = virtual_b // n_b
                q = virtual_b - image_b * n_b
                c = (g * n_a + p) * n_b + q
                for slot in range(bin_start[c], bin_start[c + 1]):
                    j = bin_atoms[slot]
                    m_a = image_a + fold_a - bin_fold[slot, 0]
                    m_b = image_b + fold_b - bin_fold[slot, 1]
                    if not keeps_pair(i, j, m_a, m_b):
                        continue
                    sx = m_a * ax + m_b * bx
                    sy = m_a * ay + m_b * by
                    sz = m_a * az + m_b * bz
                    rx = (bin_positions[slot, 0] + sx) - x_i
                    ry = (bin_positions[slot, 1] + sy) - y_i
                    rz = (bin_positions[slot, 2] + sz) - z_i
                    inside = rx * rx + ry * ry + rz * rz < cutoff_sq
                    if inside and not (image_a == 0 and image_b == 0 and j == i):
                        if write:
                            neighbors[start + count] = j
                            images[start + count, 0] = int(m_a)
                            images[start + count, 1] = int(m_b)
                        count += 1
    return count


@numba.njit(cache=True, parallel=True)
def build_half_list(positions, cell, layer, cutoff, mode, bins_per_cutoff):
    """Half CSR list: each unordered pair (i, j, image) closer than ``cutoff`` once.

    Arguments as :func:`build_neighbor_list`. The kept entry of each pair is the one
    :func:`keeps_pair` picks, in walk_row's row order. Returns ``half_offsets`` (N+1,) int64,
    ``half_neighbors`` (M,) int32, ``half_images`` (M,) int32 and ``shift_table`` (n_images,
    3) float64 [A]: entry k pairs row i with j = half_neighbors[k] at
    ``r_ij = positions[j] + shift_table[half_images[k]] - positions[i]``, the shift bit for bit
    the one the full list stores. 8 bytes an unordered pair instead of the full list's 64.
    """
    n = positions.shape[0]
    n_a, n_b, k_a, k_b = bin_grid(cell, cutoff, bins_per_cutoff, 4 * n + 16)
    fold, bin_ab = fold_and_bin(positions, cell, n_a, n_b)
    group, n_groups = layer_groups(layer)
    bin_start, bin_atoms, bin_positions, bin_fold = sort_into_bins(
        positions, fold, bin_ab, group, n_groups, n_a, n_b)
    cutoff_sq = cutoff * cutoff
    counts = np.empty(n, np.int64)
    no_neighbors = np.empty(0, np.int32)
    no_images = np.empty((0, 2), np.int64)
    for i in prange(n):
        counts[i] = walk_row_half(i, positions, cell, cutoff_sq, mode, fold, bin_ab, group,
                                  n_groups, bin_start, bin_atoms, bin_positions, bin_fold,
                                  n_a, n_b, k_a, k_b, False, 0, no_neighbors, no_images)
    offsets = np.zeros(n + 1, np.int64)
    for i in range(n):
        offsets[i + 1] = offsets[i] + counts[i]
    m = offsets[n]
    neighbors = np.empty(m, np.int32)
    images = np.empty((m, 2), np.int64)
    for i in prange(n):
        walk_row_half(i, positions, cell, cutoff_sq, mode, fold, bin_ab, group, n_groups,
                      bin_start, bin_atoms, bin_positions, bin_fold, n_a, n_b, k_a, k_b, True,
                      offsets[i], neighbors, images)
    # the images in use, numbered densely over their bounding box, then compacted
    if m == 0:
        return offsets, neighbors, np.empty(0, np.int32), np.empty((0, 3))
    min_a, max_a = images[0, 0], images[0, 0]
    min_b, max_b = images[0, 1], images[0, 1]
    for e in range(m):
        min_a = min(min_a, images[e, 0])
        max_a = max(max_a, images[e, 0])
        min_b = min(min_b, images[e, 1])
        max_b = max(max_b, images[e, 1])
    span_b = max_b - min_b + 1
    number = np.full((max_a - min_a + 1) * span_b, -1, np.int64)
    for e in range(m):
        number[(images[e, 0] - min_a) * span_b + images[e, 1] - min_b] = 0
    n_images = 0
    for box in range(number.shape[0]):
        if number[box] == 0:
            number[box] = n_images
            n_images += 1
    shift_table = np.empty((n_images, 3))
    for box in range(number.shape[0]):
        if number[box] >= 0:
            # floats, in walk_row's expression: the same bits as the full list's shifts
            m_a = float(box // span_b + min_a)
            m_b = float(box % span_b + min_b)
            shift_table[number[box], 0] = m_a * cell[0, 0] + m_b * cell[1, 0]
            shift_table[number[box], 1] = m_a * cell[0, 1] + m_b * cell[1, 1]
            shift_table[number[box], 2] = m_a * cell[0, 2] + m_b * cell[1, 2]
    half_images = np.empty(m, np.int32)
    for e in prange(m):
        half_images[e] = number[(images[e, 0] - min_a) * span_b + images[e, 1] - min_b]
    return offsets, neighbors, half_images, shift_table


@numba.njit(cache=True, parallel=True)
def max_displacement_sq(positions, reference_positions):
    """Largest squared displacement [A^2] of any atom between two (N, 3) unwrapped arrays [A]."""
    n = positions.shape[0]
    d2 = np.zeros(n)
    for i in prange(n):
        dx = positions[i, 0] - reference_positions[i, 0]
        dy = positions[i, 1] - reference_positions[i, 1]
        dz = positions[i, 2] - reference_positions[i, 2]
        d2[i] = dx * dx + dy * dy + dz * dz
    largest = 0.0
    for i in range(n):
        if np.isnan(d2[i]):
            return np.nan            # a NaN position must count as "moved too far"
        if d2[i] > largest:
            largest = d2[i]
    return largest


@numba.njit(cache=True)
def needs_rebuild(positions, reference_positions, skin):
    """True if any atom moved more than skin / 2 [A] since the reference (unwrapped) positions.

    Two atoms that each moved less than skin / 2 closed their distance by less than the skin,
    so every pair now inside the cutoff was inside cutoff + skin at the last build.
    """
    half = 0.5 * skin
    return not max_displacement_sq(positions, reference_positions) <= half * half
