"""Interlayer potential (ILP) of Ouyang, Mandelli, Urbakh and Hod, Nano Lett. 18, 6009 (2018).

The numbers are those of LAMMPS ``pair_style ilp/graphene/hbn`` (src/INTERLAYER), term by term:

- normals: atom i's normal n_i comes from its 0-3 same-layer neighbours k within rcut(s_i, s_k).
  With 0 or 1 neighbour n_i = z; with 2, n_i = v0 x v1 / |v0 x v1|; with 3,
  n_i ∝ (v0 x v1 + v2 x v0 + v1 x v2) / 3, which does not depend on r_i. v_m = r_km - r_i.
  The sign of n_i depends on the neighbour order, the energy does not.
- attraction, once per pair: E = -Tap(r) C6 / r^6 / (1 + exp(-d (r / (sR reff) - 1)))
- repulsion, once per *ordered* pair (i, j) with the normal of i:
  E = Tap(r) exp(-lambda (r - z0)) (epsilon / 2 + C exp(-rho_ij^2 / delta^2)),
  rho_ij^2 = r^2 - (n_i . r_ij)^2, lambda = alpha / z0; summing both orders gives the paper's
  exp(..) (epsilon + C (exp(-rho_ij^2/delta^2) + exp(-rho_ji^2/delta^2))).
- Tap(x = r / Rcut) = 20 x^7 - 70 x^6 + 84 x^5 - 35 x^4 + 1 (``interlayer_taper.h``), 0 beyond.

Parameter rows (see :func:`slidesim.models.ilp.read_ilp_file`) are indexed [s_i, s_j, column]
with the columns of :data:`PARAM_COLUMNS`, energies already in eV.
"""

import numpy as np
from numba import njit, prange

from slidesim.kernels import FASTMATH
from slidesim.kernels.chunks import sum_chunks
from slidesim.kernels.taper import taper

#: columns of the per-species-pair ILP parameter array
PARAM_COLUMNS = ("z0", "lambda", "delta2inv", "epsilon", "C", "d", "seff", "C6")
Z0, LAMBDA, DELTA2INV, EPSILON, C_REP, D_VDW, SEFF, C6 = range(8)


@njit(cache=True)
def _cross_jacobian(w, scale, out):
    """out[a, b] = scale * (e_b x w)_a: derivative of (u x w) with respect to u, times scale."""
    out[0, 0] = 0.0
    out[0, 1] = scale * w[2]
    out[0, 2] = -scale * w[1]
    out[1, 0] = -scale * w[2]
    out[1, 1] = 0.0
    out[1, 2] = scale * w[0]
    out[2, 0] = scale * w[1]
    out[2, 1] = -scale * w[0]
    out[2, 2] = 0.0


@njit(cache=True)
def _normalize_jacobian(n_raw, norm_sq, norm, jac):
    """Turn d(n_raw)/dr (3, 3) in place into d(n_raw / |n_raw|)/dr."""
    for b in range(3):
        proj = (n_raw[0] * jac[0, b] + n_raw[1] * jac[1, b] + n_raw[2] * jac[2, b]) / norm
        for a in range(3):
            jac[a, b] = jac[a, b] / norm - n_raw[a] * proj / norm_sq


@njit(cache=True)
def ilp_normals(positions, species, offsets, neighbors, shifts, normal_cutoff_sq,
                keep_nearest):
    """Normals of every atom and their derivatives, from a full intralayer neighbour list.

    positions (N, 3) [A]; species (N,) int64; offsets/neighbors/shifts: full CSR intralayer
    list (pairs beyond the normal cutoff are skipped here); normal_cutoff_sq (S, S) [A^2],
    rcut(s_i, s_k)^2.
    Returns
        normals (N, 3) [1], unit normals;
        dnormal_dself (N, 3, 3) [1/A], [i, a, b] = d n_i,a / d r_i,b;
        dnormal_dneighbor (N, 3, 3, 3) [1/A], [i, m, a, b] = d n_i,a / d r_(k_m),b;
        normal_neighbors (N, 3) int64, atom index k_m of i's m-th normal neighbour;
        normal_vectors (N, 3, 3) [A], v_m = r_(k_m) + shift - r_i;
        normal_counts (N,) int64, number of normal neighbours (-1 flags a zero-length normal,
        an error for the caller). Where an atom has more than 3, LAMMPS stops with an error; so
        does the caller by default (its normal is left as z here). With ``keep_nearest`` the
        nearest 3 define the normal instead, and the count is still reported in full.
    """
    n_atoms = positions.shape[0]
    normals = np.empty((n_atoms, 3))
    dnormal_dself = np.empty((n_atoms, 3, 3))
    dnormal_dneighbor = np.empty((n_atoms, 3, 3, 3))
    normal_neighbors = np.empty((n_atoms, 3), np.int64)
    normal_vectors = np.empty((n_atoms, 3, 3))
    normal_counts = np.empty(n_atoms, np.int64)
    scratch = np.empty((n_atoms, 5, 3))
    ilp_normals_into(positions, species, offsets, neighbors, shifts, normal_cutoff_sq,
                     keep_nearest, normals, dnormal_dself, dnormal_dneighbor, normal_neighbors,
                     normal_vectors, normal_counts, scratch)
    return (normals, dnormal_dself, dnormal_dneighbor, normal_neighbors, normal_vectors,
            normal_counts)


