"""Streaming unwrap of trajectory frames and the mass centres of the two layers of a bilayer.

Other programs write coordinates wrapped into the cell; an atom that crosses a periodic boundary
then jumps by a cell vector. Following each atom from frame to frame with the shortest in-plane
image of its displacement removes the jumps (valid while no atom moves more than half a cell
between frames). slidesim's own files are already unwrapped, and the same pass leaves them as
they are.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def unwrap_layer_centres(coordinates, cells, inverse_cells, weights, layer, previous, unwrapped,
                         centres):
    """Unwrap a block of frames in place of a running state; write each layer's mass centre.

    coordinates: (B, N, 3) float32 or float64 [A], a block of frames as the file holds them.
    cells, inverse_cells: (B, 2, 2) float64 [A], [1/A]: in-plane cell rows A, B (x, y) of each
        frame, and their inverses (fractional = cartesian @ inverse).
    weights: (N,) float64 [amu], each atom's mass divided by its layer's total mass.
    layer: (N,) int64, 0 bottom, 1 top.
    previous: (N, 3) float64 [A], in/out: the file's coordinates of the frame before the block.
    unwrapped: (N, 3) float64 [A], in/out: the unwrapped coordinates of that frame.
    centres: (B, 2, 3) float64 [A], out: mass centre of the bottom (0) and top (1) layer.
    """
    n_frames, n_atoms = coordinates.shape[0], coordinates.shape[1]
    for f in range(n_frames):
        c00, c01 = cells[f, 0, 0], cells[f, 0, 1]
        c10, c11 = cells[f, 1, 0], cells[f, 1, 1]
        i00, i01 = inverse_cells[f, 0, 0], inverse_cells[f, 0, 1]
        i10, i11 = inverse_cells[f, 1, 0], inverse_cells[f, 1, 1]
        for k in range(2):
            for d in range(3):
                centres[f, k, d] = 0.0
        for i in range(n_atoms):
            dx = coordinates[f, i, 0] - previous[i, 0]
            dy = coordinates[f, i, 1] - previous[i, 1]
            dz = coordinates[f, i, 2] - previous[i, 2]
            fa = dx * i00 + dy * i10
            fb = dx * i01 + dy * i11
            fa -= np.rint(fa)
            fb -= np.rint(fb)
            dx = fa * c00 + fb * c10
            dy = fa * c01 + fb * c11
            previous[i, 0] = coordinates[f, i, 0]
            previous[i, 1] = coordinates[f, i, 1]
            previous[i, 2] = coordinates[f, i, 2]
            unwrapped[i, 0] += dx
            unwrapped[i, 1] += dy
            unwrapped[i, 2] += dz
            k = layer[i]
            w = weights[i]
            centres[f, k, 0] += w * unwrapped[i, 0]
            centres[f, k, 1] += w * unwrapped[i, 1]
            centres[f, k, 2] += w * unwrapped[i, 2]
