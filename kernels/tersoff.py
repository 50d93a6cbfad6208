"""Tersoff bond-order potential, term for term as LAMMPS ``pair_style tersoff`` (no shift).

    E = sum_i sum_{j != i} 1/2 [ fc(r_ij) A exp(-lam1 r_ij) - b_ij fc(r_ij) B exp(-lam2 r_ij) ]
    b_ij = (1 + (beta zeta_ij)^n)^(-1/(2n))
    zeta_ij = sum_{k != i, j} fc(r_ik) g(cos theta_ijk) exp([lam3 (r_ij - r_ik)]^m)
    g(cos) = gamma (1 + c^2/d^2 - c^2 / (d^2 + (cos theta0 - cos)^2))
    fc(r) = 1 (r < R - D), 1/2 (1 - sin(pi/2 (r - R)/D)) (|r - R| <= D), 0 (r > R + D)

Parameters of the pair i-j (A, lam1, lam2, B, R, D, beta, n) come from the table entry
[s_i, s_j, s_j]; those of a triplet (m, gamma, lam3, c, d, cos theta0 and the R, D of fc(r_ik))
from [s_i, s_j, s_k], exactly as LAMMPS's ``elem3param``. b_ij uses LAMMPS's asymptotic branches
(thresholds c1..c4 on beta zeta) and the exponent [lam3 dr]^m is clamped at |.| > 69.0776 as
LAMMPS does. m must be 1 or 3.

The repulsive pair energy is taken half from each direction of the full list; LAMMPS takes it
once from one direction, which is identical when the pair parameters of [a, b, b] and [b, a, a]
agree (the Python side checks this).

Parallel scheme: atoms are split into ``n_chunks`` contiguous chunks, one prange iteration
each; every chunk scatters its forces into its own (N, 3) slice of a (n_chunks, N, 3) buffer
that is summed afterwards, so no two threads write the same memory.

Units: LAMMPS metal (A, eV). Parameter table: (S, S, S, N_COLUMNS) float64, columns below.
"""

import math

import numba
import numpy as np

from slidesim.kernels.chunks import sum_chunks

# Columns of the parameter table: the 14 numbers of a LAMMPS tersoff entry in file order,
# then quantities derived from them.
COL_M = 0            # exponent m (1 or 3)
COL_GAMMA = 1
COL_LAMBDA3 = 2      # [1/A]
COL_C = 3
COL_D = 4
COL_COS_THETA0 = 5   # "h" in LAMMPS
COL_N = 6            # exponent n of the bond order
COL_BETA = 7
COL_LAMBDA2 = 8      # [1/A]
COL_B = 9            # [eV]
COL_R = 10           # cutoff centre [A]
COL_D_CUT = 11       # cutoff half-width D [A]
COL_LAMBDA1 = 12     # [1/A]
COL_A = 13           # [eV]
COL_CUTSQ = 14       # (R + D)^2 [A^2]
COL_C1 = 15          # bond-order branch thresholds on beta*zeta, as LAMMPS's c1..c4
COL_C2 = 16
COL_C3 = 17
COL_C4 = 18
N_COLUMNS = 19

#: LAMMPS clamps exp(arg) of the three-body exponential outside +-this value
EXP_ARG_LIMIT = 69.0776


@numba.njit(cache=True)
def cutoff_function(r, big_r, big_d):
    """Smooth sine cutoff fc(r) [1] and dfc/dr [1/A] for centre R and half-width D [A]."""
    if r < big_r - big_d:
        return 1.0, 0.0
    if r > big_r + big_d:
        return 0.0, 0.0
    phase = 0.5 * math.pi * (r - big_r) / big_d
    return 0.5 * (1.0 - math.sin(phase)), -(0.25 * math.pi / big_d) * math.cos(phase)


@numba.njit(cache=True)
def bond_order(zeta, p):
    """b_ij [1] and db_ij/dzeta [1] for zeta [1] and parameter row p, with LAMMPS's branches."""
    beta = p[COL_BETA]
    n = p[COL_N]
    x = beta * zeta
    if x > p[COL_C1]:
        return 1.0 / math.sqrt(x), beta * -0.5 * x ** -1.5
    if x > p[COL_C2]:
        x_mn = x ** -n
        b = (1.0 - x_mn / (2.0 * n)) / math.sqrt(x)
        db = beta * (-0.5 * x ** -1.5 * (1.0 - (1.0 + 1.0 / (2.0 * n)) * x_mn))
        return b, db
    if x < p[COL_C4]:
        return 1.0, 0.0
    if x < p[COL_C3]:
        return 1.0 - x ** n / (2.0 * n), -0.5 * beta * x ** (n - 1.0)
    x_n = x ** n
    b = (1.0 + x_n) ** (-1.0 / (2.0 * n))
    # (1 + x^n)^(-1 - 1/(2n)) = b / (1 + x^n): one pow fewer than LAMMPS, same to round-off
    db = -0.5 * b / (1.0 + x_n) * x_n / zeta
    return b, db


