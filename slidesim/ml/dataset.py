"""Training data for machine-learned models, labelled by one of slidesim's reference models.

No DFT is needed to try the training workflow: :func:`generate_dataset` labels h-BN bilayer
configurations with a classical model (``bn-dft`` by default: the bn-ilp form refitted to the
seed paper's DFT numbers) and its registry dipole model for the Born charges. It writes extended
XYZ frames, the format nequip reads and DFT workflows export:

- ``energy`` [eV], ``stress`` [eV/A^3] (ASE sign: -W/V, V the volume of the cell including
  vacuum) in the frame's info, ``forces`` [eV/A] per atom;
- ``born_charges`` per atom, 9 components Z[i, alpha, beta] row-major [e], and the frame's
  ``dipole`` [e A];
- ``config_type`` (``slide`` or ``md_<T>K``) and ``temperature`` [K].

Frames: rigid slides over a grid of sliding vectors t covering the unit cell at several
interlayer distances, with random atomic displacements, and snapshots of Langevin MD at each
temperature (100-3000 K by default), each MD run started from BA stacking.
"""

import os
import tempfile

import numpy as np

from slidesim.structures import bilayer, monolayer

DEFAULT_TEMPERATURES = (100.0, 300.0, 1000.0, 2000.0, 3000.0)


def reference_model(name, state):
    """(model, dipole source) of a classical model with its registry dipole parameters (those
    of its catalog entry, slidesim.catalog)."""
    from slidesim.fields.dipole import RegistryDipole
    from slidesim.models import build_model, model_entry

    model = build_model(name, state.species_names, state)
    dipole = RegistryDipole(state.species_names, model_entry(name).dipole)
    return model, dipole


def label(model, dipole, positions, state, skin=1.0):
    """Energy, forces, virial, dipole and Born charges of one configuration."""
    lists = model.neighbor_lists(skin)
    result = model.compute(positions, state.cell, state.species, state.layer, lists)
    dipole_lists = {key: _list_for(request, skin) for key, request in dipole.requests.items()}
    for nl in dipole_lists.values():
        nl.update(positions, state.cell, state.layer)
    charges = dipole.compute(positions, state.cell, state.species, state.layer, dipole_lists)
    return result, charges


def _list_for(request, skin):
    from slidesim.neighbors import NeighborList

    return NeighborList(request.cutoff, skin=skin, mode=request.mode)


def to_atoms(state, positions, result, charges, config_type, temperature):
    """An ase.Atoms frame with the labels attached (see the module docstring)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from slidesim.io.structures import state_to_atoms

    frame = state.replicate(1)
    frame.positions[0] = positions
    atoms = state_to_atoms(frame)
    volume = abs(np.linalg.det(state.cell))
    w = result.virial  # xx yy zz xy xz yz; ASE stress Voigt order is xx yy zz yz xz xy
    stress = -np.array([w[0], w[1], w[2], w[5], w[4], w[3]]) / volume
    atoms.calc = SinglePointCalculator(atoms, energy=result.energy, forces=result.forces,
                                       stress=stress)
    atoms.arrays["born_charges"] = charges.born_charges.reshape(len(atoms), 9).copy()
    atoms.info["dipole"] = np.asarray(charges.dipole, dtype=np.float64).copy()
    atoms.info["config_type"] = config_type
    atoms.info["temperature"] = float(temperature)
    return atoms


def slide_frames(model_name="bn-dft", cells=3, grid=6, distances=(-0.15, 0.0, 0.3),
                 displacement=0.03, seed=0):
    """Rigid slides t = (u a + v b) for u, v on a grid x grid mesh, at d0 + each offset [A],
    every atom displaced by a Gaussian of ``displacement`` [A]; d0 and the lattice constant are
    the model's (its catalog entry), else h-BN's defaults. Returns ase.Atoms frames."""
    from slidesim.models import model_entry

    entry = model_entry(model_name)
    rng = np.random.default_rng(seed)
    base = bilayer("BN", (cells, cells), "AA", lattice=entry.lattice, interlayer=entry.distance)
    model, dipole = reference_model(model_name, base)
    a, b = base.cell[0] / cells, base.cell[1] / cells
    d0 = entry.distance if entry.distance is not None else monolayer("BN").interlayer
    top = base.layer == 1
    frames = []
    for offset in distances:
        for u in range(grid):
            for v in range(grid):
                positions = base.positions[0].copy()
                positions[top] += (u * a + v * b) / grid
                positions[top, 2] += d0 + offset - (positions[top, 2].mean()
                                                    - positions[~top, 2].mean())
                positions += rng.normal(0.0, displacement, positions.shape)
                result, charges = label(model, dipole, positions, base)
                frames.append(to_atoms(base, positions, result, charges, "slide", 0.0))
    return frames


def md_frames(model_name="bn-dft", cells=3, temperatures=DEFAULT_TEMPERATURES, frames=30,
              every=100, seed=0, workdir=None):
    """Snapshots every ``every`` steps (dt 1 fs) of Langevin MD at each temperature [K]."""
    from slidesim.deck import parse_deck
    from slidesim.io.trajectory import read_trajectory
    from slidesim.simulation import Simulation

    out = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for k, temperature in enumerate(temperatures):
            run = os.path.join(tmp, f"T{temperature:g}")
            deck = parse_deck(
                f"system bilayer material BN cells {cells} {cells} stacking BA\n"
                f"model {model_name}\ntimestep 1 fs\nintegrator langevin damp 100 fs\n"
                f"seed {seed + k}\nvelocities {temperature:g} K\noutput {run}\n"
                f"thermo every {every}\ntrajectory every {every}\ncheckpoint every 0\n"
                f"stage md temperature {temperature:g} K steps {(frames + 1) * every}\n",
                os.path.join(tmp, "md.in"))
            simulation = Simulation(deck, progress=False)
            simulation.run()
            state = simulation.state
            model, dipole = reference_model(model_name, state)
            coordinates = read_trajectory(os.path.join(run, "traj.nc"))["coordinates"]
            for positions in coordinates[2:]:  # the first frames are still equilibrating
                result, charges = label(model, dipole, positions, state)
                out.append(to_atoms(state, positions, result, charges,
                                    f"md_{temperature:g}K", temperature))
    return out


def generate_dataset(path, model_name="bn-dft", cells=3, temperatures=DEFAULT_TEMPERATURES,
                     frames=30, grid=6, seed=0):
    """Write slide and MD frames labelled by ``model_name`` to the extended XYZ file ``path``.

    Returns the number of frames written.
    """
    from ase.io import write

    frames_all = slide_frames(model_name, cells, grid, seed=seed)
    frames_all += md_frames(model_name, cells, temperatures, frames, seed=seed)
    write(path, frames_all, format="extxyz")
    return len(frames_all)