@njit(cache=True, parallel=True)
def ilp_normals_into(positions, species, offsets, neighbors, shifts, normal_cutoff_sq,
                     keep_nearest, normals, dnormal_dself, dnormal_dneighbor, normal_neighbors,
                     normal_vectors, normal_counts, scratch):
    """:func:`ilp_normals` into caller-owned arrays of the shapes it returns (overwritten), and
    scratch (N, 5, 3), per-atom room for the raw normal and edge differences."""
    n_atoms = positions.shape[0]
    for i in prange(n_atoms):
        normals[i] = 0.0
        dnormal_dself[i] = 0.0
        dnormal_dneighbor[i] = 0.0
        normal_neighbors[i] = 0
        normal_vectors[i] = 0.0
        scratch[i] = 0.0
        vet = normal_vectors[i]
        distance_sq = scratch[i, 4]
        count = 0
        for k in range(offsets[i], offsets[i + 1]):
            j = neighbors[k]
            dx = positions[j, 0] + shifts[k, 0] - positions[i, 0]
            dy = positions[j, 1] + shifts[k, 1] - positions[i, 1]
            dz = positions[j, 2] + shifts[k, 2] - positions[i, 2]
            rsq = dx * dx + dy * dy + dz * dz
            if rsq != 0.0 and rsq < normal_cutoff_sq[species[i], species[j]]:
                slot = count
                if count >= 3 and keep_nearest:
                    # replace the farthest of the three kept so far, if this one is nearer
                    slot = 0
                    for m in range(1, 3):
                        if distance_sq[m] > distance_sq[slot]:
                            slot = m
                    if rsq >= distance_sq[slot]:
                        slot = 3
                if slot < 3:
                    vet[slot, 0] = dx
                    vet[slot, 1] = dy
                    vet[slot, 2] = dz
                    distance_sq[slot] = rsq
                    normal_neighbors[i, slot] = j
                count += 1
        normal_counts[i] = count
        n_raw = scratch[i, 0]
        if keep_nearest and count > 3:
            count = 3
        if count <= 1 or count > 3:
            normals[i, 2] = 1.0
            continue
        if count == 2:
            v0, v1 = vet[0], vet[1]
            n_raw[0] = v0[1] * v1[2] - v1[1] * v0[2]
            n_raw[1] = v0[2] * v1[0] - v1[2] * v0[0]
            n_raw[2] = v0[0] * v1[1] - v1[0] * v0[1]
            # d(v0 x v1)/dv0 = [e_b x v1], d(v0 x v1)/dv1 = -[e_b x v0]
            _cross_jacobian(v1, 1.0, dnormal_dneighbor[i, 0])
            _cross_jacobian(v0, -1.0, dnormal_dneighbor[i, 1])
            for a in range(3):
                for b in range(3):
                    dnormal_dself[i, a, b] = -(dnormal_dneighbor[i, 0, a, b]
                                               + dnormal_dneighbor[i, 1, a, b])
        else:
            v0, v1, v2 = vet[0], vet[1], vet[2]
            for a in range(3):
                b, c = (a + 1) % 3, (a + 2) % 3
                pv12 = v0[b] * v1[c] - v1[b] * v0[c]
                pv31 = v2[b] * v0[c] - v0[b] * v2[c]
                pv23 = v1[b] * v2[c] - v2[b] * v1[c]
                n_raw[a] = (pv12 + pv31 + pv23) / 3.0
            # d n_raw / d v0 = [e_b x (v1 - v2)] / 3, cyclically; d n_raw / d r_i = 0 exactly
            edges = scratch[i, 1:]
            for a in range(3):
                edges[0, a] = v1[a] - v2[a]
                edges[1, a] = v2[a] - v0[a]
                edges[2, a] = v0[a] - v1[a]
            for m in range(3):
                _cross_jacobian(edges[m], 1.0 / 3.0, dnormal_dneighbor[i, m])
        norm_sq = n_raw[0] * n_raw[0] + n_raw[1] * n_raw[1] + n_raw[2] * n_raw[2]
        if norm_sq == 0.0:
            normal_counts[i] = -1  # degenerate neighbours: LAMMPS stops with an error here
            normals[i, 2] = 1.0
            continue
        norm = np.sqrt(norm_sq)
        for a in range(3):
            normals[i, a] = n_raw[a] / norm
        if count == 2:
            _normalize_jacobian(n_raw, norm_sq, norm, dnormal_dself[i])
        for m in range(count):
            _normalize_jacobian(n_raw, norm_sq, norm, dnormal_dneighbor[i, m])


@njit(cache=True, fastmath=FASTMATH)
def _add_virial(virial, dx, dy, dz, fx, fy, fz):
    """virial (6,) += r (x) f in LAMMPS's Voigt order xx yy zz xy xz yz."""
    virial[0] += dx * fx
    virial[1] += dy * fy
    virial[2] += dz * fz
    virial[3] += dx * fy
    virial[4] += dx * fz
    virial[5] += dy * fz


