"""Tests of the Tersoff term: parameter files, LAMMPS parity, gradients, thread independence."""

import math
from pathlib import Path
from types import SimpleNamespace

import numba
import numpy as np
import pytest
from conftest import load_lammps

from slidesim.kernels import tersoff as tersoff_kernel
from slidesim.models.tersoff import (TersoffTerm, read_tersoff_entries,
                                     tersoff_parameter_table)
from slidesim.neighbors_reference import brute_force_neighbors
from slidesim.units import NKTV2P

REPO_ROOT = Path(__file__).resolve().parents[1]
PARAMS_PATH = REPO_ROOT / "slidesim" / "models" / "params" / "BNC.tersoff"
SPECIES = ("B", "N")
#: extra range of the test neighbour lists, as a real list with a skin holds
SKIN = 1.0


# ----------------------------------------------------------------------------- helpers

def bilayer(n1, n2, sigma, seed, a=2.5045, sliding=1.0 / 3.0, distance=3.235, strain=0.0):
    """Parallel-stacked h-BN bilayer (as the reference tool builds it) with Gaussian noise.

    Returns positions (N, 3) [A], species (N,) (0 B, 1 N), layer (N,), cell (3, 3) [A].
    """
    a1 = np.array([a * (1.0 + strain), 0.0, 0.0])
    a2 = np.array([-a / 2.0, a * math.sqrt(3.0) / 2.0, 0.0])
    slide = sliding * (a2 - a1)
    positions, species, layer = [], [], []
    for z_layer in (0, 1):
        for i in range(n1):
            for j in range(n2):
                for s, (fa, fb) in enumerate([(0.0, 0.0), (1.0 / 3.0, 2.0 / 3.0)]):
                    p = (i + fa) * a1 + (j + fb) * a2 + np.array([0.0, 0.0, 10.0 + z_layer * distance])
                    positions.append(p + z_layer * slide)
                    species.append(s)
                    layer.append(z_layer)
    rng = np.random.default_rng(seed)
    positions = np.array(positions) + rng.normal(0.0, sigma, (len(positions), 3))
    cell = np.array([n1 * a1, n2 * a2, [0.0, 0.0, 40.0]])
    return positions, np.array(species, np.int64), np.array(layer, np.int64), cell


def intralayer_list(positions, cell, layer, cutoff):
    """Brute-force full intralayer list with a skin, in the NeighborList attribute format."""
    offsets, neighbors, shifts = brute_force_neighbors(positions, cell, layer, cutoff + SKIN,
                                                       "intralayer")
    return SimpleNamespace(offsets=offsets, neighbors=neighbors, shifts=shifts)


def compute(term, positions, species, layer, cell, neighbor_list=None):
    if neighbor_list is None:
        neighbor_list = intralayer_list(positions, cell, layer, term.cutoff)
    return term.compute(positions, cell, species, layer, {"intra": neighbor_list})


def write_tersoff_file(path, entries):
    with open(path, "w") as handle:
        handle.write("# test parameters\n")
        for elements, values, _ in entries:
            handle.write(" ".join(elements) + " " + " ".join(repr(float(v)) for v in values) + "\n")


def scaled_parameters(tmp_path, name, **changes):
    """A copy of BNC.tersoff with parameters replaced (value) or scaled (callable of old)."""
    columns = {"m": 0, "lambda3": 2, "beta": 7}
    entries = []
    for elements, values, line in read_tersoff_entries(PARAMS_PATH):
        values = values.copy()
        for key, change in changes.items():
            values[columns[key]] = change(values[columns[key]]) if callable(change) else change
        entries.append((elements, values, line))
    path = tmp_path / f"{name}.tersoff"
    write_tersoff_file(path, entries)
    return path


# ----------------------------------------------------------------------------- LAMMPS

@pytest.fixture(scope="module")
def lammps_module():
    """LAMMPS's Python module, with its MPI runtime loaded first; skips when unavailable."""
    return load_lammps()


