"""Tersoff potential as a force term, with a reader of LAMMPS ``tersoff`` parameter files.

The h-BN parameters shipped in ``params/BNC.tersoff`` are those of
A. Kinaci, J. B. Haskins, C. Sevik and T. Cagin, Phys. Rev. B 86, 115410 (2012).
The energy, forces and virial agree with LAMMPS ``pair_style tersoff`` (the default style,
not ``shift``) to round-off; the numerics live in :mod:`slidesim.kernels.tersoff`.

Intralayer only: LAMMPS applies Tersoff to every pair, but its cutoff (max R + D = 2.1 A for
B/N) never reaches across the ~3.3 A gap of a bilayer, so the term asks for an "intralayer"
neighbour list and is right by construction (layers stay > 2.1 A apart in any sane run).
"""

import os

import numba
import numpy as np

from slidesim.kernels import tersoff as tersoff_kernel
from slidesim.models.base import ForceTerm, NeighborRequest, TermResult

#: words of one entry: three elements, then the 14 numbers in LAMMPS order
WORDS_PER_ENTRY = 17
#: names of the 14 numbers of an entry, in file order
PARAMETER_NAMES = ("m", "gamma", "lambda3", "c", "d", "costheta0", "n", "beta", "lambda2",
                   "B", "R", "D", "lambda1", "A")


def read_tersoff_entries(path):
    """All entries of a LAMMPS tersoff file.

    '#' starts a comment; blank lines are skipped; an entry is 17 words (element1 element2
    element3 m gamma lam3 c d costheta0 n beta lam2 B R D lam1 A) and may span lines.
    Returns a list of (elements (3 str), values (14,) float64 in file order, line number).
    Raises ValueError naming the file and line of a malformed entry.
    """
    entries = []
    words, start_line = [], 0
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            line_words = line.split("#", 1)[0].split()
            if not line_words:
                continue
            if not words:
                start_line = number
            words.extend(line_words)
            if len(words) < WORDS_PER_ENTRY:
                continue
            if len(words) > WORDS_PER_ENTRY:
                raise ValueError(f"{path}:{start_line}: entry has {len(words)} words, "
                                 f"expected {WORDS_PER_ENTRY} (3 elements and 14 numbers)")
            entries.append(_parse_entry(words, path, start_line))
            words = []
    if words:
        raise ValueError(f"{path}:{start_line}: incomplete entry at end of file "
                         f"({len(words)} of {WORDS_PER_ENTRY} words)")
    return entries


def _parse_entry(words, path, line_number):
    elements = tuple(words[:3])
    values = np.empty(len(PARAMETER_NAMES))
    for column, (name, word) in enumerate(zip(PARAMETER_NAMES, words[3:])):
        try:
            values[column] = float(word)
        except ValueError:
            raise ValueError(f"{path}:{line_number}: parameter {name} of "
                             f"{' '.join(elements)} is not a number: {word!r}") from None
    value = dict(zip(PARAMETER_NAMES, values))
    problems = [name for name in ("c", "d", "n", "beta", "lambda2", "B", "R", "D", "lambda1",
                                  "A", "gamma") if value[name] < 0.0]
    if value["D"] > value["R"]:
        problems.append("D > R")
    if value["m"] not in (1.0, 3.0):
        problems.append("m not 1 or 3")
    if problems:
        raise ValueError(f"{path}:{line_number}: illegal Tersoff parameters for "
                         f"{' '.join(elements)}: {', '.join(problems)}")
    return elements, values, line_number


