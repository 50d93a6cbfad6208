"""Tests of the shielded interlayer Coulomb term (slidesim.models.coulomb).

Parity with LAMMPS ``coul/shield 16.0 1`` (reference file energies; LAMMPS run here with
``hybrid/overlay zero 16.0 coul/shield 16.0 1``, the zero style only so that every type pair
has a coefficient), forces against finite differences, thread-count independence.
"""

from types import SimpleNamespace

import numba
import numpy as np
import pytest
from conftest import finite_difference_forces, reference_frames

from slidesim import units
from slidesim.kernels import coulomb as coulomb_kernels
from slidesim.models.coulomb import ShieldedCoulombTerm
from slidesim.neighbors import neighbor_lists_for
# test helpers shared with the ILP tests (bilayer builder, brute-force lists, LAMMPS runner)
from test_ilp import (CONFIGURATIONS, SPECIES, bilayer, neighbor_lists,  # noqa: F401
                      reference_file, run_lammps)

LAMMPS_PAIR = """pair_style hybrid/overlay zero 16.0 coul/shield 16.0 {taper}
pair_coeff * * zero
pair_coeff 1 3 coul/shield 0.70
pair_coeff 1 4 coul/shield 0.69498201415576216335
pair_coeff 2 3 coul/shield 0.69498201415576216335
pair_coeff 2 4 coul/shield 0.69"""


def test_pair_energy_is_the_shielded_formula():
    """Two atoms in different layers, by hand: E = qqr2e q q Tap / (r^3 + lambda^-3)^(1/3)."""
    positions = np.array([[0.0, 0.0, 10.0], [1.0, 0.5, 13.2]])
    cell = np.array([[60.0, 0, 0], [-30.0, 30.0 * np.sqrt(3), 0], [0, 0, 40.0]])
    species, layer = np.array([0, 1]), np.array([0, 1])
    term = ShieldedCoulombTerm(SPECIES)
    result = term.compute(positions, cell, species, layer,
                          neighbor_lists(term, positions, cell, layer))
    r = np.linalg.norm(positions[1] - positions[0])
    x = r / 16.0
    tap = 20 * x**7 - 70 * x**6 + 84 * x**5 - 35 * x**4 + 1
    expected = units.QQR2E * 0.42 * -0.42 * tap / (r**3 + 0.69498201415576216335**-3) ** (1 / 3)
    assert abs(result.energy - expected) < 1e-13
    assert np.allclose(result.forces.sum(axis=0), 0.0, atol=1e-14)


def test_shielding_and_charges_are_checked():
    term = ShieldedCoulombTerm(("N", "B"), shielding={("N", "B"): 0.5, ("B", "B"): 0.7,
                                                      ("N", "N"): 0.6})
    assert term.shielding[0, 1] == term.shielding[1, 0] == 0.5
    assert term.charges.tolist() == [-0.42, 0.42]
    with pytest.raises(ValueError, match="shielding"):
        ShieldedCoulombTerm(SPECIES, shielding={("B", "B"): 0.7, ("N", "N"): 0.69})
    with pytest.raises(ValueError, match="charge"):
        ShieldedCoulombTerm(("B", "C"))


@pytest.mark.reference
def test_energy_matches_reference_file(reference_file):
    term = ShieldedCoulombTerm(SPECIES)
    for atoms, positions, cell, species, layer in reference_frames(reference_file, SPECIES):
        result = term.compute(positions, cell, species, layer,
                              neighbor_lists(term, positions, cell, layer))
        error = abs(result.energy - atoms.info["e_coul_shield"]) / len(atoms)
        assert error < 1e-6, (atoms.info["name"], error)


