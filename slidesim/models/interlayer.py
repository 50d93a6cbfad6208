"""ILP + shielded Coulomb between layers as one force term, in one pass over each pair.

:class:`InterlayerTerm` computes exactly what :class:`~slidesim.models.ilp.ILPTerm` plus
:class:`~slidesim.models.coulomb.ShieldedCoulombTerm` compute (LAMMPS's
``ilp/graphene/hbn Rcut 1`` + ``coul/shield Rcut 1``), equal to round-off, and reports the two
energies as parts named like those terms ("ilp", "coul_shield"), so a model's per-term energies
and thermo columns are the same whichever is used. It visits each interlayer pair once, from a
half list (:meth:`slidesim.neighbors.NeighborList.half_list`), sharing r, the taper and the
species parameters between the attraction, both orders of the repulsion and the Coulomb pair
(:mod:`slidesim.kernels.interlayer`).
"""

import numba
import numpy as np

from slidesim import units
from slidesim.kernels import interlayer as interlayer_kernels
from slidesim.kernels.chunks import sum_chunks
from slidesim.models.base import ForceTerm, TermResult
from slidesim.models.coulomb import DEFAULT_CHARGES, DEFAULT_SHIELDING, ShieldedCoulombTerm
from slidesim.models.ilp import ILPTerm
from slidesim.neighbors import half_list_from_full


def default_chunks():
    """Work chunks of the interlayer kernels: max(8, numba's thread limit).

    A fixed number per process, whatever numba.set_num_threads says, so the sums (and so the
    result, to the last bit) do not depend on the number of threads used."""
    return max(8, numba.config.NUMBA_NUM_THREADS)


class PairPass:
    """What a term needs to run :func:`slidesim.kernels.interlayer.interlayer_pairs`: the half
    list of its "inter" list and the per-chunk buffers, kept between calls.

    n_species: rows of the term's pair table; n_chunks: work chunks (default
    :func:`default_chunks`). Used by :class:`InterlayerTerm` and by ilp/tmd
    (:class:`slidesim.models.ilp_tmd.ILPTMDTerm`).
    """

    def __init__(self, n_species, n_chunks=None):
        self.n_species = int(n_species)
        self.n_chunks = int(n_chunks or default_chunks())
        self._halved = None       # (full-list arrays, their HalfList) for plain lists
        self._buffers = None

    def half_list(self, neighbor_list):
        """The half list of an "inter" list: its own, or halved here (cached per list)."""
        if hasattr(neighbor_list, "half_list"):
            return neighbor_list.half_list()
        arrays = (neighbor_list.offsets, neighbor_list.neighbors, neighbor_list.shifts)
        if self._halved is None or any(a is not b for a, b in zip(arrays, self._halved[0])):
            self._halved = (arrays, half_list_from_full(*arrays))
        return self._halved[1]

    def buffers(self, n_atoms):
        """{"forces", "g", "sums", "scratch"}: interlayer_pairs' buffers for n_atoms atoms
        (reallocated only when the number of atoms changes)."""
        if self._buffers is None or self._buffers["n_atoms"] != n_atoms:
            self._buffers = {
                "n_atoms": n_atoms,
                "forces": np.empty((self.n_chunks, n_atoms, 3)),
                "g": np.empty((self.n_chunks, n_atoms, 3)),
                "sums": np.empty((self.n_chunks, 9)),
                "scratch": tuple(np.empty(shape, dtype) for shape, dtype in zip(
                    interlayer_kernels.scratch_shape(self.n_chunks, self.n_species),
                    (np.float64, np.int32))),
            }
        return self._buffers


