"""The ASE calculator in an electric field: energy U - E.P, forces F + Z^T E, dipole, Born
charges; against finite differences, against slidesim's own model and dipole, through extxyz."""

import io

import ase.io
import numpy as np
import pytest

from conftest import finite_difference_forces
from slidesim.ase import SlidesimCalculator
from slidesim.catalog import model_entry
from slidesim.fields.dipole import RegistryDipole
from slidesim.models import build_model
from slidesim.neighbors import NeighborList
from slidesim.structures import bilayer

#: an inclined field [V/A]: in-plane along the BA -> AB sliding direction and out of plane
FIELD = np.array([0.3 * np.cos(np.radians(150.0)), 0.3 * np.sin(np.radians(150.0)), -0.8])


def bilayer_atoms(material="BN", supercell=(2, 2), stacking="BA", seed=0, amplitude=0.05):
    """ASE Atoms of a jittered bilayer with a ``layer`` array, pbc T T F."""
    state = bilayer(material, supercell, stacking)
    atoms = state_atoms(state)
    rng = np.random.default_rng(seed)
    atoms.positions += amplitude * rng.standard_normal(atoms.positions.shape)
    return atoms


def state_atoms(state):
    from ase import Atoms

    atoms = Atoms(symbols=state.symbols(), positions=state.positions[0], cell=state.cell,
                  pbc=(True, True, False), masses=state.masses)
    atoms.set_array("layer", state.layer.copy())
    return atoms


def slidesim_reference(model_name, atoms, field):
    """Energy U - E.P, forces F + Z^T E, P and Z from slidesim's model and registry dipole,
    computed here without the calculator or the field kernels."""
    symbols = atoms.get_chemical_symbols()
    names = tuple(dict.fromkeys(symbols))
    species = np.array([names.index(s) for s in symbols])
    layer = atoms.arrays["layer"].astype(np.int64)
    positions, cell = atoms.positions.copy(), atoms.cell.array.copy()
    model = build_model(model_name, names)
    result = model.compute(positions, cell, species, layer, model.neighbor_lists())
    source = RegistryDipole(names, model_entry(model_name).dipole)
    lists = {key: NeighborList(r.cutoff, skin=1.0, mode=r.mode)
             for key, r in source.requests.items()}
    for nl in lists.values():
        nl.update(positions, cell, layer)
    dipole = source.compute(positions, cell, species, layer, lists)
    energy = result.energy - field @ dipole.dipole
    forces = result.forces + np.einsum("a,iab->ib", field, dipole.born_charges)
    return energy, forces, dipole.dipole, dipole.born_charges


@pytest.mark.parametrize("model_name", ["bn-ilp", "bn-dft"])
def test_energy_forces_dipole_equal_slidesim_model_plus_field_term(model_name):
    atoms = bilayer_atoms()
    atoms.calc = SlidesimCalculator(model_name, field=FIELD)
    energy, forces, dipole, born = slidesim_reference(model_name, atoms, FIELD)
    assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    np.testing.assert_allclose(atoms.get_forces(), forces, atol=1e-9)
    np.testing.assert_allclose(atoms.calc.get_property("dipole"), dipole, atol=1e-12)
    np.testing.assert_allclose(atoms.calc.get_property("born_charges"), born, atol=1e-12)
    terms = atoms.calc.results["term_energies"]
    assert terms["field"] == pytest.approx(-FIELD @ dipole)
    assert "energies" not in atoms.calc.results  # ASE's key is for per-atom energies only
    # the field changes the energy by exactly -E.P
    atoms.calc = SlidesimCalculator(model_name)
    assert atoms.get_potential_energy() == pytest.approx(energy + FIELD @ dipole, abs=1e-9)


def test_forces_under_a_field_are_minus_the_gradient_of_the_energy():
    atoms = bilayer_atoms(seed=1)
    calc = SlidesimCalculator("bn-ilp", field=FIELD)

    def energy_of(positions):
        trial = atoms.copy()
        trial.positions = positions
        trial.calc = calc
        return trial.get_potential_energy()

    atoms.calc = calc
    forces = atoms.get_forces()
    numeric = finite_difference_forces(energy_of, atoms.positions.copy(), h=1e-4)
    assert np.abs(forces - numeric).max() < 1e-5
    # the field's part alone is large enough to be seen: |Z^T E| of order 0.1 eV/A
    field_part = forces - SlidesimCalculator("bn-ilp").get_forces(atoms.copy())
    assert np.abs(field_part).max() > 1e-2


def test_stress_under_a_field_is_the_strain_derivative():
    atoms = bilayer_atoms(seed=2)
    atoms.calc = SlidesimCalculator("bn-ilp", field=FIELD)
    stress = atoms.get_stress(voigt=False)
    cell0, h = atoms.cell.array.copy(), 1e-6
    for a, b in [(0, 0), (1, 1), (0, 1)]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * h / (2 if a != b else 1)
            strain[b, a] += sign * h / 2 if a != b else 0
            stretched = atoms.copy()
            stretched.calc = SlidesimCalculator("bn-ilp", field=FIELD)
            stretched.set_cell(cell0 @ strain, scale_atoms=True)
            energies.append(stretched.get_potential_energy())
        derivative = (energies[0] - energies[1]) / (2 * h) / atoms.get_volume()
        assert stress[a, b] == pytest.approx(derivative, abs=1e-7)


