"""Interlayer potential for transition-metal dichalcogenides, LAMMPS ``pair_style ilp/tmd``
(Ouyang et al., J. Chem. Theory Comput. 17, 7237 (2021)).

The pair terms are those of ``ilp/graphene/hbn`` (:mod:`slidesim.kernels.ilp`): attraction
-Tap(r) C6 / r^6 / (1 + exp(-d (r / (sR reff) - 1))) once per pair, repulsion
Tap(r) exp(-lambda (r - z0)) (epsilon / 2 + C exp(-rho_ij^2 / delta^2)) once per ordered pair
with the normal n_i of i. What differs is the normal, as in LAMMPS's ``ILP_neigh`` and
``calc_normal``:

- an atom's normal neighbours are the atoms of its own layer, species *and sheet* (lower
  chalcogens, metals, upper chalcogens: LAMMPS's TMD set-up gives each sheet its own type)
  within rcut(s_i, s_i) of the parameter file, at most six (more is an error in LAMMPS).
- they are ordered into a chain: with six, starting from the first in list order; with fewer,
  starting from the first (in list order) that has exactly one other normal neighbour within
  rcut of itself (an end of an open chain). Each next one is the first unused neighbour (list
  order) within rcut of the current one. With v_m = r_(k_m) - r_i in that order,
- six neighbours (a full ring): n_i ∝ sum_m v_m x v_(m+1 mod 6) / 6, which does not depend on
  r_i; 2-5 neighbours (an edge): n_i ∝ sum_{m < count-1} v_m x v_(m+1) / (count - 1);
  0 or 1: n_i = z. The sign of n_i depends on the order, the energy does not: on a full ring
  (each neighbour adjacent to two others) or a clean open chain the list order only fixes the
  sign, so the energy does not depend on it. Where the neighbours close no ring although there
  are six (a sheet torn apart: one neighbour pushed beyond rcut from its ring neighbours), or
  form no clean chain, the order depends on the neighbour list: LAMMPS's result then depends
  on its binning and slidesim follows its own list order, so the two differ there.

Parameter rows are indexed [s_i, s_j, column] with the columns of
:data:`slidesim.kernels.ilp.PARAM_COLUMNS`, energies in eV.
"""

import numpy as np
from numba import njit, prange

from slidesim.kernels import FASTMATH
from slidesim.kernels.chunks import chunk_range, sum_chunks
from slidesim.kernels.ilp import (C6, C_REP, D_VDW, DELTA2INV, EPSILON, LAMBDA, SEFF, Z0,
                                  _add_virial, _cross_jacobian, _normalize_jacobian,
                                  _repulsion)
from slidesim.kernels.taper import taper

#: most normal neighbours of a TMD atom (a full ring)
MAX_NORMAL_NEIGHBORS = 6


@njit(cache=True)
def _distance_sq(u, v):
    """|u - v|^2 of two (3,) vectors."""
    return (u[0] - v[0]) ** 2 + (u[1] - v[1]) ** 2 + (u[2] - v[2]) ** 2


@njit(cache=True)
def _ring_order(vectors, n, cutoff_sq, order, used):
    """LAMMPS's ordering of n normal neighbours (ILP_neigh): order[m] = slot of the m-th.

    vectors (>= n, 3) [A] in list order; cutoff_sq [A^2]: neighbours closer than this to each
    other are adjacent in the chain; order, used: (>= n,) scratch."""
    for m in range(n):
        order[m] = m
        used[m] = False
    if n == MAX_NORMAL_NEIGHBORS:
        used[0] = True
    elif n > 0:
        # start from an end of the chain: a neighbour with exactly one adjacent neighbour
        for first in range(n):
            adjacent = 0
            for m in range(n):
                if m == first:
                    continue
                d2 = _distance_sq(vectors[m], vectors[first])
                if d2 != 0.0 and d2 < cutoff_sq:
                    adjacent += 1
            if adjacent == 1:
                order[0] = first
                used[first] = True
                break
    for position in range(n):
        current = order[position]
        for m in range(n):
            if used[m]:
                continue
            d2 = _distance_sq(vectors[m], vectors[current])
            if d2 != 0.0 and d2 < cutoff_sq:
                if position + 1 < n:
                    order[position + 1] = m
                used[m] = True
                break


