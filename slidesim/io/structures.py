"""Structures in and out: extended XYZ (and anything else ASE reads) <-> :class:`State`.

The layer of each atom travels as a per-atom array named ``layer``; files without it get layers
guessed from z (split at the largest gap). Velocities travel as ASE momenta; ASE's time unit is
converted to ps on the way.
"""

import os

import ase
import ase.io
import ase.units
import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import atomic_masses, atomic_numbers

from slidesim.state import State
from slidesim.units import ATOMIC_MASS

#: one ASE velocity unit (A per ASE time unit) in A/ps
_ASE_VELOCITY_IN_A_PER_PS = 1000.0 * ase.units.fs
#: vacuum added above and below the atoms when a file gives no c vector [A]
DEFAULT_VACUUM = 10.0


def default_mass(symbol):
    """Mass [amu] of an element: slidesim's table (LAMMPS values) first, then ASE's."""
    if symbol in ATOMIC_MASS:
        return ATOMIC_MASS[symbol]
    return float(atomic_masses[atomic_numbers[symbol]])


def layers_from_z(z):
    """Layer index (N,) int64 from heights z (N,) [A]: 1 above the largest gap, 0 below.

    With fewer than two distinct heights every atom is in layer 0.
    """
    z = np.asarray(z, dtype=np.float64)
    layer = np.zeros(len(z), dtype=np.int64)
    if len(z) < 2:
        return layer
    heights = np.sort(z)
    gaps = np.diff(heights)
    widest = int(np.argmax(gaps))
    if gaps[widest] <= 0.0:
        return layer
    layer[z > heights[widest]] = 1
    return layer


def atoms_to_state(atoms, source="atoms"):
    """A one-replica :class:`State` from an ASE ``Atoms``.

    Species are numbered in order of first appearance; masses come from the atoms' own
    ``masses`` array if present, else :func:`default_mass`; layer from the ``layer`` array or
    :func:`layers_from_z`. The cell must be periodic along a and b; a missing c vector is
    replaced by one along z spanning the atoms plus :data:`DEFAULT_VACUUM` on each side.
    ``source`` names the input in error messages.
    """
    if not (atoms.pbc[0] and atoms.pbc[1]):
        raise ValueError(f"{source}: slidesim needs a cell periodic along a and b, "
                         f"got pbc={[bool(p) for p in atoms.pbc]}")
    cell = np.array(atoms.cell[:], dtype=np.float64)
    if np.linalg.norm(cell[0]) == 0.0 or np.linalg.norm(cell[1]) == 0.0:
        raise ValueError(f"{source}: cell vectors a and b must be given")
    positions = atoms.get_positions()
    if np.linalg.norm(cell[2]) == 0.0:
        span = np.ptp(positions[:, 2]) if len(atoms) else 0.0
        cell[2] = (0.0, 0.0, span + 2.0 * DEFAULT_VACUUM)
    symbols = atoms.get_chemical_symbols()
    species_names = tuple(dict.fromkeys(symbols))
    species = np.array([species_names.index(symbol) for symbol in symbols], dtype=np.int64)
    if "masses" in atoms.arrays:
        masses = np.array(atoms.arrays["masses"], dtype=np.float64)
    else:
        masses = np.array([default_mass(symbol) for symbol in symbols])
    if "layer" in atoms.arrays:
        layer = np.array(atoms.arrays["layer"], dtype=np.int64)
    else:
        layer = layers_from_z(positions[:, 2])
    velocities = None
    if "momenta" in atoms.arrays:
        velocities = atoms.get_velocities() * _ASE_VELOCITY_IN_A_PER_PS
    info = atoms.info
    return State(positions, velocities, cell, species, species_names, masses, layer,
                 step=int(info.get("step", 0)), time=float(info.get("time_ps", 0.0)))


def state_to_atoms(state, replica=0, forces=None, energy=None):
    """An ASE ``Atoms`` for one replica of ``state``, with ``layer`` and ``masses`` arrays.

    pbc is (True, True, False). Non-zero velocities become momenta. ``forces`` (N, 3) [eV/A]
    and ``energy`` [eV], if given, are attached through a single-point calculator. ``info``
    carries ``step``, ``time_ps`` and ``replica``.
    """
    atoms = ase.Atoms(symbols=state.symbols(), positions=state.positions[replica],
                      cell=state.cell, pbc=(True, True, False))
    atoms.set_masses(state.masses)
    atoms.set_array("layer", np.asarray(state.layer, dtype=np.int64))
    velocities = state.velocities[replica]
    if np.any(velocities != 0.0):
        atoms.set_velocities(velocities / _ASE_VELOCITY_IN_A_PER_PS)
    atoms.info.update(step=int(state.step), time_ps=float(state.time), replica=int(replica))
    if forces is not None or energy is not None:
        atoms.calc = SinglePointCalculator(
            atoms, energy=energy, forces=None if forces is None else np.asarray(forces))
    return atoms


def read_structure(path, index=-1, format=None, types=None, layers=None, velocities=None,
                   atom_style=None):
    """Read frame ``index`` of a structure file (extxyz by extension, or ``format``) as a State.

    LAMMPS data files (``format="lammps-data"``, or recognised by name or header) are read by
    :func:`slidesim.io.lammps_data.read_lammps_data` with ``types``, ``layers``,
    ``velocities`` (keep the file's, else zero) and ``atom_style``; other files keep the
    velocities they have (ValueError if ``velocities`` is true and they have none).
    """
    from ase.io.formats import UnknownFileTypeError

    from slidesim.io.lammps_data import looks_like_lammps_data, read_lammps_data

    path = os.fspath(path)
    if format == "lammps-data" or (format is None and looks_like_lammps_data(path)):
        return read_lammps_data(path, types, layers, bool(velocities), atom_style)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        atoms = ase.io.read(path, index=index, format=format)
    except UnknownFileTypeError as err:
        raise ValueError(f"{path}: unknown structure format ({err}); give an extended XYZ "
                         "file, or a LAMMPS data file with 'format lammps-data'") from None
    except MemoryError:
        raise
    except Exception as err:  # ASE's readers fail on bad files with any kind of exception
        kind = format or "extended XYZ (or a format ASE recognises)"
        raise ValueError(f"{path}: cannot read it as {kind}: {type(err).__name__}: "
                         f"{' '.join(str(err).split())}; check the file, or give its format "
                         "with 'format'") from None
    if layers == "z" and "layer" in atoms.arrays:
        del atoms.arrays["layer"]
    state = atoms_to_state(atoms, source=path)
    if velocities and not np.any(state.velocities):
        raise ValueError(f"{path}: 'velocities from-file' but the file has no velocities; "
                         "remove it to draw velocities at the stage temperature")
    return state


def write_structure(path, state, replica=0, forces=None, energy=None):
    """Write one replica of ``state`` as extended XYZ, with the ``layer`` array.

    forces (N, 3) [eV/A] and energy [eV] are written when given.
    """
    atoms = state_to_atoms(state, replica=replica, forces=forces, energy=energy)
    ase.io.write(os.fspath(path), atoms, format="extxyz")
