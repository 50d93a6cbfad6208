"""A TorchScript model file as a slidesim force term and Born-charge source.

:class:`TorchScriptTerm` is a :class:`~slidesim.models.base.ForceTerm`: it evaluates a model file
that satisfies the contract of docs/ml_models.md (:mod:`slidesim.ml.contract`) and returns energy
[eV], forces [eV/A] and virial [eV]. ``compute_batch`` evaluates R replicas in one model call.
``born_charge_source()`` gives the object a :class:`~slidesim.fields.field.FieldTerm` takes, so
that the field acts through the model's own Born charges.
"""

from dataclasses import dataclass

import numpy as np

from slidesim.fields.dipole import DipoleResult
from slidesim.ml.batch import EdgeCache
from slidesim.ml.contract import (FORWARD_ARGS, ContractError, forward_problems, load_model_file,
                                  metadata_problems)
from slidesim.models.base import ForceTerm, NeighborRequest, TermResult, voigt
from slidesim.models.model import Model


@dataclass
class MLResult:
    """What a model gives for one replica.

    energy float [eV]; forces (N, 3) [eV/A]; virial (6,) [eV] Voigt xx yy zz xy xz yz,
    W = sum r F; born_charges (N, 3, 3) [e], Z[i, alpha, beta] = dP_alpha/dr_i,beta, or None;
    dipole (3,) [e A] or None (when the model does not return one).
    """

    energy: float
    forces: np.ndarray
    virial: np.ndarray
    born_charges: np.ndarray = None
    dipole: np.ndarray = None

    #: one energy, named after the term (the TermResult contract)
    parts = {}

    @property
    def extras(self):
        """The Born charges and dipole the model predicts, as TermResult extras."""
        extras = {}
        if self.born_charges is not None:
            extras["born_charges"] = self.born_charges
        if self.dipole is not None:
            extras["dipole"] = self.dipole
        return extras


