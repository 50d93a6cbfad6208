"""The interlayer potential (ILP) of Ouyang et al., Nano Lett. 18, 6009 (2018), as a force term.

Reads LAMMPS ``.ILP`` parameter files and computes what LAMMPS's
``pair_style hybrid/overlay ... ilp/graphene/hbn Rcut 1`` does, with the layer id in the role of
LAMMPS's molecule id: the interaction acts between different layers only, and each atom's normal
comes from its same-layer neighbours within the file's rcut. The physics is in
:mod:`slidesim.kernels.ilp`.
"""

import os
import warnings

import numba
import numpy as np

from slidesim.kernels import ilp as ilp_kernels
from slidesim.models.base import ForceTerm, NeighborRequest, TermResult

#: the ILP parameter file shipped with slidesim (LAMMPS's potentials/BNCH.ILP)
DEFAULT_ILP_FILE = os.path.join(os.path.dirname(__file__), "params", "BNCH.ILP")

#: columns of one entry of a .ILP file, after the two element names
FILE_COLUMNS = ("beta", "alpha", "delta", "epsilon", "C", "d", "sR", "reff", "C6", "S", "rcut")


def read_ilp_file(path, species_names):
    """Parameters of a LAMMPS .ILP file for the given species, in slidesim units.

    Entries are ``el_i el_j beta alpha delta epsilon C d sR reff C6 S rcut``; text after ``#``
    is a comment and an entry may continue on the next lines (as LAMMPS's PotentialFileReader
    reads it). As in LAMMPS's ``read_file``: epsilon, C [meV] and C6 [meV A^6] are multiplied
    by 1e-3 S to give eV; z0 = beta, lambda = alpha / beta, delta2inv = delta^-2,
    seff = sR reff; rcut [A] is used unscaled as the normal cutoff.

    Returns (params, normal_cutoff): params (S, S, 8) float64 in the columns of
    :data:`slidesim.kernels.ilp.PARAM_COLUMNS`, normal_cutoff (S, S) float64 [A], indexed
    [s_i, s_j] by position in ``species_names``. Raises ValueError on a missing or duplicate
    entry for a pair of the given species.
    """
    species_names = list(species_names)
    n_species = len(species_names)
    params = np.zeros((n_species, n_species, len(ilp_kernels.PARAM_COLUMNS)))
    normal_cutoff = np.zeros((n_species, n_species))
    seen = np.zeros((n_species, n_species), bool)
    tokens = []
    with open(path) as f:
        lines = [line.split("#", 1)[0].split() for line in f]
    for words in lines:
        tokens += words
        if len(tokens) < 2 + len(FILE_COLUMNS):
            continue
        entry, tokens = tokens, []
        name_i, name_j = entry[0], entry[1]
        if name_i not in species_names or name_j not in species_names:
            continue
        values = dict(zip(FILE_COLUMNS, map(float, entry[2:2 + len(FILE_COLUMNS)])))
        si, sj = species_names.index(name_i), species_names.index(name_j)
        if seen[si, sj]:
            raise ValueError(f"{path}: duplicate ILP entry for {name_i} {name_j}")
        seen[si, sj] = True
        mev = 1e-3 * values["S"]
        row = {"z0": values["beta"], "lambda": values["alpha"] / values["beta"],
               "delta2inv": values["delta"] ** -2.0, "epsilon": values["epsilon"] * mev,
               "C": values["C"] * mev, "d": values["d"], "seff": values["sR"] * values["reff"],
               "C6": values["C6"] * mev}
        params[si, sj] = [row[name] for name in ilp_kernels.PARAM_COLUMNS]
        normal_cutoff[si, sj] = values["rcut"]
    if tokens:
        raise ValueError(f"{path}: incomplete ILP entry at the end: {' '.join(tokens)}")
    for si, sj in zip(*np.nonzero(~seen)):
        raise ValueError(f"{path}: no ILP entry for {species_names[si]} {species_names[sj]}")
    return params, normal_cutoff


