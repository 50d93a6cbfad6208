"""Registry dipole of a bilayer and its Born effective charges (analytic derivatives).

The dipole is a sum over atom pairs, so it depends on differences of positions only and the
Born charges Z_i = dP/dr_i obey the acoustic sum rule by construction.

Interlayer pairs (top atom t, bottom atom b, rho = r_t - r_b, in-plane part rho_xy, height z):

    p_z      = w_perp[s_t, s_b] R_perp(|rho_xy|) Zf(z)
    p_x, p_y = w_par[s_t, s_b]  R_par(|rho_xy|)  Zf(z) rho_x, rho_y

    R(rho)  = sum_k A_k exp(-rho^2 / (2 sigma_k^2)) S(rho; rho_on, rho_off)
    Zf(z)   = exp(-kappa (z - d0)) S(z; z_on, z_off)

with S the quintic switch (1 below the "on" distance, 0 beyond the "off" distance, C2 smooth).

Intralayer bonds (i, j in one layer, r = r_i - r_j): p_alpha = q[s_i, s_j, alpha] r_alpha
S(|r|; r_on, r_off), a constant Born charge per species while the bonds stay shorter than r_on.

Weights w_perp, w_par, q are antisymmetric in the two species (w[s, s'] = -w[s', s]); this is
what makes the dipole respect the stacking symmetries (DESIGN.md, "Physics notes").
"""

import numpy as np
from numba import njit, prange

from slidesim.kernels import FASTMATH


@njit(cache=True, fastmath=FASTMATH)
def switch(x, x_on, x_off):
    """Quintic switch S(x) and dS/dx: 1 for x <= x_on, 0 for x >= x_off, C2 in between."""
    if x <= x_on:
        return 1.0, 0.0
    if x >= x_off:
        return 0.0, 0.0
    width = x_off - x_on
    u = (x - x_on) / width
    s = 1.0 - u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)
    ds = -30.0 * u * u * (1.0 - u) * (1.0 - u) / width
    return s, ds


