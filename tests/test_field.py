"""Born-charge field term: forces, virial, sign of the switching force, NVE under a static field."""

import numpy as np
import pytest

from slidesim import integrators as integ
from slidesim import units
from slidesim.fields.dipole import RegistryDipole, polarization_pC_per_m
from slidesim.fields.field import FieldTerm
from slidesim.kernels.integrators import kinetic_energy
from slidesim.models import build_model
from slidesim.models.model import Model
from slidesim.neighbors import NeighborList
from slidesim.structures import bilayer, primitive_cell


def fresh_lists(term):
    return {key: NeighborList(r.cutoff, skin=0.0, mode=r.mode) for key, r in term.requests.items()}


def compute(term, positions, cell, state):
    lists = fresh_lists(term)
    for nl in lists.values():
        nl.build(positions, cell, state.layer)
    return term.compute(positions, cell, state.species, state.layer, lists)


def distorted(seed=11, stacking=0.43):
    state = bilayer("BN", (2, 2), stacking, 2.511, 3.15)
    state.positions[0] += np.random.default_rng(seed).normal(0.0, 0.08, state.positions[0].shape)
    return state


FIELD = np.array([0.3, -0.2, -0.9])


def test_forces_are_minus_the_gradient_of_minus_e_dot_p():
    state = distorted()
    term = FieldTerm(RegistryDipole(state.species_names), FIELD)
    x0 = state.positions[0]
    forces = compute(term, x0, state.cell, state).forces
    h = 1e-5
    for i in (0, 5, 9, 14):
        for beta in range(3):
            plus, minus = x0.copy(), x0.copy()
            plus[i, beta] += h
            minus[i, beta] -= h
            numeric = -(compute(term, plus, state.cell, state).energy
                        - compute(term, minus, state.cell, state).energy) / (2 * h)
            assert forces[i, beta] == pytest.approx(numeric, abs=1e-8)
    # acoustic sum rule: a uniform field exerts no net force
    assert np.abs(forces.sum(axis=0)).max() < 1e-12


def test_virial_is_the_strain_derivative_of_the_field_energy():
    state = distorted(seed=4)
    term = FieldTerm(RegistryDipole(state.species_names), FIELD)
    virial = compute(term, state.positions[0], state.cell, state).virial
    h = 1e-6
    voigt = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
    for k, (a, b) in enumerate(voigt):
        energies = []
        for sign in (1, -1):
            # r'_b = r_b + eps r_a  =>  dU/d eps = -W_ab
            deformation = np.eye(3)
            deformation[b, a] += sign * h
            energies.append(compute(term, state.positions[0] @ deformation.T,
                                    state.cell @ deformation.T, state).energy)
        assert virial[k] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-8)


def generalized_sliding_force(term, fraction, field):
    """Force [eV/A] on the top layer along (b - a), per primitive cell, of a rigid bilayer."""
    state = bilayer("BN", (1, 1), fraction, 2.511, 3.074)
    term.field = field
    forces = compute(term, state.positions[0], state.cell, state).forces
    prim = primitive_cell(2.511)
    u = (prim[1] - prim[0]) / np.linalg.norm(prim[1] - prim[0])
    top = state.layer == 1
    return forces[top].sum(axis=0) @ u, forces[~top].sum(axis=0) @ u


def test_field_along_minus_z_pushes_ba_towards_ab():
    term = FieldTerm(RegistryDipole(("B", "N")))
    down = np.array([0.0, 0.0, -1.0])
    # at BA itself the C3 symmetry makes the sliding force vanish; just past it, towards SP,
    # and all the way to AB, E along -z drives the top layer along +(b - a)
    top_ba, _ = generalized_sliding_force(term, 1 / 3, down)
    assert abs(top_ba) < 1e-10
    for fraction in np.linspace(0.35, 0.65, 7):
        top, bottom = generalized_sliding_force(term, fraction, down)
        assert top > 1e-4
        assert bottom == pytest.approx(-top, abs=1e-12)
        # ... and E along +z pushes back towards BA
        assert generalized_sliding_force(term, fraction, -down)[0] == pytest.approx(-top)
    # consistent with Eq. 3: dU/dt = -E_z dp_perp/dt (p_perp falls from BA to AB)
    length = 2.511 * np.sqrt(3.0)
    h = 1e-4
    term.field = down
    state = bilayer("BN", (1, 1), 0.45, 2.511, 3.074)
    energies = [compute(term, bilayer("BN", (1, 1), 0.45 + s * h / length, 2.511,
                                      3.074).positions[0], state.cell, state).energy
                for s in (1, -1)]
    assert generalized_sliding_force(term, 0.45, down)[0] == pytest.approx(
        -(energies[0] - energies[1]) / (2 * h), rel=1e-6)


def test_field_term_plugs_into_a_model_and_exposes_the_dipole():
    state = bilayer("BN", (3, 3), "BA")
    potential = build_model("bn-ilp", state.species_names, state)
    field = FieldTerm(RegistryDipole(state.species_names), (0.0, 0.0, -0.5))
    model = Model("bn-ilp+field", potential.terms + [field], state.species_names)
    result = model.compute(state.positions[0], state.cell, state.species, state.layer,
                           model.neighbor_lists())
    assert "field" in result.energies
    p = polarization_pC_per_m(result.extras["dipole"], state.cell)
    assert result.energies["field"] == pytest.approx(0.5 * result.extras["dipole"][2])
    assert p[2] > 1.0   # BA is polarized along +z (at the model's own distance)
    with pytest.raises(ValueError, match="3 components"):
        field.field = (1.0, 2.0)


def run_nve(model, state, n_steps, dt=1e-3):
    """Velocity Verlet; per-step total energy [eV] and field energy [eV]."""
    integrator = integ.VelocityVerlet(dt)
    lists = model.neighbor_lists()
    args = (state.cell, state.species, state.layer, lists)
    result = model.compute(state.positions[0], *args)
    totals, field_energies = [], []
    for _ in range(n_steps):
        integrator.first_half(state, 0, result.forces, 0.0)
        result = model.compute(state.positions[0], *args)
        integrator.second_half(state, 0, result.forces, 0.0)
        ke = kinetic_energy(state.velocities[0], state.masses, units.MVV2E)
        totals.append(result.energy + ke)
        field_energies.append(result.energies.get("field", 0.0))
    return np.array(totals), np.array(field_energies)


def nve_system(field_vector):
    state = bilayer("BN", (3, 3), "BA")
    state.velocities[0] = integ.initial_velocities(state.masses, 300.0, np.random.default_rng(2))
    potential = build_model("bn-ilp", state.species_names, state)
    terms = list(potential.terms)
    if field_vector is not None:
        terms.append(FieldTerm(RegistryDipole(state.species_names), field_vector))
    return state, Model("bn-ilp+field", terms, state.species_names)


def test_nve_under_a_static_field_conserves_energy_including_minus_e_dot_p():
    n_steps = 1000
    reference, _ = run_nve(*reversed(nve_system(None)), n_steps)
    state, model = nve_system((0.15, 0.1, -0.8))
    totals, field_energies = run_nve(model, state, n_steps)
    # the field does work on the atoms: leaving -E.P out breaks conservation grossly ...
    assert np.ptp(totals - field_energies) > 10 * np.ptp(totals)
    # ... counting it, the total is conserved as well as without a field (Verlet fluctuation)
    assert np.ptp(totals) < 1.5 * np.ptp(reference)
    tenth = n_steps // 10
    drift = abs(totals[-tenth:].mean() - totals[:tenth].mean())
    assert drift < 0.2 * np.ptp(reference)