@njit(cache=True, parallel=True)
def tmd_normals(positions, species, sheet, offsets, neighbors, shifts, normal_cutoff_sq,
                n_chunks):
    """Normals of every atom and their derivatives, from a full intralayer neighbour list.

    positions (N, 3) [A]; species (N,) int64; sheet (N,) int64, the sublayer of each atom
    (:func:`slidesim.tmd.sublayers`); offsets/neighbors/shifts: full CSR intralayer list
    (pairs beyond the normal cutoff are skipped here); normal_cutoff_sq (S, S) [A^2],
    rcut(s_i, s_k)^2; n_chunks: work chunks (the result does not depend on it).
    Returns
        normals (N, 3) [1], unit normals;
        dnormal_dself (N, 3, 3) [1/A], [i, a, b] = d n_i,a / d r_i,b;
        dnormal_dneighbor (N, 6, 3, 3) [1/A], [i, m, a, b] = d n_i,a / d r_(k_m),b;
        normal_neighbors (N, 6) int64, atom index k_m of i's m-th normal neighbour, in
        LAMMPS's ring order;
        normal_vectors (N, 6, 3) [A], v_m = r_(k_m) + shift - r_i;
        normal_counts (N,) int64, number of normal neighbours; -1 flags a zero-length normal,
        more than 6 a crowded atom (both errors in LAMMPS, and for the caller; the normal of
        a crowded atom is left as z).
    """
    n_atoms = positions.shape[0]
    n_max = MAX_NORMAL_NEIGHBORS
    normals = np.zeros((n_atoms, 3))
    dnormal_dself = np.zeros((n_atoms, 3, 3))
    dnormal_dneighbor = np.zeros((n_atoms, n_max, 3, 3))
    normal_neighbors = np.zeros((n_atoms, n_max), np.int64)
    normal_vectors = np.zeros((n_atoms, n_max, 3))
    normal_counts = np.zeros(n_atoms, np.int64)
    n_chunks = max(1, min(n_chunks, n_atoms))
    for c in prange(n_chunks):
        found = np.zeros((n_max, 3))
        found_index = np.zeros(n_max, np.int64)
        order = np.zeros(n_max, np.int64)
        used = np.zeros(n_max, np.bool_)
        edge = np.zeros(3)
        n_raw = np.zeros(3)
        first, last = chunk_range(c, n_chunks, n_atoms)
        for i in range(first, last):
            s_i = species[i]
            count = 0
            for slot in range(offsets[i], offsets[i + 1]):
                j = neighbors[slot]
                if species[j] != s_i or sheet[j] != sheet[i]:
                    continue
                dx = positions[j, 0] + shifts[slot, 0] - positions[i, 0]
                dy = positions[j, 1] + shifts[slot, 1] - positions[i, 1]
                dz = positions[j, 2] + shifts[slot, 2] - positions[i, 2]
                rsq = dx * dx + dy * dy + dz * dz
                if rsq != 0.0 and rsq < normal_cutoff_sq[s_i, s_i]:
                    if count < n_max:
                        found[count, 0] = dx
                        found[count, 1] = dy
                        found[count, 2] = dz
                        found_index[count] = j
                    count += 1
            normal_counts[i] = count
            if count <= 1 or count > n_max:
                normals[i, 2] = 1.0
                continue
            _ring_order(found, count, normal_cutoff_sq[s_i, s_i], order, used)
            vet = normal_vectors[i]
            for m in range(count):
                normal_neighbors[i, m] = found_index[order[m]]
                for a in range(3):
                    vet[m, a] = found[order[m], a]
            ring = count == n_max
            n_planes = count if ring else count - 1
            for a in range(3):
                n_raw[a] = 0.0
            for m in range(n_planes):
                u, w = vet[m], vet[(m + 1) % count]
                n_raw[0] += u[1] * w[2] - u[2] * w[1]
                n_raw[1] += u[2] * w[0] - u[0] * w[2]
                n_raw[2] += u[0] * w[1] - u[1] * w[0]
            for a in range(3):
                n_raw[a] /= n_planes
            # d n_raw / d v_m = [e_b x (v_next - v_prev)] / n_planes, the missing neighbour
            # of a chain end counting as zero
            for m in range(count):
                for a in range(3):
                    edge[a] = 0.0
                    if ring or m < count - 1:
                        edge[a] += vet[(m + 1) % count, a]
                    if ring or m > 0:
                        edge[a] -= vet[(m - 1) % count, a]
                _cross_jacobian(edge, 1.0 / n_planes, dnormal_dneighbor[i, m])
            if not ring:
                # a ring's normal does not depend on r_i; a chain's does: minus the sum
                for m in range(count):
                    for a in range(3):
                        for b in range(3):
                            dnormal_dself[i, a, b] -= dnormal_dneighbor[i, m, a, b]
            norm_sq = n_raw[0] * n_raw[0] + n_raw[1] * n_raw[1] + n_raw[2] * n_raw[2]
            if norm_sq == 0.0:
                normal_counts[i] = -1
                normals[i, 0] = 0.0
                normals[i, 1] = 0.0
                normals[i, 2] = 1.0
                continue
            norm = np.sqrt(norm_sq)
            for a in range(3):
                normals[i, a] = n_raw[a] / norm
            if not ring:
                _normalize_jacobian(n_raw, norm_sq, norm, dnormal_dself[i])
            for m in range(count):
                _normalize_jacobian(n_raw, norm_sq, norm, dnormal_dneighbor[i, m])
    return (normals, dnormal_dself, dnormal_dneighbor, normal_neighbors, normal_vectors,
            normal_counts)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def ilp_tmd_energy_forces(positions, species, offsets, neighbors, shifts, params, cutoff,
                          use_taper, normals, dnormal_dself, dnormal_dneighbor,
                          normal_neighbors, normal_vectors, normal_counts, n_chunks):
    """ilp/tmd energy, forces and virial from a full interlayer list and tmd_normals' output.

    The first, scalar kernel: ILPTMDTerm now runs the pair sums in the SIMD pass of
    :func:`slidesim.kernels.interlayer.interlayer_pairs`, and keeps this one as its reference
    (``ILPTMDTerm.compute_reference``, compared in tests/test_tmd.py).

    positions (N, 3) [A]; species (N,) int64; offsets/neighbors/shifts: full CSR interlayer
    list (pairs at r >= cutoff are skipped here); params (S, S, 8) in the columns of
    slidesim.kernels.ilp.PARAM_COLUMNS [A, 1/A, 1/A^2, eV, eV, 1, A, eV A^6]; cutoff [A], the
    taper radius Rcut; use_taper: False gives Tap = 1 (LAMMPS's ``ilp/tmd Rcut 0``).
    Returns energy_attraction [eV], energy_repulsion [eV], forces (N, 3) [eV/A] and the virial
    (6,) [eV] (xx yy zz xy xz yz, W = sum r F).

    As slidesim.kernels.ilp.ilp_energy_forces: the entry of each unordered pair that the
    parity of i + j picks computes the attraction once and the repulsion in both orders; the
    forces through the normals are linear in g_q = sum_j scale_qj del_qj, accumulated per atom
    and applied once per atom, to q and to its (up to six) normal neighbours. Each chunk of
    atoms scatters into its own (N, 3) buffers, reduced afterwards.
    """
    n_atoms = positions.shape[0]
    n_chunks = max(1, min(n_chunks, n_atoms))
    chunk_forces = np.zeros((n_chunks, n_atoms, 3))
    chunk_g = np.zeros((n_chunks, n_atoms, 3))
    chunk_energies = np.zeros((n_chunks, 2))
    chunk_virials = np.zeros((n_chunks, 6))
    cutoff_sq = cutoff * cutoff
    for c in prange(n_chunks):
        forces = chunk_forces[c]
        g = chunk_g[c]
        virial = np.zeros(6)
        e_attraction = 0.0
        e_repulsion = 0.0
        first, last = chunk_range(c, n_chunks, n_atoms)
        for i in range(first, last):
            si = species[i]
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
                sj = species[j]
                r = np.sqrt(rsq)
                if use_taper:
                    tap, dtap = taper(r, cutoff)
                else:
                    tap, dtap = 1.0, 0.0

                r2inv = 1.0 / rsq
                r6inv = r2inv * r2inv * r2inv
                c6, d_vdw, seff = params[si, sj, C6], params[si, sj, D_VDW], params[si, sj, SEFF]
                damping = 1.0 + np.exp(-d_vdw * (r / seff - 1.0))
                v_vdw = -c6 * r6inv / damping
                f_vdw = (-6.0 * c6 * r6inv * r2inv / damping
                         + c6 * d_vdw / seff * (damping - 1.0) / (damping * damping)
                         * r6inv * r2inv * r)
                f_vdw = f_vdw * tap - v_vdw * dtap / r
                e_attraction += v_vdw * tap
                fx, fy, fz = f_vdw * dx, f_vdw * dy, f_vdw * dz

                e_ij, fx_ij, fy_ij, fz_ij, scale_ij = _repulsion(
                    dx, dy, dz, rsq, r, normals[i, 0], normals[i, 1], normals[i, 2],
                    params[si, sj, LAMBDA], params[si, sj, Z0], params[si, sj, DELTA2INV],
                    0.5 * params[si, sj, EPSILON], params[si, sj, C_REP], tap, dtap)
                e_ji, fx_ji, fy_ji, fz_ji, scale_ji = _repulsion(
                    -dx, -dy, -dz, rsq, r, normals[j, 0], normals[j, 1], normals[j, 2],
                    params[sj, si, LAMBDA], params[sj, si, Z0], params[sj, si, DELTA2INV],
                    0.5 * params[sj, si, EPSILON], params[sj, si, C_REP], tap, dtap)
                e_repulsion += e_ij + e_ji
                fx += fx_ij - fx_ji
                fy += fy_ij - fy_ji
                fz += fz_ij - fz_ji
                forces[i, 0] += fx
                forces[i, 1] += fy
                forces[i, 2] += fz
                forces[j, 0] -= fx
                forces[j, 1] -= fy
                forces[j, 2] -= fz
                _add_virial(virial, dx, dy, dz, fx, fy, fz)
                g[i, 0] += scale_ij * dx
                g[i, 1] += scale_ij * dy
                g[i, 2] += scale_ij * dz
                g[j, 0] -= scale_ji * dx
                g[j, 1] -= scale_ji * dy
                g[j, 2] -= scale_ji * dz
        chunk_virials[c] = virial
        chunk_energies[c, 0] = e_attraction
        chunk_energies[c, 1] = e_repulsion
    g_total = sum_chunks(chunk_g)
    # forces through each atom q's normal: on q (d n_q / d r_q, zero on a full ring) and on
    # the neighbours defining it; the virial takes v_k (x) F_k as LAMMPS does
    for c in prange(n_chunks):
        forces = chunk_forces[c]
        virial = np.zeros(6)
        first, last = chunk_range(c, n_chunks, n_atoms)
        for q in range(first, last):
            if normal_counts[q] < 2 or normal_counts[q] > MAX_NORMAL_NEIGHBORS:
                continue
            gx, gy, gz = g_total[q, 0], g_total[q, 1], g_total[q, 2]
            dn_q = dnormal_dself[q]
            for b in range(3):
                forces[q, b] -= dn_q[0, b] * gx + dn_q[1, b] * gy + dn_q[2, b] * gz
            for m in range(normal_counts[q]):
                kk = normal_neighbors[q, m]
                dn_k = dnormal_dneighbor[q, m]
                fk0 = -(dn_k[0, 0] * gx + dn_k[1, 0] * gy + dn_k[2, 0] * gz)
                fk1 = -(dn_k[0, 1] * gx + dn_k[1, 1] * gy + dn_k[2, 1] * gz)
                fk2 = -(dn_k[0, 2] * gx + dn_k[1, 2] * gy + dn_k[2, 2] * gz)
                forces[kk, 0] += fk0
                forces[kk, 1] += fk1
                forces[kk, 2] += fk2
                v = normal_vectors[q, m]
                _add_virial(virial, v[0], v[1], v[2], fk0, fk1, fk2)
        for a in range(6):
            chunk_virials[c, a] += virial[a]
    forces = sum_chunks(chunk_forces)
    virial = np.zeros(6)
    for c in range(n_chunks):
        for a in range(6):
            virial[a] += chunk_virials[c, a]
    return chunk_energies[:, 0].sum(), chunk_energies[:, 1].sum(), forces, virial
