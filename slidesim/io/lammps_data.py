"""LAMMPS data files in: ``read_data`` input (atom_style atomic, charge or full) -> :class:`State`.

The file is parsed by ASE (``ase.io.lammpsdata``); this module decides what slidesim needs that
the file does not say outright (docs/lammps.md):

- **elements.** LAMMPS knows atom types, not elements. A type map ``{1: "B", 2: "N", ...}``
  (deck: ``types 1=B 2=N``) names them; without one, ``Atom Type Labels`` that are element
  symbols do, else each type's mass in ``Masses`` must match one element's standard mass to
  0.05 amu. The file's own masses are kept.
- **layers.** ``layers molecule``: the two molecule ids are the two layers (the lower one in z
  is layer 0); ``layers z``: split at the largest gap in z. By default molecule ids when the file
  has exactly two, else z.
- **positions.** Image flags are applied (atoms unwrapped, as LAMMPS writes them) and the box
  origin (xlo, ylo, zlo) is moved to 0, so positions are relative to the box corner.
- **velocities** (``units metal``: A/ps) are kept only when asked.

Only ``units metal`` files are read as they are; slidesim's units are LAMMPS metal.
"""

import os
import re

import numpy as np
from ase.data import atomic_masses, chemical_symbols

from slidesim.io.structures import atoms_to_state, layers_from_z
from slidesim.units import ATOMIC_MASS

#: file name endings read as LAMMPS data without ``format lammps-data``
DATA_SUFFIXES = (".data", ".lmp", ".lammps", ".lmpdat", ".lammpsdata")
#: largest difference [amu] between a type's mass and an element's for the element to be taken
MASS_TOLERANCE = 0.05

_HEADER_ATOMS = re.compile(r"^\s*\d+\s+atoms\s*(#.*)?$")


class LammpsDataError(ValueError):
    """A LAMMPS data file slidesim cannot use as it is; the message names the file and the fix."""


def looks_like_lammps_data(path):
    """True if ``path`` ends like a data file or its header (first 20 lines) has 'N atoms'."""
    path = os.fspath(path)
    if path.lower().endswith(DATA_SUFFIXES):
        return True
    try:
        with open(path) as f:
            head = [f.readline() for _ in range(20)]
    except (OSError, UnicodeDecodeError):
        return False
    return any(_HEADER_ATOMS.match(line) for line in head[1:])


def element_of_mass(mass):
    """The element whose standard mass is within :data:`MASS_TOLERANCE` of ``mass`` [amu], or
    None if none or several are (slidesim's table, LAMMPS's values, first; then ASE's)."""
    for symbol, standard in ATOMIC_MASS.items():
        if abs(standard - mass) <= MASS_TOLERANCE:
            return symbol
    close = [z for z in range(1, len(atomic_masses))
             if abs(atomic_masses[z] - mass) <= MASS_TOLERANCE]
    return chemical_symbols[close[0]] if len(close) == 1 else None


def _section_names(path):
    names = set()
    with open(path) as f:
        for line in f:
            word = line.split("#", 1)[0].strip()
            if word in ("Masses", "Velocities", "Atoms", "Atom Type Labels"):
                names.add(word)
    return names


def _elements_of_types(path, types, masses, type_map, labels):
    """{type: element} for every type present, or LammpsDataError saying how to name them."""
    present = sorted(set(int(t) for t in types))
    if type_map:
        missing = [t for t in present if t not in type_map]
        if missing:
            named = " ".join(f"{t}={type_map[t]}" for t in sorted(type_map))
            raise LammpsDataError(
                f"{path}: atom type {missing[0]} is not in the type map ({named}); add "
                f"'{missing[0]}=ELEMENT' to 'types'")
        return {t: type_map[t] for t in present}
    if labels and all(labels.get(t) in chemical_symbols[1:] for t in present):
        return {t: labels[t] for t in present}
    if masses is None:
        raise LammpsDataError(
            f"{path}: no Masses section, so its atom types {present} name no elements; map "
            "them in the deck, e.g. 'system file path FILE types 1=B 2=N'")
    elements = {}
    for t in present:
        mass = float(masses[np.flatnonzero(types == t)[0]])
        symbol = element_of_mass(mass)
        if symbol is None:
            raise LammpsDataError(
                f"{path}: atom type {t} has mass {mass:g} amu, which is no element's standard "
                f"mass; name it in the deck, e.g. 'types {t}=B'")
        elements[t] = symbol
    return elements


def _type_labels(path):
    labels, inside = {}, False
    with open(path) as f:
        for line in f:
            text = line.split("#", 1)[0].strip()
            if text == "Atom Type Labels":
                inside = True
                continue
            if inside and text:
                fields = text.split()
                if len(fields) != 2 or not fields[0].isdigit():
                    break
                labels[int(fields[0])] = fields[1]
    return labels