@numba.njit(cache=True)
def angular_function(cos_theta, p):
    """g(cos theta) [1] and dg/dcos [1] for parameter row p."""
    c2 = p[COL_C] * p[COL_C]
    d2 = p[COL_D] * p[COL_D]
    h_minus_cos = p[COL_COS_THETA0] - cos_theta
    inv_denominator = 1.0 / (d2 + h_minus_cos * h_minus_cos)
    g = p[COL_GAMMA] * (1.0 + c2 / d2 - c2 * inv_denominator)
    dg = p[COL_GAMMA] * (-2.0 * c2 * h_minus_cos) * inv_denominator * inv_denominator
    return g, dg


@numba.njit(cache=True)
def length_exponential(r_ij, r_ik, p):
    """exp([lam3 (r_ij - r_ik)]^m) [1] and its derivative by (r_ij - r_ik) [1/A], m = 1 or 3."""
    dr = r_ij - r_ik
    lam3 = p[COL_LAMBDA3]
    if p[COL_M] == 3.0:
        scaled = lam3 * dr
        arg = scaled * scaled * scaled
    else:
        arg = lam3 * dr
    if arg > EXP_ARG_LIMIT:
        value = 1.0e30
    elif arg < -EXP_ARG_LIMIT:
        value = 0.0
    else:
        value = math.exp(arg)
    if p[COL_M] == 3.0:
        return value, 3.0 * lam3 * lam3 * lam3 * dr * dr * value
    return value, lam3 * value


@numba.njit(cache=True)
def _add_virial(virial, r, f):
    """virial (6,) += Voigt(r (x) f), W_ab = r_a f_b, order xx yy zz xy xz yz."""
    virial[0] += r[0] * f[0]
    virial[1] += r[1] * f[1]
    virial[2] += r[2] * f[2]
    virial[3] += r[0] * f[1]
    virial[4] += r[0] * f[2]
    virial[5] += r[1] * f[2]


@numba.njit(cache=True)
def _tersoff_atoms(first, last, positions, species, offsets, neighbors, shifts, params,
                   cutmax_sq, max_neighbors, forces, virial):
    """Energy [eV] of atoms first..last-1 (centre atom i); adds their forces into forces (N, 3)
    [eV/A] (on i and on its neighbours) and their virial into virial (6,) [eV]."""
    energy = 0.0
    # local accumulator: the chunks' output rows share cache lines (false sharing)
    local_virial = np.zeros(6)
    short_index = np.empty(max_neighbors, np.int64)
    short_vec = np.empty((max_neighbors, 3))
    short_r = np.empty(max_neighbors)
    term_on = np.zeros(max_neighbors, np.bool_)
    # per k: cos theta_ijk, fc(r_ik), dfc, g, dg/dcos, exp factor, its derivative
    factors = np.empty((max_neighbors, 7))
    f_pair = np.empty(3)
    f_j = np.empty(3)
    f_k = np.empty(3)
    for i in range(first, last):
        s_i = species[i]
        # short list: neighbours within the largest Tersoff cutoff (the list has a skin)
        n_short = 0
        for slot in range(offsets[i], offsets[i + 1]):
            j = neighbors[slot]
            r2 = 0.0
            for a in range(3):
                short_vec[n_short, a] = positions[j, a] + shifts[slot, a] - positions[i, a]
                r2 += short_vec[n_short, a] * short_vec[n_short, a]
            if r2 < cutmax_sq:
                short_index[n_short] = j
                short_r[n_short] = math.sqrt(r2)
                n_short += 1
        for jj in range(n_short):
            j = short_index[jj]
            p_ij = params[s_i, species[j], species[j]]
            r_ij = short_r[jj]
            if r_ij * r_ij >= p_ij[COL_CUTSQ]:
                continue
            rij_vec = short_vec[jj]
            fc_ij, dfc_ij = cutoff_function(r_ij, p_ij[COL_R], p_ij[COL_D_CUT])

            # zeta_ij; the per-k factors are kept for the force pass below
            zeta = 0.0
            for kk in range(n_short):
                term_on[kk] = False
                if kk == jj:
                    continue
                p_ijk = params[s_i, species[j], species[short_index[kk]]]
                r_ik = short_r[kk]
                if r_ik * r_ik >= p_ijk[COL_CUTSQ]:
                    continue
                cos_theta = 0.0
                for a in range(3):
                    cos_theta += rij_vec[a] * short_vec[kk, a]
                cos_theta /= r_ij * r_ik
                fc_ik, dfc_ik = cutoff_function(r_ik, p_ijk[COL_R], p_ijk[COL_D_CUT])
                g, dg = angular_function(cos_theta, p_ijk)
                ex, dex = length_exponential(r_ij, r_ik, p_ijk)
                term_on[kk] = True
                factors[kk, 0] = cos_theta
                factors[kk, 1] = fc_ik
                factors[kk, 2] = dfc_ik
                factors[kk, 3] = g
                factors[kk, 4] = dg
                factors[kk, 5] = ex
                factors[kk, 6] = dex
                zeta += fc_ik * g * ex

            b_ij, db_ij = bond_order(zeta, p_ij)
            exp_rep = math.exp(-p_ij[COL_LAMBDA1] * r_ij)
            exp_att = math.exp(-p_ij[COL_LAMBDA2] * r_ij)
            repulsive = p_ij[COL_A] * exp_rep * fc_ij
            d_repulsive = p_ij[COL_A] * exp_rep * (dfc_ij - p_ij[COL_LAMBDA1] * fc_ij)
            attractive = -p_ij[COL_B] * exp_att * fc_ij
            d_attractive = p_ij[COL_B] * exp_att * (p_ij[COL_LAMBDA2] * fc_ij - dfc_ij)
            energy += 0.5 * repulsive + 0.5 * b_ij * attractive
            # radial force at fixed zeta: dE/dr_ij along r_ij_hat
            de_dr = 0.5 * d_repulsive + 0.5 * b_ij * d_attractive
            for a in range(3):
                f_pair[a] = -de_dr * rij_vec[a] / r_ij
                forces[j, a] += f_pair[a]
                forces[i, a] -= f_pair[a]
            _add_virial(local_virial, rij_vec, f_pair)

            # three-body forces through zeta: F = -dE/dzeta * dzeta/dr
            prefactor = -0.5 * attractive * db_ij
            if prefactor == 0.0:
                continue
            for kk in range(n_short):
                if not term_on[kk]:
                    continue
                k = short_index[kk]
                r_ik = short_r[kk]
                rik_vec = short_vec[kk]
                cos_theta, fc_ik, dfc_ik = factors[kk, 0], factors[kk, 1], factors[kk, 2]
                g, dg, ex, dex = factors[kk, 3], factors[kk, 4], factors[kk, 5], factors[kk, 6]
                for a in range(3):
                    u_ij = rij_vec[a] / r_ij
                    u_ik = rik_vec[a] / r_ik
                    dcos_drj = (u_ik - cos_theta * u_ij) / r_ij
                    dcos_drk = (u_ij - cos_theta * u_ik) / r_ik
                    dzeta_drj = fc_ik * (dg * dcos_drj * ex + g * dex * u_ij)
                    dzeta_drk = (dfc_ik * g * ex * u_ik + fc_ik * dg * dcos_drk * ex
                                 - fc_ik * g * dex * u_ik)
                    f_j[a] = prefactor * dzeta_drj
                    f_k[a] = prefactor * dzeta_drk
                    forces[j, a] += f_j[a]
                    forces[k, a] += f_k[a]
                    forces[i, a] -= f_j[a] + f_k[a]
                _add_virial(local_virial, rij_vec, f_j)
                _add_virial(local_virial, rik_vec, f_k)
    for a in range(6):
        virial[a] += local_virial[a]
    return energy


