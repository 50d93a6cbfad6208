"""Verlet neighbour lists with a skin, built by the numba cell lists of
:mod:`slidesim.kernels.neighbors`.

A :class:`NeighborList` holds all pairs closer than ``cutoff + skin`` [A] as a *full* list in CSR
form (the format of :mod:`slidesim.neighbors_reference`):

- ``offsets`` (N+1,) int64: the neighbours of atom i are entries ``offsets[i]:offsets[i+1]``
- ``neighbors`` (M,) int64: index j of each neighbour
- ``shifts`` (M, 3) float64 [A]: ``r_ij = positions[j] + shifts[k] - positions[i]``

Positions are unwrapped: shifts stay valid while atoms move continuously, so the list is rebuilt
only when some atom moved more than skin / 2 since the last build (then a pair inside
``cutoff`` may have been outside ``cutoff + skin``), when the cell changed, or when the atoms'
number or layers changed. Terms asking for the same (cutoff, mode) share one list
(:func:`neighbor_lists_for`).
"""

import difflib
import math

import numpy as np

from slidesim.kernels import neighbors as kernels
from slidesim.neighbors_reference import PAIR_MODES

#: kernel code of each pair mode
PAIR_MODE_CODES = {"all": 0, "intralayer": 1, "interlayer": 2}


def check_pair_mode(mode):
    """Return ``mode`` if it is a known pair mode, else raise a ValueError with a suggestion."""
    if mode in PAIR_MODES:
        return mode
    close = difflib.get_close_matches(str(mode), PAIR_MODES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown neighbour-list mode {mode!r}; expected one of "
                     f"{', '.join(PAIR_MODES)}.{hint}")


