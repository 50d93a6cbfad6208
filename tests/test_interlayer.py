"""Tests of the fused interlayer term (slidesim.models.interlayer, slidesim.kernels.interlayer).

InterlayerTerm against ILPTerm + ShieldedCoulombTerm (energy, parts, forces, virial) on the
reference frames and on hot, compressed, holed and untapered configurations; against LAMMPS on
the reference frames; the same bits with 1 and 2 threads; rows done in several blocks.
"""

import os

import numba
import numpy as np
import pytest
from conftest import load_lammps, reference_frames

from slidesim.kernels import interlayer as interlayer_kernels
from slidesim.lammps_bridge import bn_ilp_pair_commands, single_point
from slidesim.models import PARAMS_DIR
from slidesim.models.coulomb import ShieldedCoulombTerm
from slidesim.models.ilp import DEFAULT_ILP_FILE, ILPTerm
from slidesim.models.interlayer import InterlayerTerm
from slidesim.models.model import Model
from slidesim.models.tersoff import TersoffTerm
from slidesim.neighbors import neighbor_lists_for
# helpers shared with the ILP tests (bilayer builder, brute-force lists)
from test_ilp import SPECIES, bilayer, neighbor_lists, reference_file, with_vacancies  # noqa: F401


def separate(positions, cell, species, layer, lists, taper=True):
    """ILPTerm and ShieldedCoulombTerm results on the same lists."""
    ilp = ILPTerm(DEFAULT_ILP_FILE, SPECIES, taper=taper)
    coulomb = ShieldedCoulombTerm(SPECIES, taper=taper)
    return (ilp.compute(positions, cell, species, layer, lists),
            coulomb.compute(positions, cell, species, layer, lists))


def virial_round_off(positions, cell, species, layer, taper=True):
    """The round-off of the separate terms' virial, measured: the largest change of their
    summed virial when the atoms are numbered in reverse (the pair sums then run in another
    order). The Coulomb virial is a sum of large cancelling pair terms: its round-off grows
    with N and with the number of threads the separate kernel ran on (7e-11 eV between 1 and 2
    threads on the 900-atom reference frame)."""
    order = np.arange(len(positions))[::-1]
    term = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES, taper=taper)
    a = separate(positions, cell, species, layer,
                 neighbor_lists(term, positions, cell, layer), taper)
    p, s, l = positions[order], species[order], layer[order]
    b = separate(p, cell, s, l, neighbor_lists(term, p, cell, l), taper)
    return np.abs(a[0].virial + a[1].virial - b[0].virial - b[1].virial).max()


def assert_equals_separate(fused, ilp, coulomb, n_atoms, label="", virial_noise=0.0):
    """Equal to round-off: the bounds of the thread-count tests of test_ilp/test_coulomb. The
    Coulomb energy and virial are sums of large cancelling pair terms, so their round-off
    scales with N; the virial is held to 1e-13 N eV or to 4x the separate terms' own measured
    round-off (``virial_noise``, :func:`virial_round_off`), whichever is larger."""
    assert abs(fused.parts["ilp"] - ilp.energy) < 1e-12 * abs(ilp.energy), label
    assert abs(fused.parts["coul_shield"] - coulomb.energy) < 1e-12 * n_atoms, label
    assert fused.energy == fused.parts["ilp"] + fused.parts["coul_shield"], label
    assert np.abs(fused.forces - ilp.forces - coulomb.forces).max() < 1e-12, label
    bound = max(1e-13 * max(100, n_atoms), 4.0 * virial_noise)
    assert np.abs(fused.virial - ilp.virial - coulomb.virial).max() < bound, label
    assert np.abs(ilp.forces).max() > 1e-3 and np.abs(coulomb.forces).max() > 1e-3, label


