"""LAMMPS data files as slidesim structures (slidesim.io.lammps_data): files LAMMPS itself
writes in atom styles atomic, charge and full; type maps, masses, layers, velocities; errors."""

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.cli import main
from slidesim.deck import DeckError, parse_deck
from slidesim.io.lammps_data import LammpsDataError, read_lammps_data
from slidesim.io.structures import read_structure
from slidesim.lammps_export import write_data_file
from slidesim.simulation import build_state
from slidesim.structures import bilayer

from conftest import load_lammps


def built(stacking="BA"):
    return bilayer("BN", (3, 3), stacking, 2.5045, 3.235, None, 40.0)


def write_own(path, state, types=None, masses=None, molecules=None, velocities=None):
    """A data file written by slidesim's exporter (full style, exact floats)."""
    types = 1 + state.species + 2 * state.layer if types is None else types
    masses = state.masses if masses is None else masses
    molecules = state.layer + 1 if molecules is None else molecules
    write_data_file(path, state.positions[0], state.cell, types, ["B", "N", "B", "N"], masses,
                    np.zeros(state.n_atoms), molecules, velocities)


@pytest.mark.lammps
@pytest.mark.parametrize("style", ["atomic", "charge", "full"])
def test_files_lammps_writes_are_read_in_every_atom_style(tmp_path, style):
    """LAMMPS's own write_data (wrapped atoms with image flags, box origin not at 0): slidesim
    finds the elements from the masses, unwraps, and keeps the velocities in A/ps."""
    lammps = load_lammps()
    state = built()
    write_own(tmp_path / "own.data", state)
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    try:
        # read into the asked style: a fresh box of that style, atoms from the file
        lmp.commands_string(
            f"units metal\natom_style {style}\nboundary p p f\n"
            f"region box prism -2 {state.cell[0, 0] - 2} -1 {state.cell[1, 1] - 1} -5 35 "
            f"{state.cell[1, 0]} 0 0\ncreate_box 4 box\n"
            "mass 1 10.811\nmass 2 14.0067\nmass 3 10.811\nmass 4 14.0067\n")
        for k, (x, y, z) in enumerate(state.positions[0]):
            t = 1 + state.species[k] + 2 * state.layer[k]
            lmp.command(f"create_atoms {t} single {float(x)!r} {float(y)!r} {float(z) - 10.0!r} "
                        "remap yes")
        if style == "full":
            lmp.command("set type 3*4 mol 2")
            lmp.command("set type 1*2 mol 1")
        lmp.commands_string("velocity all create 500 3 dist gaussian\n"
                            "displace_atoms all move 1.3 0.7 0.0\n"
                            f"write_data {tmp_path / 'lammps.data'}\n")
        n_atoms = state.n_atoms
        ids = np.array(lmp.numpy.extract_atom("id")[:n_atoms])
        v = np.array(lmp.numpy.extract_atom("v")[:n_atoms])[np.argsort(ids)]
    finally:
        lmp.close()
    assert f"Atoms # {style}" in (tmp_path / "lammps.data").read_text()
    read = read_lammps_data(tmp_path / "lammps.data", velocities=True)
    assert read.species_names == ("B", "N")
    np.testing.assert_array_equal(read.species, state.species)
    np.testing.assert_array_equal(read.layer, state.layer)
    np.testing.assert_array_equal(read.masses, state.masses)
    np.testing.assert_allclose(read.cell, state.cell, atol=1e-12)
    # positions: the structure moved by (1.3, 0.7, -10) and by -(box origin) = (2, 1, 5), up
    # to whole lattice vectors (LAMMPS wraps the atoms in)
    moved = read.positions[0] - state.positions[0] - [1.3 + 2.0, 0.7 + 1.0, -10.0 + 5.0]
    fractional = moved[:, :2] @ np.linalg.inv(state.cell[:2, :2])
    np.testing.assert_allclose(fractional, np.round(fractional), atol=1e-9)
    np.testing.assert_allclose(moved[:, 2], 0.0, atol=1e-9)
    np.testing.assert_array_equal(read.velocities[0], v)  # A/ps, every bit


