"""ILP + shielded Coulomb in one pass over a half interlayer list.

The physics is that of :mod:`slidesim.kernels.ilp` (attraction, repulsion with normals, taper)
and :mod:`slidesim.kernels.coulomb` (q_i q_j Tap / (r^3 + 1/lambda^3)^(1/3)); what this module
changes is how the work is laid out:

- the list holds each unordered pair (i, j, image) once (:func:`slidesim.kernels.neighbors.
  build_half_list`), the owner i chosen by the parity of i + j so that rows are balanced; one
  visit computes r, 1/r and the taper once and evaluates the attraction, the repulsion in both
  orders (i with its normal n_i for rho_ij, j with n_j for rho_ji: the repulsion is not
  symmetric) and the Coulomb pair;
- the species parameters of both orders come from one row of :func:`pair_table`;
- each row is gathered into contiguous per-species sections, so the arithmetic runs as a SIMD
  loop with the parameters as constants; its exponentials and the screened inverse
  (r^3 + a)^(-1/3) come from :mod:`slidesim.kernels.vecmath` (plain arithmetic, within an ulp
  of ``exp`` and 2 ulp of ``1 / cbrt``), because calls to glibc would keep the loop scalar;
- work is split into a fixed number of chunks of atoms, each scattering into its own force and
  normal-gradient buffers (allocated by the caller once per list build), so the result does not
  depend on the number of threads at all, not even through round-off.

Nothing is skipped inside the cutoff: the repulsion reaches ~1e-12 eV per pair at 16 A (N-N,
lambda = 2.06/A), above the round-off of the sums it enters, so it is evaluated for every pair.
"""

import numpy as np
from numba import njit, prange

from slidesim.kernels import FASTMATH, vecmath
from slidesim.kernels.ilp import C6, C_REP, D_VDW, DELTA2INV, EPSILON, LAMBDA, SEFF, Z0
from slidesim.kernels.taper import taper_inverse

#: columns of a row of :func:`pair_table` (per ordered species pair s_i, s_j)
TABLE_COLUMNS = ("z0_ij", "lambda_ij", "delta2inv_ij", "half_epsilon_ij", "C_ij",
                 "z0_ji", "lambda_ji", "delta2inv_ji", "half_epsilon_ji", "C_ji",
                 "C6", "d", "inv_seff", "d_over_seff", "qq", "a3", "coulomb_shift")
(T_Z0, T_LAMBDA, T_DELTA2INV, T_HALF_EPS, T_C,
 T_Z0_JI, T_LAMBDA_JI, T_DELTA2INV_JI, T_HALF_EPS_JI, T_C_JI,
 T_C6, T_D, T_INV_SEFF, T_D_OVER_SEFF, T_QQ, T_A3, T_COULOMB_SHIFT) = range(17)


def pair_table(ilp_params, charges, inv_lambda, qqr2e, cutoff):
    """Per ordered species pair, everything one visit needs: (S, S, len(TABLE_COLUMNS)).

    ilp_params (S, S, 8) in the columns of slidesim.kernels.ilp.PARAM_COLUMNS; charges (S,) [e];
    inv_lambda (S, S) [A]; qqr2e [eV A / e^2]; cutoff [A] (for the untapered Coulomb shift).
    Row [s_i, s_j] holds the repulsion parameters of the order (i, j) and of (j, i), the
    attraction's C6, d, 1/seff, d/seff, qq = qqr2e q_i q_j [eV A], a3 = (1/lambda)^3 [A^3] and
    qq (Rc^3 + a3)^(-1/3) [eV]. Plain NumPy, evaluated in the same order as the older kernels.
    """
    n_species = ilp_params.shape[0]
    table = np.zeros((n_species, n_species, len(TABLE_COLUMNS)))
    for si in range(n_species):
        for sj in range(n_species):
            for offset, (a, b) in ((0, (si, sj)), (5, (sj, si))):
                table[si, sj, offset + 0] = ilp_params[a, b, Z0]
                table[si, sj, offset + 1] = ilp_params[a, b, LAMBDA]
                table[si, sj, offset + 2] = ilp_params[a, b, DELTA2INV]
                table[si, sj, offset + 3] = 0.5 * ilp_params[a, b, EPSILON]
                table[si, sj, offset + 4] = ilp_params[a, b, C_REP]
            table[si, sj, T_C6] = ilp_params[si, sj, C6]
            table[si, sj, T_D] = ilp_params[si, sj, D_VDW]
            # reciprocals here: a division per pair costs more than the rest of a product
            table[si, sj, T_INV_SEFF] = 1.0 / ilp_params[si, sj, SEFF]
            table[si, sj, T_D_OVER_SEFF] = ilp_params[si, sj, D_VDW] / ilp_params[si, sj, SEFF]
            qq = (qqr2e * charges[si]) * charges[sj]
            a3 = inv_lambda[si, sj] * inv_lambda[si, sj] * inv_lambda[si, sj]
            table[si, sj, T_QQ] = qq
            table[si, sj, T_A3] = a3
            table[si, sj, T_COULOMB_SHIFT] = qq / np.cbrt(cutoff * cutoff * cutoff + a3)
    return table


