"""WS2, MoSe2 and WSe2 bilayers (and MoS2 under the same model): the builder, the catalog's
tmd-ilp with per-material defaults, parity with LAMMPS (``hybrid/overlay sw/mod sw/mod ilp/tmd
16.0`` with tmd.sw.mod and TMD.ILP), the refusal of fields without a fitted registry dipole."""

import numpy as np
import pytest

from slidesim.catalog import model_entry
from slidesim.deck import parse_deck
from slidesim.models import build_model
from slidesim.simulation import Simulation
from slidesim.structures import bilayer, material_of_model, monolayer
from slidesim.tmd import sublayers

MATERIALS = {"MoS2": ("Mo", "S"), "WS2": ("W", "S"), "MoSe2": ("Mo", "Se"),
             "WSe2": ("W", "Se")}


def lammps_file(name):
    from slidesim.tmd import lammps_potential

    try:
        return lammps_potential(name)
    except FileNotFoundError as error:
        pytest.skip(str(error))


def evaluate(model, state, positions=None, cell=None):
    x = state.positions[0] if positions is None else positions
    cell = state.cell if cell is None else cell
    return model.compute(x, cell, state.species, state.layer, model.neighbor_lists(0.0))


@pytest.mark.parametrize("material", ["WS2", "MoSe2", "WSe2"])
def test_the_builder_takes_the_models_own_geometry(material):
    state = bilayer(material, (3, 3), "MX")
    assert state.species_names == MATERIALS[material] and state.n_atoms == 54
    lattice, distance = model_entry("tmd-ilp").geometry(material)
    assert monolayer(material).lattice == lattice and monolayer(material).interlayer == distance
    assert np.linalg.norm(state.cell[0]) == pytest.approx(3 * lattice)
    metals = state.species == 0
    z = state.positions[0][:, 2]
    assert (z[metals & (state.layer == 1)].mean() - z[metals & (state.layer == 0)].mean()
            == pytest.approx(distance))
    sheets = sublayers(state.positions[0], state.cell, state.species_names, state.species,
                       state.layer)
    assert (sheets == np.tile([1, 0, 2], 18)).all()
    # MX: the top layer's metal sits over the bottom layer's chalcogens
    top = state.positions[0][(state.layer == 1) & metals][0]
    bottom = state.positions[0][(state.layer == 0) & ~metals][0]
    fraction = np.linalg.solve(state.cell[:2, :2].T / 3, top[:2] - bottom[:2]) % 1.0
    assert np.allclose(np.minimum(fraction, 1.0 - fraction), 0.0, atol=1e-12)


@pytest.mark.parametrize("material", list(MATERIALS))
def test_the_defaults_are_the_stress_free_optimum(material):
    """The stored a, d and chalcogen height are tmd-ilp's optimum of the flat 3R bilayer to
    their rounding: every change of 5e-4 A (10x the rounding) raises the energy."""
    lammps_file("TMD.ILP")
    mono = monolayer(material)
    a, d, h = mono.lattice, mono.interlayer, mono.heights[2]
    state = bilayer(material, (3, 3), "XM")
    model = build_model("tmd-ilp", state.species_names, state)

    def energy(a, d, h):
        probe = bilayer(material, (3, 3), "XM", lattice=a, interlayer=d)
        x = probe.positions[0].copy()
        chalcogen = probe.species == 1
        metal_z = np.repeat(x[~chalcogen, 2], 3)  # each cell: metal, lower, upper chalcogen
        x[chalcogen, 2] = metal_z[chalcogen] + np.sign(x[chalcogen, 2] - metal_z[chalcogen]) * h
        return evaluate(model, probe, x, probe.cell).energy

    e0 = energy(a, d, h)
    step = 5e-4
    for da, dd, dh in ((step, 0, 0), (-step, 0, 0), (0, step, 0), (0, -step, 0), (0, 0, step),
                       (0, 0, -step)):
        assert energy(a + da, d + dd, h + dh) > e0


def test_mos2_under_tmd_ilp_is_mos2_ilp():
    """TMD.ILP repeats MoS2.ILP's Mo-S rows to six digits: the same optimum and energies that
    agree to 1e-6 eV/atom, so MoS2's builder defaults (mos2-ilp's) serve both models."""
    lammps_file("TMD.ILP")
    assert model_entry("tmd-ilp").geometry("MoS2") == model_entry("mos2-ilp").geometry("MoS2")
    state = bilayer("MoS2", (3, 3), "SP")
    results = [evaluate(build_model(name, state.species_names, state), state)
               for name in ("tmd-ilp", "mos2-ilp")]
    assert abs(results[0].energy - results[1].energy) / state.n_atoms < 1e-6
    assert results[0].energy != results[1].energy  # different files really were read