def test_type_maps_masses_and_layers(tmp_path):
    state = built()
    path = tmp_path / "s.data"
    write_own(path, state)
    by_mass = read_lammps_data(path)
    assert by_mass.species_names == ("B", "N")
    np.testing.assert_array_equal(by_mass.layer, state.layer)
    assert not by_mass.velocities.any()
    mapped = read_lammps_data(path, types={1: "N", 2: "B", 3: "N", 4: "B"})  # the map wins
    assert mapped.species_names == ("N", "B")
    np.testing.assert_array_equal(mapped.masses, state.masses)  # masses stay the file's
    # one molecule id: layers from z
    write_own(path, state, molecules=np.ones(state.n_atoms, dtype=int))
    np.testing.assert_array_equal(read_lammps_data(path).layer, state.layer)
    with pytest.raises(LammpsDataError, match="'layers molecule' needs two molecule ids"):
        read_lammps_data(path, layers="molecule")
    # molecule ids swapped against z: layer 0 is the lower molecule
    write_own(path, state, molecules=2 - state.layer)
    np.testing.assert_array_equal(read_lammps_data(path).layer, state.layer)


def test_errors_name_the_file_and_the_fix(tmp_path):
    state = built()
    path = tmp_path / "odd.data"
    write_own(path, state, masses=np.where(state.species == 0, 7.5, 14.0067))
    with pytest.raises(LammpsDataError, match=r"odd.data: atom type 1 has mass 7.5 amu.*'types 1=B'"):
        read_lammps_data(path)
    with pytest.raises(LammpsDataError, match=r"atom type 4 is not in the type map.*'4=ELEMENT'"):
        read_lammps_data(path, types={1: "B", 2: "N", 3: "B"})
    with pytest.raises(LammpsDataError, match="no Velocities section"):
        read_lammps_data(path, types={1: "B", 2: "N", 3: "B", 4: "N"}, velocities=True)
    text = path.read_text()
    no_masses = text[:text.index("Masses")] + text[text.index("Atoms"):]
    path.write_text(no_masses)
    with pytest.raises(LammpsDataError, match="no Masses section.*types 1=B 2=N"):
        read_lammps_data(path)
    path.write_text("not a data file\n\n3 atoms\n")
    with pytest.raises(LammpsDataError, match="no Atoms section"):
        read_lammps_data(path)


def test_decks_read_data_files_with_types_layers_and_velocities(tmp_path):
    state = built("AB")
    velocities = np.random.default_rng(2).normal(0.0, 3.0, state.positions[0].shape)
    write_own(tmp_path / "start.lmp", state, velocities=velocities)
    text = ("system file start.lmp types 1=B 2=N 3=B 4=N layers molecule velocities from-file\n"
            "model bn-ilp\ntimestep 1 fs\nstage a temperature 300 K steps 2\n")
    deck = parse_deck(text, str(tmp_path / "run.in"))
    assert deck.system["path"] == "start.lmp" and deck.system["types"][3] == "B"
    start = build_state(deck)
    np.testing.assert_array_equal(start.velocities[0], velocities)
    from slidesim.simulation import build_integrator, fresh_state

    fresh = fresh_state(deck, start, build_integrator(deck))
    np.testing.assert_array_equal(fresh.velocities[0], velocities)  # kept, not redrawn
    with pytest.raises(DeckError, match="contradict"):
        parse_deck(text + "velocities 300 K\n", "d.in")
    with pytest.raises(DeckError, match="not an element"):
        parse_deck(text.replace("4=N", "4=Q"), "d.in")


def test_run_check_reports_a_bad_data_file_in_one_line(tmp_path):
    state = built()
    write_own(tmp_path / "start.data", state, masses=np.full(state.n_atoms, 3.3))
    deck = tmp_path / "run.in"
    deck.write_text("system file start.data\nmodel bn-ilp\ntimestep 1 fs\n"
                    "stage a temperature 300 K steps 2\n")
    result = CliRunner().invoke(main, ["run", "--check", str(deck)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "start.data: atom type 1 has mass 3.3 amu" in lines[0]


def test_unknown_structure_formats_are_a_clear_error(tmp_path):
    path = tmp_path / "start.weird"
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="unknown structure format.*lammps-data"):
        read_structure(path)
