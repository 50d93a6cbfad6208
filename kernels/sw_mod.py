"""Stillinger-Weber potential with the angular switch of LAMMPS ``pair_style sw/mod``.

    E = sum_i sum_{j != i} 1/2 phi2(r_ij) + sum_i sum_{j < k} phi3(r_ij, r_ik, theta_jik)
    phi2(r) = A eps (B (sigma/r)^p - (sigma/r)^q) exp(sigma / (r - a sigma))
    phi3 = lambda eps d^2 exp(gamma_ij sigma_ij / (r_ij - a_ij sigma_ij))
                          exp(gamma_ik sigma_ik / (r_ik - a_ik sigma_ik))
    d = s(|c|) c,  c = cos theta_jik - cos theta0

with the sw/mod switch s = 1 for |c| <= delta1, 1/2 + 1/2 cos(pi (|c| - delta1) /
(delta2 - delta1)) between delta1 and delta2, and 0 beyond (LAMMPS's ``maxdelcs``, defaults
0.25 and 0.35). It turns off angles far from theta0: in a TMD layer, the metal's S-S pairs
across the layer at cos ~ -0.7 besides the wanted ones at cos ~ 0.14.

Forces are LAMMPS's, not the gradient of E inside the window: LAMMPS differentiates phi3 as if
s were constant (d d / d cos = 1 where it is s + |c| s'). Below delta1 and beyond delta2 the
forces are exact; for a triplet inside the window they are not conservative, and MD drifts in
energy while any angle sits there (none does in a TMD layer near equilibrium: |c| < 0.1).

Parameters come from the table entry [s_i, s_j, s_k] as LAMMPS's ``elem2param``: the pair
terms and the radial factors of a triplet from [i, j, j] and [i, k, k], lambda, epsilon and
cos theta0 of a triplet from [i, j, k]. The pair energy is taken half from each side of the
full list (LAMMPS takes it once; identical when [a, b, b] and [b, a, a] agree, which the Python
side checks, as it checks [i, j, k] against [i, k, j]).

Parallel scheme: atoms are split into chunks, one prange iteration each; pair forces go to the
centre atom only (each pair is visited from both sides), three-body forces are scattered into
the chunk's own (N, 3) slice of a (n_chunks, N, 3) buffer summed afterwards.

Units: LAMMPS metal (A, eV). Parameter table: (S, S, S, N_COLUMNS) float64, columns below.
"""

import math

import numba
import numpy as np

from slidesim.kernels import FASTMATH
from slidesim.kernels.chunks import chunk_range, sum_chunks

# Columns: the 11 numbers of a LAMMPS sw entry in file order, then derived quantities
COL_EPSILON = 0      # [eV]
COL_SIGMA = 1        # [A]
COL_A = 2            # cutoff a (in units of sigma)
COL_LAMBDA = 3
COL_GAMMA = 4
COL_COS_THETA0 = 5
COL_BIG_A = 6
COL_BIG_B = 7
COL_P = 8
COL_Q = 9
COL_TOL = 10
COL_CUT = 11         # a sigma [A]
COL_CUTSQ = 12       # squared list cutoff [A^2] (a sigma unless tol > 0)
COL_SIGMA_GAMMA = 13  # [A]
COL_LAMBDA_EPSILON = 14   # [eV]
COL_LAMBDA_EPSILON2 = 15  # 2 lambda epsilon [eV]
COL_C1 = 16          # A eps p B sigma^p
COL_C2 = 17          # A eps q sigma^q
COL_C3 = 18          # A eps B sigma^(p+1)
COL_C4 = 19          # A eps sigma^(q+1)
COL_C5 = 20          # A eps B sigma^p
COL_C6 = 21          # A eps sigma^q
N_COLUMNS = 22


@numba.njit(cache=True, fastmath=FASTMATH)
def two_body(rsq, p):
    """phi2 [eV] and F/r [eV/A^2] of a pair at squared distance rsq [A^2] (force on i is
    F/r times r_i - r_j), for parameter row p = table[s_i, s_j, s_j]."""
    r = math.sqrt(rsq)
    rinvsq = 1.0 / rsq
    rp = r ** -p[COL_P]
    rq = r ** -p[COL_Q]
    rainv = 1.0 / (r - p[COL_CUT])
    rainvsq = rainv * rainv * r
    expsrainv = math.exp(p[COL_SIGMA] * rainv)
    fpair = ((p[COL_C1] * rp - p[COL_C2] * rq + (p[COL_C3] * rp - p[COL_C4] * rq) * rainvsq)
             * expsrainv * rinvsq)
    energy = (p[COL_C5] * rp - p[COL_C6] * rq) * expsrainv
    return energy, fpair


