"""The bn-ilp model (Tersoff + ILP + shielded Coulomb) as a whole: parity with LAMMPS, the
stock sliding profile, the ASE calculator, and energy conservation in MD."""

import os

import numpy as np
import pytest
from ase.io import read

from slidesim.lammps_bridge import bn_ilp_pair_commands, single_point
from slidesim.models import build_model
from slidesim.profile import sliding_profile
from slidesim.structures import bilayer

from conftest import load_lammps

TERMS = {"tersoff": "e_tersoff", "ilp": "e_ilp", "coul_shield": "e_coul_shield"}


def evaluate(atoms, skin=1.0):
    symbols = atoms.get_chemical_symbols()
    names = ("B", "N")
    species = np.array([names.index(s) for s in symbols])
    layer = np.asarray(atoms.arrays["layer"], np.int64)
    model = build_model("bn-ilp", names)
    return model.compute(atoms.positions.copy(), atoms.cell.array.copy(), species, layer,
                         model.neighbor_lists(skin))


@pytest.mark.reference
def test_every_reference_frame_matches_lammps(reference_dir):
    frames = read(os.path.join(reference_dir, "lammps_bn_bilayer.extxyz"), index=":")
    assert len(frames) >= 5
    for atoms in frames:
        n = len(atoms)
        result = evaluate(atoms)
        name = atoms.info["name"]
        # ASE puts the file's energy and forces in a single-point calculator
        assert abs(result.energy - atoms.get_potential_energy()) / n < 1e-6, name
        for term, key in TERMS.items():
            assert abs(result.energies[term] - atoms.info[key]) / n < 1e-6, (name, term)
        # the file holds 12-digit forces; the model agrees far below the 1e-5 eV/A requirement
        assert np.abs(result.forces - atoms.get_forces()).max() < 1e-5, name
        # the file stores -W (W = sum r F, slidesim's and LAMMPS's virial)
        assert np.abs(result.virial + np.asarray(atoms.info["virial_voigt"])).max() < 1e-4, name


def _lammps_bn_ilp(positions, species, layer, cell):
    load_lammps()
    return single_point(positions, cell, species, layer, bn_ilp_pair_commands())


@pytest.mark.lammps
@pytest.mark.parametrize("cells, stacking, sigma, strain", [
    ((3, 3), "BA", 0.04, 0.0),       # cell width 6.5 A, far below twice the 16 A cutoff
    ((4, 5), 0.41, 0.04, 0.03),      # strained, generic sliding vector
    ((5, 5), "SP", 0.10, 0.0),       # hot
    ((6, 6), "AA", 0.02, -0.02),     # compressed
], ids=["3x3", "strained", "hot", "compressed"])
def test_random_configurations_match_lammps(cells, stacking, sigma, strain):
    state = bilayer("BN", cells, stacking)
    rng = np.random.default_rng(sum(cells))
    cell = state.cell.copy()
    cell[0] *= 1.0 + strain
    positions = state.positions[0] @ np.linalg.inv(state.cell) @ cell
    positions += rng.normal(0.0, sigma, positions.shape)
    model = build_model("bn-ilp", state.species_names)
    result = model.compute(positions, cell, state.species, state.layer, model.neighbor_lists())
    energy, forces, virial = _lammps_bn_ilp(positions, state.species, state.layer, cell)
    assert abs(result.energy - energy) / state.n_atoms < 1e-6
    assert np.abs(result.forces - forces).max() < 1e-5
    assert np.abs(result.virial - virial).max() < 1e-4


def test_stock_sliding_profile():
    """AB = BA at d = 3.235 A; SP +5.48 meV/cell at 3.278 A; AA +35.0 meV/cell at 3.571 A
    (rigid flat layers, a = 2.5045 A; reference/README.md)."""
    table = {p.name: p for p in sliding_profile("BN", "bn-ilp", 2.5045)}
    assert abs(table["AB"].relative_meV - table["BA"].relative_meV) < 1e-6
    assert table["BA"].distance == pytest.approx(3.235, abs=1e-3)
    assert table["SP"].relative_meV == pytest.approx(5.48, abs=0.01)
    assert table["SP"].distance == pytest.approx(3.278, abs=1e-3)
    assert table["AA"].relative_meV == pytest.approx(35.0, abs=0.05)
    assert table["AA"].distance == pytest.approx(3.571, abs=1e-3)


def test_ase_calculator_energy_forces_stress(reference_dir):
    from slidesim.ase import SlidesimCalculator

    atoms = read(os.path.join(reference_dir, "lammps_bn_bilayer.extxyz"), index=0)
    reference_forces = atoms.get_forces().copy()
    energy = atoms.get_potential_energy()
    atoms.calc = SlidesimCalculator()
    assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-6)
    assert np.abs(atoms.get_forces() - reference_forces).max() < 1e-5
    # stress = dE/dstrain / V: compare with a finite strain derivative
    stress = atoms.get_stress(voigt=False)
    cell0 = atoms.cell.array.copy()
    h = 1e-6
    for a, b in [(0, 0), (1, 1), (0, 1)]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * h / (2 if a != b else 1)
            strain[b, a] += sign * h / 2 if a != b else 0
            stretched = atoms.copy()
            stretched.calc = SlidesimCalculator()
            stretched.set_cell(cell0 @ strain, scale_atoms=True)
            energies.append(stretched.get_potential_energy())
        derivative = (energies[0] - energies[1]) / (2 * h) / atoms.get_volume()
        assert stress[a, b] == pytest.approx(derivative, abs=1e-7)
    # layers guessed from z when the array is absent give the same answer
    del atoms.arrays["layer"]
    atoms.calc = SlidesimCalculator()
    assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-6)


def test_md_energy_error_is_second_order_in_the_timestep():
    """NVE with the real force field: halving dt quarters the energy fluctuation."""
    from slidesim import integrators as integ
    from slidesim import units
    from slidesim.kernels.integrators import kinetic_energy

    spreads = []
    for dt in (1e-3, 5e-4):
        state = bilayer("BN", (4, 4), "BA")
        rng = np.random.default_rng(5)
        state.velocities[0] = integ.initial_velocities(state.masses, 300.0, rng)
        model = build_model("bn-ilp", state.species_names)
        lists = model.neighbor_lists()
        verlet = integ.VelocityVerlet(dt)
        result = model.compute(state.positions[0], state.cell, state.species, state.layer, lists)
        totals = []
        for _ in range(int(round(0.2 / dt))):
            verlet.first_half(state, 0, result.forces, 0.0)
            result = model.compute(state.positions[0], state.cell, state.species, state.layer,
                                   lists)
            verlet.second_half(state, 0, result.forces, 0.0)
            totals.append(result.energy + kinetic_energy(state.velocities[0], state.masses,
                                                         units.MVV2E))
        spreads.append(np.ptp(totals) / state.n_atoms)
    assert spreads[0] < 5e-4
    assert 3.3 < spreads[0] / spreads[1] < 4.7
