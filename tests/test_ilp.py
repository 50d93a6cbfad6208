"""Tests of the interlayer potential (slidesim.models.ilp, slidesim.kernels.ilp).

Parity with LAMMPS ``ilp/graphene/hbn 16.0 1``: against the shipped reference file (energies)
and against LAMMPS run here with the ILP as its only pair style (forces, energy, virial);
forces against finite differences of the energy; independence of the thread count.
"""

import os
from types import SimpleNamespace

import numba
import numpy as np
import pytest
from conftest import finite_difference_forces, reference_frames

from slidesim.kernels import ilp as ilp_kernels
from slidesim.lammps_bridge import single_point
from slidesim.models.ilp import DEFAULT_ILP_FILE, ILPTerm, read_ilp_file
from slidesim.neighbors import neighbor_lists_for
from slidesim.neighbors_reference import brute_force_neighbors

SPECIES = ("B", "N")
#: extra reach of the test neighbour lists beyond each cutoff, as a real list's skin [A]
SKIN = 1.0


@pytest.fixture(scope="module")
def reference_file(reference_dir):
    """../shared/reference/lammps_bn_bilayer.extxyz (reference_dir comes from conftest.py)."""
    path = os.path.join(reference_dir, "lammps_bn_bilayer.extxyz")
    if not os.path.exists(path):
        pytest.skip(f"reference file {path} is absent")
    return path


def bilayer(n1, n2, a=2.5045, slide=1.0 / 3.0, d=3.3, sigma=0.0, seed=0, strain=0.0):
    """h-BN bilayer: positions (N, 3) [A], cell (3, 3) [A], species (N,), layer (N,).

    Hexagonal n1 x n2 supercell, top layer slid by slide * (b - a) from AA, Gaussian noise
    sigma [A], uniaxial strain along a.
    """
    a1 = np.array([a * (1 + strain), 0.0, 0.0])
    a2 = np.array([-a / 2, a * np.sqrt(3) / 2, 0.0])
    rng = np.random.default_rng(seed)
    positions, species, layer = [], [], []
    for lay in (0, 1):
        for i in range(n1):
            for j in range(n2):
                for s, (fa, fb) in enumerate([(0.0, 0.0), (1 / 3, 2 / 3)]):
                    p = (i + fa) * a1 + (j + fb) * a2 + np.array([0.0, 0.0, 10.0 + lay * d])
                    positions.append(p + lay * slide * (a2 - a1))
                    species.append(s)
                    layer.append(lay)
    positions = np.array(positions) + rng.normal(0.0, sigma, (len(positions), 3))
    cell = np.array([n1 * a1, n2 * a2, [0.0, 0.0, 40.0]])
    return positions, cell, np.array(species, np.int64), np.array(layer, np.int64)


def neighbor_lists(term, positions, cell, layer):
    """Brute-force lists for every request of a term, reaching SKIN beyond each cutoff."""
    lists = {}
    for key, request in term.requests.items():
        arrays = brute_force_neighbors(positions, cell, layer, request.cutoff + SKIN,
                                       request.mode)
        lists[key] = SimpleNamespace(offsets=arrays[0], neighbors=arrays[1], shifts=arrays[2])
    return lists


def run_lammps(positions, cell, species, layer, pair_commands, charges=(0.42, -0.42)):
    """Energy, forces and virial from LAMMPS (skips the test where LAMMPS is missing)."""
    pytest.importorskip("lammps")
    return single_point(positions, cell, species, layer, pair_commands, charges)


def with_vacancies(positions, cell, species, layer):
    """Remove two of the three neighbours of one top-layer B: it keeps 1 normal neighbour,
    the other B atoms beside the holes keep 2."""
    boron = np.nonzero((layer == 1) & (species == 0))[0][0]
    offsets, neighbors, _ = brute_force_neighbors(positions, cell, layer, 2.0, "intralayer")
    remove = neighbors[offsets[boron]:offsets[boron + 1]][:2]
    keep = np.setdiff1d(np.arange(len(positions)), remove)
    return positions[keep], cell, species[keep], layer[keep]


# configurations compared with LAMMPS: (name, builder arguments); the 3x3 cell is narrower
# than the 16 A cutoff, so many periodic images of each atom count
CONFIGURATIONS = {
    "3x3_BA": dict(n1=3, n2=3, slide=1 / 3, d=3.25, sigma=0.04, seed=1),
    "4x5_strained_generic": dict(n1=4, n2=5, slide=0.21, d=3.3, sigma=0.03, seed=2,
                                 strain=0.03),
    "4x4_hot_SP": dict(n1=4, n2=4, slide=0.5, d=3.25, sigma=0.1, seed=3),
    "6x6_AA_compressed": dict(n1=6, n2=6, slide=0.0, d=2.9, sigma=0.05, seed=4),
}


