"""MoS2 bilayers end to end: the builder, the catalog's mos2-ilp, LAMMPS parity, a run."""

import os

import numpy as np
import pytest

from slidesim.catalog import model_entry
from slidesim.deck import parse_deck
from slidesim.io.thermo import read_thermo
from slidesim.models import build_model
from slidesim.simulation import Simulation
from slidesim.structures import bilayer
from slidesim.tmd import sublayers


def lammps_file(name):
    from slidesim.tmd import lammps_potential

    try:
        return lammps_potential(name)
    except FileNotFoundError as error:
        pytest.skip(str(error))


def test_the_builder_makes_3r_stackings_with_sheets():
    state = bilayer("MoS2", (3, 3), "XM")
    assert state.species_names == ("Mo", "S") and state.n_atoms == 54
    assert (np.bincount(state.species) == [18, 36]).all()
    # default geometry: the model's own lattice and Mo-Mo distance
    entry = model_entry("mos2-ilp")
    assert np.linalg.norm(state.cell[0]) == pytest.approx(3 * entry.lattice)
    mo = state.positions[0][state.species == 0]
    assert np.ptp(mo[state.layer[state.species == 0] == 1][:, 2]
                  - mo[state.layer[state.species == 0] == 0][:, 2]) < 1e-12
    assert (mo[9:, 2] - mo[:9, 2]).mean() == pytest.approx(entry.distance)
    # sheets from the structure: Mo, lower S, upper S in every cell, as built
    sheets = sublayers(state.positions[0], state.cell, state.species_names, state.species,
                       state.layer)
    assert (sheets == np.tile([1, 0, 2], 18)).all()
    # XM: the top layer's (lower) S sits over the bottom layer's Mo; MX: top Mo over bottom S
    for stacking, over, under in (("XM", 1, 0), ("MX", 0, 1)):
        state = bilayer("MoS2", (1, 1), stacking)
        x = state.positions[0]
        top = x[(state.layer == 1) & (state.species == over)][0]
        bottom = x[(state.layer == 0) & (state.species == under)][0]
        assert np.allclose(top[:2] - bottom[:2], 0.0, atol=1e-12) or np.allclose(
            np.linalg.solve(state.cell[:2, :2].T, top[:2] - bottom[:2]) % 1.0, 0.0, atol=1e-12)


@pytest.mark.lammps
@pytest.mark.parametrize("stacking", ["XM", "MX", "SP", 0.41])
def test_mos2_ilp_matches_lammps_on_built_bilayers(stacking):
    """The catalog's model on the builder's structure (displaced): LAMMPS's energy, forces and
    virial to round-off."""
    pytest.importorskip("lammps")
    from slidesim.lammps_tmd import single_point

    state = bilayer("MoS2", (4, 4), stacking, lattice=3.17, interlayer=6.25)
    state.positions[0] += np.random.default_rng(7).normal(0.0, 0.04, state.positions[0].shape)
    model = build_model("mos2-ilp", state.species_names, state)
    x = state.positions[0]
    result = model.compute(x, state.cell, state.species, state.layer, model.neighbor_lists())
    sheets = sublayers(x, state.cell, state.species_names, state.species, state.layer)
    reference = single_point(x, state.cell, state.species_names, state.species, state.layer,
                             sheets, lammps_file("tmd.sw.mod"), lammps_file("MoS2.ILP"))
    n = state.n_atoms
    assert abs(result.energy - reference["energy"]) / n < 1e-10
    assert abs(result.energies["sw"] - reference["e_sw"]) / n < 1e-10
    assert abs(result.energies["ilp"] - reference["e_ilp"]) / n < 1e-10
    np.testing.assert_allclose(result.forces, reference["forces"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.virial, reference["virial"], rtol=0, atol=1e-8)


def test_a_mos2_deck_runs_and_conserves_energy(tmp_path):
    lammps_file("MoS2.ILP")
    text = """system bilayer material MoS2 cells 3 3 stacking XM
model mos2-ilp
timestep 1 fs
integrator nve respa 2
seed 3
velocities 200 K
output {out}
thermo every 5
trajectory every 20
stage run temperature 100 K steps 100
"""
    deck = parse_deck(text.format(out=tmp_path / "out"), str(tmp_path / "mos2.in"))
    simulation = Simulation(deck, progress=False)
    assert simulation.model.energy_names == ["sw", "ilp"]
    assert simulation.run()["reason"] == "finished"
    thermo = read_thermo(tmp_path / "out" / "thermo.csv")
    conserved = np.asarray(thermo["conserved_eV"])
    assert np.ptp(conserved) / simulation.state.n_atoms < 2e-5
    assert 50 < np.mean(thermo["temperature_K"]) < 150
