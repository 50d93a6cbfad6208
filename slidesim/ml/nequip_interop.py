"""nequip / Allegro models (nequip 0.19, nequip-allegro 0.8) behind slidesim's model contract.

:class:`NequipContract` is a ``torch.nn.Module`` whose ``forward`` has the contract's signature
(docs/ml_models.md). It turns slidesim's flat batched inputs into a nequip ``AtomicDataDict``
(``pos``, ``atom_types``, ``cell``, ``edge_index``, ``edge_cell_shift``, ``batch``,
``num_atoms``), calls the nequip model, and returns ``energy``, ``forces`` and ``virial`` as
the model computed them (``"forces": "module"``). Edges longer than the model's ``r_max`` are
dropped first (slidesim's lists hold pairs up to cutoff + skin); Cartesian shifts become the
integer image counts nequip expects. Born charges come from

- the nequip model itself when it returns ``born_effective_charges`` (allegro-pol does; its
  ``polarization`` becomes the contract's ``dipole``), or
- a separate Born-charge module (e.g. :class:`slidesim.ml.bec.BECNetwork`) given as ``bec``.

The nequip model is called with zero ``external_electric_field``: the field acts through
slidesim's field term, F = Z^T E, as the seed paper's DREAM workflow does.

Which nequip files are read (:func:`load_nequip`):

- ``*.nequip.zip`` packages and training checkpoints (``*.ckpt``), through nequip's own loader;
  the wrapper is then scripted with ``torch.jit.script`` into one contract file.
- ``*.nequip.pth`` TorchScript files written by ``nequip-compile --mode torchscript`` (with
  torch < 2.10) and ``*.nequip.pt2`` AOTInductor files (``nequip-compile --mode aotinductor
  --target batch``) run in-process behind the same contract (:func:`nequip_contract`,
  :class:`NequipAOTModule`); TorchScript cannot embed them into one saved file.
"""

import json
from typing import Dict, Optional

import torch

from slidesim.ml.contract import BEC_CONVENTION, CONTRACT_VERSION, UNITS, jit_load

AOT_INPUTS = ["pos", "edge_index", "atom_types", "cell", "edge_cell_shift", "batch",
              "num_atoms"]
AOT_OUTPUTS = ["atomic_energy", "total_energy", "forces", "stress"]


def nequip_data(positions: torch.Tensor, atom_types: torch.Tensor, cells: torch.Tensor,
                edge_index: torch.Tensor, shifts: torch.Tensor, replica: torch.Tensor,
                n_atoms: torch.Tensor, r_max: float):
    """(data dict for nequip, kept edge_index, kept shifts) of contract inputs."""
    i, j = edge_index[0], edge_index[1]
    rij = positions[j] + shifts - positions[i]
    keep = (rij * rij).sum(dim=1) < r_max * r_max
    edge_index = edge_index[:, keep]
    shifts = shifts[keep]
    # shift = n @ cell, so n = shift @ cell^-1: one inverse per replica, not per edge
    inverse = torch.linalg.inv(cells)[replica[edge_index[0]]]
    images = torch.round(torch.einsum("ea,eab->eb", shifts, inverse))
    data: Dict[str, torch.Tensor] = {
        "pos": positions, "atom_types": atom_types, "cell": cells, "edge_index": edge_index,
        "edge_cell_shift": images, "batch": replica, "num_atoms": n_atoms,
        "pbc": torch.tensor([[True, True, False]], device=positions.device).expand(
            n_atoms.shape[0], 3),
        "external_electric_field": torch.zeros((n_atoms.shape[0], 3), dtype=positions.dtype,
                                               device=positions.device),
    }
    return data, edge_index, shifts


def voigt_rows(virial: torch.Tensor) -> torch.Tensor:
    """(R, 3, 3) -> (R, 6) Voigt xx yy zz xy xz yz."""
    w = virial.reshape(-1, 3, 3)
    return torch.stack([w[:, 0, 0], w[:, 1, 1], w[:, 2, 2], w[:, 0, 1], w[:, 0, 2],
                        w[:, 1, 2]], dim=1)


class NoBornCharges(torch.nn.Module):
    """Placeholder Born-charge module (never called) so that TorchScript sees one signature."""

    def forward(self, positions: torch.Tensor, atom_types: torch.Tensor,
                edge_index: torch.Tensor, shifts: torch.Tensor, replica: torch.Tensor,
                n_atoms: torch.Tensor) -> torch.Tensor:
        return torch.zeros((positions.shape[0], 3, 3), dtype=positions.dtype,
                           device=positions.device)