def lammps_tersoff(lammps_module, tmp_path, positions, species, layer, cell, param_path):
    """Energy [eV], forces (N, 3) [eV/A] and virial W (6,) [eV] of LAMMPS pair_style tersoff,
    four atom types (B, N of each layer) as in the reference setup."""
    data = tmp_path / "tersoff.data"
    types = 1 + species + 2 * layer
    with open(data, "w") as f:
        f.write(f"tersoff test\n\n{len(positions)} atoms\n4 atom types\n\n"
                f"0 {float(cell[0, 0])!r} xlo xhi\n0 {float(cell[1, 1])!r} ylo yhi\n0 {float(cell[2, 2])!r} zlo zhi\n"
                f"{float(cell[1, 0])!r} 0 0 xy xz yz\n\nMasses\n\n1 10.811\n2 14.0067\n3 10.811\n"
                "4 14.0067\n\nAtoms # full\n\n")
        for k, (x, y, z) in enumerate(positions):
            f.write(f"{k + 1} {layer[k] + 1} {types[k]} 0.0 {float(x)!r} {float(y)!r} {float(z)!r}\n")
    lmp = lammps_module.lammps(cmdargs=["-log", "none", "-screen", "none"])
    try:
        lmp.commands_string(f"""units metal
atom_style full
boundary p p f
read_data {data}
pair_style tersoff
pair_coeff * * {param_path} B N B N
neighbor 1.0 bin
compute virial_pressure all pressure NULL virial
thermo_style custom step pe vol
run 0
""")
        energy = lmp.get_thermo("pe")
        volume = lmp.get_thermo("vol")
        pressure = lmp.extract_compute("virial_pressure", 0, 1)
        virial = np.array([pressure[a] for a in range(6)]) * volume / NKTV2P
        ids = np.array(lmp.numpy.extract_atom("id")[: len(positions)])
        forces = np.array(lmp.numpy.extract_atom("f")[: len(positions)])[np.argsort(ids)]
    finally:
        lmp.close()
    return energy, forces, virial


LAMMPS_CASES = {
    "8x8_noise0.04": dict(n1=8, n2=8, sigma=0.04, seed=1),
    "3x3": dict(n1=3, n2=3, sigma=0.04, seed=2),
    "strained_5x4": dict(n1=5, n2=4, sigma=0.04, seed=3, strain=0.03),
    "hot_6x6_noise0.1": dict(n1=6, n2=6, sigma=0.1, seed=4, sliding=0.5, distance=3.1),
}


@pytest.mark.lammps
@pytest.mark.parametrize("case", list(LAMMPS_CASES))
def test_matches_lammps(case, lammps_module, tmp_path):
    positions, species, layer, cell = bilayer(**LAMMPS_CASES[case])
    term = TersoffTerm(PARAMS_PATH, SPECIES)
    result = compute(term, positions, species, layer, cell)
    energy, forces, virial = lammps_tersoff(lammps_module, tmp_path, positions, species, layer,
                                            cell, PARAMS_PATH)
    assert abs(result.energy - energy) / len(positions) < 1e-6
    assert np.abs(result.forces - forces).max() < 1e-5
    assert np.abs(result.virial - virial).max() < 1e-4


#: parameter variants that reach the m = 1 / m = 3 exponentials and every bond-order branch
#: (beta * zeta ~ 0.07 for BNC.tersoff; LAMMPS's thresholds: c1 ~ 6e21, c2 ~ 6e10,
#: c3 ~ 2e-11, c4 ~ 2e-22)
VARIANTS = {
    "m1_lambda3": dict(m=1.0, lambda3=1.7),
    "m3_lambda3": dict(m=3.0, lambda3=2.3),
    "bij_above_c2": dict(beta=lambda b: b * 1e13),
    "bij_above_c1": dict(beta=lambda b: b * 1e24),
    "bij_below_c3": dict(beta=lambda b: b * 1e-12),
    "bij_below_c4": dict(beta=lambda b: b * 1e-25, lambda3=1.0),
}