def layers_of(path, positions, molecules, how=None):
    """Layer ids (N,) int64 from molecule ids (N,) or None, by ``how`` ('molecule', 'z' or
    None = molecule ids if there are exactly two, else z); LammpsDataError if 'molecule' is
    asked and the file does not have exactly two molecule ids."""
    distinct = np.unique(molecules) if molecules is not None else np.array([])
    if how == "molecule" or (how is None and len(distinct) == 2):
        if len(distinct) != 2:
            found = "no molecule ids" if len(distinct) == 0 else \
                f"{len(distinct)} molecule ids"
            raise LammpsDataError(
                f"{path}: 'layers molecule' needs two molecule ids (one per layer), the file has "
                f"{found}; write 'layers z' to split the layers at the largest gap in z")
        heights = [positions[molecules == m, 2].mean() for m in distinct]
        lower = distinct[int(np.argmin(heights))]
        return np.where(molecules == lower, 0, 1).astype(np.int64)
    return layers_from_z(positions[:, 2])


def read_lammps_data(path, types=None, layers=None, velocities=False, atom_style=None):
    """A one-replica :class:`State` from a LAMMPS data file (``units metal``).

    Args:
        path: the data file (written by ``write_data``, by slidesim's export, or by hand).
        types: {atom type (int): element symbol}, or None to name types by their labels or
            masses.
        layers: 'molecule', 'z' or None (see the module docstring).
        velocities: keep the file's ``Velocities`` [A/ps]; LammpsDataError if it has none.
        atom_style: 'atomic', 'charge' or 'full'; None takes it from the comment after
            ``Atoms`` or the number of columns (atomic or full).
    Masses are the file's (per type) where it has a Masses section. Raises LammpsDataError
    (a ValueError) with a one-line message naming the file and the fix.
    """
    from ase.io.lammpsdata import read_lammps_data as ase_read

    path = os.fspath(path)
    if not os.path.exists(path):
        raise LammpsDataError(f"{path}: no such file")
    sections = _section_names(path)
    if "Atoms" not in sections:
        raise LammpsDataError(f"{path}: no Atoms section; it is not a LAMMPS data file")
    try:
        atoms = ase_read(path, Z_of_type=None, sort_by_id=True, units="metal",
                         atom_style=atom_style)
    except Exception as err:  # ASE's parser raises many kinds for a malformed file
        hint = ("name the atom style, e.g. 'atom_style charge'" if atom_style is None
                else "check the Atoms section against LAMMPS's read_data format")
        raise LammpsDataError(f"{path}: not readable as a LAMMPS data file "
                              f"({type(err).__name__}: {' '.join(str(err).split())}); {hint}") from None
    atom_types = np.asarray(atoms.arrays["type"], dtype=np.int64)
    # the file's masses [g/mol = amu] exactly (ASE's unit conversion costs the last bits)
    type_masses = _numbered_section(path, "Masses", 1) if "Masses" in sections else None
    masses = None if type_masses is None else \
        np.array([type_masses[int(t)][0] for t in atom_types], dtype=np.float64)
    elements = _elements_of_types(path, atom_types, masses, types, _type_labels(path))
    atoms.set_chemical_symbols([elements[int(t)] for t in atom_types])
    if masses is not None:
        atoms.set_masses(masses)
    else:
        del atoms.arrays["masses"]
    atoms.positions -= _box_origin(path) + atoms.get_celldisp().reshape(3)
    atoms.set_celldisp(np.zeros(3))
    molecules = atoms.arrays.get("mol-id")
    atoms.set_array("layer", layers_of(path, atoms.positions, molecules, layers))
    if velocities and "Velocities" not in sections:
        raise LammpsDataError(f"{path}: 'velocities from-file' but the file has no Velocities "
                              "section; remove it to draw velocities at the stage temperature")
    if not velocities and "momenta" in atoms.arrays:
        del atoms.arrays["momenta"]
    atoms.pbc = (True, True, False)
    state = atoms_to_state(atoms, source=path)
    # ASE's own time unit costs the last bits of the velocities; the file's are exact
    if velocities:
        state.velocities[0] = _file_velocities(path, atoms.arrays["id"])
    return state


def _box_origin(path):
    """(xlo, ylo, zlo) [A] of a restricted box's header (ASE keeps positions in the file's
    frame, whose origin it does not record); zeros for a general triclinic box, whose origin
    ASE does record."""
    origin = np.zeros(3)
    with open(path) as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields[-2:] in (["xlo", "xhi"], ["ylo", "yhi"], ["zlo", "zhi"]):
                origin["xyz".index(fields[-2][0])] = float(fields[0])
            elif fields and fields[0] in ("Masses", "Atoms", "Velocities"):
                break
    return origin


def _numbered_section(path, title, n_values):
    """{number: [n_values floats]} of the rows of a section ``title`` (Masses, Velocities)."""
    rows, inside = {}, False
    with open(path) as f:
        for line in f:
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            if text == title:
                inside = True
                continue
            if inside:
                fields = text.split()
                if not fields[0].isdigit() or len(fields) < 1 + n_values:
                    break
                try:
                    rows[int(fields[0])] = [float(v) for v in fields[1:1 + n_values]]
                except ValueError:
                    raise LammpsDataError(f"{path}: '{text}' in {title} is not a number and "
                                          f"{n_values} values") from None
    return rows


def _file_velocities(path, ids):
    """(N, 3) [A/ps] of the Velocities section, in the order of ``ids``."""
    rows = _numbered_section(path, "Velocities", 3)
    try:
        return np.array([rows[int(i)] for i in ids], dtype=np.float64)
    except KeyError as err:
        raise LammpsDataError(f"{path}: atom {err} has no line in Velocities; give every atom "
                              "one") from None