def _as_inputs(positions, cell, layer):
    """Validated contiguous float64/int64 copies-or-views of the build inputs."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    cell = np.ascontiguousarray(cell, dtype=np.float64)
    layer = np.ascontiguousarray(layer, dtype=np.int64)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape (N, 3), got {positions.shape}")
    if cell.shape != (3, 3):
        raise ValueError(f"cell must have shape (3, 3) (rows a, b, c), got {cell.shape}")
    if layer.shape != (len(positions),):
        raise ValueError(f"layer must have shape ({len(positions)},), got {layer.shape}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("positions contain NaN or infinite values")
    if not np.all(np.isfinite(cell)):
        raise ValueError("cell contains NaN or infinite values")
    area = abs(cell[0, 0] * cell[1, 1] - cell[0, 1] * cell[1, 0])
    if not area > 1e-12 * (np.dot(cell[0], cell[0]) + np.dot(cell[1], cell[1]) + 1e-300):
        raise ValueError("cell rows a and b span no area in the xy plane; the cell must be "
                         "periodic along two independent in-plane vectors")
    return positions, cell, layer


class NeighborList:
    """A full Verlet neighbour list with a skin, periodic along a and b, open along z.

    cutoff: pair cutoff [A] of the term(s) using the list; skin: extra distance [A] kept so that
    the list survives until some atom moves more than skin / 2; mode: "all", "intralayer" or
    "interlayer" (pairs selected by layer id); bins_per_cutoff: cell-list bins are about
    ``list_cutoff / bins_per_cutoff`` wide (a tuning knob; results do not depend on it).

    Attributes after a build: ``offsets`` (N+1,) int64, ``neighbors`` (M,) int64, ``shifts``
    (M, 3) float64 [A], ``reference_positions`` (N, 3) float64 [A] (positions at the last build),
    ``reference_cell`` (3, 3) [A], ``reference_layer`` (N,) int64, ``n_builds`` int.
    """

    def __init__(self, cutoff, skin=1.0, mode="all", bins_per_cutoff=2):
        cutoff, skin = float(cutoff), float(skin)
        if not (math.isfinite(cutoff) and cutoff > 0.0):
            raise ValueError(f"cutoff must be a positive distance [A], got {cutoff}")
        if not (math.isfinite(skin) and skin >= 0.0):
            raise ValueError(f"skin must be a non-negative distance [A], got {skin}")
        if int(bins_per_cutoff) != bins_per_cutoff or bins_per_cutoff < 1:
            raise ValueError(f"bins_per_cutoff must be a positive integer, got {bins_per_cutoff}")
        self.cutoff = cutoff
        self.skin = skin
        self.mode = check_pair_mode(mode)
        self.bins_per_cutoff = int(bins_per_cutoff)
        self.offsets = None
        self.neighbors = None
        self.shifts = None
        self.reference_positions = None
        self.reference_cell = None
        self.reference_layer = None
        self.n_builds = 0

    @property
    def list_cutoff(self):
        """Distance [A] up to which pairs are stored: cutoff + skin."""
        return self.cutoff + self.skin

    @property
    def n_pairs(self):
        """Number of stored (i, j, image) entries M (each pair counted from both sides)."""
        return 0 if self.neighbors is None else len(self.neighbors)

    def build(self, positions, cell, layer):
        """Rebuild the list now. positions (N, 3) [A] (unwrapped allowed), cell (3, 3) [A],
        layer (N,) int."""
        positions, cell, layer = _as_inputs(positions, cell, layer)
        self.offsets, self.neighbors, self.shifts = kernels.build_neighbor_list(
            positions, cell, layer, self.list_cutoff, PAIR_MODE_CODES[self.mode],
            self.bins_per_cutoff)
        self.reference_positions = positions.copy()
        self.reference_cell = cell.copy()
        self.reference_layer = layer.copy()
        self.n_builds += 1

    def needs_rebuild(self, positions, cell, layer):
        """Whether :meth:`update` would rebuild for these inputs (same arguments)."""
        positions, cell, layer = _as_inputs(positions, cell, layer)
        return self._needs_rebuild(positions, cell, layer)

    def _needs_rebuild(self, positions, cell, layer):
        if self.reference_positions is None:
            return True
        if positions.shape != self.reference_positions.shape:
            return True
        if not np.array_equal(cell, self.reference_cell):
            return True
        if not np.array_equal(layer, self.reference_layer):
            return True
        return bool(kernels.needs_rebuild(positions, self.reference_positions, self.skin))

    def update(self, positions, cell, layer):
        """Rebuild if never built, if the cell, atom count or layers changed, or if any atom
        moved more than skin / 2 [A] since the last build. Returns True if it rebuilt."""
        positions, cell, layer = _as_inputs(positions, cell, layer)
        if not self._needs_rebuild(positions, cell, layer):
            return False
        self.build(positions, cell, layer)
        return True

    def __repr__(self):
        return (f"NeighborList(cutoff={self.cutoff}, skin={self.skin}, mode={self.mode!r}, "
                f"n_pairs={self.n_pairs}, n_builds={self.n_builds})")


def neighbor_lists_for(requests, skin=1.0):
    """One :class:`NeighborList` per distinct (cutoff, mode) among ``requests``.

    requests: dict key -> :class:`slidesim.models.base.NeighborRequest`; skin [A].
    Returns a dict key -> NeighborList in which keys with equal (cutoff, mode) share one object.
    """
    shared = {}
    lists = {}
    for key, request in requests.items():
        mode = check_pair_mode(request.mode)
        signature = (float(request.cutoff), mode)
        if signature not in shared:
            shared[signature] = NeighborList(request.cutoff, skin=skin, mode=mode)
        lists[key] = shared[signature]
    return lists


def built_neighbor_lists(requests, positions, cell, layer, skin=0.0):
    """:func:`neighbor_lists_for` ``requests``, built at once for one configuration.

    For single evaluations (profiles, landscapes, validation): positions (N, 3) [A], cell (3, 3)
    [A], layer (N,); skin [A] (0 by default: nothing will move).
    """
    lists = neighbor_lists_for(requests, skin)
    for neighbor_list in set(lists.values()):
        neighbor_list.build(positions, cell, layer)
    return lists
