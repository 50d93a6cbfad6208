"""Integrator kernels: velocity Verlet pieces, Nose-Hoover chain, Langevin (BAOAB) noise step.

All arrays are one replica: positions/velocities/forces (N, 3) [A, A/ps, eV/A], masses (N,) [amu].
Constants (``ftm2v``, ``mvv2e``, ``boltzmann``) are passed in from :mod:`slidesim.units` so that the
kernels stay free of globals.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def kinetic_energy(velocities, masses, mvv2e):
    """Kinetic energy [eV] = 1/2 sum m v^2."""
    total = 0.0
    for i in range(velocities.shape[0]):
        v2 = velocities[i, 0] ** 2 + velocities[i, 1] ** 2 + velocities[i, 2] ** 2
        total += masses[i] * v2
    return 0.5 * mvv2e * total


@njit(cache=True)
def kick(velocities, forces, masses, dt_half_ftm2v):
    """v += (dt/2) F/m (in place); ``dt_half_ftm2v`` = dt/2 * ftm2v [A/ps / (eV/A / amu)]."""
    for i in range(velocities.shape[0]):
        scale = dt_half_ftm2v / masses[i]
        for d in range(3):
            velocities[i, d] += scale * forces[i, d]


@njit(cache=True)
def drift(positions, velocities, dt):
    """x += dt v (in place); dt [ps]."""
    for i in range(positions.shape[0]):
        for d in range(3):
            positions[i, d] += dt * velocities[i, d]


@njit(cache=True)
def scale(velocities, factor):
    """v *= factor (in place)."""
    for i in range(velocities.shape[0]):
        for d in range(3):
            velocities[i, d] *= factor


@njit(cache=True)
def remove_momentum(velocities, masses):
    """Subtract the centre-of-mass velocity (in place), so the total momentum is zero."""
    p = np.zeros(3)
    total_mass = 0.0
    for i in range(velocities.shape[0]):
        total_mass += masses[i]
        for d in range(3):
            p[d] += masses[i] * velocities[i, d]
    for i in range(velocities.shape[0]):
        for d in range(3):
            velocities[i, d] -= p[d] / total_mass


@njit(cache=True)
def nose_hoover_chain_half_step(chain, t_current, t_target, dof, t_freq, dt, n_loops, boltzmann):
    """Advance a Nose-Hoover chain by dt/2 and return the velocity scale factor.

    The Trotter scheme of LAMMPS ``fix nvt`` (Martyna, Tuckerman, Tobias, Klein 1996): chain masses
    Q_0 = dof kB T_target / t_freq^2, Q_k = kB T_target / t_freq^2, ``n_loops`` sub-steps (tloop).
    chain: (3, M) float64 rows eta [1], eta_dot [1/ps], eta_dotdot [1/ps^2], updated in place.
    t_current, t_target [K]; dof: degrees of freedom; t_freq = 1/Tdamp [1/ps]; dt [ps].
    The caller multiplies the velocities by the returned factor.
    """
    m = chain.shape[1]
    eta = chain[0]
    eta_dot = np.zeros(m + 1)  # eta_dot[m] = 0 closes the chain
    eta_dot[:m] = chain[1]
    eta_dotdot = chain[2]
    kt = boltzmann * t_target
    ke_target = dof * kt
    mass = np.empty(m)
    mass[0] = dof * kt / (t_freq * t_freq)
    for k in range(1, m):
        mass[k] = kt / (t_freq * t_freq)
    ke_current = dof * boltzmann * t_current
    eta_dotdot[0] = (ke_current - ke_target) / mass[0] if mass[0] > 0.0 else 0.0
    sub = 1.0 / n_loops
    dt2, dt4, dt8 = 0.5 * dt, 0.25 * dt, 0.125 * dt
    total_factor = 1.0
    for _ in range(n_loops):
        for k in range(m - 1, 0, -1):
            expfac = np.exp(-sub * dt8 * eta_dot[k + 1])
            eta_dot[k] = (eta_dot[k] * expfac + eta_dotdot[k] * sub * dt4) * expfac
        expfac = np.exp(-sub * dt8 * eta_dot[1])
        eta_dot[0] = (eta_dot[0] * expfac + eta_dotdot[0] * sub * dt4) * expfac
        factor = np.exp(-sub * dt2 * eta_dot[0])
        total_factor *= factor
        t_current *= factor * factor
        ke_current = dof * boltzmann * t_current
        eta_dotdot[0] = (ke_current - ke_target) / mass[0] if mass[0] > 0.0 else 0.0
        for k in range(m):
            eta[k] += sub * dt2 * eta_dot[k]
        eta_dot[0] = (eta_dot[0] * expfac + eta_dotdot[0] * sub * dt4) * expfac
        for k in range(1, m):
            expfac = np.exp(-sub * dt8 * eta_dot[k + 1])
            eta_dot[k] *= expfac
            eta_dotdot[k] = (mass[k - 1] * eta_dot[k - 1] ** 2 - kt) / mass[k]
            eta_dot[k] = (eta_dot[k] + eta_dotdot[k] * sub * dt4) * expfac
    chain[1, :] = eta_dot[:m]
    return total_factor


@njit(cache=True)
def nose_hoover_chain_energy(chain, t_target, dof, t_freq, boltzmann):
    """Energy [eV] stored in the chain; potential + kinetic + this is conserved."""
    m = chain.shape[1]
    kt = boltzmann * t_target
    energy = 0.0
    for k in range(m):
        mass = (dof if k == 0 else 1.0) * kt / (t_freq * t_freq)
        energy += (dof if k == 0 else 1.0) * kt * chain[0, k] + 0.5 * mass * chain[1, k] ** 2
    return energy


@njit(cache=True)
def nose_hoover_chain_init(chain, dof, t_freq):
    """Set eta_dotdot of links k >= 1 from eta_dot, as LAMMPS does at the start of a run.

    eta_dotdot_k = (Q_{k-1} eta_dot_{k-1}^2 - kB T) / Q_k with the masses of
    :func:`nose_hoover_chain_half_step`; the temperature cancels out of the ratio.
    """
    m = chain.shape[1]
    f2 = t_freq * t_freq
    for k in range(1, m):
        weight = dof if k == 1 else 1.0
        chain[2, k] = weight * chain[1, k - 1] ** 2 - f2


@njit(cache=True)
def langevin_thermalize(velocities, masses, friction_factor, noise_scale, kt_mvv2e_inv, noise):
    """Ornstein-Uhlenbeck velocity update of BAOAB Langevin dynamics (in place).

    v <- c v + sqrt((1 - c^2) kT / m) xi, with c = ``friction_factor`` = exp(-dt/damp),
    ``noise_scale`` = sqrt(1 - c^2), ``kt_mvv2e_inv`` = kB T / mvv2e [amu (A/ps)^2] and
    ``noise`` (N, 3) standard normal numbers.
    """
    for i in range(velocities.shape[0]):
        sigma = noise_scale * np.sqrt(kt_mvv2e_inv / masses[i])
        for d in range(3):
            velocities[i, d] = friction_factor * velocities[i, d] + sigma * noise[i, d]