class NequipContract(torch.nn.Module):
    """A nequip model (energy, forces, virial) plus optional Born charges, as a contract module.

    model: nequip GraphModel or TorchScript module taking and returning an AtomicDataDict;
    r_max [A]; bec: module (positions, atom_types, edge_index, shifts, replica, n_atoms) -> Z
    (N, 3, 3), or None; model_has_bec: the nequip model returns ``born_effective_charges``
    (and ``polarization``) itself.
    """

    def __init__(self, model, r_max: float, bec: Optional[torch.nn.Module] = None,
                 model_has_bec: bool = False):
        super().__init__()
        self.model = model
        self.r_max = float(r_max)
        self.model_has_bec = bool(model_has_bec)
        self.has_bec_module = bec is not None
        self.bec = bec if bec is not None else NoBornCharges()

    def forward(self, positions: torch.Tensor, atom_types: torch.Tensor, cells: torch.Tensor,
                edge_index: torch.Tensor, shifts: torch.Tensor, replica: torch.Tensor,
                n_atoms: torch.Tensor, field: torch.Tensor) -> Dict[str, torch.Tensor]:
        data, edges, kept_shifts = nequip_data(positions, atom_types, cells, edge_index,
                                               shifts, replica, n_atoms, self.r_max)
        out = self.model(data)
        result: Dict[str, torch.Tensor] = {
            "energy": out["total_energy"].reshape(-1),
            "forces": out["forces"],
            "virial": voigt_rows(out["virial"]),
        }
        if self.model_has_bec:
            result["born_charges"] = out["born_effective_charges"].reshape(-1, 3, 3)
            result["dipole"] = out["polarization"].reshape(-1, 3)
        elif self.has_bec_module:
            result["born_charges"] = self.bec(positions, atom_types, edges, kept_shifts, replica,
                                              n_atoms)
        return result


def _nequip():
    try:
        import nequip  # noqa: F401
    except ImportError:
        raise ImportError("reading nequip/Allegro models needs nequip and nequip-allegro: "
                          "pip install 'slidesim[ml]'") from None


def load_nequip(path, device="cpu"):
    """(model, r_max [A], type_names, kind, dtype) of a nequip file, on ``device``.

    kind: "eager" (``.nequip.zip`` package or checkpoint), "torchscript" (``.nequip.pth``) or
    "aotinductor" (``.nequip.pt2``, model is a callable taking a data dict); dtype: the
    model's ``model_dtype`` ("float32" or "float64").
    """
    _nequip()
    path = str(path)
    if path.endswith(".nequip.pth") or path.endswith(".nequip.pt2"):
        from nequip.model.inference_models import load_compiled_model

        keys = (AOT_INPUTS, AOT_OUTPUTS) if path.endswith(".pt2") else (None, None)
        model, metadata = load_compiled_model(path, device, *keys)
        r_max = float(metadata["r_max"])
        type_names = metadata["type_names"]
        if isinstance(type_names, str):
            type_names = type_names.split(" ")
        kind = "aotinductor" if path.endswith(".pt2") else "torchscript"
        dtype = metadata.get("model_dtype", "float64")
        if isinstance(dtype, bytes):
            dtype = dtype.decode()
        return model, r_max, list(type_names), kind, str(dtype)
    from nequip.model.saved_models.load_utils import load_saved_model
    from nequip.utils.global_state import global_state_initialized, set_global_state

    if not global_state_initialized():  # nequip builds models only after this (TF32 off)
        set_global_state(allow_tf32=False)
    model = load_saved_model(path, compile_mode="eager")
    model.to(device).eval()
    r_max = float(model.metadata["r_max"])
    type_names = model.metadata["type_names"].split(" ")
    return model, r_max, type_names, "eager", str(model.metadata.get("model_dtype", "float64"))


def returns_born_charges(model, r_max, n_types):
    """Whether a nequip model's output holds ``born_effective_charges`` (one probe call)."""
    from slidesim.ml.contract import probe_configuration

    inputs = probe_configuration({"type_names": [str(k) for k in range(n_types)]},
                                 torch.float64)
    data, _, _ = nequip_data(*(inputs[k] for k in ("positions", "atom_types", "cells",
                                                  "edge_index", "shifts", "replica",
                                                  "n_atoms")), r_max)
    out = model(data)
    return "born_effective_charges" in out and "polarization" in out


def contract_metadata(r_max, type_names, outputs, description, dtype="float64"):
    """Metadata of a wrapped nequip model (forces from the module)."""
    meta = {"contract": CONTRACT_VERSION, "cutoff": float(r_max), "pair_mode": "all",
            "type_names": list(type_names), "units": dict(UNITS), "dtype": dtype,
            "forces": "module", "outputs": list(outputs), "description": description}
    if "born_charges" in outputs:
        meta["bec_convention"] = BEC_CONVENTION
    return meta