@numba.njit(cache=True, fastmath=FASTMATH)
def three_body(p_ij, p_ik, p_ijk, rsq1, rsq2, delr1, delr2, delta1, delta2, fj, fk):
    """phi3 [eV] of the triplet j-i-k and LAMMPS's forces on j and k, written to fj, fk (3,)
    [eV/A] (the force on i is -(fj + fk)). delr1 = r_j - r_i, delr2 = r_k - r_i [A];
    delta1, delta2: the sw/mod switching window on |cos theta - cos theta0|."""
    r1 = math.sqrt(rsq1)
    rinvsq1 = 1.0 / rsq1
    rainv1 = 1.0 / (r1 - p_ij[COL_CUT])
    gsrainv1 = p_ij[COL_SIGMA_GAMMA] * rainv1
    gsrainvsq1 = gsrainv1 * rainv1 / r1
    expgsrainv1 = math.exp(gsrainv1)

    r2 = math.sqrt(rsq2)
    rinvsq2 = 1.0 / rsq2
    rainv2 = 1.0 / (r2 - p_ik[COL_CUT])
    gsrainv2 = p_ik[COL_SIGMA_GAMMA] * rainv2
    gsrainvsq2 = gsrainv2 * rainv2 / r2
    expgsrainv2 = math.exp(gsrainv2)

    rinv12 = 1.0 / (r1 * r2)
    cs = (delr1[0] * delr2[0] + delr1[1] * delr2[1] + delr1[2] * delr2[2]) * rinv12
    delcs = cs - p_ijk[COL_COS_THETA0]
    # the sw/mod switch; its derivative is left out of the forces, as in LAMMPS
    abs_delcs = abs(delcs)
    if abs_delcs >= delta2:
        delcs = 0.0
    elif abs_delcs > delta1:
        delcs *= 0.5 + 0.5 * math.cos(math.pi * (abs_delcs - delta1) / (delta2 - delta1))
    delcssq = delcs * delcs

    facexp = expgsrainv1 * expgsrainv2
    facrad = p_ijk[COL_LAMBDA_EPSILON] * facexp * delcssq
    frad1 = facrad * gsrainvsq1
    frad2 = facrad * gsrainvsq2
    facang = p_ijk[COL_LAMBDA_EPSILON2] * facexp * delcs
    facang12 = rinv12 * facang
    csfacang = cs * facang
    csfac1 = rinvsq1 * csfacang
    csfac2 = rinvsq2 * csfacang
    for a in range(3):
        fj[a] = delr1[a] * (frad1 + csfac1) - delr2[a] * facang12
        fk[a] = delr2[a] * (frad2 + csfac2) - delr1[a] * facang12
    return facrad


@numba.njit(cache=True, fastmath=FASTMATH)
def _add_virial(virial, r, f, weight):
    """virial (6,) += weight Voigt(r (x) f), W_ab = r_a f_b, order xx yy zz xy xz yz."""
    virial[0] += weight * r[0] * f[0]
    virial[1] += weight * r[1] * f[1]
    virial[2] += weight * r[2] * f[2]
    virial[3] += weight * r[0] * f[1]
    virial[4] += weight * r[0] * f[2]
    virial[5] += weight * r[1] * f[2]


