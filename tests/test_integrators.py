"""Integrators: conserved quantities, canonical statistics, and parity with LAMMPS fix nvt."""

import os

import numpy as np
import pytest

from slidesim import integrators as integ
from slidesim import units
from slidesim.kernels.integrators import kinetic_energy
from slidesim.models import build_model
from slidesim.structures import bilayer

from conftest import load_lammps
from slidesim.lammps_bridge import write_data


def tether_system(n=4, temperature=300.0, seed=1, spring=5.0):
    state = bilayer("BN", (n, n), "BA")
    model = build_model("tether", state.species_names, state, spring=spring)
    generator = np.random.Generator(np.random.PCG64(seed))
    # start from the canonical distribution: random phases, no coherent oscillation
    state.positions[0] += generator.normal(0.0, np.sqrt(units.BOLTZMANN * temperature / spring),
                                           state.positions[0].shape)
    state.velocities[0] = integ.initial_velocities(state.masses, temperature, generator)
    state.rng_states = [generator.bit_generator.state]
    return state, model


def run_steps(state, model, integrator, n_steps, t_target, record=None):
    """Advance replica 0; returns per-step (potential, kinetic, reservoir) energies."""
    nl = model.neighbor_lists()
    state.nose_hoover = np.zeros((1, 3, integrator.chain_length))
    result = model.compute(state.positions[0], state.cell, state.species, state.layer, nl)
    integrator.setup(state, 0, t_target)
    history = []
    for _ in range(n_steps):
        integrator.first_half(state, 0, result.forces, t_target)
        result = model.compute(state.positions[0], state.cell, state.species, state.layer, nl)
        integrator.second_half(state, 0, result.forces, t_target)
        history.append((result.energy, kinetic_energy(state.velocities[0], state.masses, units.MVV2E),
                        integrator.reservoir_energy(state, 0, t_target)))
    return np.array(history)


def test_initial_velocities_have_exact_temperature_and_no_momentum():
    state, _ = tether_system(temperature=450.0)
    assert integ.temperature(state.velocities[0], state.masses) == pytest.approx(450.0, rel=1e-12)
    momentum = (state.masses[:, None] * state.velocities[0]).sum(axis=0)
    assert np.abs(momentum).max() < 1e-10


def _fluctuation_and_drift(make_integrator, dt, t_target, temperature, total_time=2.0):
    state, model = tether_system(temperature=temperature)
    history = run_steps(state, model, make_integrator(dt), int(round(total_time / dt)), t_target)
    conserved = history.sum(axis=1) / state.n_atoms
    tenth = len(conserved) // 10
    return np.ptp(conserved), abs(conserved[-tenth:].mean() - conserved[:tenth].mean())


@pytest.mark.parametrize("make, t_target, temperature", [
    (lambda dt: integ.VelocityVerlet(dt), 0.0, 300.0),
    (lambda dt: integ.NoseHooverChain(dt, 0.05), 600.0, 100.0),
], ids=["nve", "nose-hoover"])
def test_conserved_quantity_errors_are_second_order_without_drift(make, t_target, temperature):
    """The conserved energy's error is discretisation error only: its fluctuation and its drift
    both fall by 4 when dt halves (second order), so nothing else leaks energy."""
    coarse, drift_coarse = _fluctuation_and_drift(make, 1e-3, t_target, temperature)
    fine, drift_fine = _fluctuation_and_drift(make, 5e-4, t_target, temperature)
    assert 3.5 < coarse / fine < 4.5
    assert 3.0 < drift_coarse / drift_fine < 5.0
    assert coarse < 1e-4                                # eV/atom


def test_nve_is_time_reversible():
    state, model = tether_system()
    x0 = state.positions[0].copy()
    run_steps(state, model, integ.VelocityVerlet(1e-3), 2000, 0.0)
    state.velocities *= -1
    run_steps(state, model, integ.VelocityVerlet(1e-3), 2000, 0.0)
    assert np.abs(state.positions[0] - x0).max() < 1e-9


def test_nose_hoover_heats_to_the_target():
    state, model = tether_system(temperature=100.0)
    history = run_steps(state, model, integ.NoseHooverChain(1e-3, 0.05), 4000, 600.0)
    temps = 2 * history[:, 1] / (integ.degrees_of_freedom(state.n_atoms) * units.BOLTZMANN)
    assert temps[-2000:].mean() == pytest.approx(600.0, rel=0.1)


@pytest.mark.parametrize("make", [lambda: integ.NoseHooverChain(1e-3, 0.02),
                                  lambda: integ.Langevin(1e-3, 0.05)],
                         ids=["nose-hoover", "langevin"])