def tersoff_parameter_table(entries, species_names, path="<entries>"):
    """(S, S, S, N_COLUMNS) float64 table of a kernel from file entries.

    table[a, b, c] holds the entry (species_names[a], species_names[b], species_names[c]);
    entries naming other elements are ignored, as in LAMMPS. Raises ValueError when a triplet
    is missing or given twice, or when the pair parameters of [a, b, b] and [b, a, a] differ
    (LAMMPS would then give a result that depends on atom ids).
    """
    species_names = tuple(species_names)
    n_species = len(species_names)
    table = np.full((n_species,) * 3 + (tersoff_kernel.N_COLUMNS,), np.nan)
    found = {}
    for elements, values, line_number in entries:
        if not all(e in species_names for e in elements):
            continue
        index = tuple(species_names.index(e) for e in elements)
        if index in found:
            raise ValueError(f"{path}:{line_number}: duplicate entry for {' '.join(elements)} "
                             f"(first at line {found[index]})")
        found[index] = line_number
        table[index][:len(values)] = values
    for a in range(n_species):
        for b in range(n_species):
            for c in range(n_species):
                if (a, b, c) not in found:
                    names = " ".join(species_names[s] for s in (a, b, c))
                    raise ValueError(f"{path}: missing an entry for {names}")
    k = tersoff_kernel
    for row in table.reshape(-1, k.N_COLUMNS):
        row[k.COL_CUTSQ] = (row[k.COL_R] + row[k.COL_D_CUT]) ** 2
        n = row[k.COL_N]
        if n > 0.0:  # thresholds of LAMMPS's asymptotic bond-order branches
            row[k.COL_C1] = (2.0 * n * 1.0e-16) ** (-1.0 / n)
            row[k.COL_C2] = (2.0 * n * 1.0e-8) ** (-1.0 / n)
            row[k.COL_C3] = 1.0 / row[k.COL_C2]
            row[k.COL_C4] = 1.0 / row[k.COL_C1]
        else:
            row[k.COL_C1:k.COL_C4 + 1] = 0.0
    pair_columns = [k.COL_A, k.COL_LAMBDA1, k.COL_R, k.COL_D_CUT]
    for a in range(n_species):
        for b in range(a + 1, n_species):
            if not np.array_equal(table[a, b, b, pair_columns], table[b, a, a, pair_columns]):
                raise ValueError(f"{path}: repulsive parameters (A, lambda1, R, D) of "
                                 f"{species_names[a]} {species_names[b]} {species_names[b]} and "
                                 f"{species_names[b]} {species_names[a]} {species_names[a]} "
                                 "differ")
    return table


class TersoffTerm(ForceTerm):
    """Tersoff bond-order potential of each layer, as LAMMPS ``pair_style tersoff``.

    Kinaci, Haskins, Sevik and Cagin, Phys. Rev. B 86, 115410 (2012) for the B/N/C parameters
    of ``params/BNC.tersoff``.

    path: LAMMPS tersoff parameter file; species_names: element of each species index of the
    model, e.g. ("B", "N"). Intralayer: the neighbour list requested holds only pairs in the
    same layer (the Tersoff cutoff, max R + D, is far below the interlayer distance).
    """

    name = "tersoff"

    def __init__(self, path, species_names):
        self.path = os.fspath(path)
        self.species_names = tuple(species_names)
        self.params = tersoff_parameter_table(read_tersoff_entries(self.path),
                                              self.species_names, self.path)
        #: largest R + D over the species' triplets [A]
        self.cutoff = float(np.sqrt(self.params[..., tersoff_kernel.COL_CUTSQ].max()))
        self.requests = {"intra": NeighborRequest(cutoff=self.cutoff, mode="intralayer")}

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """Energy [eV], forces (N, 3) [eV/A], virial (6,) [eV] (W_ab = sum r_a F_b, Voigt).

        positions (N, 3) [A]; cell (3, 3) [A] (unused: periodicity is in the list's shifts);
        species (N,) int64; layer (N,) int64 (used by the list, not here);
        neighbor_lists["intra"]: full intralayer list with offsets, neighbors, shifts.
        """
        neighbors = neighbor_lists["intra"]
        energy, forces, virial = tersoff_kernel.tersoff_energy_forces(
            np.ascontiguousarray(positions, dtype=np.float64),
            np.ascontiguousarray(species, dtype=np.int64),
            np.ascontiguousarray(neighbors.offsets, dtype=np.int64),
            np.ascontiguousarray(neighbors.neighbors, dtype=np.int64),
            np.ascontiguousarray(neighbors.shifts, dtype=np.float64),
            self.params, numba.get_num_threads())
        return TermResult(float(energy), forces, virial)
