"""slidesim analyze on trajectories of other programs (slidesim.analysis.foreign): LAMMPS text
dumps, LAMMPS's extended XYZ dumps, netCDF written by MDAnalysis; type maps, topologies, and
files without times."""

import os

import netCDF4
import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.analysis.foreign import parse_type_map, read_frame_series
from slidesim.analysis.reader import TrajectoryError
from slidesim.analysis.reader import read_frame_series as read_any
from slidesim.cli import main
from slidesim.deck import parse_deck
from slidesim.io.lammps_dump import iter_lammps_dump
from slidesim.io.structures import write_structure
from slidesim.lammps_export import SCHEDULE_MARKER, export_lammps
from slidesim.structures import bilayer

from conftest import load_lammps

#: LAMMPS writes these besides the exported dump (dump.lammpstrj: id type mol element x y z)
EXTRA_DUMPS = """dump plain all custom 5 plain.lammpstrj id type xu yu zu
dump_modify plain format float %.15g
dump xyz all extxyz 5 dump.extxyz
dump_modify xyz element B N B N
"""


@pytest.fixture(scope="module")
def lammps_run(tmp_path_factory):
    """A 40-step LAMMPS NVT run at 600 K of an exported h-BN bilayer: the folder."""
    lammps = load_lammps()
    folder = tmp_path_factory.mktemp("lammps_run")
    state = bilayer("BN", (4, 4), "BA", 2.5045, 3.235, None, 40.0)
    write_structure(folder / "start.extxyz", state)
    deck_path = str(folder / "run.in")
    deck = parse_deck("system file start.extxyz\nmodel bn-ilp\ntimestep 1 fs\nseed 4\n"
                      "trajectory every 5\nthermo every 20\n"
                      "stage hot temperature 600 K steps 40\n", deck_path)
    export_lammps(deck, str(folder / "lammps"))
    script = folder / "lammps" / "in.lammps"
    script.write_text(script.read_text().replace(SCHEDULE_MARKER, EXTRA_DUMPS + SCHEDULE_MARKER))
    here = os.getcwd()
    os.chdir(folder / "lammps")
    try:
        lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
        try:
            lmp.file("in.lammps")
        finally:
            lmp.close()
    finally:
        os.chdir(here)
    return folder / "lammps"


def layer_centres_from_unwrapped(path):
    """(F, 2, 3) mass centres of the two layers from a dump's unwrapped xu yu zu columns
    (types 1, 2 bottom; 3, 4 top): the independent reference of the unwrapping."""
    masses = {"1": 10.811, "2": 14.0067, "3": 10.811, "4": 14.0067}
    centres = []
    for frame in iter_lammps_dump(path):
        types = frame["columns"]["type"]
        m = np.array([masses[t] for t in types])
        top = np.isin(types, ["3", "4"])
        x = frame["positions"]
        centres.append([np.average(x[~top], axis=0, weights=m[~top]),
                        np.average(x[top], axis=0, weights=m[top])])
    return np.array(centres)


@pytest.mark.lammps
def test_lammps_dump_with_times_elements_and_molecules(lammps_run):
    series = read_frame_series(lammps_run / "dump.lammpstrj")
    np.testing.assert_allclose(series.time, np.arange(9) * 0.005, atol=1e-12)
    assert series.layer_source == "molecule id" and series.n_atoms == 64
    assert series.lattice.supercell == (4, 4)
    assert series.lattice.constant == pytest.approx(2.5045, abs=1e-9)
    # t moves as the layers' unwrapped mass centres do
    centres = layer_centres_from_unwrapped(lammps_run / "plain.lammpstrj")
    difference = centres[:, 1] - centres[:, 0]
    np.testing.assert_allclose(series.sliding - series.sliding[0],
                               difference[:, :2] - difference[0, :2], atol=1e-10)
    np.testing.assert_allclose(series.interlayer, difference[:, 2], atol=1e-10)
    # BA start: t = (b - a) / 3
    assert np.allclose(series.sliding[0], [-3 * 2.5045 / 6, 2.5045 * np.sqrt(3) / 6], atol=0.05)


@pytest.mark.lammps
def test_dump_without_times_needs_dt_and_types(lammps_run):
    path = lammps_run / "plain.lammpstrj"
    with pytest.raises(TrajectoryError, match="numbered types.*--types 1=B,2=N"):
        read_any(path)
    with pytest.raises(TrajectoryError, match="step numbers but no times; give --dt"):
        read_any(path, types="1=B,2=N,3=B,4=N")
    series = read_any(path, types="1=B,2=N,3=B,4=N", dt=0.001)
    reference = read_any(lammps_run / "dump.lammpstrj")
    np.testing.assert_allclose(series.time, reference.time, atol=1e-12)
    assert series.layer_source == "z gap"
    np.testing.assert_allclose(series.sliding, reference.sliding, atol=1e-10)
    # a topology names the types instead: the exported data file (masses, molecule ids)
    with_topology = read_any(path, topology=lammps_run / "system.data", dt=0.001)
    np.testing.assert_allclose(with_topology.sliding, reference.sliding, atol=1e-10)
    assert with_topology.layer_source == "topology"


@pytest.mark.lammps
def test_lammps_extxyz_dump(lammps_run):
    series = read_any(lammps_run / "dump.extxyz")
    reference = read_any(lammps_run / "dump.lammpstrj")
    np.testing.assert_allclose(series.time, reference.time, atol=1e-6)
    np.testing.assert_allclose(series.sliding, reference.sliding, atol=1e-4)  # 6 digits printed


