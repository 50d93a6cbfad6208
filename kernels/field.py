"""Forces, energy and virial of a uniform electric field acting through Born charges.

For a dipole P(r) [e A] with Born charges Z[i, alpha, beta] = dP_alpha / dr_i,beta [e], a field E
[V/A] adds the energy U = -E.P [eV] and the forces F_i,beta = -dU/dr_i,beta =
sum_alpha E_alpha Z[i, alpha, beta] [eV/A] (e * V/A = eV/A).
"""

import numpy as np
from numba import njit, prange

from slidesim.kernels import FASTMATH


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def born_charge_forces(born_charges, field, forces):
    """Write F_i,beta = sum_alpha E_alpha Z[i, alpha, beta] into forces (N, 3) [eV/A].

    born_charges (N, 3, 3) [e]; field (3,) [V/A].
    """
    for i in prange(born_charges.shape[0]):
        for beta in range(3):
            f = 0.0
            for alpha in range(3):
                f += field[alpha] * born_charges[i, alpha, beta]
            forces[i, beta] = f


@njit(cache=True, fastmath=FASTMATH)
def field_energy(dipole, field):
    """U = -E.P [eV] for a dipole (3,) [e A] in a field (3,) [V/A]."""
    return -(field[0] * dipole[0] + field[1] * dipole[1] + field[2] * dipole[2])


@njit(cache=True, fastmath=FASTMATH)
def field_virial(dipole_virial, field):
    """Voigt virial (6,) [eV] W_ab = sum_alpha E_alpha D[alpha, a, b] of the field energy.

    dipole_virial D (3, 3, 3) [e A^2] = sum over pairs rho_a dp_alpha / drho_b (see
    :func:`slidesim.kernels.dipole.registry_dipole`); field (3,) [V/A]. Order xx yy zz xy xz yz.
    """
    w = np.zeros((3, 3))
    for alpha in range(3):
        for a in range(3):
            for b in range(3):
                w[a, b] += field[alpha] * dipole_virial[alpha, a, b]
    out = np.empty(6)
    out[0], out[1], out[2] = w[0, 0], w[1, 1], w[2, 2]
    out[3], out[4], out[5] = w[0, 1], w[0, 2], w[1, 2]
    return out
