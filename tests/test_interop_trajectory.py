"""slidesim's trajectories read by ASE, MDAnalysis and OVITO, against the run's thermo output.

A short bn-ilp run writes traj.nc (velocities and forces) with its topology traj.lammpsdump, and
thermo.csv at the same steps. Each reader must give the positions, cell and time of the file, the
velocities in its own units such that the temperature matches thermo.csv to 0.1 %, the forces,
the elements, masses, charges and layers, and no phantom particle types.
"""

import os
import warnings

import numpy as np
import pytest

from slidesim.deck import parse_deck
from slidesim.integrators import degrees_of_freedom
from slidesim.io.thermo import read_thermo
from slidesim.io.topology import model_charges, topology_path
from slidesim.io.trajectory import read_trajectory
from slidesim.simulation import Simulation
from slidesim import units

DECK = """system bilayer material BN cells 3 3 stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 50 fs
seed 5
output {output}
thermo every 10
trajectory every 10 velocities yes forces yes
checkpoint every 1000
stage hold temperature 300 K steps 40
"""

#: the temperatures of each reader must match thermo.csv this closely (relative)
TEMPERATURE_RTOL = 1e-3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 40-step bn-ilp run: (simulation, traj.nc path, thermo columns)."""
    folder = tmp_path_factory.mktemp("interop")
    deck_path = folder / "run.in"
    deck_path.write_text(DECK.format(output=folder / "out"))
    simulation = Simulation(parse_deck(deck_path.read_text(), str(deck_path)), progress=False)
    simulation.run()
    path = os.path.join(simulation.output, "traj.nc")
    thermo = read_thermo(os.path.join(simulation.output, "thermo.csv"))
    return simulation, path, thermo


def thermo_at(thermo, steps, column="temperature_K"):
    index = {int(step): k for k, step in enumerate(thermo["step"])}
    return np.array([thermo[column][index[int(step)]] for step in steps])


def kinetic_temperature(kinetic_eV, n_atoms):
    """Temperature [K] of a kinetic energy [eV], with slidesim's 3N - 3 degrees of freedom."""
    return 2.0 * kinetic_eV / (degrees_of_freedom(n_atoms) * units.BOLTZMANN)


def test_slidesim_reads_its_own_trajectory_and_topology(run):
    simulation, path, thermo = run
    data = read_trajectory(path)
    state = simulation.state
    assert len(data["step"]) == 5 and data["step"][-1] == 40
    np.testing.assert_array_equal(data["species"], state.species)
    np.testing.assert_array_equal(data["masses"], state.masses)
    ke = 0.5 * units.MVV2E * np.einsum("i,fij,fij->f", data["masses"], data["velocities"],
                                        data["velocities"])
    np.testing.assert_allclose(kinetic_temperature(ke, state.n_atoms),
                               thermo_at(thermo, data["step"]), rtol=TEMPERATURE_RTOL)
    np.testing.assert_allclose(data["coordinates"][-1], state.positions[0], atol=1e-4)
    assert os.path.exists(topology_path(path))
    charges = model_charges(simulation.model, state.species)
    assert set(np.round(charges, 6)) == {0.42, -0.42}  # bn-ilp's fixed charges


def test_ase_reads_units_elements_and_layers(run):
    import ase.io
    from ase import units as ase_units

    simulation, path, thermo = run
    data = read_trajectory(path)
    frames = ase.io.read(path, index=":")
    assert len(frames) == len(data["step"])
    n_atoms = simulation.state.n_atoms
    for k, atoms in enumerate(frames):
        assert atoms.get_chemical_symbols() == simulation.state.symbols()
        np.testing.assert_allclose(atoms.positions, data["coordinates"][k], atol=1e-5)
        np.testing.assert_allclose(atoms.cell[:], data["cell"][k], atol=1e-5)
        np.testing.assert_allclose(atoms.get_masses(), simulation.state.masses)
        np.testing.assert_array_equal(atoms.arrays["layer"], simulation.state.layer)
        assert float(atoms.info["time"]) == pytest.approx(data["time"][k])  # [ps]
        # ASE velocities are in A / (A sqrt(amu/eV)); 1 A/ps = 1 / (1000 fs) of them
        np.testing.assert_allclose(atoms.get_velocities() * 1000 * ase_units.fs,
                                   data["velocities"][k], rtol=1e-5, atol=1e-5)
        # ASE does not convert the forces it attaches: kcal/mol/A, as the file says
        np.testing.assert_allclose(atoms.arrays["forces"] * ase_units.kcal / ase_units.mol,
                                   data["forces"][k], rtol=1e-5, atol=1e-5)
    temperatures = [kinetic_temperature(atoms.get_kinetic_energy(), n_atoms) for atoms in frames]
    np.testing.assert_allclose(temperatures, thermo_at(thermo, data["step"]),
                               rtol=TEMPERATURE_RTOL)


