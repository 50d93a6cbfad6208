"""Tests of slidesim.io: netCDF trajectories, thermo CSV, checkpoints, extxyz structures."""

import dataclasses
import os
import subprocess
import sys
import warnings

import ase
import ase.io
import netCDF4
import numpy as np
import pytest

from slidesim.io.checkpoint import (CheckpointError, read_checkpoint,
                                    read_checkpoint_or_previous, write_checkpoint)
from slidesim.io.structures import layers_from_z, read_structure, write_structure
from slidesim.io.thermo import STANDARD_COLUMNS, ThermoWriter, read_thermo
from slidesim.io.trajectory import (TrajectoryWriter, cell_to_lengths_angles,
                                    lengths_angles_to_cell, read_trajectory)

from slidesim.state import DetectorMemory, State, SwitchingRecord
from slidesim.units import EV_IN_KCAL_PER_MOL

LATTICE_A = 2.504  # h-BN [A]
INTERLAYER = 3.33  # [A]


def hexagonal_cell(a=LATTICE_A, c=20.0):
    return np.array([[a, 0.0, 0.0], [-a / 2, a * np.sqrt(3) / 2, 0.0], [0.0, 0.0, c]])


def bilayer_state(n_replicas=1, seed=0, chain_length=0):
    """A 2x2 h-BN bilayer (16 atoms) with jittered positions and random velocities."""
    rng = np.random.default_rng(seed)
    cell = hexagonal_cell(2 * LATTICE_A)
    unit_a, unit_b = hexagonal_cell()[0], hexagonal_cell()[1]
    positions, species, layer = [], [], []
    for top in (0, 1):
        for i in range(2):
            for j in range(2):
                origin = i * unit_a + j * unit_b + np.array([0.0, 0.0, top * INTERLAYER])
                positions += [origin, origin + (unit_a + 2 * unit_b) / 3]
                species += [0, 1]
                layer += [top, top]
    positions = np.array(positions)
    positions = positions[None] + 0.05 * rng.standard_normal((n_replicas, *positions.shape))
    velocities = rng.standard_normal(positions.shape)
    masses = np.where(np.array(species) == 0, 10.811, 14.0067)
    generators = [np.random.Generator(np.random.PCG64(seed + r)) for r in range(n_replicas)]
    for generator in generators:
        generator.standard_normal(7)  # move away from the seed state
    switching = SwitchingRecord(
        events=[{"start": "BA", "end": "AB", "time": 1.2345678901234567, "step": 1234,
                 "field": [0.1, 0.0, -1.5], "theta": 60.000000001, "stage": "ramp", "replica": 0}],
        switched_in_stage=[0],
        detectors=[DetectorMemory(1, 17, [(0.1 * k, rng.standard_normal(2), rng.standard_normal(),
                                           None if k == 0 else rng.standard_normal(3))
                                          for k in range(r + 1)]) for r in range(n_replicas)])
    return State(positions, velocities, cell, species, ("B", "N"), masses, layer,
                 initial_positions=positions[0] - 0.01,
                 nose_hoover=rng.standard_normal((n_replicas, 3, chain_length)),
                 bath_energy=rng.standard_normal(n_replicas),
                 rng_states=[generator.bit_generator.state for generator in generators],
                 field=rng.standard_normal((n_replicas, 3)),
                 dipole=rng.standard_normal((n_replicas, 3)),
                 field_work=rng.standard_normal(n_replicas),
                 step=1234, time=1.234, stage=2, stage_step=34, switching=switching)


def advance(state, step, rng):
    """Move the state to ``step`` with new positions and a slightly strained cell."""
    state.step = step
    state.time = step * 1e-3
    state.positions = state.positions + 0.01 * rng.standard_normal(state.positions.shape)
    state.cell = state.cell * (1.0 + 1e-3 * step / 10)