def test_reads_lammps_scalings():
    params, normal_cutoff = read_ilp_file(DEFAULT_ILP_FILE, ("N", "B"))
    columns = ilp_kernels.PARAM_COLUMNS
    with open(DEFAULT_ILP_FILE) as f:
        line = next(l for l in f if l.startswith("B N"))
    beta, alpha, delta, epsilon, c, d, s_r, reff, c6, scale, rcut = map(float, line.split()[2:])
    row = dict(zip(columns, params[1, 0]))
    assert row["z0"] == beta and row["lambda"] == alpha / beta
    assert row["delta2inv"] == delta ** -2.0 and row["seff"] == s_r * reff and row["d"] == d
    assert row["epsilon"] == epsilon * 1e-3 * scale and row["C"] == c * 1e-3 * scale
    assert row["C6"] == c6 * 1e-3 * scale
    assert normal_cutoff[1, 0] == rcut
    with pytest.raises(ValueError, match="no ILP entry"):
        read_ilp_file(DEFAULT_ILP_FILE, ("B", "Mo"))


def test_taper_is_smooth_and_matches_its_derivative():
    cutoff = 16.0
    assert ilp_kernels.taper(0.0, cutoff) == (1.0, 0.0)
    assert ilp_kernels.taper(cutoff, cutoff) == (0.0, 0.0)
    h = 1e-4  # round-off of the polynomial (terms up to ~35) stays below 1e-10 here
    for r in np.linspace(0.5, cutoff - 1e-3, 17):
        numeric = (ilp_kernels.taper(r + h, cutoff)[0] - ilp_kernels.taper(r - h, cutoff)[0])
        assert abs(numeric / (2 * h) - ilp_kernels.taper(r, cutoff)[1]) < 1e-9
    tap, dtap = ilp_kernels.taper(cutoff * (1 - 1e-4), cutoff)
    assert tap < 1e-14 and abs(dtap) < 1e-10


@pytest.mark.reference
def test_energy_matches_reference_file(reference_file):
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    for atoms, positions, cell, species, layer in reference_frames(reference_file, SPECIES):
        result = term.compute(positions, cell, species, layer,
                              neighbor_lists(term, positions, cell, layer))
        error = abs(result.energy - atoms.info["e_ilp"]) / len(atoms)
        assert error < 1e-6, (atoms.info["name"], error)


@pytest.mark.lammps
@pytest.mark.parametrize("name", list(CONFIGURATIONS) + ["4x4_vacancies"])
def test_matches_lammps(name):
    if name == "4x4_vacancies":
        system = with_vacancies(*bilayer(4, 4, slide=2 / 3, sigma=0.05, seed=5))
    else:
        system = bilayer(**CONFIGURATIONS[name])
    positions, cell, species, layer = system
    pair = (f"pair_style hybrid/overlay ilp/graphene/hbn 16.0 1\n"
            f"pair_coeff * * ilp/graphene/hbn {DEFAULT_ILP_FILE} B N B N")
    energy, forces, virial = run_lammps(positions, cell, species, layer, pair)
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    result = term.compute(positions, cell, species, layer,
                          neighbor_lists(term, positions, cell, layer))
    assert abs(result.energy - energy) / len(positions) < 1e-6
    assert np.abs(result.forces - forces).max() < 1e-5
    assert np.abs(result.virial - virial).max() < 1e-4
    assert np.abs(forces).max() > 1e-3  # the comparison is not between zeros


def test_vacancies_give_two_and_one_normal_neighbours():
    positions, cell, species, layer = with_vacancies(*bilayer(4, 4, slide=2 / 3, sigma=0.05,
                                                             seed=5))
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    counts = term.normals(positions, species,
                          neighbor_lists(term, positions, cell, layer)["intra"])[-1]
    assert set(counts.tolist()) == {1, 2, 3}


@pytest.mark.parametrize("system", ["perfect", "vacancies"])
def test_forces_are_minus_energy_gradient(system):
    positions, cell, species, layer = bilayer(3, 3, slide=0.3, d=3.2, sigma=0.08, seed=6)
    if system == "vacancies":
        positions, cell, species, layer = with_vacancies(positions, cell, species, layer)
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    lists = neighbor_lists(term, positions, cell, layer)  # the skin covers the displacements
    forces = term.compute(positions, cell, species, layer, lists).forces
    numeric = finite_difference_forces(
        lambda x: term.compute(x, cell, species, layer, lists).energy, positions)
    assert np.abs(forces).max() > 1e-2
    assert np.abs(forces - numeric).max() < 1e-7