@pytest.mark.lammps
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parameter_variants_match_lammps(variant, lammps_module, tmp_path):
    param_path = scaled_parameters(tmp_path, variant, **VARIANTS[variant])
    positions, species, layer, cell = bilayer(3, 3, sigma=0.08, seed=5)
    term = TersoffTerm(param_path, SPECIES)
    result = compute(term, positions, species, layer, cell)
    energy, forces, virial = lammps_tersoff(lammps_module, tmp_path, positions, species, layer,
                                            cell, param_path)
    assert abs(result.energy - energy) / len(positions) < 1e-6
    assert np.abs(result.forces - forces).max() < 1e-5
    assert np.abs(result.virial - virial).max() < 1e-4


# ----------------------------------------------------------------------------- reference file

@pytest.fixture(scope="module")
def reference_frames(reference_dir):
    path = Path(reference_dir) / "lammps_bn_bilayer.extxyz"
    if not path.exists():
        pytest.skip(f"reference file {path} not found")
    import ase.io
    return ase.io.read(path, index=":")


@pytest.mark.reference
def test_energy_matches_reference_file(reference_frames):
    term = TersoffTerm(PARAMS_PATH, SPECIES)
    for frame in reference_frames:
        positions = frame.get_positions()
        species = np.array([SPECIES.index(s) for s in frame.get_chemical_symbols()], np.int64)
        layer = frame.arrays["layer"].astype(np.int64)
        cell = np.array(frame.cell)
        result = compute(term, positions, species, layer, cell)
        error = abs(result.energy - frame.info["e_tersoff"]) / len(frame)
        assert error < 1e-6, (frame.info["name"], error)


# ----------------------------------------------------------------------------- self-consistency

@pytest.mark.parametrize("variant", ["BNC", "m1_lambda3", "m3_lambda3", "bij_above_c2",
                                     "bij_above_c1", "bij_below_c3",
                                     "bij_below_c4"])
def test_forces_are_minus_energy_gradient(variant, tmp_path):
    param_path = (PARAMS_PATH if variant == "BNC"
                  else scaled_parameters(tmp_path, variant, **VARIANTS[variant]))
    term = TersoffTerm(param_path, SPECIES)
    positions, species, layer, cell = bilayer(2, 2, sigma=0.08, seed=6)
    neighbor_list = intralayer_list(positions, cell, layer, term.cutoff)
    forces = compute(term, positions, species, layer, cell, neighbor_list).forces
    h = 1e-5
    gradient = np.zeros_like(positions)
    for i in range(len(positions)):
        for a in range(3):
            shifted = positions.copy()
            shifted[i, a] += h
            e_plus = compute(term, shifted, species, layer, cell, neighbor_list).energy
            shifted[i, a] -= 2 * h
            e_minus = compute(term, shifted, species, layer, cell, neighbor_list).energy
            gradient[i, a] = (e_plus - e_minus) / (2 * h)
    scale = max(1.0, np.abs(forces).max())
    assert np.abs(forces + gradient).max() < 1e-6 * scale


