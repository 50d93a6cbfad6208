"""In-plane NPT: a Nose-Hoover chain thermostat with an MTK barostat on the periodic plane.

The equivalent of LAMMPS's ``fix npt temp T T Tdamp x P P Pdamp y P P Pdamp couple xy`` for
slidesim's 2D-periodic bilayers: a and b (and every in-plane coordinate) scale together by
exp(epsilon), c and z do not. The equations of motion (Martyna, Tobias and Klein 1994, with the
Trotter splitting of Martyna, Tuckerman, Tobias and Klein 1996 and Shinoda et al. 2004, as
LAMMPS's ``fix_nh``), for N atoms in a cell of volume V = area x c:

    dr_xy/dt = v_xy + v_eps r_xy            dr_z/dt = v_z
    dv_xy/dt = F_xy/m - (1 + 1/N) v_eps v_xy - eta_dot v_xy      dv_z/dt = F_z/m - eta_dot v_z
    d(eps)/dt = v_eps
    W dv_eps/dt = sum_i m (v_x^2 + v_y^2) (1 + 1/N) + W_xx + W_yy - 2 P V - v_eps W p_eta_dot

with the virial W_ab = sum r_a F_b (LAMMPS sign), the target in-plane pressure P, the barostat
mass W = 2 N kB T / omega_p^2 (omega_p = 1/Pdamp; two coupled dimensions, each of LAMMPS's mass
N kB T / omega_p^2), the particles' Nose-Hoover chain (tdamp, ``chain``) and a chain of its own
on the barostat (``pchain`` links of mass kB T / omega_p^2, as LAMMPS's ``pchain``). The
(1 + 1/N) terms are MTK's correction that makes the in-plane area distribution the isothermal-
isobaric one. Pressures here are over the cell's volume, as in LAMMPS and in minimisation
(:mod:`slidesim.minimize`): the in-plane pressure is (P_xx + P_yy)/2 with the kinetic part.

Conserved: potential + kinetic + the particles' chain energy + W v_eps^2 / 2 + P V + the
barostat chain's energy (:meth:`NoseHooverBarostat.reservoir_energy`).

The state (``State.barostat``: eps, v_eps per replica; ``State.barostat_chain``: the barostat's
chain, eta, eta_dot, eta_dotdot) is written to checkpoints. The cell belongs to the state and is
shared by the replicas, so NPT runs one replica. The integrator keeps only the virial of the
last force call between the halves of a step (not state: every step recomputes it).
"""

import math

import numpy as np

from slidesim import units
from slidesim.integrators import NoseHooverChain, degrees_of_freedom, temperature
from slidesim.kernels import integrators as kern