@numba.njit(cache=True, fastmath=FASTMATH)
def _sw_atoms(first, last, positions, species, offsets, neighbors, shifts, params, delta1,
              delta2, max_neighbors, forces, virial):
    """Energy [eV] of centre atoms first..last-1; adds their forces into forces (N, 3) [eV/A]
    and their virial into virial (6,) [eV]."""
    energy = 0.0
    local_virial = np.zeros(6)  # the chunks' rows of the caller's array share cache lines
    short_index = np.empty(max_neighbors, np.int64)
    short_vec = np.empty((max_neighbors, 3))
    short_rsq = np.empty(max_neighbors)
    f_pair = np.empty(3)
    fj = np.empty(3)
    fk = np.empty(3)
    for i in range(first, last):
        s_i = species[i]
        n_short = 0
        for slot in range(offsets[i], offsets[i + 1]):
            j = neighbors[slot]
            rsq = 0.0
            for a in range(3):
                short_vec[n_short, a] = positions[j, a] + shifts[slot, a] - positions[i, a]
                rsq += short_vec[n_short, a] * short_vec[n_short, a]
            if rsq < params[s_i, species[j], species[j], COL_CUTSQ]:
                short_index[n_short] = j
                short_rsq[n_short] = rsq
                n_short += 1

        # pairs: half the energy from each side; the full force on i from i's side
        for jj in range(n_short):
            s_j = species[short_index[jj]]
            e_pair, fpair = two_body(short_rsq[jj], params[s_i, s_j, s_j])
            energy += 0.5 * e_pair
            for a in range(3):
                # r_i - r_j = -short_vec
                f_pair[a] = -short_vec[jj, a] * fpair
                forces[i, a] += f_pair[a]
            # W = sum over pairs (r_i - r_j) (x) F_i, half of it from each side
            _add_virial(local_virial, short_vec[jj], f_pair, -0.5)

        # triplets j-i-k, each unordered {j, k} once
        for jj in range(n_short - 1):
            j = short_index[jj]
            s_j = species[j]
            p_ij = params[s_i, s_j, s_j]
            for kk in range(jj + 1, n_short):
                k = short_index[kk]
                s_k = species[k]
                energy += three_body(p_ij, params[s_i, s_k, s_k], params[s_i, s_j, s_k],
                                     short_rsq[jj], short_rsq[kk], short_vec[jj],
                                     short_vec[kk], delta1, delta2, fj, fk)
                for a in range(3):
                    forces[i, a] -= fj[a] + fk[a]
                    forces[j, a] += fj[a]
                    forces[k, a] += fk[a]
                _add_virial(local_virial, short_vec[jj], fj, 1.0)
                _add_virial(local_virial, short_vec[kk], fk, 1.0)
    for a in range(6):
        virial[a] += local_virial[a]
    return energy


@numba.njit(cache=True, parallel=True)
def sw_mod_energy_forces(positions, species, offsets, neighbors, shifts, params, delta1, delta2,
                         n_chunks):
    """sw/mod energy, forces and virial of N atoms.

    positions (N, 3) float64 [A] (may be unwrapped); species (N,) int64, index into the table;
    offsets (N+1,), neighbors (M,) int64, shifts (M, 3) float64 [A]: full CSR neighbour list
    with r_ij = positions[j] + shifts[slot] - positions[i] (pairs beyond the table's cutoffs
    are skipped here); params (S, S, S, N_COLUMNS) float64; delta1 <= delta2: the switching
    window on |cos theta - cos theta0| [1] (delta1 = delta2 = 2: plain SW, since
    |cos theta - cos theta0| < 2); n_chunks: number of per-thread work chunks (the result
    depends on it only through round-off).
    Returns (energy [eV], forces (N, 3) [eV/A], virial (6,) [eV], W_ab = sum r_a F_b, Voigt
    xx yy zz xy xz yz).
    """
    n_atoms = positions.shape[0]
    n_chunks = max(1, min(n_chunks, n_atoms))
    max_neighbors = 1
    for i in range(n_atoms):
        max_neighbors = max(max_neighbors, offsets[i + 1] - offsets[i])
    force_parts = np.zeros((n_chunks, n_atoms, 3))
    virial_parts = np.zeros((n_chunks, 6))
    energy_parts = np.zeros(n_chunks)
    for chunk in numba.prange(n_chunks):
        first, last = chunk_range(chunk, n_chunks, n_atoms)
        energy_parts[chunk] = _sw_atoms(first, last, positions, species, offsets, neighbors,
                                        shifts, params, delta1, delta2, max_neighbors,
                                        force_parts[chunk], virial_parts[chunk])
    forces = sum_chunks(force_parts)
    virial = np.zeros(6)
    energy = 0.0
    for chunk in range(n_chunks):
        energy += energy_parts[chunk]
        for a in range(6):
            virial[a] += virial_parts[chunk, a]
    return energy, forces, virial