def test_mos2_ilp_is_unchanged_and_tmd_ilp_asks_for_the_material():
    entry = model_entry("mos2-ilp")
    assert (entry.lattice, entry.distance) == (3.1152, 6.292)
    assert entry.geometry("MoS2") == (3.1152, 6.292) and monolayer("MoS2").lattice == 3.1152
    assert material_of_model("mos2-ilp") == "MoS2"
    with pytest.raises(ValueError, match="give the material"):
        material_of_model("tmd-ilp")
    with pytest.raises(ValueError, match="covers Mo, W, S, Se only"):
        model_entry("tmd-ilp").check_species(("B", "N"))


@pytest.mark.lammps
@pytest.mark.parametrize("material", list(MATERIALS))
@pytest.mark.parametrize("stacking, strain", [("XM", 0.0), (0.41, 0.02)])
def test_tmd_ilp_matches_lammps(material, stacking, strain):
    """Energy, its sw/mod and ilp/tmd parts, forces and virial of the builder's bilayer
    (displaced by 0.04 A, optionally strained) against LAMMPS to round-off."""
    pytest.importorskip("lammps")
    from slidesim.lammps_tmd import single_point

    state = bilayer(material, (4, 4), stacking)
    x = state.positions[0] + np.random.default_rng(11).normal(0.0, 0.04, state.positions[0].shape)
    x[:, 0] *= 1.0 + strain
    cell = state.cell.copy()
    cell[:, 0] *= 1.0 + strain
    model = build_model("tmd-ilp", state.species_names, state)
    result = evaluate(model, state, x, cell)
    sheets = sublayers(x, cell, state.species_names, state.species, state.layer)
    reference = single_point(x, cell, state.species_names, state.species, state.layer, sheets,
                             lammps_file("tmd.sw.mod"), lammps_file("TMD.ILP"))
    n = state.n_atoms
    assert abs(result.energy - reference["energy"]) / n < 1e-10
    assert abs(result.energies["sw"] - reference["e_sw"]) / n < 1e-10
    assert abs(result.energies["ilp"] - reference["e_ilp"]) / n < 1e-10
    np.testing.assert_allclose(result.forces, reference["forces"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.virial, reference["virial"], rtol=0, atol=1e-8)
    assert np.abs(reference["forces"]).max() > 0.1  # the displacements did something


DECK = """system bilayer material {material} cells 3 3 stacking XM
model tmd-ilp
timestep 1 fs
integrator nve
seed 4
velocities 150 K
output {out}
thermo every 5
trajectory every 0
checkpoint every 0
stage run temperature 100 K steps 60
"""


@pytest.mark.parametrize("material", ["WS2", "WSe2"])
def test_a_deck_runs_and_conserves_energy(tmp_path, material):
    lammps_file("TMD.ILP")
    from slidesim.io.thermo import read_thermo

    deck = parse_deck(DECK.format(material=material, out=tmp_path / "out"),
                      str(tmp_path / "tmd.in"))
    simulation = Simulation(deck, progress=False)
    assert simulation.state.species_names == MATERIALS[material]
    assert simulation.run()["reason"] == "finished"
    conserved = np.asarray(read_thermo(tmp_path / "out" / "thermo.csv")["conserved_eV"])
    assert np.ptp(conserved) / simulation.state.n_atoms < 2e-5


@pytest.mark.parametrize("material", ["WS2", "MoSe2", "WSe2"])
def test_fields_are_refused_without_a_fitted_dipole(tmp_path, material):
    lammps_file("TMD.ILP")
    text = DECK.format(material=material, out=tmp_path / "out") + "born_charges registry\n"
    deck = parse_deck(text, str(tmp_path / "tmd.in"))
    with pytest.raises(ValueError, match="no Born charges are fitted for this material"):
        Simulation(deck, progress=False)


@pytest.mark.lammps
def test_a_heterobilayer_from_the_same_code_matches_lammps():
    """WS2 below, MoSe2 above (a strained commensurate cell, a = 3.2 A: no builder makes it,
    a structure file would): tmd-ilp takes any mix of Mo, W, S, Se, as LAMMPS does."""
    pytest.importorskip("lammps")
    from slidesim.lammps_tmd import single_point

    state = bilayer("WS2", (4, 4), 0.3, lattice=3.2, interlayer=6.45)
    names = ("W", "S", "Mo", "Se")
    species = state.species + 2 * (state.layer == 1)  # the top layer's W -> Mo, S -> Se
    x = state.positions[0] + np.random.default_rng(5).normal(0.0, 0.03, state.positions[0].shape)
    model = build_model("tmd-ilp", names, state)
    result = model.compute(x, state.cell, species, state.layer, model.neighbor_lists(0.0))
    sheets = sublayers(x, state.cell, names, species, state.layer)
    reference = single_point(x, state.cell, names, species, state.layer, sheets,
                             lammps_file("tmd.sw.mod"), lammps_file("TMD.ILP"))
    n = state.n_atoms
    assert abs(result.energy - reference["energy"]) / n < 1e-10
    assert abs(result.energies["ilp"] - reference["e_ilp"]) / n < 1e-10
    np.testing.assert_allclose(result.forces, reference["forces"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.virial, reference["virial"], rtol=0, atol=1e-8)