#: entries of a row handled per block; per species of j, a block's entries sit in scratch
#: sections of this length (see :func:`scratch_shape`)
BLOCK = 256
#: fields of a scratch section, each BLOCK long: filled by the gather (del, rsq, n_j), then
#: by the arithmetic (the pair force on i and tj, the scale of del in g_j)
(S_DX, S_DY, S_DZ, S_RSQ, S_NX, S_NY, S_NZ, S_FX, S_FY, S_FZ, S_TJ) = range(11)
N_FIELDS = 11


def scratch_shape(n_chunks, n_species):
    """Shapes of the two scratch arrays of :func:`interlayer_pairs`: float64 and int32."""
    return (n_chunks, n_species * N_FIELDS * BLOCK), (n_chunks, n_species * BLOCK)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def interlayer_pairs(positions, species, normals, half_offsets, half_neighbors, half_images,
                     shift_table, table, cutoff, use_taper, chunk_forces, chunk_g, chunk_sums,
                     scratch, scratch_j):
    """The pair sums of ILP + shielded Coulomb over a half list, into per-chunk buffers.

    positions (N, 3) [A]; species (N,) int64; normals (N, 3) [1], unit normals; half list:
    half_offsets (N+1,) int64, half_neighbors (M,) int32, half_images (M,) int32 rows of
    shift_table (n_images, 3) [A], with r_ij = positions[j] + shift - positions[i] (pairs at
    r >= cutoff are skipped here); table from :func:`pair_table`; cutoff [A] (Rcut);
    use_taper: Tap(r / Rcut) on both (False: ILP cut at Rcut, Coulomb shifted to zero there).
    Outputs, overwritten, one slice per chunk c (n_chunks = chunk_forces.shape[0]):
    chunk_forces (n_chunks, N, 3) [eV/A], the pair forces; chunk_g (n_chunks, N, 3) [eV/A],
    g_q = sum_j scale_qj del_qj, the repulsion's gradient with respect to n_q (minus sign: the
    force through the normal on atom p is -(d n_q / d r_p)^T g_q);
    chunk_sums (n_chunks, 9): energies [eV] attraction, repulsion, Coulomb, virial (6) [eV].
    scratch, scratch_j: work arrays of :func:`scratch_shape` (contents irrelevant).

    Each row is done in blocks of at most BLOCK entries, in three loops: a gather that keeps
    the pairs inside the cutoff, sorted by the species of j into contiguous sections; the
    arithmetic over each section, with that species pair's parameters as constants and
    :mod:`slidesim.kernels.vecmath`'s exp and inverse cube root, which LLVM turns into SIMD
    instructions; and the scatter of the forces on j and of g_j.
    """
    n_atoms = positions.shape[0]
    n_chunks = chunk_forces.shape[0]
    n_species = table.shape[0]
    cutoff_sq = cutoff * cutoff
    inv_cutoff = 1.0 / cutoff
    for c in prange(n_chunks):
        forces = chunk_forces[c]
        g = chunk_g[c]
        buf = scratch[c]
        jbuf = scratch_j[c]
        counts = np.zeros(n_species, np.int64)
        forces[:] = 0.0
        g[:] = 0.0
        e_att = 0.0
        e_rep = 0.0
        e_coul = 0.0
        w_xx = 0.0
        w_yy = 0.0
        w_zz = 0.0
        w_xy = 0.0
        w_xz = 0.0
        w_yz = 0.0
        for i in range(c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks):
            si = species[i]
            xi, yi, zi = positions[i, 0], positions[i, 1], positions[i, 2]
            nxi, nyi, nzi = normals[i, 0], normals[i, 1], normals[i, 2]
            fxi = 0.0
            fyi = 0.0
            fzi = 0.0
            gxi = 0.0
            gyi = 0.0
            gzi = 0.0
            # row sums first: the Coulomb pairs cancel strongly, short sums lose less
            e_att_i = 0.0
            e_rep_i = 0.0
            e_coul_i = 0.0
            for block_start in range(half_offsets[i], half_offsets[i + 1], BLOCK):
                block_end = min(block_start + BLOCK, half_offsets[i + 1])
                # 1. gather: del = r_i - r_j (LAMMPS's sign) and n_j of the pairs inside Rcut
                counts[:] = 0
                for k in range(block_start, block_end):
                    j = half_neighbors[k]
                    s = half_images[k]
                    dx = xi - positions[j, 0] - shift_table[s, 0]
                    dy = yi - positions[j, 1] - shift_table[s, 1]
                    dz = zi - positions[j, 2] - shift_table[s, 2]
                    rsq = dx * dx + dy * dy + dz * dz
                    if rsq >= cutoff_sq:
                        continue
                    sj = species[j]
                    n = counts[sj]
                    at = sj * (N_FIELDS * BLOCK) + n
                    buf[at + S_DX * BLOCK] = dx
                    buf[at + S_DY * BLOCK] = dy
                    buf[at + S_DZ * BLOCK] = dz
                    buf[at + S_RSQ * BLOCK] = rsq
                    buf[at + S_NX * BLOCK] = normals[j, 0]
                    buf[at + S_NY * BLOCK] = normals[j, 1]
                    buf[at + S_NZ * BLOCK] = normals[j, 2]
                    jbuf[sj * BLOCK + n] = j
                    counts[sj] = n + 1
                for sj in range(n_species):
                    count = counts[sj]
                    if count == 0:
                        continue
                    base = sj * (N_FIELDS * BLOCK)
                    c6 = table[si, sj, T_C6]
                    d_vdw = table[si, sj, T_D]
                    inv_seff = table[si, sj, T_INV_SEFF]
                    d_over_seff = table[si, sj, T_D_OVER_SEFF]
                    lam = table[si, sj, T_LAMBDA]
                    z0 = table[si, sj, T_Z0]
                    delta2inv = table[si, sj, T_DELTA2INV]
                    half_eps = table[si, sj, T_HALF_EPS]
                    c_rep = table[si, sj, T_C]
                    lam_ji = table[si, sj, T_LAMBDA_JI]
                    z0_ji = table[si, sj, T_Z0_JI]
                    delta2inv_ji = table[si, sj, T_DELTA2INV_JI]
                    half_eps_ji = table[si, sj, T_HALF_EPS_JI]
                    c_rep_ji = table[si, sj, T_C_JI]
                    qq = table[si, sj, T_QQ]
                    a3 = table[si, sj, T_A3]
                    coulomb_shift = table[si, sj, T_COULOMB_SHIFT]
                    # 2. the arithmetic of each pair (no calls: LLVM vectorises this loop)
                    for n in range(count):
                        dx = buf[base + S_DX * BLOCK + n]
                        dy = buf[base + S_DY * BLOCK + n]
                        dz = buf[base + S_DZ * BLOCK + n]
                        rsq = buf[base + S_RSQ * BLOCK + n]
                        nxj = buf[base + S_NX * BLOCK + n]
                        nyj = buf[base + S_NY * BLOCK + n]
                        nzj = buf[base + S_NZ * BLOCK + n]
                        r = np.sqrt(rsq)
                        rinv = 1.0 / r
                        if use_taper:
                            tap, dtap = taper_inverse(r, inv_cutoff)
                        else:
                            tap = 1.0
                            dtap = 0.0

                        # attraction: -Tap C6 / r^6 / (1 + exp(-d (r / seff - 1)))
                        r2inv = rinv * rinv
                        r6inv = r2inv * r2inv * r2inv
                        damping = 1.0 + vecmath.exp(-d_vdw * (r * inv_seff - 1.0))
                        damping_inv = 1.0 / damping
                        v_vdw = -c6 * r6inv * damping_inv
                        f_pair = (-6.0 * c6 * r6inv * r2inv * damping_inv
                                  + c6 * d_over_seff * (damping - 1.0) * damping_inv * damping_inv
                                  * r6inv * r2inv * r)
                        f_pair = f_pair * tap - v_vdw * dtap * rinv
                        e_att_i += v_vdw * tap

                        # repulsion of (i, j) with n_i and of (j, i) with n_j; del_ji = -del
                        prod_i = nxi * dx + nyi * dy + nzi * dz
                        prod_j = nxj * dx + nyj * dy + nzj * dz
                        exp0 = vecmath.exp(-lam * (r - z0))
                        f_rho = vecmath.exp(-(rsq - prod_i * prod_i) * delta2inv) * c_rep
                        e_pair = half_eps + f_rho
                        v_ij = exp0 * e_pair
                        ft_ij = 2.0 * exp0 * f_rho * delta2inv
                        fr_ij = lam * exp0 * rinv * e_pair + ft_ij

                        exp0_ji = vecmath.exp(-lam_ji * (r - z0_ji))
                        f_rho = vecmath.exp(-(rsq - prod_j * prod_j) * delta2inv_ji) * c_rep_ji
                        e_pair = half_eps_ji + f_rho
                        v_ji = exp0_ji * e_pair
                        ft_ji = 2.0 * exp0_ji * f_rho * delta2inv_ji
                        fr_ji = lam_ji * exp0_ji * rinv * e_pair + ft_ji

                        v_rep = v_ij + v_ji
                        e_rep_i += tap * v_rep
                        # radial part of both orders (the force on j of (j, i) is along -del)
                        f_pair += (fr_ij + fr_ji) * tap - v_rep * dtap * rinv

                        # shielded Coulomb: qq Tap (r^3 + 1/lambda^3)^(-1/3)
                        eps_r = vecmath.inv_cbrt(r * r * r + a3)
                        v_coul = qq * eps_r
                        eps_r2 = eps_r * eps_r
                        f_coul = qq * r * eps_r2 * eps_r2
                        if use_taper:
                            f_pair += f_coul * tap - v_coul * dtap * rinv
                            e_coul_i += v_coul * tap
                        else:
                            f_pair += f_coul
                            e_coul_i += v_coul - coulomb_shift

                        # transverse parts: -(n_i . del) n_i ft_ij for (i, j); for (j, i) the
                        # force on j is -(n_j . del_ji) n_j ft_ji, so on i it is
                        # -(n_j . del) n_j ft_ji as well
                        ti = prod_i * ft_ij * tap
                        tj = prod_j * ft_ji * tap
                        fx = f_pair * dx - ti * nxi - tj * nxj
                        fy = f_pair * dy - ti * nyi - tj * nyj
                        fz = f_pair * dz - ti * nzi - tj * nzj
                        buf[base + S_FX * BLOCK + n] = fx
                        buf[base + S_FY * BLOCK + n] = fy
                        buf[base + S_FZ * BLOCK + n] = fz
                        buf[base + S_TJ * BLOCK + n] = tj
                        fxi += fx
                        fyi += fy
                        fzi += fz
                        w_xx += dx * fx
                        w_yy += dy * fy
                        w_zz += dz * fz
                        w_xy += dx * fy
                        w_xz += dx * fz
                        w_yz += dy * fz
                        # gradients with respect to the normals, scale del per order:
                        # (n_i . del) ft del for i and (n_j . del_ji) ft del_ji
                        # = (n_j . del) ft del for j
                        gxi += ti * dx
                        gyi += ti * dy
                        gzi += ti * dz
                    # 3. scatter onto j
                    for n in range(count):
                        j = jbuf[sj * BLOCK + n]
                        forces[j, 0] -= buf[base + S_FX * BLOCK + n]
                        forces[j, 1] -= buf[base + S_FY * BLOCK + n]
                        forces[j, 2] -= buf[base + S_FZ * BLOCK + n]
                        tj = buf[base + S_TJ * BLOCK + n]
                        g[j, 0] += tj * buf[base + S_DX * BLOCK + n]
                        g[j, 1] += tj * buf[base + S_DY * BLOCK + n]
                        g[j, 2] += tj * buf[base + S_DZ * BLOCK + n]
            e_att += e_att_i
            e_rep += e_rep_i
            e_coul += e_coul_i
            forces[i, 0] += fxi
            forces[i, 1] += fyi
            forces[i, 2] += fzi
            g[i, 0] += gxi
            g[i, 1] += gyi
            g[i, 2] += gzi
        chunk_sums[c, 0] = e_att
        chunk_sums[c, 1] = e_rep
        chunk_sums[c, 2] = e_coul
        chunk_sums[c, 3] = w_xx
        chunk_sums[c, 4] = w_yy
        chunk_sums[c, 5] = w_zz
        chunk_sums[c, 6] = w_xy
        chunk_sums[c, 7] = w_xz
        chunk_sums[c, 8] = w_yz


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def normal_forces(chunk_forces, chunk_g, chunk_sums, dnormal_dself, dnormal_dneighbor,
                  normal_neighbors, normal_vectors, normal_counts):
    """Add the forces through the normals to the per-chunk buffers, and their virial.

    The gradient g_q (summed over chunks, in chunk order) pushes atom q through d n_q / d r_q
    and each of its normal neighbours k through d n_q / d r_k; the virial takes v_k (x) F_k.
    Arrays as returned by slidesim.kernels.ilp.ilp_normals (up to 3 normal neighbours) or
    slidesim.kernels.ilp_tmd.tmd_normals (up to 6); buffers as in interlayer_pairs
    (chunk_sums[:, 3:9] gains the virial). Atom q's part goes to the chunk that owns q.
    """
    n_chunks, n_atoms = chunk_forces.shape[0], chunk_forces.shape[1]
    for c in prange(n_chunks):
        forces = chunk_forces[c]
        w_xx = 0.0
        w_yy = 0.0
        w_zz = 0.0
        w_xy = 0.0
        w_xz = 0.0
        w_yz = 0.0
        for q in range(c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks):
            gx = 0.0
            gy = 0.0
            gz = 0.0
            for b in range(n_chunks):
                gx += chunk_g[b, q, 0]
                gy += chunk_g[b, q, 1]
                gz += chunk_g[b, q, 2]
            dn_q = dnormal_dself[q]
            for b in range(3):
                forces[q, b] -= dn_q[0, b] * gx + dn_q[1, b] * gy + dn_q[2, b] * gz
            if normal_counts[q] < 2:
                continue
            for m in range(min(normal_counts[q], normal_neighbors.shape[1])):
                kk = normal_neighbors[q, m]
                dn_k = dnormal_dneighbor[q, m]
                fk0 = -(dn_k[0, 0] * gx + dn_k[1, 0] * gy + dn_k[2, 0] * gz)
                fk1 = -(dn_k[0, 1] * gx + dn_k[1, 1] * gy + dn_k[2, 1] * gz)
                fk2 = -(dn_k[0, 2] * gx + dn_k[1, 2] * gy + dn_k[2, 2] * gz)
                forces[kk, 0] += fk0
                forces[kk, 1] += fk1
                forces[kk, 2] += fk2
                v = normal_vectors[q, m]
                w_xx += v[0] * fk0
                w_yy += v[1] * fk1
                w_zz += v[2] * fk2
                w_xy += v[0] * fk1
                w_xz += v[0] * fk2
                w_yz += v[1] * fk2
        chunk_sums[c, 3] += w_xx
        chunk_sums[c, 4] += w_yy
        chunk_sums[c, 5] += w_zz
        chunk_sums[c, 6] += w_xy
        chunk_sums[c, 7] += w_xz
        chunk_sums[c, 8] += w_yz