@pytest.mark.reference
def test_reference_frames_equal_the_separate_terms(reference_file):
    term = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES)
    for atoms, positions, cell, species, layer in reference_frames(reference_file, SPECIES):
        name = atoms.info["name"]
        lists = neighbor_lists(term, positions, cell, layer)
        ilp, coulomb = separate(positions, cell, species, layer, lists)
        noise = virial_round_off(positions, cell, species, layer)
        # a brute-force full list, halved by the term
        assert_equals_separate(term.compute(positions, cell, species, layer, lists), ilp,
                               coulomb, len(atoms), name, noise)
        # slidesim's own lists, read as a half list
        fast = neighbor_lists_for(term.requests, skin=1.0)
        for nl in set(fast.values()):
            nl.build(positions, cell, layer)
        fused = term.compute(positions, cell, species, layer, fast)
        assert_equals_separate(fused, ilp, coulomb, len(atoms), name, noise)
        assert abs(fused.parts["ilp"] - atoms.info["e_ilp"]) / len(atoms) < 1e-6, name
        assert abs(fused.parts["coul_shield"] - atoms.info["e_coul_shield"]) / len(atoms) < 1e-6


@pytest.mark.parametrize("case", ["hot", "hot_vacancies", "compressed_AA", "untapered"])
def test_hot_configurations_equal_the_separate_terms(case):
    """0.12 A noise; holes (atoms with 1 and 2 normal neighbours); layers 2.7 A apart (the cube
    root's cbrt branch); no taper (ILP cut, Coulomb shifted at Rcut)."""
    taper = case != "untapered"
    positions, cell, species, layer = {
        "hot": lambda: bilayer(5, 4, slide=0.37, d=3.2, sigma=0.12, seed=21),
        "hot_vacancies": lambda: with_vacancies(*bilayer(4, 4, slide=0.6, sigma=0.12, seed=22)),
        "compressed_AA": lambda: bilayer(4, 4, slide=0.0, d=2.7, sigma=0.05, seed=23),
        "untapered": lambda: bilayer(4, 5, slide=0.2, d=3.3, sigma=0.1, seed=24, strain=0.02),
    }[case]()
    term = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES, taper=taper)
    lists = neighbor_lists(term, positions, cell, layer)
    ilp, coulomb = separate(positions, cell, species, layer, lists, taper)
    assert_equals_separate(term.compute(positions, cell, species, layer, lists), ilp, coulomb,
                           len(positions), case)


def test_model_energies_keep_the_term_names():
    """A model with the fused term reports e_ilp and e_coul_shield as bn-ilp does."""
    positions, cell, species, layer = bilayer(4, 4, slide=0.3, sigma=0.05, seed=25)
    tersoff = TersoffTerm(os.path.join(PARAMS_DIR, "BNC.tersoff"), SPECIES)
    fused = Model("bn-ilp", [tersoff, InterlayerTerm(DEFAULT_ILP_FILE, SPECIES)], SPECIES)
    split = Model("bn-ilp", [tersoff, ILPTerm(DEFAULT_ILP_FILE, SPECIES),
                             ShieldedCoulombTerm(SPECIES)], SPECIES)
    a = fused.compute(positions, cell, species, layer, fused.neighbor_lists())
    b = split.compute(positions, cell, species, layer, split.neighbor_lists())
    assert set(a.energies) == set(b.energies) == {"tersoff", "ilp", "coul_shield"}
    for name in a.energies:
        assert abs(a.energies[name] - b.energies[name]) < 1e-12 * len(positions), name
    assert np.abs(a.forces - b.forces).max() < 1e-12


@pytest.mark.lammps
@pytest.mark.reference
def test_reference_frames_match_lammps(reference_file):
    """Tersoff + InterlayerTerm against LAMMPS's bn-ilp pair styles, run here on every frame."""
    load_lammps()
    tersoff = TersoffTerm(os.path.join(PARAMS_DIR, "BNC.tersoff"), SPECIES)
    model = Model("bn-ilp", [tersoff, InterlayerTerm(DEFAULT_ILP_FILE, SPECIES)], SPECIES)
    for atoms, positions, cell, species, layer in reference_frames(reference_file, SPECIES):
        n = len(atoms)
        result = model.compute(positions, cell, species, layer, model.neighbor_lists(1.0))
        energy, forces, virial = single_point(positions, cell, species, layer,
                                              bn_ilp_pair_commands())
        name = atoms.info["name"]
        assert abs(result.energy - energy) < 1e-10 * max(1.0, n / 900), name
        assert np.abs(result.forces - forces).max() < 1e-10, name
        assert np.abs(result.virial - virial).max() < 1e-9, name