def build_from_nequip(nequip_path, output, bec_path=None, description=None):
    """Write a contract file wrapping a nequip model (and optionally a BEC network file).

    bec_path: a ``torch.jit.save``'d BEC module (``slidesim model train`` writes one) whose
    forward is (positions, atom_types, edge_index, shifts, replica, n_atoms) -> Z; its
    ``type_names`` extra file must match the nequip model's. Returns the metadata written.
    """
    from slidesim.ml.contract import save_model

    model, r_max, type_names, kind, dtype = load_nequip(nequip_path)
    if kind != "eager":
        raise ValueError(f"{nequip_path}: compiled nequip files (.nequip.pth, .nequip.pt2) "
                         "cannot be embedded in a contract file; build from the .nequip.zip "
                         "package or the .ckpt checkpoint, or give slidesim the compiled file "
                         "directly (model torchscript path FILE)")
    has_bec = returns_born_charges(model, r_max, len(type_names))
    bec = None
    if bec_path is not None:
        if has_bec:
            raise ValueError(f"{nequip_path} predicts Born charges itself; drop --bec")
        bec, bec_types = load_bec(bec_path)
        if bec_types != list(type_names):
            raise ValueError(f"{bec_path} knows types {bec_types}, {nequip_path} knows "
                             f"{type_names}; they must match in order")
    outputs = ["energy"] + (["born_charges"] if has_bec or bec is not None else []) \
        + (["dipole"] if has_bec else [])
    wrapper = NequipContract(model, r_max, bec, model_has_bec=has_bec)
    scripted = torch.jit.script(wrapper)
    meta = contract_metadata(r_max, type_names, outputs,
                             description or f"nequip model {nequip_path}"
                             + (f" + Born charges {bec_path}" if bec_path else ""), dtype)
    save_model(scripted, output, meta)
    return meta


BEC_TYPES_FILE = "type_names.json"


def save_bec(module, path, type_names, cutoff):
    """Save a scripted BEC module with its type names and cutoff."""
    scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module)
    torch.jit.save(scripted, path, _extra_files={
        BEC_TYPES_FILE: json.dumps({"type_names": list(type_names), "cutoff": float(cutoff)})})
    return path


def load_bec(path):
    """(module, type_names) of a file written by :func:`save_bec`."""
    extra = {BEC_TYPES_FILE: ""}
    module = jit_load(path, "cpu", extra)
    if not extra[BEC_TYPES_FILE]:
        raise ValueError(f"{path}: not a slidesim Born-charge network (no {BEC_TYPES_FILE})")
    return module, json.loads(extra[BEC_TYPES_FILE])["type_names"]


class NequipAOTModule(torch.nn.Module):
    """A ``.nequip.pt2`` (AOTInductor, ``--target batch``) file behind the contract's forward.

    Not TorchScript: it lives in this process only, compiled for one device and dtype. Forces
    come from the compiled model, the virial from its stress (W = -stress V). The batch target
    is compiled for two or more frames, so a single replica is evaluated as two copies.
    """

    def __init__(self, path, device="cpu"):
        super().__init__()
        model, r_max, type_names, kind, self.dtype = load_nequip(path, device)
        if kind != "aotinductor":
            raise ValueError(f"{path} is not a .nequip.pt2 file")
        self.compiled, self.r_max, self.type_names = model, r_max, type_names

    def forward(self, positions, atom_types, cells, edge_index, shifts, replica, n_atoms,
                field):
        n_rep = n_atoms.shape[0]
        if n_rep == 1:  # pad: the compiled batch dimension starts at 2
            n = positions.shape[0]
            positions = torch.cat([positions, positions])
            atom_types = torch.cat([atom_types, atom_types])
            cells = torch.cat([cells, cells])
            edge_index = torch.cat([edge_index, edge_index + n], dim=1)
            shifts = torch.cat([shifts, shifts])
            replica = torch.cat([replica, replica + 1])
            n_atoms = torch.cat([n_atoms, n_atoms])
        data, _, _ = nequip_data(positions, atom_types, cells, edge_index, shifts, replica,
                                 n_atoms, self.r_max)
        out = self.compiled({k: data[k].contiguous() for k in AOT_INPUTS})
        volume = torch.linalg.det(cells).abs().reshape(-1, 1, 1)
        virial = -out["stress"].reshape(-1, 3, 3) * volume
        n_keep = int(n_atoms[:n_rep].sum())
        return {"energy": out["total_energy"].reshape(-1)[:n_rep],
                "forces": out["forces"][:n_keep],
                "virial": voigt_rows(virial)[:n_rep]}


NEQUIP_SUFFIXES = (".nequip.zip", ".nequip.pth", ".nequip.pt2", ".ckpt")


def nequip_contract(path, device="cpu"):
    """(contract module, metadata) of a nequip file used directly as a slidesim model.

    Energy, forces and virial (and Born charges when the model returns them); to add a
    separate Born-charge network, write a contract file with :func:`build_from_nequip`.
    """
    if str(path).endswith(".nequip.pt2"):
        module = NequipAOTModule(path, device)
        outputs = ["energy"]
        r_max, type_names, dtype = module.r_max, module.type_names, module.dtype
    else:
        model, r_max, type_names, kind, dtype = load_nequip(path, device)
        has_bec = returns_born_charges(model, r_max, len(type_names))
        module = NequipContract(model, r_max, model_has_bec=has_bec)
        if kind == "eager":  # a loaded TorchScript model cannot be scripted into a wrapper
            module = torch.jit.script(module)
        outputs = ["energy"] + (["born_charges", "dipole"] if has_bec else [])
    meta = contract_metadata(r_max, type_names, outputs, f"nequip model {path}", dtype)
    return module.to(device), meta
