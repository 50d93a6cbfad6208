"""Equations of motion: NVE velocity Verlet, Nose-Hoover chain NVT, Langevin (BAOAB).

An integrator advances one replica by one step in two halves around the force call::

    integrator.first_half(state, r, forces, t_target)   # thermostat, kick, drift
    forces = model(...)                                 # new forces at the new positions
    integrator.second_half(state, r, forces, t_target)  # kick, thermostat

and states the energy its thermostat exchanged, so that
``potential + kinetic + integrator.reservoir_energy(...)`` is a conserved quantity that a test
can hold. The degrees of freedom are 3N - 3: the total momentum is removed at the start and
every integrator here keeps it zero (Langevin removes the centre-of-mass part of its noise).
"""

import numpy as np

from slidesim import units
from slidesim.kernels import integrators as kern


def degrees_of_freedom(n_atoms):
    """3N - 3: the centre-of-mass motion is removed and kept zero."""
    return 3 * n_atoms - 3


def temperature(velocities, masses):
    """Instantaneous temperature [K] of one replica, from 3N - 3 degrees of freedom."""
    ke = kern.kinetic_energy(velocities, masses, units.MVV2E)
    return 2.0 * ke / (degrees_of_freedom(len(masses)) * units.BOLTZMANN)


class VelocityVerlet:
    """Microcanonical (NVE) velocity Verlet. timestep [ps]."""

    name = "nve"
    chain_length = 0

    def __init__(self, timestep):
        if not timestep > 0:
            raise ValueError(f"timestep must be positive, got {timestep} ps")
        self.timestep = float(timestep)

    def setup(self, state, replica, t_target):
        """Prepare thermostat variables at the start (or restart) of a run."""

    def first_half(self, state, replica, forces, t_target):
        v, x = state.velocities[replica], state.positions[replica]
        kern.kick(v, forces, state.masses, 0.5 * self.timestep * units.FTM2V)
        kern.drift(x, v, self.timestep)

    def second_half(self, state, replica, forces, t_target):
        kern.kick(state.velocities[replica], forces, state.masses,
                  0.5 * self.timestep * units.FTM2V)

    def reservoir_energy(self, state, replica, t_target):
        """Energy [eV] the thermostat took out of the system (none for NVE)."""
        return 0.0

    # ---- the pieces r-RESPA composes (slidesim.step.respa_step) -------------------------------
    def thermostat_half(self, state, replica, t_target):
        """The thermostat's action over half an (outer) step (none for NVE)."""

    def kick(self, state, replica, forces, dt):
        """v += F dt / m over ``dt`` [ps]."""
        kern.kick(state.velocities[replica], forces, state.masses, dt * units.FTM2V)

    def drift(self, state, replica, dt):
        """x += v dt over ``dt`` [ps]."""
        kern.drift(state.positions[replica], state.velocities[replica], dt)


class NoseHooverChain(VelocityVerlet):
    """Nose-Hoover chain NVT, equivalent to LAMMPS ``fix nvt temp T T Tdamp tchain M tloop L``.

    timestep [ps]; tdamp [ps] (LAMMPS's Tdamp, typically 100 timesteps); chain_length M (3);
    loops: Trotter sub-steps of the chain (LAMMPS tloop, 1). The target temperature may change
    every step (ramps), as LAMMPS's ``temp Tstart Tstop``.
    """

    name = "nose-hoover"

    def __init__(self, timestep, tdamp=0.1, chain_length=3, loops=1):
        super().__init__(timestep)
        if not tdamp > 0:
            raise ValueError(f"tdamp must be positive, got {tdamp} ps")
        if chain_length < 1 or loops < 1:
            raise ValueError("chain length and loops must be at least 1")
        self.tdamp = float(tdamp)
        self.chain_length = int(chain_length)
        self.loops = int(loops)

    def _chain_step(self, state, replica, t_target):
        v = state.velocities[replica]
        t_now = temperature(v, state.masses)
        factor = kern.nose_hoover_chain_half_step(
            state.nose_hoover[replica], t_now, t_target, degrees_of_freedom(state.n_atoms),
            1.0 / self.tdamp, self.timestep, self.loops, units.BOLTZMANN)
        kern.scale(v, factor)

    def thermostat_half(self, state, replica, t_target):
        """Half a step of the chain (Trotter), at the outermost level as LAMMPS's fix nvt under
        run_style respa."""
        self._chain_step(state, replica, t_target)

    def setup(self, state, replica, t_target):
        kern.nose_hoover_chain_init(state.nose_hoover[replica], degrees_of_freedom(state.n_atoms),
                                    1.0 / self.tdamp)

    def first_half(self, state, replica, forces, t_target):
        self._chain_step(state, replica, t_target)
        super().first_half(state, replica, forces, t_target)

    def second_half(self, state, replica, forces, t_target):
        super().second_half(state, replica, forces, t_target)
        self._chain_step(state, replica, t_target)

    def reservoir_energy(self, state, replica, t_target):
        return kern.nose_hoover_chain_energy(state.nose_hoover[replica], t_target,
                                             degrees_of_freedom(state.n_atoms), 1.0 / self.tdamp,
                                             units.BOLTZMANN)