def test_same_bits_with_one_and_two_threads():
    """A fixed number of chunks: the sums run in the same order whatever the thread count."""
    positions, cell, species, layer = bilayer(6, 5, slide=0.4, sigma=0.08, seed=26)
    term = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES)
    lists = neighbor_lists_for(term.requests, skin=1.0)
    for nl in set(lists.values()):
        nl.build(positions, cell, layer)
    saved = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            results.append(term.compute(positions, cell, species, layer, lists))
    finally:
        numba.set_num_threads(saved)
    for other in results[1:]:
        assert other.energy == results[0].energy
        assert other.parts == results[0].parts
        assert np.array_equal(other.forces, results[0].forces)
        assert np.array_equal(other.virial, results[0].virial)
    # other chunk counts: the same to round-off
    for n_chunks in (1, 3, 13):
        other = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES, n_chunks=n_chunks).compute(
            positions, cell, species, layer, lists)
        assert abs(other.parts["ilp"] - results[0].parts["ilp"]) < 1e-12 * abs(other.energy)
        assert abs(other.parts["coul_shield"] - results[0].parts["coul_shield"]) < 1e-12 * 120
        assert np.abs(other.forces - results[0].forces).max() < 1e-12
        assert np.abs(other.virial - results[0].virial).max() < 1e-13 * 120


def test_buffers_are_kept_between_calls_and_results_are_fresh():
    positions, cell, species, layer = bilayer(3, 3, slide=0.3, sigma=0.05, seed=27)
    term = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES)
    lists = neighbor_lists(term, positions, cell, layer)
    first = term.compute(positions, cell, species, layer, lists)
    buffers = term.pairs.buffers(len(positions))
    forces = first.forces.copy()
    second = term.compute(positions + 0.01, cell, species, layer, lists)
    assert term.pairs.buffers(len(positions)) is buffers
    assert np.array_equal(first.forces, forces)     # the first result was not overwritten
    assert not np.array_equal(second.forces, forces)


def test_rows_longer_than_a_block():
    """A 7 A skin makes rows of the half list longer than the kernel's block (BLOCK entries):
    the rows are then done in several blocks, and the result is that of a short-skin list."""
    positions, cell, species, layer = bilayer(9, 9, slide=0.3, sigma=0.08, seed=31)
    term = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES)
    results = []
    for skin in (0.3, 7.0):
        lists = neighbor_lists_for(term.requests, skin=skin)
        for nl in set(lists.values()):
            nl.build(positions, cell, layer)
        if skin > 1.0:
            assert np.diff(lists["inter"].half_list().offsets).max() > interlayer_kernels.BLOCK
        results.append(term.compute(positions, cell, species, layer, lists))
    short, long = results
    assert abs(short.energy - long.energy) < 1e-12 * len(positions)
    assert np.abs(short.forces - long.forces).max() < 1e-12
    assert np.abs(short.virial - long.virial).max() < 1e-10


def test_energy_parts_and_attraction_repulsion():
    positions, cell, species, layer = bilayer(3, 4, slide=0.25, sigma=0.05, seed=28)
    term = InterlayerTerm(DEFAULT_ILP_FILE, SPECIES)
    ilp = ILPTerm(DEFAULT_ILP_FILE, SPECIES)
    lists = neighbor_lists(term, positions, cell, layer)
    result = term.compute(positions, cell, species, layer, lists)
    ilp.compute(positions, cell, species, layer, lists)
    for part in ("attraction", "repulsion"):
        assert term.energy_parts[part] == pytest.approx(ilp.energy_parts[part], rel=1e-12)
    assert term.energy_parts["attraction"] < 0 < term.energy_parts["repulsion"]
    assert result.parts["ilp"] == term.energy_parts["attraction"] + term.energy_parts[
        "repulsion"]
