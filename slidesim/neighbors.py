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

The same pairs are also available as a *half* list (:meth:`NeighborList.half_list`, a
:class:`HalfList`): each unordered pair once, as an int32 neighbour and an int32 row of a small
table of shift vectors, 8 bytes a pair instead of the full list's 64. A list builds, at each
rebuild, only the forms read since the previous build (the full form at the first build); a
form not built yet is built from the reference positions when first read. So a model whose
interlayer terms all read the half list keeps only that one.
"""

import difflib
import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class HalfList:
    """Each unordered pair (i, j, image) of a full list once.

    offsets (N+1,) int64: row i is entries ``offsets[i]:offsets[i+1]``; neighbors (M,) int32;
    images (M,) int32, row of ``shift_table`` (n_images, 3) float64 [A], so that
    ``r_ij = positions[j] + shift_table[images[k]] - positions[i]``. Which of the two entries of
    a pair is kept: :func:`slidesim.kernels.neighbors.keeps_pair` (balanced over rows).
    """

    offsets: np.ndarray
    neighbors: np.ndarray
    images: np.ndarray
    shift_table: np.ndarray

    @property
    def nbytes(self):
        """Memory [bytes] of the arrays."""
        return sum(a.nbytes for a in (self.offsets, self.neighbors, self.images,
                                      self.shift_table))


def half_list_from_full(offsets, neighbors, shifts):
    """The :class:`HalfList` of a full CSR list (e.g. a brute-force one), rows in order.

    Keeps the entries kernels.keeps_pair keeps; an atom meeting its own image keeps the image
    whose shift vector is lexicographically positive. The shift table holds the distinct shift
    rows, bit for bit.
    """
    offsets = np.asarray(offsets, np.int64)
    neighbors = np.asarray(neighbors, np.int64)
    shifts = np.asarray(shifts, np.float64).reshape(-1, 3)
    rows = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    positive = ((shifts[:, 0] > 0) | ((shifts[:, 0] == 0) & (shifts[:, 1] > 0))
                | ((shifts[:, 0] == 0) & (shifts[:, 1] == 0) & (shifts[:, 2] > 0)))
    keep = np.where(neighbors != rows, ((rows + neighbors) & 1 == 1) == (neighbors > rows),
                    positive)
    half_offsets = np.zeros(len(offsets), np.int64)
    half_offsets[1:] = np.cumsum(np.bincount(rows[keep], minlength=len(offsets) - 1))
    table, images = np.unique(shifts[keep], axis=0, return_inverse=True)
    return HalfList(half_offsets, neighbors[keep].astype(np.int32),
                    images.reshape(-1).astype(np.int32), np.ascontiguousarray(table))


class NeighborList:
    """A full Verlet neighbour list with a skin, periodic along a and b, open along z.

    cutoff: pair cutoff [A] of the term(s) using the list; skin: extra distance [A] kept so that
    the list survives until some atom moves more than skin / 2; mode: "all", "intralayer" or
    "interlayer" (pairs selected by layer id); bins_per_cutoff: cell-list bins are about
    ``list_cutoff / bins_per_cutoff`` wide (a tuning knob; results do not depend on it).

    Attributes after a build: ``offsets`` (N+1,) int64, ``neighbors`` (M,) int64, ``shifts``
    (M, 3) float64 [A], ``reference_positions`` (N, 3) float64 [A] (positions at the last build),
    ``reference_cell`` (3, 3) [A], ``reference_layer`` (N,) int64, ``n_builds`` int; and
    :meth:`half_list`. The full arrays and the half list are built when read, or at a rebuild
    if they were read since the previous one (see the module docstring).
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
        self._full = None
        self._half = None
        #: forms ("full", "half") read since the last build, and built at the last build
        self._read = set()
        self._built = {"full"}
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
        """Number of (i, j, image) entries M of the full list (each pair counted from both
        sides), whichever form is held."""
        if self._full is not None:
            return len(self._full[1])
        if self._half is not None:
            return 2 * len(self._half.neighbors)
        return 0 if self.reference_positions is None else len(self._full_arrays()[1])

    def _full_arrays(self):
        if self._full is None and self.reference_positions is not None:
            self._full = kernels.build_neighbor_list(
                self.reference_positions, self.reference_cell, self.reference_layer,
                self.list_cutoff, PAIR_MODE_CODES[self.mode], self.bins_per_cutoff)
        return self._full if self._full is not None else (None, None, None)

    def _half_list(self):
        if self._half is None and self.reference_positions is not None:
            self._half = HalfList(*kernels.build_half_list(
                self.reference_positions, self.reference_cell, self.reference_layer,
                self.list_cutoff, PAIR_MODE_CODES[self.mode], self.bins_per_cutoff))
        return self._half

    def _read_full(self, index):
        self._read.add("full")
        return self._full_arrays()[index]

    @property
    def offsets(self):
        """(N+1,) int64: the neighbours of atom i are entries offsets[i]:offsets[i+1]."""
        return self._read_full(0)

    @property
    def neighbors(self):
        """(M,) int64: index j of each entry."""
        return self._read_full(1)

    @property
    def shifts(self):
        """(M, 3) float64 [A]: r_ij = positions[j] + shifts[k] - positions[i]."""
        return self._read_full(2)

    def half_list(self):
        """The :class:`HalfList` of the current build (None before the first build).

        Reading it where the full arrays were not read since the build drops them (they are
        rebuilt, identical, if read later): a model whose terms read only the half list holds
        only that one."""
        if self.reference_positions is None:
            return None
        self._read.add("half")
        if "full" not in self._read:
            self._full = None
        return self._half_list()

    @property
    def nbytes(self):
        """Memory [bytes] of the forms held now (full arrays and/or half list)."""
        total = 0 if self._half is None else self._half.nbytes
        if self._full is not None:
            total += sum(a.nbytes for a in self._full)
        return total

    def build(self, positions, cell, layer):
        """Rebuild the list now. positions (N, 3) [A] (unwrapped allowed), cell (3, 3) [A],
        layer (N,) int. Builds the forms read since the last build (the full form the first
        time, or when none was read)."""
        positions, cell, layer = _as_inputs(positions, cell, layer)
        forms = self._read or self._built
        self._full = None
        self._half = None
        self.reference_positions = positions.copy()
        self.reference_cell = cell.copy()
        self.reference_layer = layer.copy()
        if "full" in forms:
            self._full_arrays()
        if "half" in forms:
            self._half_list()
        self._built = set(forms)
        self._read = set()
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
