"""slidesim's CSR neighbour lists as the flat, batched edge tensors of the model contract.

A :class:`~slidesim.neighbors.NeighborList` stores a full list as ``offsets`` (N+1,),
``neighbors`` (M,) and ``shifts`` (M, 3) [A]. The contract wants ``edge_index`` (2, M) int64
(source i, target j) and ``shifts`` (M, 3) [A] over all replicas, atoms of replica r numbered
from ``r * N``. The tensors only change when a list is rebuilt, so :class:`EdgeCache` converts
once per rebuild: for one replica on the CPU in float64 the shifts tensor shares memory with the
list (``torch.from_numpy``); the source indices (np.repeat of the CSR rows) and batched copies
are made once per rebuild, not per step.
"""

import numpy as np


def csr_sources(offsets):
    """(M,) int64 source atom of each CSR entry: row i repeated offsets[i+1] - offsets[i] times."""
    offsets = np.asarray(offsets)
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))


class EdgeCache:
    """Edge tensors of a batch of neighbour lists, rebuilt only when some list was rebuilt.

    device: torch device; dtype: torch float dtype of the shifts.
    """

    def __init__(self, device, dtype):
        self.device = device
        self.dtype = dtype
        self._key = None
        self._edges = None

    def edges(self, neighbor_lists, n_atoms):
        """(edge_index (2, M) int64, shifts (M, 3) [A]) tensors for the lists of R replicas.

        neighbor_lists: sequence of R built NeighborList objects (one per replica, in order);
        n_atoms: atoms per replica N (replica r's atoms are rows r*N ... r*N + N - 1).
        """
        key = tuple((nl, nl.n_builds) for nl in neighbor_lists)
        if self._key is not None and len(key) == len(self._key) and all(
                a is c and b == d for (a, b), (c, d) in zip(key, self._key)):
            return self._edges
        self._edges = self._convert(neighbor_lists, n_atoms)
        self._key = key
        return self._edges

    def _convert(self, neighbor_lists, n_atoms):
        import torch

        for nl in neighbor_lists:
            if nl.offsets is None:
                raise ValueError("a neighbour list was never built; call update() first")
            if len(nl.offsets) != n_atoms + 1:
                raise ValueError(f"a neighbour list covers {len(nl.offsets) - 1} atoms, the "
                                 f"replica has {n_atoms}")
        if len(neighbor_lists) == 1:
            nl = neighbor_lists[0]
            index = np.stack([csr_sources(nl.offsets), nl.neighbors])
            shifts = torch.from_numpy(nl.shifts)  # shares memory: no copy on CPU float64
        else:
            index = np.concatenate([np.stack([csr_sources(nl.offsets), nl.neighbors]) + r * n_atoms
                                    for r, nl in enumerate(neighbor_lists)], axis=1)
            shifts = torch.from_numpy(np.concatenate([nl.shifts for nl in neighbor_lists]))
        edge_index = torch.from_numpy(np.ascontiguousarray(index, dtype=np.int64))
        return (edge_index.to(self.device),
                shifts.to(device=self.device, dtype=self.dtype))