@numba.njit(cache=True, parallel=True)
def tersoff_energy_forces(positions, species, offsets, neighbors, shifts, params, n_chunks):
    """Tersoff energy, forces and virial of N atoms.

    positions (N, 3) float64 [A] (may be unwrapped); species (N,) int64, index into the table;
    offsets (N+1,), neighbors (M,) int64, shifts (M, 3) float64 [A]: full CSR neighbour list
    with r_ij = positions[j] + shifts[slot] - positions[i], pairs beyond a cutoff are skipped
    here; params (S, S, S, N_COLUMNS) float64; n_chunks: number of per-thread work chunks.
    Returns (energy [eV], forces (N, 3) [eV/A], virial (6,) [eV], W_ab = sum r_a F_b, Voigt
    xx yy zz xy xz yz).
    """
    n_atoms = positions.shape[0]
    n_chunks = max(1, min(n_chunks, n_atoms))
    chunk_size = (n_atoms + n_chunks - 1) // n_chunks
    cutmax_sq = 0.0
    for s1 in range(params.shape[0]):
        for s2 in range(params.shape[1]):
            for s3 in range(params.shape[2]):
                cutmax_sq = max(cutmax_sq, params[s1, s2, s3, COL_CUTSQ])
    max_neighbors = 1
    for i in range(n_atoms):
        max_neighbors = max(max_neighbors, offsets[i + 1] - offsets[i])

    force_parts = np.zeros((n_chunks, n_atoms, 3))
    virial_parts = np.zeros((n_chunks, 6))
    energy_parts = np.zeros(n_chunks)
    for chunk in numba.prange(n_chunks):
        first = chunk * chunk_size
        last = min(n_atoms, first + chunk_size)
        energy_parts[chunk] = _tersoff_atoms(first, last, positions, species, offsets,
                                             neighbors, shifts, params, cutmax_sq,
                                             max_neighbors, force_parts[chunk],
                                             virial_parts[chunk])

    forces = sum_chunks(force_parts)
    virial = np.zeros(6)
    energy = 0.0
    for chunk in range(n_chunks):
        energy += energy_parts[chunk]
        for a in range(6):
            virial[a] += virial_parts[chunk, a]
    return energy, forces, virial