def test_virial_is_deformation_derivative():
    """W_ab = -dE/dM_ab for positions, shifts and cell mapped by x -> x (1 + M): checks the
    many-body (normal) part of the virial. W is not symmetric here: atoms with fewer than 2
    normal neighbours keep the fixed normal z, so the energy is not rotation invariant."""
    positions, cell, species, layer = with_vacancies(*bilayer(3, 3, slide=0.3, sigma=0.08,
                                                             seed=7))
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    lists = neighbor_lists(term, positions, cell, layer)
    virial = term.compute(positions, cell, species, layer, lists).virial
    h = 1e-6
    for a, b, voigt in [(0, 0, 0), (1, 1, 1), (2, 2, 2), (0, 1, 3), (0, 2, 4), (1, 2, 5)]:
        energies = []
        for sign in (1, -1):
            deformation = np.eye(3)
            deformation[a, b] += sign * h
            deformed_lists = {key: SimpleNamespace(offsets=nl.offsets, neighbors=nl.neighbors,
                                                   shifts=nl.shifts @ deformation)
                              for key, nl in lists.items()}
            energies.append(term.compute(positions @ deformation, cell @ deformation, species,
                                         layer, deformed_lists).energy)
        assert abs(-(energies[0] - energies[1]) / (2 * h) - virial[voigt]) < 1e-6


def test_same_result_with_one_and_two_threads():
    positions, cell, species, layer = bilayer(5, 5, slide=0.4, sigma=0.05, seed=8)
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    lists = neighbor_lists(term, positions, cell, layer)
    saved = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            results.append(term.compute(positions, cell, species, layer, lists))
    finally:
        numba.set_num_threads(saved)
    # more chunks than threads exercises the per-chunk buffers even on one core
    normal_data = term.normals(positions, species, lists["intra"])
    inter = lists["inter"]
    for n_chunks in (1, 3, 7):
        e_att, e_rep, forces, virial = ilp_kernels.ilp_energy_forces(
            positions, species, inter.offsets, inter.neighbors, inter.shifts, term.params,
            term.cutoff, True, *normal_data, n_chunks)
        results.append(SimpleNamespace(energy=e_att + e_rep, forces=forces, virial=virial))
    for other in results[1:]:
        assert abs(other.energy - results[0].energy) < 1e-12 * abs(results[0].energy)
        assert np.abs(other.forces - results[0].forces).max() < 1e-12
        assert np.abs(other.virial - results[0].virial).max() < 1e-11


def test_too_many_normal_neighbours_is_an_error():
    positions, cell, species, layer = bilayer(3, 3, a=1.6)  # second neighbours at 1.6 A < 2 A
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES, crowded="error")
    with pytest.raises(ValueError, match="more than 3"):
        term.compute(positions, cell, species, layer,
                     neighbor_lists(term, positions, cell, layer))


def test_fast_neighbor_list_gives_the_brute_force_result():
    """With slidesim.neighbors (pairs up to cutoff + skin, other order) the result is the same."""
    positions, cell, species, layer = bilayer(3, 4, slide=0.2, sigma=0.08, seed=9)
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    expected = term.compute(positions, cell, species, layer,
                            neighbor_lists(term, positions, cell, layer))
    lists = neighbor_lists_for(term.requests, skin=2.0)
    for nl in lists.values():
        nl.update(positions, cell, layer)
    result = term.compute(positions, cell, species, layer, lists)
    assert abs(result.energy - expected.energy) < 1e-12 * abs(expected.energy)
    assert np.abs(result.forces - expected.forces).max() < 1e-12
    assert np.abs(result.virial - expected.virial).max() < 1e-11


def _crowded_bilayer():
    """A bilayer where one bottom atom has a fourth same-layer neighbour within rcut = 2 A."""
    positions, cell, species, layer = bilayer(3, 3, slide=1 / 3, d=3.25, sigma=0.02, seed=12)
    atom = 0
    offsets, neighbors, shifts = brute_force_neighbors(positions, cell, layer, 2.6, "intralayer")
    rows = range(offsets[atom], offsets[atom + 1])
    vectors = positions[neighbors[rows]] + shifts[rows] - positions[atom]
    second = np.argsort(np.linalg.norm(vectors, axis=1))[3]     # the nearest second neighbour
    positions = positions.copy()
    positions[atom] += 0.6 * vectors[second] / np.linalg.norm(vectors[second])
    return positions, cell, species, layer


def test_crowded_atoms_error_like_lammps_or_use_the_nearest_three():
    positions, cell, species, layer = _crowded_bilayer()
    strict = ILPTerm(DEFAULT_ILP_FILE, SPECIES, crowded="error")
    lists = neighbor_lists(strict, positions, cell, layer)
    with pytest.raises(ValueError, match="more than 3 same-layer neighbours"):
        strict.compute(positions, cell, species, layer, lists)
    term = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    with pytest.warns(RuntimeWarning, match="nearest three"):
        result = term.compute(positions, cell, species, layer, lists)
    counts = term.normals(positions, species, lists["intra"])[-1]
    assert counts.max() == 4
    # forces are still minus the gradient of the energy (away from a change of neighbours)
    h = 1e-5
    for atom, axis in [(0, 0), (0, 2), (5, 1)]:
        shifted = []
        for sign in (1, -1):
            moved = positions.copy()
            moved[atom, axis] += sign * h
            shifted.append(term.compute(moved, cell, species, layer, lists).energy)
        numeric = -(shifted[0] - shifted[1]) / (2 * h)
        assert abs(numeric - result.forces[atom, axis]) < 1e-6
