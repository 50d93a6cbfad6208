"""An equivariant network for Born effective charges, Z[i, alpha, beta] = dP_alpha/dr_i,beta.

Z_i of atom i is built from Cartesian tensors of its neighbourhood, so it rotates as
Z -> Q Z Q^T with the configuration (rotations and inversion alike): for every edge i->j within
the cutoff, with unit vector u = r_ij/r and radial functions w_k(r) (Bessel basis times a smooth
polynomial envelope, mixed by a learned matrix per pair of types),

    s_ik = sum_j w^s_k(r_ij)                    scalar        (0e)
    v_ik = sum_j w^v_k(r_ij) u_ij               vector        (1o)
    T_ik = sum_j w^t_k(r_ij) (u_ij u_ij^T - 1/3) sym. traceless (2e)

and, with coefficients per type of atom i,

    Z_i = (q + a.s_i) 1 + sum_k b_k T_ik + sum_kl C_kl v_ik v_il^T + sum_kl D_kl T_ik T_il.

v v^T and T T have symmetric and antisymmetric parts, so Z spans all of 0e + 1e + 2e (trace,
antisymmetric pseudovector, symmetric traceless), as a BEC must. The acoustic sum rule
sum_i Z_i = 0 is enforced per replica by subtracting the replica's mean Z.
"""

import math
import torch


class BECNetwork(torch.nn.Module):
    """Born charges of ``n_types`` species from local environments within ``cutoff`` [A].

    n_basis: Bessel functions; channels: K of each feature kind. Inputs as in the model contract
    (flat batched positions, types, edge_index, Cartesian shifts, replica, n_atoms); returns Z
    (N, 3, 3) [e] with sum_i Z_i = 0 per replica.
    """

    def __init__(self, n_types: int, cutoff: float = 5.0, n_basis: int = 8, channels: int = 8):
        super().__init__()
        self.n_types = n_types
        self.cutoff = float(cutoff)
        self.channels = channels
        k = channels
        self.register_buffer("frequencies", math.pi * torch.arange(1, n_basis + 1,
                                                                   dtype=torch.float64))
        generator = torch.Generator().manual_seed(0)

        def parameter(*shape, scale=1.0):
            return torch.nn.Parameter(scale * torch.randn(*shape, generator=generator,
                                                          dtype=torch.float64))

        # radial mixing: (type_i, type_j) -> basis -> 3 K channels (s, v, T)
        self.radial = parameter(n_types, n_types, n_basis, 3 * k, scale=1.0 / math.sqrt(n_basis))
        self.charge = parameter(n_types, scale=0.0)
        self.a = parameter(n_types, k, scale=0.1 / k)
        self.b = parameter(n_types, k, scale=0.1 / k)
        self.c = parameter(n_types, k, k, scale=0.1 / k)
        self.d = parameter(n_types, k, k, scale=0.1 / k)

    def envelope(self, r):
        """Smooth cutoff: 1 - 10 x^3 + 15 x^4 - 6 x^5 for x = r/r_c < 1 (C2 at r_c), else 0."""
        x = r / self.cutoff
        poly = 1.0 - x * x * x * (10.0 - 15.0 * x + 6.0 * x * x)
        return torch.where(x < 1.0, poly, torch.zeros_like(x))

    def forward(self, positions: torch.Tensor, atom_types: torch.Tensor,
                edge_index: torch.Tensor, shifts: torch.Tensor, replica: torch.Tensor,
                n_atoms: torch.Tensor) -> torch.Tensor:
        i, j = edge_index[0], edge_index[1]
        rij = positions[j] + shifts - positions[i]
        r = torch.sqrt((rij * rij).sum(dim=1))
        keep = r < self.cutoff
        i, j, rij, r = i[keep], j[keep], rij[keep], r[keep]
        u = rij / r.unsqueeze(1)
        x = r / self.cutoff
        basis = torch.sin(self.frequencies * x.unsqueeze(1)) / x.unsqueeze(1)
        basis = basis * self.envelope(r).unsqueeze(1)
        ti, tj = atom_types[i], atom_types[j]
        weights = torch.einsum("en,enc->ec", basis, self.radial[ti, tj])
        k = self.channels
        ws, wv, wt = weights[:, :k], weights[:, k:2 * k], weights[:, 2 * k:]
        n = positions.shape[0]
        eye = torch.eye(3, dtype=positions.dtype, device=positions.device)
        uu = u.unsqueeze(2) * u.unsqueeze(1) - eye / 3.0
        s = torch.zeros((n, k), dtype=positions.dtype, device=positions.device).index_add(
            0, i, ws)
        v = torch.zeros((n, k, 3), dtype=positions.dtype, device=positions.device).index_add(
            0, i, wv.unsqueeze(2) * u.unsqueeze(1))
        t = torch.zeros((n, k, 3, 3), dtype=positions.dtype, device=positions.device).index_add(
            0, i, wt[:, :, None, None] * uu.unsqueeze(1))
        types = atom_types
        trace = self.charge[types] + (self.a[types] * s).sum(dim=1)
        z = trace[:, None, None] * eye
        z = z + torch.einsum("nk,nkab->nab", self.b[types], t)
        z = z + torch.einsum("nkl,nka,nlb->nab", self.c[types], v, v)
        z = z + torch.einsum("nkl,nkac,nlcb->nab", self.d[types], t, t)
        total = torch.zeros((n_atoms.shape[0], 3, 3), dtype=z.dtype, device=z.device).index_add(
            0, replica, z)
        mean = total / n_atoms.to(z.dtype)[:, None, None]
        return z - mean[replica]


def irreps_of(z):
    """(trace/3, antisymmetric pseudovector, symmetric traceless) parts of Z (..., 3, 3)."""
    trace = torch.diagonal(z, dim1=-2, dim2=-1).sum(-1) / 3.0
    anti = 0.5 * (z - z.transpose(-1, -2))
    vector = torch.stack([anti[..., 1, 2], anti[..., 2, 0], anti[..., 0, 1]], dim=-1)
    eye = torch.eye(3, dtype=z.dtype, device=z.device)
    sym = 0.5 * (z + z.transpose(-1, -2)) - trace[..., None, None] * eye
    return trace, vector, sym

