"""Reading and writing LAMMPS-format parameter files for fitting (.ILP and tersoff).

The files written here are read by slidesim (:func:`slidesim.models.ilp.read_ilp_file`,
:func:`slidesim.models.tersoff.read_tersoff_entries`) and by LAMMPS (``pair_style
ilp/graphene/hbn``, ``pair_style tersoff``) alike.
"""

from dataclasses import dataclass

import numpy as np

from slidesim.models.ilp import FILE_COLUMNS
from slidesim.models.tersoff import PARAMETER_NAMES, read_tersoff_entries

#: tersoff parameters that are lengths [A] and inverse lengths [1/A] (rescaled together)
TERSOFF_LENGTHS = ("R", "D")
TERSOFF_INVERSE_LENGTHS = ("lambda1", "lambda2", "lambda3")


@dataclass
class IlpEntry:
    """One line of a .ILP file: two elements and the values of FILE_COLUMNS (file units)."""

    first: str
    second: str
    values: dict


def read_ilp_entries(path):
    """All entries of a .ILP file, in file order (LAMMPS's continuation rules)."""
    entries, tokens = [], []
    width = 2 + len(FILE_COLUMNS)
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            tokens += line.split("#", 1)[0].split()
            if len(tokens) < width:
                continue
            if len(tokens) > width:
                raise ValueError(f"{path}:{number}: {len(tokens)} words, an entry has {width}")
            try:
                values = dict(zip(FILE_COLUMNS, map(float, tokens[2:])))
            except ValueError:
                raise ValueError(f"{path}:{number}: not a number in {' '.join(tokens)}") from None
            entries.append(IlpEntry(tokens[0], tokens[1], values))
            tokens = []
    if tokens:
        raise ValueError(f"{path}: incomplete entry at the end: {' '.join(tokens)}")
    return entries


def scaled_ilp_entries(entries, scales, species=("B", "N")):
    """Copies of ``entries`` with the columns in ``scales`` ({"beta": 0.97, ...}) multiplied,
    for pairs of ``species`` only (both orders alike, so the file stays symmetric)."""
    out = []
    for entry in entries:
        values = dict(entry.values)
        if entry.first in species and entry.second in species:
            for column, factor in scales.items():
                if column not in FILE_COLUMNS:
                    raise ValueError(f"unknown ILP column '{column}'; columns: "
                                     f"{', '.join(FILE_COLUMNS)}")
                values[column] *= float(factor)
        out.append(IlpEntry(entry.first, entry.second, values))
    return out


def write_ilp_file(path, entries, header=()):
    """Write a LAMMPS .ILP file; ``header`` lines become '#' comments."""
    with open(path, "w") as handle:
        for line in header:
            handle.write(f"# {line}\n".replace("# \n", "#\n"))
        handle.write("# " + " ".join(("el_i", "el_j") + FILE_COLUMNS) + "\n")
        for entry in entries:
            numbers = " ".join(f"{entry.values[c]:.10g}" for c in FILE_COLUMNS)
            handle.write(f"{entry.first} {entry.second} {numbers}\n")


def write_rescaled_tersoff(source, path, factor, species=("B", "N"), header=()):
    """Write the ``species`` triplets of the tersoff file ``source`` with every length scaled
    by ``factor`` (R, D times factor; lambda1, lambda2, lambda3 divided by it).

    E(factor * r; new file) = E(r; source) for any structure, so equilibrium bond lengths and
    lattice constants scale by ``factor`` and energies (cohesive energy, barriers) are kept;
    force constants scale by 1 / factor^2.
    """
    with open(path, "w") as handle:
        for line in header:
            handle.write(f"# {line}\n".replace("# \n", "#\n"))
        handle.write("# el1 el2 el3 " + " ".join(PARAMETER_NAMES) + "\n")
        for elements, values, _ in read_tersoff_entries(source):
            if not all(e in species for e in elements):
                continue
            values = dict(zip(PARAMETER_NAMES, np.asarray(values, dtype=float)))
            for name in TERSOFF_LENGTHS:
                values[name] *= factor
            for name in TERSOFF_INVERSE_LENGTHS:
                values[name] /= factor
            numbers = " ".join(f"{values[n]:.15g}" for n in PARAMETER_NAMES)
            handle.write(f"{' '.join(elements)} {numbers}\n")