def test_canonical_averages_of_an_einstein_crystal(make):
    """<E_kin> = <E_pot> = (3N-3)/2 kB T (pot.: 3N/2 kB T), relative spread sqrt(2/dof)."""
    state, model = tether_system(n=6, temperature=300.0, seed=7)
    t_target = 300.0
    history = run_steps(state, model, make(), 30000, t_target)[5000:]
    dof = integ.degrees_of_freedom(state.n_atoms)
    temps = 2 * history[:, 1] / (dof * units.BOLTZMANN)
    # correlated samples: allow ~ 3 sigma of ~ 50 independent blocks
    assert temps.mean() == pytest.approx(t_target, rel=0.03)
    assert temps.std() / temps.mean() == pytest.approx(np.sqrt(2.0 / dof), rel=0.2)
    pot_expected = 1.5 * state.n_atoms * units.BOLTZMANN * t_target
    assert history[:, 0].mean() == pytest.approx(pot_expected, rel=0.04)


def test_langevin_conserved_quantity_accounts_for_the_bath():
    state, model = tether_system(temperature=300.0)
    history = run_steps(state, model, integ.Langevin(1e-3, 0.1), 3000, 300.0)
    conserved = history.sum(axis=1)
    assert np.ptp(history[:, 2]) > 0.1                 # heat did flow
    assert np.ptp(conserved) / state.n_atoms < 5e-5


def _lammps_nvt_tether(state, spring, t_start, t_stop, tdamp, n_steps, chain=3, tloop=1):
    lammps = load_lammps()
    import tempfile
    folder = tempfile.mkdtemp()
    data = os.path.join(folder, "x.data")
    cell = state.cell
    write_data(data, state.positions[0], cell, state.species + 1,
               [units.ATOMIC_MASS[s] for s in state.species_names],
               velocities=state.velocities[0])
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    lmp.commands_string(f"""units metal
atom_style atomic
atom_modify map array
boundary p p f
read_data {data}
pair_style zero 3.0
pair_coeff * *
fix tether all spring/self {spring!r}
fix_modify tether energy yes
fix thermostat all nvt temp {t_start!r} {t_stop!r} {tdamp!r} tchain {chain} tloop {tloop}
timestep 0.001
thermo_style custom step temp pe ke etotal f_thermostat
run {n_steps}
""")
    xs = np.array(lmp.numpy.extract_atom("x")[: state.n_atoms])
    images = np.array(lmp.numpy.extract_atom("image")[: state.n_atoms])
    vs = np.array(lmp.numpy.extract_atom("v")[: state.n_atoms])
    ids = np.array(lmp.numpy.extract_atom("id")[: state.n_atoms])
    order = np.argsort(ids)
    ix = (images & 1023) - 512
    iy = ((images >> 10) & 1023) - 512
    unwrapped = xs + ix[:, None] * cell[0] + iy[:, None] * cell[1]
    conserved = lmp.get_thermo("etotal") + lmp.extract_fix("thermostat", 0, 0)
    lmp.close()
    return unwrapped[order], vs[order], conserved


@pytest.mark.lammps
def test_nose_hoover_chain_matches_lammps_fix_nvt_step_for_step():
    """The same tethered bilayer under LAMMPS fix spring/self + fix nvt (a temperature ramp)."""
    state, _ = tether_system(n=3, temperature=300.0, seed=3, spring=4.0)
    model = build_model("tether", state.species_names, state, spring=4.0)  # anchors as LAMMPS's
    start = state.positions[0].copy(), state.velocities[0].copy()
    n_steps, tdamp = 300, 0.05
    x_ref, v_ref, conserved_ref = _lammps_nvt_tether(state, 4.0, 300.0, 500.0, tdamp, n_steps)
    state.positions[0], state.velocities[0] = start
    integrator = integ.NoseHooverChain(1e-3, tdamp)
    nl = model.neighbor_lists()
    state.nose_hoover = np.zeros((1, 3, 3))
    result = model.compute(state.positions[0], state.cell, state.species, state.layer, nl)
    integrator.setup(state, 0, 300.0)
    for step in range(1, n_steps + 1):
        t_target = 300.0 + 200.0 * step / n_steps
        integrator.first_half(state, 0, result.forces, t_target)
        result = model.compute(state.positions[0], state.cell, state.species, state.layer, nl)
        integrator.second_half(state, 0, result.forces, t_target)
    conserved = (result.energy + kinetic_energy(state.velocities[0], state.masses, units.MVV2E)
                 + integrator.reservoir_energy(state, 0, 500.0))
    assert np.abs(state.positions[0] - x_ref).max() < 1e-9
    assert np.abs(state.velocities[0] - v_ref).max() < 1e-8
    assert conserved == pytest.approx(conserved_ref, abs=1e-9)