class InterlayerTerm(ForceTerm):
    """ILP (Ouyang et al. 2018) + shielded Coulomb between different layers, fused.

    ilp_path: .ILP parameter file; species_names: element symbol of each species index;
    charges {symbol: q [e]} and shielding {(symbol, symbol): lambda [1/A]} as for
    ShieldedCoulombTerm; cutoff [A]: Rcut of both; taper: Tap(r / Rcut) on both (LAMMPS flag
    1; without it the ILP is cut and the Coulomb shifted to zero at Rcut, as LAMMPS does);
    crowded: as for ILPTerm; n_chunks: work chunks (default :func:`default_chunks`).

    Neighbour lists: "intra" (same layer) for the normals and "inter" (different layers), as
    ILPTerm. The inter list is read as a half list where it offers one (a
    :class:`slidesim.neighbors.NeighborList`); a plain full CSR list is halved here, once per
    list. Per-chunk buffers and the normals' arrays are kept between calls (reallocated only
    when the number of atoms changes).
    """

    name = "interlayer"

    def __init__(self, ilp_path, species_names, charges=DEFAULT_CHARGES,
                 shielding=DEFAULT_SHIELDING, cutoff=16.0, taper=True, crowded="nearest",
                 n_chunks=None):
        self.ilp = ILPTerm(ilp_path, species_names, cutoff, taper, crowded)
        self.coulomb = ShieldedCoulombTerm(species_names, charges, shielding, cutoff, taper)
        self.species_names = self.ilp.species_names
        self.cutoff = float(cutoff)
        self.taper = bool(taper)
        self.requests = dict(self.ilp.requests)
        #: (S, S, len(TABLE_COLUMNS)) per-species-pair parameters of one pair visit
        self.table = interlayer_kernels.pair_table(
            self.ilp.params, self.coulomb.charges, 1.0 / self.coulomb.shielding, units.QQR2E,
            self.cutoff)
        self.pairs = PairPass(len(self.table), n_chunks)
        self.n_chunks = self.pairs.n_chunks
        #: energies [eV] of the last call: attraction, repulsion (ILP) and Coulomb
        self.energy_parts = {}
        self._normals_out = None

    @property
    def part_names(self):
        """("ilp", "coul_shield"): the energies this term reports (thermo e_ilp, e_coul_shield)."""
        return (self.ilp.name, self.coulomb.name)

    def half_list(self, neighbor_list):
        """The half list of the "inter" list: its own, or halved here (cached per list)."""
        return self.pairs.half_list(neighbor_list)

    def _normals_buffers(self, n):
        if self._normals_out is None or len(self._normals_out[0]) != n:
            self._normals_out = (np.empty((n, 3)), np.empty((n, 3, 3)), np.empty((n, 3, 3, 3)),
                                 np.empty((n, 3), np.int64), np.empty((n, 3, 3)),
                                 np.empty(n, np.int64), np.empty((n, 5, 3)))
        return self._normals_out

    def compute(self, positions, cell, species, layer, neighbor_lists):
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        species = np.ascontiguousarray(species, dtype=np.int64)
        normals, dself, dneighbor, normal_neighbors, vectors, counts = self.ilp.normals(
            positions, species, neighbor_lists["intra"],
            out=self._normals_buffers(len(positions)))
        half = self.half_list(neighbor_lists["inter"])
        buffers = self.pairs.buffers(len(positions))
        chunk_forces, chunk_g, sums = buffers["forces"], buffers["g"], buffers["sums"]
        interlayer_kernels.interlayer_pairs(
            positions, species, normals, half.offsets, half.neighbors, half.images,
            half.shift_table, self.table, self.cutoff, self.taper, chunk_forces, chunk_g, sums,
            *buffers["scratch"])
        interlayer_kernels.normal_forces(chunk_forces, chunk_g, sums, dself, dneighbor,
                                         normal_neighbors, vectors, counts)
        forces = sum_chunks(chunk_forces)
        e_attraction, e_repulsion, e_coulomb = 0.0, 0.0, 0.0
        virial = np.zeros(6)
        for c in range(self.n_chunks):
            e_attraction += sums[c, 0]
            e_repulsion += sums[c, 1]
            e_coulomb += sums[c, 2]
            virial += sums[c, 3:]
        self.energy_parts = {"attraction": e_attraction, "repulsion": e_repulsion,
                             "coulomb": e_coulomb}
        e_ilp = e_attraction + e_repulsion
        return TermResult(e_ilp + e_coulomb, forces, virial,
                          parts={self.ilp.name: e_ilp, self.coulomb.name: e_coulomb})
