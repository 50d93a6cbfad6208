"""Shielded Coulomb interaction between layers (LAMMPS ``pair_style coul/shield``).

Maaravi et al., J. Phys. Chem. C 121, 22826 (2017): for atoms i, j in different layers

    E_ij = qqr2e q_i q_j Tap(r / Rcut) / (r^3 + (1 / lambda_ij)^3)^(1/3)

with the interlayer taper of :func:`slidesim.kernels.ilp.taper`. Without the taper LAMMPS shifts
the energy instead, E_ij = qqr2e q_i q_j (eps(r) - eps(Rcut)); both are offered here.
"""

import numpy as np
from numba import njit, prange

from slidesim.kernels.ilp import taper


@njit(cache=True)
def _screened_inverse(rsq, r, inv_lambda):
    """(r^3 + (1/lambda)^3)^(-1/3) [1/A], in LAMMPS's operation order."""
    th = rsq * r + inv_lambda * inv_lambda * inv_lambda
    return 1.0 / th ** (1.0 / 3.0)


@njit(cache=True, parallel=True)
def shielded_coulomb(positions, species, offsets, neighbors, shifts, charges, inv_lambda,
                     cutoff, use_taper, qqr2e):
    """Energy [eV], forces (N, 3) [eV/A] and virial (6,) [eV] of the shielded Coulomb term.

    positions (N, 3) [A]; species (N,) int64; offsets/neighbors/shifts: full CSR interlayer
    list (pairs at r >= cutoff are skipped here); charges (S,) [e]; inv_lambda (S, S) [A],
    1 / lambda of each species pair; cutoff [A] (Rcut); use_taper: taper (True) or shift the
    energy at the cutoff (False); qqr2e [eV A / e^2].
    Each pair is met from both ends of the full list: atom i takes its whole pair force and
    half the pair energy and virial, so the loop writes only to index i.
    """
    n_atoms = positions.shape[0]
    forces = np.zeros((n_atoms, 3))
    atom_energies = np.zeros(n_atoms)
    atom_virials = np.zeros((n_atoms, 6))
    cutoff_sq = cutoff * cutoff
    for i in prange(n_atoms):
        for k in range(offsets[i], offsets[i + 1]):
            j = neighbors[k]
            # LAMMPS's del = r_i - r_j
            dx = positions[i, 0] - positions[j, 0] - shifts[k, 0]
            dy = positions[i, 1] - positions[j, 1] - shifts[k, 1]
            dz = positions[i, 2] - positions[j, 2] - shifts[k, 2]
            rsq = dx * dx + dy * dy + dz * dz
            if rsq >= cutoff_sq:
                continue
            r = np.sqrt(rsq)
            lam_inv = inv_lambda[species[i], species[j]]
            eps_r = _screened_inverse(rsq, r, lam_inv)
            qq = qqr2e * charges[species[i]] * charges[species[j]]
            v_coul = qq * eps_r
            eps_r2 = eps_r * eps_r
            # -dV/dr / r = qq r eps^4 (untapered)
            f_coul = qq * r * eps_r2 * eps_r2
            if use_taper:
                tap, dtap = taper(r, cutoff)
                f_pair = f_coul * tap - v_coul * dtap / r
                e_pair = v_coul * tap
            else:
                f_pair = f_coul
                e_pair = v_coul - qq * _screened_inverse(cutoff_sq, cutoff, lam_inv)
            forces[i, 0] += f_pair * dx
            forces[i, 1] += f_pair * dy
            forces[i, 2] += f_pair * dz
            atom_energies[i] += 0.5 * e_pair
            half = 0.5 * f_pair
            atom_virials[i, 0] += half * dx * dx
            atom_virials[i, 1] += half * dy * dy
            atom_virials[i, 2] += half * dz * dz
            atom_virials[i, 3] += half * dx * dy
            atom_virials[i, 4] += half * dx * dz
            atom_virials[i, 5] += half * dy * dz
    virial = np.zeros(6)
    for a in range(6):
        virial[a] = atom_virials[:, a].sum()
    return atom_energies.sum(), forces, virial