@pytest.mark.lammps
@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_matches_lammps(name):
    positions, cell, species, layer = bilayer(**CONFIGURATIONS[name])
    energy, forces, virial = run_lammps(positions, cell, species, layer,
                                        LAMMPS_PAIR.format(taper=1))
    term = ShieldedCoulombTerm(SPECIES)
    result = term.compute(positions, cell, species, layer,
                          neighbor_lists(term, positions, cell, layer))
    assert abs(result.energy - energy) / len(positions) < 1e-6
    assert np.abs(result.forces - forces).max() < 1e-5
    assert np.abs(result.virial - virial).max() < 1e-4
    assert np.abs(forces).max() > 1e-3  # the comparison is not between zeros


@pytest.mark.lammps
def test_untapered_forces_match_lammps():
    """Without the taper LAMMPS shifts the energy by a constant per pair (its offset takes the
    charges of the atoms whose index equals the type number, so only forces compare)."""
    positions, cell, species, layer = bilayer(**CONFIGURATIONS["4x4_hot_SP"])
    _, forces, _ = run_lammps(positions, cell, species, layer, LAMMPS_PAIR.format(taper=0))
    term = ShieldedCoulombTerm(SPECIES, taper=False)
    result = term.compute(positions, cell, species, layer,
                          neighbor_lists(term, positions, cell, layer))
    assert np.abs(result.forces - forces).max() < 1e-5


@pytest.mark.parametrize("taper", [True, False])
def test_forces_are_minus_energy_gradient(taper):
    positions, cell, species, layer = bilayer(3, 3, slide=0.3, d=3.2, sigma=0.08, seed=6)
    term = ShieldedCoulombTerm(SPECIES, taper=taper)
    lists = neighbor_lists(term, positions, cell, layer)  # the skin covers the displacements
    forces = term.compute(positions, cell, species, layer, lists).forces
    numeric = finite_difference_forces(
        lambda x: term.compute(x, cell, species, layer, lists).energy, positions)
    assert np.abs(forces).max() > 1e-2
    assert np.abs(forces - numeric).max() < 1e-7


def test_untapered_energy_is_shifted_to_zero_at_the_cutoff():
    inv_lambda = np.full((2, 2), 1 / 0.69)
    for r in (16.0 - 1e-9, 16.0 + 1e-9):
        positions = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, r]])
        offsets, neighbors = np.array([0, 1, 2]), np.array([1, 0])
        shifts = np.zeros((2, 3))
        energy, _, _ = coulomb_kernels.shielded_coulomb(
            positions, np.array([0, 1]), offsets, neighbors, shifts, np.array([0.42, -0.42]),
            inv_lambda, 16.0, False, units.QQR2E, 1)
        assert abs(energy) < 1e-9


def test_same_result_with_one_and_two_threads():
    positions, cell, species, layer = bilayer(5, 5, slide=0.4, sigma=0.05, seed=8)
    term = ShieldedCoulombTerm(SPECIES)
    lists = neighbor_lists(term, positions, cell, layer)
    saved = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            results.append(term.compute(positions, cell, species, layer, lists))
    finally:
        numba.set_num_threads(saved)
    for other in results[1:]:
        # the net energy is a sum of large cancelling pair terms: round-off scales with N
        assert abs(other.energy - results[0].energy) < 1e-12 * len(positions)
        assert np.abs(other.forces - results[0].forces).max() < 1e-12
        assert np.abs(other.virial - results[0].virial).max() < 1e-11


def test_fast_neighbor_list_gives_the_brute_force_result():
    positions, cell, species, layer = bilayer(3, 4, slide=0.2, sigma=0.08, seed=9)
    term = ShieldedCoulombTerm(SPECIES)
    expected = term.compute(positions, cell, species, layer,
                            neighbor_lists(term, positions, cell, layer))
    lists = neighbor_lists_for(term.requests, skin=2.0)
    for nl in lists.values():
        nl.update(positions, cell, layer)
    result = term.compute(positions, cell, species, layer, lists)
    # the net energy is a sum of large cancelling pair terms: round-off scales with N
    assert abs(result.energy - expected.energy) < 1e-12 * len(positions)
    assert np.abs(result.forces - expected.forces).max() < 1e-12
    assert np.abs(result.virial - expected.virial).max() < 1e-11