class ILPTerm(ForceTerm):
    """Interlayer potential between different layers (LAMMPS ``ilp/graphene/hbn``).

    path: .ILP parameter file (e.g. :data:`DEFAULT_ILP_FILE`); species_names: element symbol of
    each species index; cutoff [A]: the global ILP cutoff Rcut (16 in the standard setup);
    taper: multiply every pair by Tap(r / Rcut) (LAMMPS's flag 1; without it the energy is
    cut, not shifted, at Rcut, as in LAMMPS).

    Neighbour lists: "intra" (same layer, max rcut of the species present) for the normals,
    "inter" (different layers, Rcut) for the pair sums. Both may hold pairs beyond their
    cutoff (a skin); the kernels test the distances themselves.
    """

    name = "ilp"

    def __init__(self, path, species_names, cutoff=16.0, taper=True, crowded="nearest"):
        """path: .ILP file; species_names: model species order; cutoff: Rcut [A]; taper: on/off;
        crowded: what to do where an atom has more than 3 same-layer neighbours within rcut
        (a very hot or distorted layer). LAMMPS stops with an error there ("error"); "nearest"
        (the default) builds the normal from the nearest three and warns once, so a heating
        ladder can go on. Wherever LAMMPS runs, both give LAMMPS's numbers."""
        if crowded not in ("nearest", "error"):
            raise ValueError(f"crowded must be 'nearest' or 'error', got {crowded!r}")
        self.crowded = crowded
        self._warned = False
        self.path = path
        self.species_names = tuple(species_names)
        self.cutoff = float(cutoff)
        self.taper = bool(taper)
        self.params, self.normal_cutoff = read_ilp_file(path, self.species_names)
        self.requests = {
            "intra": NeighborRequest(cutoff=float(self.normal_cutoff.max()), mode="intralayer"),
            "inter": NeighborRequest(cutoff=self.cutoff, mode="interlayer"),
        }
        #: energies [eV] of the last call: {"attraction": ..., "repulsion": ...}
        self.energy_parts = {}

    def normals(self, positions, species, neighbor_list, out=None):
        """Unit normals (N, 3) and the rest of :func:`slidesim.kernels.ilp.ilp_normals`.

        out: None, or the six arrays ilp_normals returns plus a scratch (N, 5, 3), to be
        overwritten (the six are returned). Raises ValueError where a normal has zero length,
        and where an atom has more than 3 normal neighbours if ``crowded`` is "error" (LAMMPS
        stops with an error in both cases).
        """
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        species = np.asarray(species, np.int64)
        if out is None:
            result = ilp_kernels.ilp_normals(
                positions, species, neighbor_list.offsets, neighbor_list.neighbors,
                neighbor_list.shifts, self.normal_cutoff ** 2, self.crowded == "nearest")
        else:
            ilp_kernels.ilp_normals_into(
                positions, species, neighbor_list.offsets, neighbor_list.neighbors,
                neighbor_list.shifts, self.normal_cutoff ** 2, self.crowded == "nearest", *out)
            result = tuple(out[:6])
        counts = result[-1]
        if counts.max(initial=0) > 3:
            atoms = np.nonzero(counts > 3)[0]
            message = (f"ILP: atoms {atoms[:10].tolist()} have more than 3 same-layer "
                       "neighbours within the normal cutoff (rcut of the .ILP file): the layer is "
                       "very hot or distorted")
            if self.crowded == "error":
                raise ValueError(message + "; LAMMPS stops here too")
            if not self._warned:
                warnings.warn(message + "; their normals come from the nearest three (LAMMPS "
                              "would stop here). Warned once per model.", RuntimeWarning,
                              stacklevel=2)
                self._warned = True
        if counts.min(initial=0) < 0:
            atoms = np.nonzero(counts < 0)[0]
            raise ValueError(f"ILP: the normals of atoms {atoms[:10].tolist()} have zero "
                             "length (collinear neighbours)")
        return result

    def compute(self, positions, cell, species, layer, neighbor_lists):
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        species = np.asarray(species, np.int64)
        normal_data = self.normals(positions, species, neighbor_lists["intra"])
        inter = neighbor_lists["inter"]
        e_attraction, e_repulsion, forces, virial = ilp_kernels.ilp_energy_forces(
            positions, species, inter.offsets, inter.neighbors, inter.shifts, self.params,
            self.cutoff, self.taper, *normal_data, numba.get_num_threads())
        self.energy_parts = {"attraction": e_attraction, "repulsion": e_repulsion}
        return TermResult(e_attraction + e_repulsion, forces, virial)