class NoseHooverBarostat(NoseHooverChain):
    """NPT with the in-plane cell (see the module docstring).

    timestep [ps]; tdamp [ps], chain_length, loops: the particles' chain (as
    :class:`~slidesim.integrators.NoseHooverChain`); pressure: target in-plane pressure [bar]
    over the cell's volume; pdamp [ps] (LAMMPS's Pdamp, typically 1000 timesteps); pchain: links
    of the barostat's chain (LAMMPS's default 3).
    """

    name = "nose-hoover"
    barostat = True

    def __init__(self, timestep, tdamp=0.1, chain_length=3, loops=1, pressure=0.0, pdamp=1.0,
                 pchain=3):
        super().__init__(timestep, tdamp, chain_length, loops)
        if not pdamp > 0:
            raise ValueError(f"pdamp must be positive, got {pdamp} ps")
        if pchain < 0:
            raise ValueError(f"pchain must be 0 or more, got {pchain}")
        self.pressure = float(pressure)
        self.pdamp = float(pdamp)
        self.pchain = int(pchain)
        #: virial (6,) [eV] of each replica's last forces: read by the next half step
        self.virials = {}

    # ---- bookkeeping ----------------------------------------------------------------------
    def see(self, results):
        """Keep the virials of the model results the next half steps start from."""
        for r, result in enumerate(results):
            self.virials[r] = np.array(result.virial, dtype=np.float64)

    def setup(self, state, replica, t_target):
        super().setup(state, replica, t_target)
        if state.barostat_chain.shape[2] != self.pchain:
            state.barostat_chain = np.zeros((state.n_replicas, 3, self.pchain))
        kern.nose_hoover_chain_init(state.barostat_chain[replica], 1, 1.0 / self.pdamp)

    def mass(self, state, t_target):
        """Barostat mass W [eV ps^2]: 2 N kB T / omega_p^2 (T at least 1 K)."""
        return 2.0 * state.n_atoms * units.BOLTZMANN * max(t_target, 1.0) * self.pdamp ** 2

    @staticmethod
    def volume(cell):
        return abs(np.linalg.det(cell))

    def in_plane_pressure(self, state, replica):
        """(P_xx + P_yy)/2 [bar], kinetic part included, at the current velocities."""
        v, m = state.velocities[replica], state.masses
        k2 = (m[:, None] * v[:, :2] ** 2).sum() * units.MVV2E
        w = self.virials[replica]
        return 0.5 * (k2 + w[0] + w[1]) / self.volume(state.cell) * units.NKTV2P

    # ---- the pieces of a step -------------------------------------------------------------
    def _barostat_chain(self, state, replica, t_target):
        if self.pchain == 0:
            return
        mass = self.mass(state, t_target)
        v_eps = state.barostat[replica, 1]
        t_now = mass * v_eps * v_eps / units.BOLTZMANN  # one degree of freedom
        factor = kern.nose_hoover_chain_half_step(
            state.barostat_chain[replica], t_now, max(t_target, 1.0), 1, 1.0 / self.pdamp,
            self.timestep, 1, units.BOLTZMANN)
        state.barostat[replica, 1] = v_eps * factor

    def _barostat_kick(self, state, replica, t_target):
        """v_eps over dt/2 from the pressure difference and MTK's kinetic term."""
        v, m = state.velocities[replica], state.masses
        k2 = (m[:, None] * v[:, :2] ** 2).sum() * units.MVV2E
        w = self.virials[replica]
        force = (k2 * (1.0 + 1.0 / state.n_atoms) + w[0] + w[1]
                 - 2.0 * self.pressure * self.volume(state.cell) / units.NKTV2P)
        state.barostat[replica, 1] += 0.5 * self.timestep * force / self.mass(state, t_target)

    def _scale_velocities(self, state, replica):
        """exp(-(1 + 1/N) v_eps dt/2) on the in-plane velocities."""
        factor = math.exp(-0.5 * self.timestep * (1.0 + 1.0 / state.n_atoms)
                          * state.barostat[replica, 1])
        state.velocities[replica][:, :2] *= factor

    def _scale_cell(self, state, replica, dt):
        """a, b and the in-plane coordinates times exp(v_eps dt)."""
        factor = math.exp(dt * state.barostat[replica, 1])
        state.barostat[replica, 0] += dt * state.barostat[replica, 1]
        state.positions[replica][:, :2] *= factor
        state.cell[:, :2] *= factor

    def first_half(self, state, replica, forces, t_target):
        self._barostat_chain(state, replica, t_target)
        self._chain_step(state, replica, t_target)
        self._barostat_kick(state, replica, t_target)
        self._scale_velocities(state, replica)
        kern.kick(state.velocities[replica], forces, state.masses,
                  0.5 * self.timestep * units.FTM2V)
        self._scale_cell(state, replica, 0.5 * self.timestep)
        kern.drift(state.positions[replica], state.velocities[replica], self.timestep)
        self._scale_cell(state, replica, 0.5 * self.timestep)

    def second_half(self, state, replica, forces, t_target):
        kern.kick(state.velocities[replica], forces, state.masses,
                  0.5 * self.timestep * units.FTM2V)
        self._scale_velocities(state, replica)
        self._barostat_kick(state, replica, t_target)
        self._chain_step(state, replica, t_target)
        self._barostat_chain(state, replica, t_target)

    def reservoir_energy(self, state, replica, t_target):
        """Particles' chain + barostat kinetic + P V + barostat chain [eV]."""
        energy = super().reservoir_energy(state, replica, t_target)
        v_eps = state.barostat[replica, 1]
        energy += 0.5 * self.mass(state, t_target) * v_eps * v_eps
        energy += self.pressure * self.volume(state.cell) / units.NKTV2P
        if self.pchain:
            energy += kern.nose_hoover_chain_energy(state.barostat_chain[replica],
                                                    max(t_target, 1.0), 1, 1.0 / self.pdamp,
                                                    units.BOLTZMANN)
        return energy

    def thermostat_half(self, state, replica, t_target):
        raise ValueError("the barostat does not run under r-RESPA; remove 'respa' or 'pressure' "
                         "from the integrator line")


def lattice_constant(cell, cells):
    """The in-plane lattice constant [A] of a cell holding ``cells`` = (n1, n2) primitive cells:
    sqrt(area / (n1 n2 sqrt(3)/2))."""
    area = abs(cell[0, 0] * cell[1, 1] - cell[0, 1] * cell[1, 0])
    return math.sqrt(area / (cells[0] * cells[1] * math.sqrt(3.0) / 2.0))


__all__ = ["NoseHooverBarostat", "lattice_constant", "temperature", "degrees_of_freedom"]
