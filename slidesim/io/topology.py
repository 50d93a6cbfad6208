"""The topology written next to every trajectory: a one-frame LAMMPS text dump.

``traj.nc`` holds what changes (positions, velocities, forces, cell, time); ``traj.lammpsdump``
beside it holds what does not, one line per atom::

    ITEM: ATOMS id mol type element mass q x y z

- ``id``: 1 .. N, the atom's index in the trajectory plus one;
- ``mol``: the layer plus one (1 bottom, 2 top), LAMMPS's convention for interlayer potentials;
- ``type``: the atomic number, the same number as the trajectory's ``atom_types``;
- ``element``: the element symbol; ``mass`` [amu]: the run's mass; ``q`` [e]: the model's fixed
  charge of the species (0 where the model has none);
- ``x y z`` [A]: the positions of the frame the topology was written from.

Why a LAMMPS dump: it is the one format that both MDAnalysis (>= 2.10, its ``LAMMPSDUMP``
topology parser reads id, mol, type, element, mass and q) and OVITO (its LAMMPS dump reader
maps element and type to named particle types, mass, q and mol to Mass, Charge and Molecule
Identifier) load directly with elements, masses, charges and layers. A LAMMPS data file gives
MDAnalysis no elements, PDB carries neither masses nor charges, extended XYZ gives MDAnalysis
neither masses, charges nor layers, and OVITO reads no PSF. Because ``type`` is the atomic
number, OVITO's Load trajectory modifier merges the netCDF's ``atom_types`` into the named types
instead of adding unnamed ones (docs/interop.md).
"""

import os

import numpy as np
from ase.data import atomic_numbers

#: file name ending of the topology beside a trajectory (MDAnalysis picks its parser by it)
TOPOLOGY_SUFFIX = ".lammpsdump"


def topology_path(trajectory_path):
    """``traj.nc`` -> ``traj.lammpsdump`` (``traj.r1.nc`` -> ``traj.r1.lammpsdump``)."""
    stem, _ = os.path.splitext(os.fspath(trajectory_path))
    return stem + TOPOLOGY_SUFFIX


def model_charges(model, species):
    """Per-atom fixed charges (N,) [e] of ``model``'s Coulomb term for atoms of ``species``
    (N,) int, or zeros if the model has no fixed charges (machine-learned, TMD, tether)."""
    species = np.asarray(species, dtype=np.int64)
    for term in getattr(model, "terms", ()):
        coulomb = getattr(term, "coulomb", term)
        per_species = getattr(coulomb, "charges", None)
        if per_species is not None and np.ndim(per_species) == 1 \
                and len(per_species) > species.max(initial=0):
            return np.asarray(per_species, dtype=np.float64)[species]
    return np.zeros(len(species))


def lammps_box(cell):
    """LAMMPS's restricted triclinic box of a cell (3, 3) [A] (rows a, b, c).

    Returns (bounds (3, 2) as a dump writes them, tilts (xy, xz, yz), rotation (3, 3)) where
    ``positions @ rotation`` puts positions into the box's frame (a along x, b in the xy plane).
    """
    cell = np.asarray(cell, dtype=np.float64)
    a, b, c = cell
    ax = np.linalg.norm(a)
    x_hat = a / ax
    bx = b @ x_hat
    by = np.linalg.norm(b - bx * x_hat)
    y_hat = (b - bx * x_hat) / by
    cx, cy = c @ x_hat, c @ y_hat
    cz = np.sqrt(max(c @ c - cx * cx - cy * cy, 0.0))
    box = np.array([[ax, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])
    rotation = np.linalg.solve(cell, box)  # cell @ rotation = box
    xy, xz, yz = bx, cx, cy
    lo = np.zeros(3)
    hi = np.array([ax, by, cz])
    bounds = np.array([[lo[0] + min(0.0, xy, xz, xy + xz), hi[0] + max(0.0, xy, xz, xy + xz)],
                       [lo[1] + min(0.0, yz), hi[1] + max(0.0, yz)],
                       [lo[2], hi[2]]])
    return bounds, (xy, xz, yz), rotation


def write_topology(path, positions, cell, symbols, masses, layer, charges=None, step=0):
    """Write the topology of one trajectory as a one-frame LAMMPS text dump (module docstring).

    positions (N, 3) [A]; cell (3, 3) [A]; symbols: N element symbols; masses (N,) [amu];
    layer (N,) int (0 bottom, 1 top); charges (N,) [e] or None (zeros); step: the dump's
    timestep. Unknown element symbols are refused (ValueError): readers could not name them.
    """
    path = os.fspath(path)
    numbers = []
    for symbol in symbols:
        if symbol not in atomic_numbers:
            raise ValueError(f"topology {path}: species '{symbol}' is not an element symbol; "
                             "name the species by their elements")
        numbers.append(atomic_numbers[symbol])
    n_atoms = len(numbers)
    charges = np.zeros(n_atoms) if charges is None else np.asarray(charges, dtype=np.float64)
    bounds, (xy, xz, yz), rotation = lammps_box(cell)
    positions = np.asarray(positions, dtype=np.float64) @ rotation
    lines = ["ITEM: TIMESTEP", str(int(step)), "ITEM: NUMBER OF ATOMS", str(n_atoms),
             "ITEM: BOX BOUNDS xy xz yz pp pp ff",
             f"{bounds[0, 0]:.10f} {bounds[0, 1]:.10f} {xy:.10f}",
             f"{bounds[1, 0]:.10f} {bounds[1, 1]:.10f} {xz:.10f}",
             f"{bounds[2, 0]:.10f} {bounds[2, 1]:.10f} {yz:.10f}",
             "ITEM: ATOMS id mol type element mass q x y z"]
    for i in range(n_atoms):
        x, y, z = positions[i]
        lines.append(f"{i + 1} {int(layer[i]) + 1} {numbers[i]} {symbols[i]} {masses[i]:.6f} "
                     f"{charges[i]:.6f} {x:.8f} {y:.8f} {z:.8f}")
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)