@pytest.mark.lammps
def test_netcdf_written_by_mdanalysis_with_a_topology(lammps_run, tmp_path):
    MDAnalysis = pytest.importorskip("MDAnalysis")

    frames = list(iter_lammps_dump(str(lammps_run / "dump.lammpstrj")))
    universe = MDAnalysis.Universe.empty(64, trajectory=True)
    path = str(tmp_path / "mda.nc")
    with MDAnalysis.Writer(path, 64, format="NCDF") as writer:
        for frame in frames:
            cell = frame["cell"]
            lengths = np.linalg.norm(cell, axis=1)
            angles = [np.degrees(np.arccos(cell[1] @ cell[2] / lengths[1] / lengths[2])),
                      np.degrees(np.arccos(cell[0] @ cell[2] / lengths[0] / lengths[2])),
                      np.degrees(np.arccos(cell[0] @ cell[1] / lengths[0] / lengths[1]))]
            universe.trajectory.ts.positions = frame["positions"]
            universe.trajectory.ts.dimensions = np.concatenate([lengths, angles])
            universe.trajectory.ts.time = frame["time"]
            writer.write(universe)
    with pytest.raises(TrajectoryError, match="no per-atom types.*--topology"):
        read_any(path)
    series = read_any(path, topology=lammps_run / "system.data")
    reference = read_any(lammps_run / "dump.lammpstrj")
    np.testing.assert_allclose(series.time, reference.time, atol=1e-6)
    np.testing.assert_allclose(series.sliding, reference.sliding, atol=2e-4)  # float32 file
    result = CliRunner().invoke(main, ["analyze", path, "--topology",
                                       str(lammps_run / "system.data"), "--no-plots", "--out",
                                       str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"n_frames": 9' in result.output


def amber_file(path, with_time):
    """A minimal AMBER netCDF trajectory of a BA bilayer (3 frames), with or without time."""
    state = bilayer("BN", (3, 3), "BA", 2.5045, 3.235, None, 40.0)
    n = state.n_atoms
    with netCDF4.Dataset(path, "w") as f:
        f.Conventions, f.ConventionVersion = "AMBER", "1.0"
        f.createDimension("frame", None)
        f.createDimension("atom", n)
        f.createDimension("spatial", 3)
        f.createDimension("cell_spatial", 3)
        f.createDimension("cell_angular", 3)
        coordinates = f.createVariable("coordinates", "f4", ("frame", "atom", "spatial"))
        lengths = f.createVariable("cell_lengths", "f8", ("frame", "cell_spatial"))
        angles = f.createVariable("cell_angles", "f8", ("frame", "cell_angular"))
        types = f.createVariable("atom_types", "i4", ("atom",))
        types[:] = np.where(state.species == 0, 5, 7)
        if with_time:
            time = f.createVariable("time", "f4", ("frame",))
        for k in range(3):
            coordinates[k] = state.positions[0] + [0.01 * k, 0, 0] * (state.layer[:, None] == 1)
            lengths[k] = np.linalg.norm(state.cell, axis=1)
            angles[k] = [90.0, 90.0, 120.0]
            if with_time:
                time[k] = 0.5 * k


def test_netcdf_without_time_is_refused_unless_dt_is_given(tmp_path):
    path = str(tmp_path / "no_time.nc")
    amber_file(path, with_time=False)
    with pytest.raises(TrajectoryError, match="no 'time' variable; give --dt"):
        read_any(path)
    np.testing.assert_allclose(read_any(path, dt=0.25).time, [0.0, 0.25, 0.5])
    result = CliRunner().invoke(main, ["analyze", path, "--no-plots", "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 2 and "--dt" in result.output
    assert "Traceback" not in result.output
    timed = str(tmp_path / "timed.nc")
    amber_file(timed, with_time=True)
    np.testing.assert_allclose(read_any(timed).time, [0.0, 0.5, 1.0])


def test_type_maps_and_malformed_dumps_are_clear_errors(tmp_path):
    assert parse_type_map("1=B,2=N") == {"1": "B", "2": "N"}
    with pytest.raises(TrajectoryError, match="'2=Nx' is not TYPE=ELEMENT"):
        parse_type_map("1=B,2=Nx")
    path = tmp_path / "broken.lammpstrj"
    path.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp ff\n"
                    "0 3\n0 3\n0 30\nITEM: ATOMS id type x y z\n1 1 0 0 10\n")
    with pytest.raises(TrajectoryError, match=r"broken.lammpstrj:\d+: .*ends inside a frame"):
        read_any(path, types="1=B", dt=0.001)
    result = CliRunner().invoke(main, ["analyze", str(path), "--types", "1=B", "--dt", "0.001",
                                       "--no-plots", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "slidesim: error:" in result.output
    assert "Traceback" not in result.output


@pytest.mark.lammps
def test_dcd_needs_a_topology_and_dt(lammps_run, tmp_path):
    """DCD (any writer's time unit): frames x --dt, atoms from --topology."""
    MDAnalysis = pytest.importorskip("MDAnalysis")
    frames = list(iter_lammps_dump(str(lammps_run / "dump.lammpstrj")))
    universe = MDAnalysis.Universe.empty(64, trajectory=True)
    path = str(tmp_path / "run.dcd")
    with MDAnalysis.Writer(path, 64) as writer:
        for frame in frames:
            universe.trajectory.ts.positions = frame["positions"]
            universe.trajectory.ts.dimensions = [*np.linalg.norm(frame["cell"], axis=1),
                                                 90.0, 90.0, 120.0]
            writer.write(universe)
    with pytest.raises(TrajectoryError, match="stores no times.*--dt"):
        read_any(path, topology=lammps_run / "system.data")
    series = read_any(path, topology=lammps_run / "system.data", dt=0.005)
    reference = read_any(lammps_run / "dump.lammpstrj")
    np.testing.assert_allclose(series.time, reference.time, atol=1e-12)
    np.testing.assert_allclose(series.sliding, reference.sliding, atol=2e-4)  # float32 file