@njit(cache=True, fastmath=FASTMATH)
def _repulsion(dx, dy, dz, rsq, r, nx, ny, nz, lam, z0, delta2inv, half_epsilon, c_rep, tap,
               dtap):
    """Repulsion of one ordered pair (i, j) with the normal n of i; del = r_i - r_j.

    Returns the tapered energy [eV], the force on i (= minus the force on j) [eV/A] apart from
    the part through the normal, and ``scale`` [eV/A^2]: the energy's derivative with respect to
    (n . del) is -scale, so the force through the normal on an atom q is
    -(d n / d r_q)^T (scale del).
    """
    prod = nx * dx + ny * dy + nz * dz
    rho_sq = rsq - prod * prod
    exp0 = np.exp(-lam * (r - z0))
    f_rho = np.exp(-rho_sq * delta2inv) * c_rep
    e_pair = half_epsilon + f_rho
    v_rep = exp0 * e_pair
    f_transverse = 2.0 * exp0 * f_rho * delta2inv
    f_radial = lam * exp0 / r * e_pair + f_transverse
    dtap_r = v_rep * dtap / r
    fx = (dx * f_radial - prod * nx * f_transverse) * tap - dtap_r * dx
    fy = (dy * f_radial - prod * ny * f_transverse) * tap - dtap_r * dy
    fz = (dz * f_radial - prod * nz * f_transverse) * tap - dtap_r * dz
    return tap * v_rep, fx, fy, fz, prod * f_transverse * tap


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def ilp_energy_forces(positions, species, offsets, neighbors, shifts, params, cutoff, use_taper,
                      normals, dnormal_dself, dnormal_dneighbor, normal_neighbors,
                      normal_vectors, normal_counts, n_chunks):
    """ILP energy, forces and virial from a full interlayer list and the normals of ilp_normals.

    positions (N, 3) [A]; species (N,) int64; offsets/neighbors/shifts: full CSR interlayer
    list (pairs at r >= cutoff are skipped here); params (S, S, 8) in the columns of
    PARAM_COLUMNS [A, 1/A, 1/A^2, eV, eV, 1, A, eV A^6]; cutoff [A], the taper radius Rcut;
    use_taper: False gives Tap = 1 (LAMMPS's ``ilp/graphene/hbn Rcut 0``, unshifted).
    Returns energy_attraction [eV], energy_repulsion [eV], forces (N, 3) [eV/A] and the virial
    (6,) [eV] (xx yy zz xy xz yz, W = sum r F).

    Each unordered pair is in the full list twice; the entry whose (i, j) the parity of i + j
    picks (balanced over atoms) computes the attraction once and the repulsion in both orders
    (i with its normal, j with its own), sharing r and the taper. The forces through the normals
    are linear in g_q = sum_j scale_qj del_qj, which is accumulated per atom first and applied
    once per atom afterwards. Work is split into n_chunks chunks of atoms (pass
    numba.get_num_threads(); the result depends on it only through round-off); each chunk
    scatters into its own (N, 3) buffers, reduced afterwards.
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
        # a private accumulator: rows of chunk_virials share cache lines between threads
        virial = np.zeros(6)
        e_attraction = 0.0
        e_repulsion = 0.0
        for i in range(c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks):
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

                # attraction, once per pair
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

                # repulsion of (i, j) with the normal of i, and of (j, i) with the normal of j
                e_ij, fx_ij, fy_ij, fz_ij, scale_ij = _repulsion(
                    dx, dy, dz, rsq, r, normals[i, 0], normals[i, 1], normals[i, 2],
                    params[si, sj, LAMBDA], params[si, sj, Z0], params[si, sj, DELTA2INV],
                    0.5 * params[si, sj, EPSILON], params[si, sj, C_REP], tap, dtap)
                e_ji, fx_ji, fy_ji, fz_ji, scale_ji = _repulsion(
                    -dx, -dy, -dz, rsq, r, normals[j, 0], normals[j, 1], normals[j, 2],
                    params[sj, si, LAMBDA], params[sj, si, Z0], params[sj, si, DELTA2INV],
                    0.5 * params[sj, si, EPSILON], params[sj, si, C_REP], tap, dtap)
                e_repulsion += e_ij + e_ji
                # total force on i; the force on j is its negative (del_ji = -del)
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
    # forces through the normal of each atom q: on q itself (d n_q / d r_q) and on the neighbours
    # that define it (d n_q / d r_k); the virial takes v_k (x) F_k
    for c in prange(n_chunks):
        forces = chunk_forces[c]
        virial = np.zeros(6)
        for q in range(c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks):
            gx, gy, gz = g_total[q, 0], g_total[q, 1], g_total[q, 2]
            dn_q = dnormal_dself[q]
            for b in range(3):
                forces[q, b] -= dn_q[0, b] * gx + dn_q[1, b] * gy + dn_q[2, b] * gz
            if normal_counts[q] < 2:
                continue
            for m in range(min(normal_counts[q], 3)):
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