def test_virial_is_minus_strain_derivative():
    """W_ab = -dE/d(eps_ab) for a homogeneous in-plane deformation of positions and cell."""
    term = TersoffTerm(PARAMS_PATH, SPECIES)
    positions, species, layer, cell = bilayer(3, 3, sigma=0.05, seed=7)
    neighbor_list = intralayer_list(positions, cell, layer, term.cutoff)
    virial = compute(term, positions, species, layer, cell, neighbor_list).virial
    h = 1e-6
    for voigt_index, (a, b) in enumerate([(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]):
        energies = []
        for sign in (1.0, -1.0):
            deformation = np.eye(3)
            deformation[a, b] += sign * h   # r_b -> r_b + h r_a, so dE/dh = sum r_a dE/dr_b
            moved = positions @ deformation
            shifts = neighbor_list.shifts @ deformation
            moved_list = SimpleNamespace(offsets=neighbor_list.offsets,
                                         neighbors=neighbor_list.neighbors, shifts=shifts)
            energies.append(compute(term, moved, species, layer, cell @ deformation,
                                    moved_list).energy)
        strain_derivative = (energies[0] - energies[1]) / (2 * h)
        assert abs(virial[voigt_index] + strain_derivative) < 1e-5, voigt_index


def test_independent_of_chunks_and_threads():
    term = TersoffTerm(PARAMS_PATH, SPECIES)
    positions, species, layer, cell = bilayer(5, 5, sigma=0.06, seed=8)
    nl = intralayer_list(positions, cell, layer, term.cutoff)
    results = [tersoff_kernel.tersoff_energy_forces(positions, species, nl.offsets, nl.neighbors,
                                                    nl.shifts, term.params, n_chunks)
               for n_chunks in (1, 2, 3, 7)]
    for energy, forces, virial in results[1:]:
        assert abs(energy - results[0][0]) < 1e-10
        np.testing.assert_allclose(forces, results[0][1], rtol=0, atol=1e-11)
        np.testing.assert_allclose(virial, results[0][2], rtol=0, atol=1e-10)

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread")
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = compute(term, positions, species, layer, cell, nl)
        numba.set_num_threads(2)
        two = compute(term, positions, species, layer, cell, nl)
    finally:
        numba.set_num_threads(previous)
    assert abs(one.energy - two.energy) < 1e-10
    np.testing.assert_allclose(two.forces, one.forces, rtol=0, atol=1e-11)
    np.testing.assert_allclose(two.virial, one.virial, rtol=0, atol=1e-10)


def test_translation_sums_and_unwrapped_positions():
    term = TersoffTerm(PARAMS_PATH, SPECIES)
    positions, species, layer, cell = bilayer(4, 4, sigma=0.06, seed=9)
    result = compute(term, positions, species, layer, cell)
    assert np.abs(result.forces.sum(axis=0)).max() < 1e-10
    # the same atoms moved by whole cell vectors (unwrapped positions) give the same result
    rng = np.random.default_rng(0)
    moved = positions + rng.integers(-2, 3, (len(positions), 1)) * cell[0] \
        + rng.integers(-2, 3, (len(positions), 1)) * cell[1]
    moved_result = compute(term, moved, species, layer, cell)
    assert abs(moved_result.energy - result.energy) < 1e-9
    np.testing.assert_allclose(moved_result.forces, result.forces, rtol=0, atol=1e-9)
    np.testing.assert_allclose(moved_result.virial, result.virial, rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- kernel pieces

def test_length_exponential_is_clamped_as_lammps():
    p = np.zeros(tersoff_kernel.N_COLUMNS)
    p[tersoff_kernel.COL_M] = 3.0
    p[tersoff_kernel.COL_LAMBDA3] = 10.0
    assert tersoff_kernel.length_exponential(2.0, 1.0, p)[0] == 1.0e30      # (10)^3 > 69.0776
    assert tersoff_kernel.length_exponential(1.0, 2.0, p)[0] == 0.0         # -(10)^3
    value, derivative = tersoff_kernel.length_exponential(1.2, 1.0, p)      # (2)^3 = 8
    assert value == pytest.approx(math.exp(8.0), rel=1e-14)
    assert derivative == pytest.approx(3.0 * 1000.0 * 0.04 * math.exp(8.0), rel=1e-12)
    p[tersoff_kernel.COL_M] = 1.0
    value, derivative = tersoff_kernel.length_exponential(1.2, 1.0, p)      # 10 * 0.2 = 2
    assert value == pytest.approx(math.exp(2.0), rel=1e-14)
    assert derivative == pytest.approx(10.0 * math.exp(2.0), rel=1e-14)


def test_bond_order_branches_follow_the_closed_form():
    term = TersoffTerm(PARAMS_PATH, SPECIES)
    p = term.params[0, 1, 1]
    beta, n = p[tersoff_kernel.COL_BETA], p[tersoff_kernel.COL_N]
    for x in np.logspace(-30, 30, 121):   # x = beta * zeta, crosses c4, c3, c2, c1
        zeta = x / beta
        b, db = tersoff_kernel.bond_order(zeta, p)
        if x < p[tersoff_kernel.COL_C4]:
            # LAMMPS cuts b to 1 and db to 0 here (the true db diverges as zeta -> 0 for n < 1)
            assert (b, db) == (1.0, 0.0)
            continue
        exact = (1.0 + x ** n) ** (-1.0 / (2.0 * n))
        d_exact = -0.5 * beta * x ** (n - 1.0) * (1.0 + x ** n) ** (-1.0 - 1.0 / (2.0 * n))
        assert b == pytest.approx(exact, rel=1e-7)
        assert db == pytest.approx(d_exact, rel=1e-7, abs=1e-300)


# ----------------------------------------------------------------------------- parameter files

def test_parser_reads_multiline_entries_and_ignores_other_elements(tmp_path):
    text = PARAMS_PATH.read_text().replace("B      N       B         3.0 1.0 0.0 25000",
                                           "B      N       B  # split entry\n 3.0 1.0 0.0\n25000")
    path = tmp_path / "split.tersoff"
    path.write_text(text)
    table = tersoff_parameter_table(read_tersoff_entries(path), SPECIES, path)
    np.testing.assert_array_equal(table, TersoffTerm(PARAMS_PATH, SPECIES).params)
    assert table.shape == (2, 2, 2, tersoff_kernel.N_COLUMNS)
    # species order follows the model, not the file
    swapped = tersoff_parameter_table(read_tersoff_entries(path), ("N", "B"), path)
    np.testing.assert_array_equal(swapped[1, 0, 0], table[0, 1, 1])
    assert TersoffTerm(PARAMS_PATH, SPECIES).requests["intra"].mode == "intralayer"
    assert TersoffTerm(PARAMS_PATH, SPECIES).requests["intra"].cutoff == pytest.approx(2.1)


@pytest.mark.parametrize("text, message", [
    ("B N B 3.0 1.0 0.0 25000 4.3 -0.89 0.7 1.2e-7 2.2 340 1.95 0.05 3.5 1380 7\n", "18 words"),
    ("B N B 3.0 1.0 0.0 25000 4.3 -0.89 0.7 1.2e-7 2.2 340\n", "incomplete"),
    ("B N B 3.0 1.0 0.0 25000 4.3 -0.89 0.7 1.2e-7 2.2 340 1.95 0.05 3.5 x\n", "not a number"),
    ("B N B 2.0 1.0 0.0 25000 4.3 -0.89 0.7 1.2e-7 2.2 340 1.95 0.05 3.5 1380\n", "m not 1 or 3"),
    ("B N B 3.0 1.0 0.0 25000 4.3 -0.89 0.7 1.2e-7 2.2 340 1.95 2.05 3.5 1380\n", "D > R"),
])
def test_parser_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.tersoff"
    path.write_text("# comment\n\n" + text)
    with pytest.raises(ValueError, match=message) as error:
        read_tersoff_entries(path)
    assert f"{path}:3" in str(error.value)


def test_missing_and_duplicate_entries_are_errors(tmp_path):
    entries = read_tersoff_entries(PARAMS_PATH)
    kept = [e for e in entries if e[0] != ("B", "N", "N")]
    with pytest.raises(ValueError, match="missing an entry for B N N"):
        tersoff_parameter_table(kept, SPECIES)
    with pytest.raises(ValueError, match="duplicate entry for B N N"):
        tersoff_parameter_table(entries + [e for e in entries if e[0] == ("B", "N", "N")], SPECIES)


def test_same_result_with_the_cell_list_neighbor_list():
    neighbors_module = pytest.importorskip("slidesim.neighbors")
    term = TersoffTerm(PARAMS_PATH, SPECIES)
    positions, species, layer, cell = bilayer(6, 5, sigma=0.06, seed=10)
    request = term.requests["intra"]
    cell_list = neighbors_module.NeighborList(request.cutoff, skin=SKIN, mode=request.mode)
    cell_list.update(positions, cell, layer)
    fast = compute(term, positions, species, layer, cell, cell_list)
    oracle = compute(term, positions, species, layer, cell)
    assert abs(fast.energy - oracle.energy) < 1e-9
    np.testing.assert_allclose(fast.forces, oracle.forces, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.virial, oracle.virial, rtol=0, atol=1e-9)