def resolve_device(device):
    """A torch.device for "cpu", "cuda", "cuda:K" or "auto" (CUDA when available)."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:K' or 'auto'") \
            from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA GPU; use "
                         f"device 'cpu' or 'auto'")
    return resolved


class TorchScriptTerm(ForceTerm):
    """A machine-learned model from a TorchScript file (docs/ml_models.md).

    path: the model file; species_names: element of each slidesim species index (each must be
    among the model's ``type_names``); device: "cpu", "cuda[:K]" or "auto"; dtype: "float64" or
    "float32" (the precision of the model call; results are float64 NumPy arrays).
    ``field`` (3,) [V/A] is passed to the model as its field input (zeros by default; the
    field *forces* come from a FieldTerm fed by :meth:`born_charge_source`).
    """

    name = "torchscript"

    def __init__(self, path, species_names, device="auto", dtype="float64"):
        import torch

        self.torch = torch
        # the profiling executor re-optimises a module for the first shapes it sees (seconds
        # per call); MD changes the edge count at every list rebuild, so skip shape-specialised
        # fusion (process-wide; steady-state speed is unchanged)
        torch.jit.set_fusion_strategy([("DYNAMIC", 0)])
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.path = str(path)
        self.device = resolve_device(device)
        self.dtype = getattr(torch, dtype)
        self.module, self.metadata = load_model_file(self.path, self.device)
        problems = metadata_problems(self.metadata) + forward_problems(self.module)
        if problems:
            raise ContractError(f"{self.path} does not satisfy the slidesim model contract "
                                f"(docs/ml_models.md):\n  " + "\n  ".join(problems))
        self.module.to(self.dtype)
        self.species_names = tuple(species_names)
        type_names = self.metadata["type_names"]
        missing = [s for s in self.species_names if s not in type_names]
        if missing:
            raise ValueError(f"{self.path}: the model knows types {type_names}, not {missing}")
        self.type_of_species = np.array([type_names.index(s) for s in self.species_names],
                                        dtype=np.int64)
        self.cutoff = float(self.metadata["cutoff"])
        self.pair_mode = self.metadata["pair_mode"]
        self.requests = {"pairs": NeighborRequest(self.cutoff, self.pair_mode)}
        self.has_born_charges = "born_charges" in self.metadata["outputs"]
        self.has_dipole = "dipole" in self.metadata["outputs"]
        self.field = np.zeros(3)
        self._edges = EdgeCache(self.device, self.dtype)

    # ---- evaluation -------------------------------------------------------------------------
    def _inputs(self, positions_list, cell, species, neighbor_lists, fields):
        torch = self.torch
        n_rep, n_atoms = len(positions_list), len(species)
        for positions in positions_list:
            if np.shape(positions) != (n_atoms, 3):
                raise ValueError(f"positions must have shape ({n_atoms}, 3), got "
                                 f"{np.shape(positions)}")
        flat = positions_list[0] if n_rep == 1 else np.concatenate(positions_list)
        to = {"device": self.device, "dtype": self.dtype}
        edge_index, shifts = self._edges.edges(neighbor_lists, n_atoms)
        types = torch.from_numpy(self.type_of_species[np.asarray(species)])
        cells = torch.as_tensor(np.asarray(cell, dtype=np.float64)).expand(n_rep, 3, 3)
        return {"positions": torch.as_tensor(np.ascontiguousarray(flat, np.float64)).to(**to),
                "atom_types": types.repeat(n_rep).to(self.device),
                "cells": cells.to(**to),
                "edge_index": edge_index, "shifts": shifts,
                "replica": torch.arange(n_rep, device=self.device).repeat_interleave(n_atoms),
                "n_atoms": torch.full((n_rep,), n_atoms, dtype=torch.int64, device=self.device),
                "field": torch.as_tensor(np.asarray(fields, np.float64)).to(**to)}

    def _call(self, inputs):
        """Model outputs plus forces (N, 3) and virial tensor (R, 3, 3), as tensors."""
        torch = self.torch
        if self.metadata["forces"] == "module":
            out = self.module(*(inputs[name] for name in FORWARD_ARGS))
            w = out["virial"].detach()
            virial = torch.stack([w[:, 0], w[:, 3], w[:, 4], w[:, 3], w[:, 1], w[:, 5],
                                  w[:, 4], w[:, 5], w[:, 2]], dim=1).reshape(-1, 3, 3)
            return out, out["forces"].detach(), virial
        # x -> x (1 + eps) for positions, shifts and cells: F = -dE/dx, W = -dE/deps
        n_rep = len(inputs["n_atoms"])
        positions = inputs["positions"].detach().requires_grad_(True)
        strain = torch.zeros((n_rep, 3, 3), device=self.device, dtype=self.dtype,
                             requires_grad=True)
        deform = torch.eye(3, device=self.device, dtype=self.dtype) + strain
        replica = inputs["replica"]
        edge_replica = replica[inputs["edge_index"][0]]
        strained = dict(inputs,
                        positions=torch.einsum("na,nab->nb", positions, deform[replica]),
                        shifts=torch.einsum("ea,eab->eb", inputs["shifts"], deform[edge_replica]),
                        cells=torch.bmm(inputs["cells"], deform))
        out = self.module(*(strained[name] for name in FORWARD_ARGS))
        grad_x, grad_eps = torch.autograd.grad(out["energy"].sum(), [positions, strain],
                                               allow_unused=True)
        forces = -grad_x if grad_x is not None else torch.zeros_like(positions)
        virial = -grad_eps if grad_eps is not None else torch.zeros_like(strain)
        return out, forces, 0.5 * (virial + virial.transpose(1, 2))

    def _evaluate(self, positions_list, cell, species, neighbor_lists, fields):
        n_atoms = len(species)
        inputs = self._inputs(positions_list, cell, species, neighbor_lists, fields)
        out, forces, virial = self._call(inputs)

        def host(tensor):
            return tensor.detach().to("cpu", self.torch.float64).numpy()

        energy, forces, virial = host(out["energy"]), host(forces), host(virial)
        born = host(out["born_charges"]) if self.has_born_charges else None
        dipole = host(out["dipole"]) if self.has_dipole else None
        results = []
        for r in range(len(positions_list)):
            rows = slice(r * n_atoms, (r + 1) * n_atoms)
            results.append(MLResult(float(energy[r]), forces[rows], voigt(virial[r]),
                                    None if born is None else born[rows],
                                    None if dipole is None else dipole[r]))
        return results

    def compute_batch(self, positions_list, cell, species, layer, neighbor_lists_list,
                      fields=None):
        """Evaluate R replicas in one model call; returns a list of R :class:`MLResult`.

        positions_list: R arrays (N, 3) [A]; cell (3, 3) [A], species and layer (N,) int64
        shared by all replicas; neighbor_lists_list: R dicts with the key of ``requests``
        ("pairs") or of ``Model.neighbor_lists()`` (the pair mode), or R NeighborList objects,
        updated here; fields: (R, 3) [V/A], the model's field input, or None (``self.field``
        for every replica).
        """
        if len(positions_list) != len(neighbor_lists_list):
            raise ValueError(f"{len(positions_list)} replicas but {len(neighbor_lists_list)} "
                             "sets of neighbour lists")
        lists = []
        for positions, replica_lists in zip(positions_list, neighbor_lists_list):
            nl = self._pair_list(replica_lists)
            nl.update(positions, cell, layer)
            lists.append(nl)
        if fields is None:
            fields = np.tile(self.field, (len(positions_list), 1))
        return self._evaluate(list(positions_list), cell, species, lists, fields)

    def _pair_list(self, lists):
        """The NeighborList in ``lists``: a NeighborList, or a dict keyed "pairs" or by mode."""
        if not isinstance(lists, dict):
            return lists
        for key in ("pairs", self.pair_mode):
            if key in lists:
                return lists[key]
        raise ValueError(f"no neighbour list 'pairs' or {self.pair_mode!r} among {list(lists)}")

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """:class:`TermResult` of one configuration (the ForceTerm contract)."""
        result = self.compute_batch([positions], cell, species, layer, [neighbor_lists])[0]
        return TermResult(result.energy, result.forces, result.virial, extras=result.extras)

    def born_charge_source(self):
        """A dipole source for :class:`~slidesim.fields.field.FieldTerm` using this model's BECs."""
        if not self.has_born_charges:
            raise ContractError(f"{self.path} returns no born_charges (outputs: "
                                f"{self.metadata['outputs']}); pair the model with another "
                                "source, e.g. slidesim.fields.dipole.RegistryDipole")
        return TorchScriptBornCharges(self)


