"""Shielded Coulomb interaction between layers (LAMMPS ``pair_style coul/shield``).

Maaravi et al., J. Phys. Chem. C 121, 22826 (2017): for atoms i, j in different layers

    E_ij = qqr2e q_i q_j Tap(r / Rcut) / (r^3 + (1 / lambda_ij)^3)^(1/3)

with the interlayer taper of :func:`slidesim.kernels.taper.taper`. Without the taper LAMMPS
shifts the energy instead, E_ij = qqr2e q_i q_j (eps(r) - eps(Rcut)); both are offered here.
"""

import numpy as np
from numba import njit, prange

from slidesim.kernels import FASTMATH
from slidesim.kernels.chunks import sum_chunks
from slidesim.kernels.taper import taper


@njit(cache=True, fastmath=FASTMATH)
def _screened_inverse(rsq, r, inv_lambda):
    """(r^3 + (1/lambda)^3)^(-1/3) [1/A]."""
    return 1.0 / np.cbrt(rsq * r + inv_lambda * inv_lambda * inv_lambda)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def shielded_coulomb(positions, species, offsets, neighbors, shifts, charges, inv_lambda,
                     cutoff, use_taper, qqr2e, n_chunks):
    """Energy [eV], forces (N, 3) [eV/A] and virial (6,) [eV] of the shielded Coulomb term.

    positions (N, 3) [A]; species (N,) int64; offsets/neighbors/shifts: full CSR interlayer
    list (pairs at r >= cutoff are skipped here); charges (S,) [e]; inv_lambda (S, S) [A],
    1 / lambda of each species pair; cutoff [A] (Rcut); use_taper: taper (True) or shift the
    energy at the cutoff (False); qqr2e [eV A / e^2]; n_chunks: work chunks (numba threads).

    Each unordered pair is in the full list twice; the entry whose (i, j) the parity of i + j
    picks computes it and pushes both atoms (balanced over atoms, half the work of visiting
    both). Chunks scatter into their own (N, 3) force buffers, summed afterwards.
    """
    n_atoms = positions.shape[0]
    n_chunks = max(1, min(n_chunks, n_atoms))
    chunk_forces = np.zeros((n_chunks, n_atoms, 3))
    chunk_energies = np.zeros(n_chunks)
    chunk_virials = np.zeros((n_chunks, 6))
    cutoff_sq = cutoff * cutoff
    for c in prange(n_chunks):
        forces = chunk_forces[c]
        virial = np.zeros(6)
        energy = 0.0
        for i in range(c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks):
            qi = qqr2e * charges[species[i]]
            for k in range(offsets[i], offsets[i + 1]):
                j = neighbors[k]
                if ((i + j) & 1 == 1) != (j > i):
                    continue
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
                qq = qi * charges[species[j]]
                v_coul = qq * eps_r
                eps_r2 = eps_r * eps_r
                # -dV/dr / r = qq r eps^4 (untapered)
                f_coul = qq * r * eps_r2 * eps_r2
                if use_taper:
                    tap, dtap = taper(r, cutoff)
                    f_pair = f_coul * tap - v_coul * dtap / r
                    energy += v_coul * tap
                else:
                    f_pair = f_coul
                    energy += v_coul - qq * _screened_inverse(cutoff_sq, cutoff, lam_inv)
                fx, fy, fz = f_pair * dx, f_pair * dy, f_pair * dz
                forces[i, 0] += fx
                forces[i, 1] += fy
                forces[i, 2] += fz
                forces[j, 0] -= fx
                forces[j, 1] -= fy
                forces[j, 2] -= fz
                virial[0] += dx * fx
                virial[1] += dy * fy
                virial[2] += dz * fz
                virial[3] += dx * fy
                virial[4] += dx * fz
                virial[5] += dy * fz
        chunk_energies[c] = energy
        chunk_virials[c] = virial
    forces = sum_chunks(chunk_forces)
    virial = np.zeros(6)
    for c in range(n_chunks):
        for a in range(6):
            virial[a] += chunk_virials[c, a]
    return chunk_energies.sum(), forces, virial