def test_slidesim_read_frames_give_ase_forces_in_ev_per_angstrom(run):
    from slidesim.ase import read_frames

    simulation, path, thermo = run
    data = read_trajectory(path)
    frames = read_frames(path)
    for k, atoms in enumerate(frames):
        np.testing.assert_allclose(atoms.get_forces(), data["forces"][k], rtol=1e-6, atol=1e-6)
        assert atoms.get_potential_energy() == pytest.approx(data["potential_energy"][k])
    np.testing.assert_allclose([atoms.get_potential_energy() for atoms in frames],
                               thermo_at(thermo, data["step"], "potential_eV"), rtol=1e-9)


def test_mdanalysis_reads_trajectory_with_its_topology(run):
    MDAnalysis = pytest.importorskip("MDAnalysis")
    from MDAnalysis import units as mda_units

    simulation, path, thermo = run
    data = read_trajectory(path)
    state = simulation.state
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no guessing, no convention complaints
        universe = MDAnalysis.Universe(topology_path(path), path)
    atoms = universe.atoms
    assert list(atoms.elements) == state.symbols()
    np.testing.assert_allclose(atoms.masses, state.masses)
    np.testing.assert_allclose(atoms.charges, model_charges(simulation.model, state.species),
                               atol=1e-6)
    np.testing.assert_array_equal(atoms.resids, state.layer + 1)  # residue = layer + 1
    assert universe.select_atoms("element B and resid 2").n_atoms == int(np.sum(
        (state.species == 0) & (state.layer == 1)))
    n_atoms = state.n_atoms
    # MDAnalysis units: A, ps, A/ps and kJ/(mol A)
    to_ev = mda_units.convert(1.0, "kJ/(mol*Angstrom)", "kcal/(mol*Angstrom)") \
        / units.EV_IN_KCAL_PER_MOL
    temperatures = []
    for k, ts in enumerate(universe.trajectory):
        np.testing.assert_allclose(ts.positions, data["coordinates"][k], atol=1e-5)
        assert ts.time == pytest.approx(data["time"][k])
        np.testing.assert_allclose(ts.dimensions[:3], data["cell_lengths"][k], rtol=1e-6)
        np.testing.assert_allclose(ts.dimensions[3:], data["cell_angles"][k], rtol=1e-6)
        np.testing.assert_allclose(ts.velocities, data["velocities"][k], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ts.forces * to_ev, data["forces"][k], rtol=1e-5, atol=1e-5)
        ke = 0.5 * units.MVV2E * np.sum(atoms.masses[:, None] * ts.velocities ** 2)
        temperatures.append(kinetic_temperature(ke, n_atoms))
    np.testing.assert_allclose(temperatures, thermo_at(thermo, data["step"]),
                               rtol=TEMPERATURE_RTOL)


def test_ovito_reads_types_units_and_topology(run):
    pytest.importorskip("ovito", reason="ovito is not installed (pip install ovito)")
    from ovito.io import import_file
    from ovito.modifiers import LoadTrajectoryModifier

    simulation, path, thermo = run
    data = read_trajectory(path)
    state = simulation.state
    numbers = sorted(set(data["atomic_numbers"].tolist()))
    # the netCDF alone: one particle type per element (its atomic number), none besides
    pipeline = import_file(path)
    frame = pipeline.compute(0)
    assert sorted(t.id for t in frame.particles.particle_types.types) == numbers
    # with the topology, OVITO names the types and has masses, charges and layers
    pipeline = import_file(topology_path(path))
    trajectory = LoadTrajectoryModifier()
    trajectory.source.load(path)
    pipeline.modifiers.append(trajectory)
    assert pipeline.source.num_frames == 1 and trajectory.source.num_frames == len(data["step"])
    temperatures = []
    for k in range(len(data["step"])):
        frame = pipeline.compute(k)
        particles = frame.particles
        types = {t.id: t.name for t in particles.particle_types.types}
        assert sorted(types) == numbers
        assert [types[t] for t in particles.particle_types[...]] == state.symbols()
        np.testing.assert_allclose(particles["Mass"][...], state.masses)
        np.testing.assert_allclose(particles["Charge"][...],
                                   model_charges(simulation.model, state.species), atol=1e-6)
        np.testing.assert_array_equal(particles["Molecule Identifier"][...], state.layer + 1)
        np.testing.assert_allclose(particles.positions[...], data["coordinates"][k], atol=1e-5)
        # OVITO's cell matrix holds the cell vectors as columns
        np.testing.assert_allclose(frame.cell[:, :3].T, data["cell"][k], atol=1e-5)
        assert frame.attributes["time"] == pytest.approx(data["time"][k])
        # OVITO shows the stored numbers: A/ps and eV/A, slidesim's (LAMMPS metal) units
        np.testing.assert_allclose(particles["Velocity"][...], data["velocities"][k],
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(particles["Force"][...], data["forces"][k],
                                   rtol=1e-6, atol=1e-6)
        ke = 0.5 * units.MVV2E * np.sum(particles["Mass"][...][:, None]
                                        * particles["Velocity"][...] ** 2)
        temperatures.append(kinetic_temperature(ke, state.n_atoms))
    np.testing.assert_allclose(temperatures, thermo_at(thermo, data["step"]),
                               rtol=TEMPERATURE_RTOL)