class TorchScriptBornCharges:
    """Born charges Z (N, 3, 3) [e] and dipole (3,) [e A] of a :class:`TorchScriptTerm`.

    The interface FieldTerm expects: ``requests`` and ``compute(...) -> DipoleResult`` (it
    evaluates the model; a run takes the Born charges from the model's own result instead, see
    slidesim.fields.coupling). Without a model
    dipole, ``dipole`` is zero (the field energy -E.P and the logged P are then zero; forces
    Z^T E are exact); ``dipole_virial`` is zero (slidesim runs at fixed cell).
    """

    def __init__(self, term):
        self.term = term
        self.requests = dict(term.requests)

    def compute(self, positions, cell, species, layer, neighbor_lists):
        return self.compute_batch([positions], cell, species, layer, [neighbor_lists])[0]

    def compute_batch(self, positions_list, cell, species, layer, neighbor_lists_list,
                      fields=None):
        """DipoleResults of R replicas (one model call, unless the term just made it)."""
        results = self.term.compute_batch(positions_list, cell, species, layer,
                                          neighbor_lists_list, fields)
        return [DipoleResult(np.zeros(3) if r.dipole is None else r.dipole, r.born_charges,
                             np.zeros((3, 3, 3))) for r in results]


def torchscript_model(species_names, state=None, path=None, device="auto", dtype="float64"):
    """A machine-learned model from a TorchScript file (docs/ml_models.md; needs torch); the
    catalog's ``torchscript`` model."""
    if path is None:
        raise ValueError("the torchscript model needs the model file: option path FILE")
    return Model("torchscript", [TorchScriptTerm(path, species_names, device, dtype)],
                 species_names)