@njit(cache=True, fastmath=FASTMATH)
def _radial(rho_sq, rho, amplitudes, widths, rho_on, rho_off):
    """R(rho) and dR/drho / rho (the factor that multiplies rho_x, rho_y in the gradient)."""
    gauss, dgauss_drho_sq = 0.0, 0.0
    for k in range(amplitudes.shape[0]):
        inv_two_var = 0.5 / (widths[k] * widths[k])
        term = amplitudes[k] * np.exp(-rho_sq * inv_two_var)
        gauss += term
        dgauss_drho_sq -= term * inv_two_var
    s, ds = switch(rho, rho_on, rho_off)
    grad_over_rho = 2.0 * dgauss_drho_sq * s
    if ds != 0.0:
        grad_over_rho += gauss * ds / rho
    return gauss * s, grad_over_rho


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def registry_dipole(positions, species, layer, inter_offsets, inter_neighbors, inter_shifts,
                    intra_offsets, intra_neighbors, intra_shifts, perp_weights, par_weights,
                    perp_amplitudes, perp_widths, par_amplitudes, par_widths, rho_on, rho_off,
                    decay, reference_distance, z_on, z_off, bond_charges, bond_on, bond_off,
                    n_chunks):
    """Dipole P (3,) [e A], Born charges Z (N, 3, 3) [e] and dipole virial D (3, 3, 3) [e A^2].

    positions (N, 3) [A]; species, layer (N,) int64; inter_*: full CSR interlayer list, intra_*:
    full CSR intralayer list (r_ij = x_j + shift - x_i; pairs beyond the switches are skipped);
    perp_weights, par_weights (S, S) [1], antisymmetric, first index the top atom's species;
    perp_amplitudes [e A], par_amplitudes [e] and widths [A] (K,) of the Gaussians; rho_on,
    rho_off [A]: in-plane switch; decay kappa [1/A]; reference_distance d0 [A]; z_on, z_off [A]:
    height switch; bond_charges (S, S, 3) [e], antisymmetric in the species; bond_on, bond_off
    [A]: bond switch; n_chunks: work chunks (numba threads).

    Z[i, alpha, beta] = dP_alpha / dr_i,beta. D[alpha, a, b] = sum over pairs rho_a
    dp_alpha / drho_b, so that the field energy -E.P has the pair virial W_ab = E_alpha D[alpha,
    a, b]. Every pair is met from both atoms: each side adds half of the pair's dipole and
    virial and writes only its own atom's Z (no scatter).
    """
    n_atoms = positions.shape[0]
    n_chunks = max(1, min(n_chunks, n_atoms))
    born = np.zeros((n_atoms, 3, 3))
    chunk_dipoles = np.zeros((n_chunks, 3))
    chunk_virials = np.zeros((n_chunks, 3, 3, 3))
    reach_sq = rho_off * rho_off + z_off * z_off
    bond_off_sq = bond_off * bond_off
    for c in prange(n_chunks):
        dipole = np.zeros(3)
        virial = np.zeros((3, 3, 3))
        dp = np.zeros((3, 3))   # dp_alpha / drho_b of one pair
        for i in range(c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks):
            si = species[i]
            for k in range(inter_offsets[i], inter_offsets[i + 1]):
                j = inter_neighbors[k]
                rx = positions[j, 0] + inter_shifts[k, 0] - positions[i, 0]
                ry = positions[j, 1] + inter_shifts[k, 1] - positions[i, 1]
                rz = positions[j, 2] + inter_shifts[k, 2] - positions[i, 2]
                if rx * rx + ry * ry + rz * rz >= reach_sq:
                    continue
                # rho = r_top - r_bottom; sign = drho / dr_i
                if layer[i] > layer[j]:
                    sign, top, bottom = 1.0, si, species[j]
                    rho_x, rho_y, z = -rx, -ry, -rz
                else:
                    sign, top, bottom = -1.0, species[j], si
                    rho_x, rho_y, z = rx, ry, rz
                w_perp = perp_weights[top, bottom]
                w_par = par_weights[top, bottom]
                if w_perp == 0.0 and w_par == 0.0:
                    continue
                rho_sq = rho_x * rho_x + rho_y * rho_y
                rho = np.sqrt(rho_sq)
                if rho >= rho_off:
                    continue
                zs, dzs = switch(z, z_on, z_off)
                if zs == 0.0:
                    continue
                expo = np.exp(-decay * (z - reference_distance))
                zf = expo * zs
                dzf = expo * (dzs - decay * zs)
                r_perp, g_perp = _radial(rho_sq, rho, perp_amplitudes, perp_widths, rho_on,
                                         rho_off)
                r_par, g_par = _radial(rho_sq, rho, par_amplitudes, par_widths, rho_on, rho_off)
                f_perp = w_perp * r_perp * zf
                f_par = w_par * r_par * zf
                # gradients of f_perp, f_par with respect to rho (x, y, z)
                gp_x = w_perp * g_perp * zf * rho_x
                gp_y = w_perp * g_perp * zf * rho_y
                gp_z = w_perp * r_perp * dzf
                gq_x = w_par * g_par * zf * rho_x
                gq_y = w_par * g_par * zf * rho_y
                gq_z = w_par * r_par * dzf
                dp[0, 0] = rho_x * gq_x + f_par
                dp[0, 1] = rho_x * gq_y
                dp[0, 2] = rho_x * gq_z
                dp[1, 0] = rho_y * gq_x
                dp[1, 1] = rho_y * gq_y + f_par
                dp[1, 2] = rho_y * gq_z
                dp[2, 0] = gp_x
                dp[2, 1] = gp_y
                dp[2, 2] = gp_z
                dipole[0] += 0.5 * f_par * rho_x
                dipole[1] += 0.5 * f_par * rho_y
                dipole[2] += 0.5 * f_perp
                for alpha in range(3):
                    for b in range(3):
                        born[i, alpha, b] += sign * dp[alpha, b]
                        virial[alpha, 0, b] += 0.5 * rho_x * dp[alpha, b]
                        virial[alpha, 1, b] += 0.5 * rho_y * dp[alpha, b]
                        virial[alpha, 2, b] += 0.5 * z * dp[alpha, b]
            for k in range(intra_offsets[i], intra_offsets[i + 1]):
                j = intra_neighbors[k]
                # bond vector r = r_i - r_j, so dp / dr_i = dp / dr
                bx = positions[i, 0] - positions[j, 0] - intra_shifts[k, 0]
                by = positions[i, 1] - positions[j, 1] - intra_shifts[k, 1]
                bz = positions[i, 2] - positions[j, 2] - intra_shifts[k, 2]
                r_sq = bx * bx + by * by + bz * bz
                if r_sq >= bond_off_sq:
                    continue
                r = np.sqrt(r_sq)
                s, ds = switch(r, bond_on, bond_off)
                b_vec = (bx, by, bz)
                for alpha in range(3):
                    q = bond_charges[si, species[j], alpha]
                    if q == 0.0:
                        continue
                    dipole[alpha] += 0.5 * q * b_vec[alpha] * s
                    for b in range(3):
                        d = q * b_vec[alpha] * ds * b_vec[b] / r
                        if alpha == b:
                            d += q * s
                        born[i, alpha, b] += d
                        for a in range(3):
                            virial[alpha, a, b] += 0.5 * b_vec[a] * d
        chunk_dipoles[c] = dipole
        chunk_virials[c] = virial
    dipole = np.zeros(3)
    virial = np.zeros((3, 3, 3))
    for c in range(n_chunks):
        dipole += chunk_dipoles[c]
        virial += chunk_virials[c]
    return dipole, born, virial