class Langevin(VelocityVerlet):
    """Langevin dynamics, BAOAB splitting (Leimkuhler & Matthews 2013). damp [ps] = 1/friction.

    ``state.bath_energy[r]`` accumulates the energy [eV] that went into the bath, so that
    potential + kinetic + it is conserved up to the discretisation error. Random numbers come from
    the replica's generator in ``state.rng_states`` (restarts continue the same stream).
    """

    name = "langevin"

    def __init__(self, timestep, damp=0.1):
        super().__init__(timestep)
        if not damp > 0:
            raise ValueError(f"damp must be positive, got {damp} ps")
        self.damp = float(damp)

    def first_half(self, state, replica, forces, t_target):
        v, x, m = state.velocities[replica], state.positions[replica], state.masses
        dt = self.timestep
        kern.kick(v, forces, m, 0.5 * dt * units.FTM2V)
        kern.drift(x, v, 0.5 * dt)
        self._thermalize(state, replica, t_target, dt)
        kern.drift(x, v, 0.5 * dt)

    def reservoir_energy(self, state, replica, t_target):
        return state.bath_energy[replica]

    def _thermalize(self, state, replica, t_target, dt):
        """The exact Ornstein-Uhlenbeck ('O') step over ``dt`` [ps], its heat to the bath."""
        v, m = state.velocities[replica], state.masses
        ke_before = kern.kinetic_energy(v, m, units.MVV2E)
        generator = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = state.rng_states[replica]
        noise = generator.standard_normal((state.n_atoms, 3))
        state.rng_states[replica] = generator.bit_generator.state
        c = np.exp(-dt / self.damp)
        kern.langevin_thermalize(v, m, c, np.sqrt(1.0 - c * c),
                                 units.BOLTZMANN * t_target / units.MVV2E, noise)
        kern.remove_momentum(v, m)
        state.bath_energy[replica] += ke_before - kern.kinetic_energy(v, m, units.MVV2E)

    def thermostat_half(self, state, replica, t_target):
        """O over half an outer step: under r-RESPA the splitting is O (BAB...) O, with the
        multiple-time-step velocity Verlet inside (slidesim.step.respa_step)."""
        self._thermalize(state, replica, t_target, 0.5 * self.timestep)


def initial_velocities(masses, temperature_K, generator):
    """Maxwell-Boltzmann velocities [A/ps] at exactly ``temperature_K``, zero total momentum.

    Like LAMMPS ``velocity all create T seed dist gaussian mom yes``: Gaussian components with
    variance kB T / m, centre-of-mass velocity removed, then scaled to the exact temperature
    with 3N - 3 degrees of freedom.
    """
    n = len(masses)
    v = generator.standard_normal((n, 3)) * np.sqrt(units.BOLTZMANN / units.MVV2E / masses)[:, None]
    kern.remove_momentum(v, masses)
    if temperature_K <= 0:
        return np.zeros((n, 3))
    t_now = temperature(v, masses)
    return v * np.sqrt(temperature_K / t_now)