def write_frames(path, steps, seed=0, **writer_options):
    """Write one frame per step; returns the states and forces [eV/A] written."""
    rng = np.random.default_rng(seed + 100)
    state = bilayer_state(seed=seed)
    written = []
    with TrajectoryWriter(path, state, velocities=True, forces=True, **writer_options) as writer:
        for step in steps:
            advance(state, step, rng)
            forces = rng.standard_normal((state.n_atoms, 3))
            writer.write_frame(state, forces=forces, temperature=300.0 + step,
                               temperature_target=300.0, potential_energy=-7.0 * step,
                               electric_field=(0.0, 0.1, 0.2),
                               sliding_vector=(0.01 * step, 0.0, 0.0))
            written.append((State(**{**state.__dict__}), forces))
    return written


# ---------------------------------------------------------------- trajectories


def test_cell_lengths_angles_hexagonal_and_round_trip():
    lengths, angles = cell_to_lengths_angles(hexagonal_cell(2.5, 20.0))
    np.testing.assert_allclose(lengths, [2.5, 2.5, 20.0])
    np.testing.assert_allclose(angles, [90.0, 90.0, 120.0])
    triclinic = np.array([[3.0, 0.0, 0.0], [0.7, 2.9, 0.0], [0.4, -0.3, 9.0]])
    np.testing.assert_allclose(lengths_angles_to_cell(*cell_to_lengths_angles(triclinic)),
                               triclinic, atol=1e-12)


def test_trajectory_follows_amber_convention(tmp_path):
    path = tmp_path / "traj.nc"
    write_frames(path, [0, 10])
    with netCDF4.Dataset(path) as ds:
        assert ds.data_model == "NETCDF3_64BIT_OFFSET"
        assert (ds.Conventions, ds.ConventionVersion, ds.program) == ("AMBER", "1.0", "slidesim")
        assert ds.dimensions["frame"].isunlimited()
        units = {name: ds.variables[name].units for name in
                 ("time", "coordinates", "velocities", "forces", "cell_lengths", "cell_angles",
                  "temperature", "temperature_target", "potential_energy", "electric_field",
                  "sliding_vector")}
        assert ds.variables["coordinates"].dimensions == ("frame", "atom", "spatial")
        assert ds.variables["coordinates"].dtype == np.float32
        assert b"".join(ds.variables["spatial"][:].tolist()) == b"xyz"
    assert units == {"time": "picosecond", "coordinates": "angstrom",
                     "velocities": "angstrom/picosecond", "forces": "kilocalorie/mole/angstrom",
                     "cell_lengths": "angstrom", "cell_angles": "degree",
                     "temperature": "kelvin", "temperature_target": "kelvin",
                     "potential_energy": "eV", "electric_field": "volt/angstrom",
                     "sliding_vector": "angstrom"}


def test_mdanalysis_reads_trajectory(tmp_path):
    import MDAnalysis
    from MDAnalysis.coordinates.TRJ import NCDFReader
    path = tmp_path / "traj.nc"
    written = write_frames(path, [0, 10, 20])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any convention complaint fails the test
        reader = NCDFReader(str(path), convert_units=False)
    assert reader.n_frames == 3
    for ts, (state, forces) in zip(reader, written):
        np.testing.assert_array_equal(ts.positions, state.positions[0].astype(np.float32))
        np.testing.assert_array_equal(ts.velocities, state.velocities[0].astype(np.float32))
        np.testing.assert_allclose(ts.forces, forces * EV_IN_KCAL_PER_MOL, rtol=1e-6)
        lengths, angles = cell_to_lengths_angles(state.cell)
        np.testing.assert_allclose(ts.dimensions, np.concatenate([lengths, angles]), rtol=1e-6)
        assert ts.dimensions[5] == pytest.approx(120.0)
        assert ts.time == pytest.approx(state.time)
    reader.close()
    universe = MDAnalysis.Universe.empty(written[0][0].n_atoms, trajectory=True)
    universe.load_new(str(path), format="NCDF")
    universe.trajectory[2]
    np.testing.assert_allclose(universe.atoms.positions, written[2][0].positions[0], atol=1e-5)


