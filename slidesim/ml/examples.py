"""A small reference model in pure torch that satisfies the model contract (docs/ml_models.md).

Energy: a species-dependent Morse pair potential times a cosine cutoff,
E = 1/2 sum_(i,j) D_st (x^2 - 2 x) f_c(r),  x = exp(-alpha_st (r - r0_st)),
f_c(r) = (cos(pi r / r_c) + 1) / 2 for r < r_c, else 0 (smooth at r_c).
Born charges (rotation-equivariant): Z_i = q_s 1 + b sum_j f_c(r_ij) rhat_ij rhat_ij^T, minus the
per-replica mean of Z, so that sum_i Z_i = 0 (acoustic sum rule) exactly.
The forward ignores the field input. It is a fixture for tests and a template for real models,
not a model of h-BN.
"""

import math
from typing import Dict

import torch

from slidesim.ml.contract import BEC_CONVENTION, CONTRACT_VERSION, UNITS, save_model


class PairBECModel(torch.nn.Module):
    """Morse pairs + equivariant Born charges for ``n_types`` species.

    cutoff r_c [A]; depth D (T, T) [eV]; stiffness alpha (T, T) [1/A]; distance r0 (T, T) [A];
    charges q (T,) [e]; anisotropy b [e]. Defaults are a B/N-like pair (T = 2).
    """

    def __init__(self, cutoff=5.0, depth=((0.05, 0.2), (0.2, 0.08)),
                 stiffness=((1.2, 1.5), (1.5, 1.3)), distance=((2.5, 1.45), (1.45, 2.5)),
                 charges=(2.0, -2.0), anisotropy=0.3):
        super().__init__()
        self.cutoff = float(cutoff)
        self.anisotropy = float(anisotropy)
        self.register_buffer("depth", torch.tensor(depth, dtype=torch.float64))
        self.register_buffer("stiffness", torch.tensor(stiffness, dtype=torch.float64))
        self.register_buffer("distance", torch.tensor(distance, dtype=torch.float64))
        self.register_buffer("charges", torch.tensor(charges, dtype=torch.float64))

    def forward(self, positions: torch.Tensor, atom_types: torch.Tensor, cells: torch.Tensor,
                edge_index: torch.Tensor, shifts: torch.Tensor, replica: torch.Tensor,
                n_atoms: torch.Tensor, field: torch.Tensor) -> Dict[str, torch.Tensor]:
        i, j = edge_index[0], edge_index[1]
        rij = positions[j] + shifts - positions[i]
        r = torch.sqrt((rij * rij).sum(dim=1))
        inside = r < self.cutoff
        cutoff = torch.where(inside, 0.5 * (torch.cos(math.pi * r / self.cutoff) + 1.0),
                             torch.zeros_like(r))
        ti, tj = atom_types[i], atom_types[j]
        x = torch.exp(-self.stiffness[ti, tj] * (r - self.distance[ti, tj]))
        pair = self.depth[ti, tj] * (x * x - 2.0 * x) * cutoff
        n_total = positions.shape[0]
        atom_energy = torch.zeros(n_total, dtype=positions.dtype, device=positions.device)
        atom_energy = atom_energy.index_add(0, i, 0.5 * pair)
        energy = torch.zeros(n_atoms.shape[0], dtype=positions.dtype, device=positions.device)
        energy = energy.index_add(0, replica, atom_energy)

        rhat = rij / r.unsqueeze(1)
        outer = rhat.unsqueeze(2) * rhat.unsqueeze(1) * (self.anisotropy * cutoff)[:, None, None]
        eye = torch.eye(3, dtype=positions.dtype, device=positions.device)
        born = self.charges[atom_types][:, None, None] * eye
        born = born.index_add(0, i, outer)
        total = torch.zeros((n_atoms.shape[0], 3, 3), dtype=positions.dtype,
                            device=positions.device).index_add(0, replica, born)
        mean = total / n_atoms.to(positions.dtype)[:, None, None]
        return {"energy": energy, "born_charges": born - mean[replica]}


def example_metadata(type_names=("B", "N"), cutoff=5.0, pair_mode="all"):
    """Contract metadata for :class:`PairBECModel`."""
    return {"contract": CONTRACT_VERSION, "cutoff": float(cutoff), "pair_mode": pair_mode,
            "type_names": list(type_names), "units": dict(UNITS), "dtype": "float64",
            "forces": "autograd", "outputs": ["energy", "born_charges"],
            "bec_convention": BEC_CONVENTION,
            "description": "slidesim reference model: Morse pairs + equivariant Born charges"}


def write_example_model(path, type_names=("B", "N"), cutoff=5.0, pair_mode="all", **parameters):
    """Script a :class:`PairBECModel` and save it with its metadata to ``path``; returns path.

    The default parameters cover two types; for another number T of types, parameters not given
    are uniform (D 0.1 eV, alpha 1.3 1/A, r0 2 A, q 0 e).
    """
    n_types = len(type_names)
    if n_types != 2:
        uniform = {"depth": 0.1, "stiffness": 1.3, "distance": 2.0}
        for key, value in uniform.items():
            parameters.setdefault(key, [[value] * n_types for _ in range(n_types)])
        parameters.setdefault("charges", [0.0] * n_types)
    module = PairBECModel(cutoff=cutoff, **parameters)
    return save_model(torch.jit.script(module), path,
                      example_metadata(type_names, cutoff, pair_mode))