def test_extxyz_round_trip_keeps_energy_forces_and_dipole():
    atoms = bilayer_atoms(seed=3)
    atoms.calc = SlidesimCalculator("bn-ilp", field=FIELD)
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    dipole = atoms.calc.get_property("dipole")
    buffer = io.StringIO()
    ase.io.write(buffer, atoms, format="extxyz")
    buffer.seek(0)
    back = ase.io.read(buffer, format="extxyz")
    assert back.get_potential_energy() == pytest.approx(energy, rel=1e-12)
    # extxyz writes per-atom columns with 8 decimals
    np.testing.assert_allclose(back.get_forces(), forces, rtol=0, atol=1e-8)
    np.testing.assert_allclose(back.get_dipole_moment(), dipole, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(back.arrays["layer"], atoms.arrays["layer"])


def test_mos2_bilayer_with_layer_array_under_a_field():
    atoms = bilayer_atoms("MoS2", (2, 2), "XM", seed=4, amplitude=0.03)
    atoms.calc = SlidesimCalculator("mos2-ilp", field=FIELD)
    energy, forces, dipole, born = slidesim_reference("mos2-ilp", atoms, FIELD)
    assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    np.testing.assert_allclose(atoms.get_forces(), forces, atol=1e-9)
    np.testing.assert_allclose(atoms.calc.get_property("born_charges"), born, atol=1e-12)
    # finite differences on the atoms the field pushes hardest
    field_part = np.einsum("a,iab->ib", FIELD, born)
    picked = np.argsort(-np.abs(field_part).max(axis=1))[:3]
    calc = SlidesimCalculator("mos2-ilp", field=FIELD)
    h = 1e-4
    for i in picked:
        for a in range(3):
            values = []
            for sign in (1, -1):
                trial = atoms.copy()
                trial.positions[i, a] += sign * h
                trial.calc = calc
                values.append(trial.get_potential_energy())
            assert -(values[0] - values[1]) / (2 * h) == pytest.approx(forces[i, a], abs=1e-5)
    # the calculator takes the layers from the array: without it they come from z (the same
    # here), and an array that puts one top atom in the bottom layer is another system
    reference = SlidesimCalculator("mos2-ilp").get_potential_energy(atoms.copy())
    from_z = atoms.copy()
    del from_z.arrays["layer"]
    assert SlidesimCalculator("mos2-ilp").get_potential_energy(from_z) == pytest.approx(
        reference, abs=1e-10)
    moved = atoms.copy()
    moved.arrays["layer"][np.flatnonzero(moved.arrays["layer"] == 1)[0]] = 0
    assert abs(SlidesimCalculator("mos2-ilp").get_potential_energy(moved) - reference) > 1e-3


def test_torchscript_model_born_charges_and_energy_along_a_path(tmp_path):
    pytest.importorskip("torch")
    from slidesim.ml.examples import write_example_model

    path = write_example_model(str(tmp_path / "pair_bec.pt"), cutoff=4.7)
    atoms = bilayer_atoms(seed=5)
    calc = SlidesimCalculator("torchscript", field=FIELD, path=path)
    atoms.calc = calc
    energy_1, forces_1 = atoms.get_potential_energy(), atoms.get_forces()
    born = calc.get_property("born_charges")
    names = ("B", "N")
    model = build_model("torchscript", names, path=path)
    species = np.array([names.index(s) for s in atoms.get_chemical_symbols()])
    plain = model.compute(atoms.positions.copy(), atoms.cell.array.copy(), species,
                          atoms.arrays["layer"], model.neighbor_lists())
    np.testing.assert_allclose(born, plain.extras["born_charges"], atol=1e-12)
    np.testing.assert_allclose(forces_1, plain.forces + np.einsum("a,iab->ib", FIELD, born),
                               atol=1e-10)
    # no dipole from the model: P is integrated from Z along the calls, as in the MD, so that
    # the energy change along a short step is the work of the forces (second order)
    step = 1e-3 * np.random.default_rng(6).standard_normal(atoms.positions.shape)
    moved = atoms.copy()
    moved.positions += step
    moved.calc = calc
    energy_2, forces_2 = moved.get_potential_energy(), moved.get_forces()
    work = -0.5 * np.sum((forces_1 + forces_2) * step)
    assert energy_2 - energy_1 == pytest.approx(work, abs=1e-8)


def test_bad_requests_give_one_line_errors():
    atoms = bilayer_atoms()
    with pytest.raises(ValueError, match="predicts no Born charges"):
        SlidesimCalculator("bn-ilp", field=FIELD, born_charges="model").get_forces(atoms)
    with pytest.raises(ValueError, match="three finite numbers"):
        SlidesimCalculator("bn-ilp", field=(0.1, 0.2))
    with pytest.raises(ValueError, match="born_charges must be one of"):
        SlidesimCalculator("bn-ilp", born_charges="dft")