def test_ase_reads_trajectory(tmp_path):
    path = tmp_path / "traj.nc"
    written = write_frames(path, [0, 10, 20])
    frames = ase.io.read(path, format="netcdftrajectory", index=":")
    assert len(frames) == 3
    for atoms, (state, _) in zip(frames, written):
        assert atoms.get_chemical_symbols() == state.symbols()
        np.testing.assert_allclose(atoms.positions, state.positions[0], atol=1e-5)
        np.testing.assert_allclose(atoms.cell[:], state.cell, atol=1e-10)
        np.testing.assert_array_equal(atoms.arrays["layer"], state.layer)
        assert float(atoms.info["time"]) == pytest.approx(state.time)
        assert int(atoms.info["step"]) == state.step


def test_read_trajectory_round_trip(tmp_path):
    path = tmp_path / "traj.nc"
    written = write_frames(path, [0, 10, 20], replica_info={"seed": 5, "temperature": 300.0})
    data = read_trajectory(path)
    states = [state for state, _ in written]
    np.testing.assert_array_equal(data["step"], [0, 10, 20])
    np.testing.assert_array_equal(data["time"], [s.time for s in states])
    np.testing.assert_array_equal(data["cell"], [s.cell for s in states])
    np.testing.assert_array_equal(data["coordinates"],
                                  [s.positions[0].astype(np.float32) for s in states])
    np.testing.assert_allclose(data["forces"], [f for _, f in written], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(data["temperature"], [300.0, 310.0, 320.0])
    np.testing.assert_array_equal(data["sliding_vector"][:, 0], [0.0, 0.1, 0.2])
    assert data["species_names"] == ("B", "N")
    np.testing.assert_array_equal(data["species"], states[0].species)
    np.testing.assert_array_equal(data["layer"], states[0].layer)
    np.testing.assert_array_equal(data["atomic_numbers"][:2], [5, 7])
    assert data["replica_info"] == {"seed": 5, "temperature": 300.0}


KILLED_WRITER = """
import os, sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_io import bilayer_state, advance
from slidesim.io.trajectory import TrajectoryWriter
state = bilayer_state()
rng = np.random.default_rng(3)
writer = TrajectoryWriter({path!r}, state)
for step in range(5):
    advance(state, step, rng)
    writer.write_frame(state)
np.save({last!r}, state.positions[0])
os._exit(0)  # killed: no close, no interpreter clean-up
"""


def test_killed_writer_leaves_readable_file(tmp_path):
    from MDAnalysis.coordinates.TRJ import NCDFReader
    path, last = str(tmp_path / "traj.nc"), str(tmp_path / "last.npy")
    script = KILLED_WRITER.format(tests=os.path.dirname(__file__), path=path, last=last)
    subprocess.run([sys.executable, "-c", script], check=True)
    data = read_trajectory(path)
    np.testing.assert_array_equal(data["step"], np.arange(5))
    np.testing.assert_array_equal(data["coordinates"][-1], np.load(last).astype(np.float32))
    reader = NCDFReader(path)
    assert reader.n_frames == 5
    reader.close()


def test_truncate_and_append_after_restart(tmp_path):
    path = tmp_path / "traj.nc"
    write_frames(path, [0, 10, 20, 30, 40])
    # a restart from a checkpoint at step 20: frames 30, 40 came after it and are dropped
    state = bilayer_state()
    state.step, state.time = 30, 0.03
    with TrajectoryWriter(path, state, velocities=True, forces=True, append=True,
                          restart_step=20) as writer:
        assert writer.n_frames == 3
        writer.write_frame(state, forces=np.zeros((state.n_atoms, 3)))
    data = read_trajectory(path)
    np.testing.assert_array_equal(data["step"], [0, 10, 20, 30])
    np.testing.assert_array_equal(data["coordinates"][3], state.positions[0].astype(np.float32))
    # no temporary file left behind; the topology written with the file stays beside it
    assert sorted(os.listdir(tmp_path)) == ["traj.lammpsdump", "traj.nc"]


def test_writer_truncate_to_step_method(tmp_path):
    path = tmp_path / "traj.nc"
    state = bilayer_state()
    with TrajectoryWriter(path, state) as writer:
        for step in (0, 5, 10, 15):
            state.step = step
            writer.write_frame(state)
        writer.truncate_to_step(7)
        assert writer.n_frames == 2
        state.step = 8
        writer.write_frame(state)
    np.testing.assert_array_equal(read_trajectory(path)["step"], [0, 5, 8])


def test_append_refuses_other_system(tmp_path):
    path = tmp_path / "traj.nc"
    write_frames(path, [0])
    state = bilayer_state()
    smaller = State(state.positions[:, :4], None, state.cell, state.species[:4], ("B", "N"),
                    state.masses[:4], state.layer[:4])
    with pytest.raises(ValueError, match="atoms"):
        TrajectoryWriter(path, smaller, velocities=True, forces=True, append=True)


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_is_bitwise(tmp_path):
    path = tmp_path / "state.ckpt"
    state = bilayer_state(n_replicas=3, chain_length=4)
    extra = {"deck": "stage heat\n  temperature 10 -> 300\n", "deck_sha256": "ab" * 32,
             "neighbor_rebuilds": 17}
    write_checkpoint(path, state, extra)
    restored, restored_extra = read_checkpoint(path)
    assert restored_extra == extra
    # every field of the state, whatever fields State has
    for field in dataclasses.fields(State):
        original, copy = getattr(state, field.name), getattr(restored, field.name)
        if isinstance(original, np.ndarray):
            assert copy.dtype == original.dtype and copy.shape == original.shape, field.name
            assert copy.tobytes() == original.tobytes(), field.name
        elif isinstance(original, SwitchingRecord):
            assert copy.as_json() == original.as_json()
            for a, b in zip(original.detectors, copy.detectors):
                for (ta, va, ma, fa), (tb, vb, mb, fb) in zip(a.excursion, b.excursion):
                    assert (ta, ma) == (tb, mb) and va.tobytes() == vb.tobytes()
                    assert (fa is None and fb is None) or fa.tobytes() == fb.tobytes()
        elif field.name != "rng_states":
            assert copy == original, field.name
    # the random streams continue exactly where they were
    for original_state, restored_state in zip(state.rng_states, restored.rng_states):
        original, copy = np.random.Generator(np.random.PCG64()), np.random.Generator(
            np.random.PCG64())
        original.bit_generator.state = original_state
        copy.bit_generator.state = restored_state
        np.testing.assert_array_equal(original.standard_normal(100), copy.standard_normal(100))


def test_checkpoint_keeps_previous(tmp_path):
    path = tmp_path / "state.ckpt"
    for step in (10, 20, 30):
        state = bilayer_state()
        state.step = step
        write_checkpoint(path, state)
    assert read_checkpoint(path)[0].step == 30
    assert read_checkpoint(str(path) + ".prev")[0].step == 20
    assert sorted(os.listdir(tmp_path)) == ["state.ckpt", "state.ckpt.prev"]


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
    path = tmp_path / "state.ckpt"
    write_checkpoint(path, bilayer_state())
    state = bilayer_state()
    state.step = 99
    write_checkpoint(path, state)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a write cut short
    with pytest.raises(CheckpointError, match="state.ckpt"):
        read_checkpoint(path)
    restored, _, used = read_checkpoint_or_previous(path)
    assert used.endswith(".prev") and restored.step == 1234
    other = tmp_path / "other.npz"
    np.savez(other, positions=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a slidesim checkpoint"):
        read_checkpoint(other)
    text = tmp_path / "deck.in"
    text.write_text("stage heat\n")
    with pytest.raises(CheckpointError, match="deck.in"):
        read_checkpoint(text)


# ---------------------------------------------------------------- thermo


def thermo_rows(steps, rng):
    return [dict(step=step, time_ps=step * 1e-3, temperature_K=rng.uniform(250, 350),
                 temperature_target_K=300.0, potential_eV=rng.normal(-100, 1),
                 kinetic_eV=rng.uniform(0, 1), conserved_eV=rng.normal(-99, 1e-3),
                 sliding_x_A=rng.normal(), sliding_y_A=rng.normal(),
                 E_ilp=rng.normal(), field_z=rng.normal()) for step in steps]


def test_thermo_round_trip_exact(tmp_path):
    path = tmp_path / "thermo.csv"
    rows = thermo_rows(range(0, 50, 10), np.random.default_rng(1))
    with ThermoWriter(path, extra_columns=("E_ilp", "field_z")) as writer:
        for row in rows:
            writer.write_row(**row)
    data = read_thermo(path)
    assert tuple(data) == STANDARD_COLUMNS + ("E_ilp", "field_z")
    for name in row:
        np.testing.assert_array_equal(data[name], [row[name] for row in rows])
    np.testing.assert_array_equal(data["total_eV"],
                                  [row["potential_eV"] + row["kinetic_eV"] for row in rows])
    with pytest.raises(ValueError, match="extra columns"):
        ThermoWriter(tmp_path / "t2.csv", ("E_ilp",)).write_row(**{**rows[0], "E_ilp": None,
                                                                      "field_z": 1.0})


def test_thermo_restart_truncates(tmp_path):
    path = tmp_path / "thermo.csv"
    rows = thermo_rows(range(0, 70, 10), np.random.default_rng(2))
    with ThermoWriter(path, ("E_ilp", "field_z")) as writer:
        for row in rows[:6]:
            writer.write_row(**row)
    with open(path, "a") as stream:
        stream.write("60,0.06,3")  # a row a crash cut short
    with ThermoWriter(path, ("E_ilp", "field_z"), append=True, restart_step=30) as writer:
        writer.write_row(**rows[6])
    np.testing.assert_array_equal(read_thermo(path)["step"], [0, 10, 20, 30, 60])
    with pytest.raises(ValueError, match="columns"):
        ThermoWriter(path, ("E_tersoff",), append=True, restart_step=30)


# ---------------------------------------------------------------- structures


def test_extxyz_round_trip_with_layer(tmp_path):
    path = tmp_path / "bilayer.xyz"
    state = bilayer_state()
    state.layer = 1 - state.layer  # not what z would say: must come from the file
    forces = np.random.default_rng(4).standard_normal((state.n_atoms, 3))
    write_structure(path, state, forces=forces, energy=-12.5)
    restored = read_structure(path)
    np.testing.assert_array_equal(restored.layer, state.layer)
    np.testing.assert_allclose(restored.positions, state.positions, atol=1e-7)
    np.testing.assert_allclose(restored.velocities, state.velocities, atol=1e-6)
    np.testing.assert_allclose(restored.cell, state.cell, atol=1e-12)
    np.testing.assert_array_equal(restored.masses, state.masses)
    assert restored.species_names == ("B", "N")
    np.testing.assert_array_equal(restored.species, state.species)
    atoms = ase.io.read(path)
    assert atoms.get_potential_energy() == pytest.approx(-12.5)
    np.testing.assert_allclose(atoms.get_forces(), forces, atol=1e-7)


def test_layer_guessed_from_z_and_species_order(tmp_path):
    path = tmp_path / "plain.xyz"
    a = LATTICE_A
    z = [0.02, -0.03, 3.31, 3.36]  # corrugated layers
    atoms = ase.Atoms("NBNB", positions=[[0, 0, z[0]], [a / 2, 0.8, z[1]], [0, 0, z[2]],
                                         [a / 2, 0.8, z[3]]],
                      cell=hexagonal_cell(a), pbc=(True, True, False))
    ase.io.write(path, atoms, format="extxyz")
    state = read_structure(path)
    np.testing.assert_array_equal(state.layer, [0, 0, 1, 1])
    assert state.species_names == ("N", "B")
    np.testing.assert_array_equal(state.species, [0, 1, 0, 1])
    assert state.masses[1] == 10.811  # slidesim's table, not ASE's


def test_layers_from_z():
    np.testing.assert_array_equal(layers_from_z([5.0, 1.0, 1.2, 4.6, 0.9]), [1, 0, 0, 1, 0])
    np.testing.assert_array_equal(layers_from_z([1.0, 1.0]), [0, 0])


def test_structure_needs_in_plane_periodicity(tmp_path):
    path = tmp_path / "molecule.xyz"
    ase.io.write(path, ase.Atoms("BN", positions=[[0, 0, 0], [1.4, 0, 0]]), format="extxyz")
    with pytest.raises(ValueError, match="periodic"):
        read_structure(path)
