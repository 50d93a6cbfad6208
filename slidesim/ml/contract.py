"""The contract a TorchScript model file fulfils (docs/ml_models.md), and its validation.

A model file is a ``torch.jit.save`` archive whose ``forward`` takes the flat batched inputs
named in :data:`FORWARD_ARGS` and returns a ``Dict[str, Tensor]``, plus a JSON extra file
:data:`METADATA_FILE` (cutoff [A], pair mode, type names, units, dtype, how forces are obtained,
outputs, BEC convention). :func:`check_model_file` loads a file, checks the metadata and the
signature, and calls the model once on a small two-replica configuration to check the shapes of
what it returns.
"""

import json
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

#: name of the metadata file inside the archive
METADATA_FILE = "slidesim.json"
CONTRACT_VERSION = 1
#: names of forward's arguments, in order (after self)
FORWARD_ARGS = ("positions", "atom_types", "cells", "edge_index", "shifts", "replica", "n_atoms",
                "field")
UNITS = {"length": "A", "energy": "eV", "charge": "e", "field": "V/A"}
BEC_CONVENTION = "Z[i,alpha,beta]=dP_alpha/dr_i,beta"
PAIR_MODES = ("all", "intralayer", "interlayer")
DTYPES = ("float32", "float64")
FORCE_SOURCES = ("autograd", "module")
OUTPUTS = ("energy", "born_charges", "dipole")
REQUIRED_KEYS = ("contract", "cutoff", "pair_mode", "type_names", "units", "dtype", "forces",
                 "outputs")


class ContractError(ValueError):
    """A model file does not satisfy the contract; the message lists what is missing or wrong."""


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("machine-learned models need PyTorch: pip install 'slidesim[ml]' "
                          "(torch==2.13.0)") from None
    return torch


def metadata_problems(metadata):
    """List of human-readable problems of a metadata dict (empty when it is valid)."""
    if not isinstance(metadata, dict):
        return [f"metadata must be a JSON object, got {type(metadata).__name__}"]
    problems = [f"metadata: missing key '{key}'" for key in REQUIRED_KEYS if key not in metadata]
    get = metadata.get
    if "contract" in metadata and get("contract") != CONTRACT_VERSION:
        problems.append(f"metadata: contract version {get('contract')!r} is not supported "
                        f"(this slidesim reads version {CONTRACT_VERSION})")
    if "cutoff" in metadata:
        cutoff = get("cutoff")
        if not (isinstance(cutoff, (int, float)) and np.isfinite(cutoff) and cutoff > 0):
            problems.append(f"metadata: cutoff must be a positive number [A], got {cutoff!r}")
    if "pair_mode" in metadata and get("pair_mode") not in PAIR_MODES:
        problems.append(f"metadata: pair_mode must be one of {', '.join(PAIR_MODES)}, got "
                        f"{get('pair_mode')!r}")
    if "type_names" in metadata:
        names = get("type_names")
        if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)
                and len(set(names)) == len(names)):
            problems.append(f"metadata: type_names must be a non-empty list of distinct element "
                            f"names, got {names!r}")
    if "units" in metadata and get("units") != UNITS:
        problems.append(f"metadata: units must be {UNITS}, got {get('units')!r}")
    if "dtype" in metadata and get("dtype") not in DTYPES:
        problems.append(f"metadata: dtype must be one of {', '.join(DTYPES)}, got "
                        f"{get('dtype')!r}")
    if "forces" in metadata and get("forces") not in FORCE_SOURCES:
        problems.append(f"metadata: forces must be 'autograd' (slidesim differentiates the "
                        f"energy) or 'module' (forward returns forces and virial), got "
                        f"{get('forces')!r}")
    if "outputs" in metadata:
        outputs = get("outputs")
        if not (isinstance(outputs, list) and "energy" in outputs
                and all(o in OUTPUTS for o in outputs)):
            problems.append(f"metadata: outputs must be a list containing 'energy' and "
                            f"optionally {OUTPUTS[1:]}, got {outputs!r}")
        elif "born_charges" in outputs and get("bec_convention") != BEC_CONVENTION:
            problems.append(f"metadata: a model returning born_charges must state "
                            f"bec_convention = {BEC_CONVENTION!r}, got "
                            f"{get('bec_convention')!r}")
    return problems


def save_model(module, path, metadata):
    """Script ``module`` (unless it already is) and save it with ``metadata`` to ``path``.

    Raises :class:`ContractError` when the metadata is incomplete. Returns the path.
    """
    torch = _torch()
    problems = metadata_problems(metadata)
    if problems:
        raise ContractError("cannot save the model:\n  " + "\n  ".join(problems))
    if not isinstance(module, torch.jit.ScriptModule):
        module = torch.jit.script(module)
    torch.jit.save(module, path, _extra_files={METADATA_FILE: json.dumps(metadata, indent=1)})
    return path


def load_model_file(path, device="cpu"):
    """(module, metadata) of a model file; the module is on ``device`` and in eval mode.

    nequip files (``.nequip.zip``, ``.ckpt``, ``.nequip.pth``, ``.nequip.pt2``) are wrapped on
    the fly (:func:`slidesim.ml.nequip_interop.nequip_contract`).

    Raises FileNotFoundError, or :class:`ContractError` when the file is no TorchScript archive
    or lacks readable metadata (the signature and outputs are checked by
    :func:`check_model_file`).
    """
    torch = _torch()
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path} not found")
    from slidesim.ml.nequip_interop import NEQUIP_SUFFIXES, nequip_contract

    if str(path).endswith(NEQUIP_SUFFIXES):
        try:
            module, metadata = nequip_contract(path, device)
        except (ImportError, ValueError, RuntimeError, KeyError) as err:
            raise ContractError(f"{path}: cannot read it as a nequip model: {err}") from None
        module.eval()
        return module, metadata
    extra = {METADATA_FILE: ""}
    try:
        module = jit_load(path, device, extra)
    except Exception as err:  # torch raises RuntimeError/ValueError/zipfile errors alike
        raise ContractError(f"{path} is not a TorchScript archive (torch.jit.save): "
                            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") \
            from None
    text = extra[METADATA_FILE]
    if not text:
        raise ContractError(f"{path}: no metadata: the archive has no extra file "
                            f"'{METADATA_FILE}'; save it with slidesim.ml.contract.save_model "
                            f"or torch.jit.save(..., _extra_files={{'{METADATA_FILE}': json}})")
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as err:
        raise ContractError(f"{path}: metadata '{METADATA_FILE}' is not valid JSON: {err}") \
            from None
    module.eval()
    return module, metadata


def forward_problems(module):
    """Problems with the argument names of ``module.forward`` (empty when they match)."""
    try:
        names = tuple(a.name for a in module.forward.schema.arguments)[1:]
    except AttributeError:  # a Python module in this process (e.g. an AOTInductor model)
        import inspect

        try:
            names = tuple(inspect.signature(module.forward).parameters)
        except (AttributeError, TypeError, ValueError):
            return ["the module has no forward method"]
    if names != FORWARD_ARGS:
        return [f"forward's arguments are ({', '.join(names)}); the contract needs "
                f"({', '.join(FORWARD_ARGS)})"]
    return []


@dataclass
class ContractReport:
    """Result of :func:`check_model_file`: ``ok`` when ``problems`` is empty.

    metadata: the parsed metadata (or None); outputs: key -> shape of one test call;
    asr_violation: max |sum_i Z_i| [e] over the test replicas (None without BECs).
    """

    path: str
    problems: list = field(default_factory=list)
    metadata: dict = None
    outputs: dict = field(default_factory=dict)
    asr_violation: float = None
    #: False when the file is missing or no model archive at all (not just a broken contract)
    readable: bool = True

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        """Multi-line text for ``slidesim model info``."""
        lines = [f"model file: {self.path}"]
        meta = self.metadata or {}
        for key in ("description", "contract", "cutoff", "pair_mode", "type_names", "dtype",
                    "forces", "outputs", "units", "bec_convention"):
            if key in meta:
                lines.append(f"  {key:15s} {meta[key]}")
        for key, shape in self.outputs.items():
            lines.append(f"  returns {key:13s} {tuple(shape)}")
        if self.asr_violation is not None:
            lines.append(f"  acoustic sum rule: max |sum_i Z_i| = {self.asr_violation:.2e} e")
        if self.ok:
            lines.append("contract: OK")
        else:
            lines.append("contract: NOT satisfied")
            lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def probe_configuration(metadata, dtype):
    """A small batch of two replicas (4 and 3 atoms) with a full pair list and zero shifts.

    Returns the dict of forward's arguments as CPU tensors.
    """
    torch = _torch()
    rng = np.random.default_rng(7)
    n_types = len(metadata.get("type_names", ["X"]))
    n_atoms = np.array([4, 3])
    positions = np.concatenate([rng.uniform(0.0, 3.0, (n, 3)) for n in n_atoms])
    replica = np.repeat(np.arange(len(n_atoms)), n_atoms)
    starts = np.concatenate([[0], np.cumsum(n_atoms)[:-1]])
    pairs = [(s + i, s + j) for s, n in zip(starts, n_atoms) for i in range(n) for j in range(n)
             if i != j]
    cells = np.tile(np.diag([20.0, 20.0, 30.0]), (len(n_atoms), 1, 1))
    return {"positions": torch.tensor(positions, dtype=dtype),
            "atom_types": torch.tensor(np.arange(len(positions)) % n_types, dtype=torch.int64),
            "cells": torch.tensor(cells, dtype=dtype),
            "edge_index": torch.tensor(np.array(pairs).T, dtype=torch.int64),
            "shifts": torch.zeros((len(pairs), 3), dtype=dtype),
            "replica": torch.tensor(replica, dtype=torch.int64),
            "n_atoms": torch.tensor(n_atoms, dtype=torch.int64),
            "field": torch.zeros((len(n_atoms), 3), dtype=dtype)}


def _output_problems(metadata, result, inputs):
    n, r = len(inputs["positions"]), len(inputs["n_atoms"])
    expected = {"energy": (r,)}
    outputs = metadata.get("outputs", [])
    if "born_charges" in outputs:
        expected["born_charges"] = (n, 3, 3)
    if "dipole" in outputs:
        expected["dipole"] = (r, 3)
    if metadata.get("forces") == "module":
        expected.update(forces=(n, 3), virial=(r, 6))
    problems = []
    for key, shape in expected.items():
        if key not in result:
            problems.append(f"forward returned no '{key}' (returned: {sorted(result)})")
        elif tuple(result[key].shape) != shape:
            problems.append(f"'{key}' has shape {tuple(result[key].shape)}, expected {shape}")
        elif not bool(result[key].isfinite().all()):
            problems.append(f"'{key}' is not finite on the test configuration")
    return problems


def check_model_file(path, device="cpu"):
    """Load ``path`` and check it against the contract; returns a :class:`ContractReport`."""
    torch = _torch()
    report = ContractReport(path)
    try:
        module, metadata = load_model_file(path, device)
    except (ContractError, FileNotFoundError) as err:
        report.problems.append(str(err))
        report.readable = not isinstance(err, FileNotFoundError) and \
            "is not a TorchScript archive" not in str(err)
        return report
    report.metadata = metadata
    report.problems += metadata_problems(metadata)
    report.problems += forward_problems(module)
    if report.problems:
        return report
    dtype = getattr(torch, metadata["dtype"])
    inputs = {k: v.to(device) for k, v in probe_configuration(metadata, dtype).items()}
    inputs["positions"].requires_grad_(metadata["forces"] == "autograd")
    try:
        result = module(*(inputs[name] for name in FORWARD_ARGS))
    except Exception as err:  # a broken model can raise anything from inside TorchScript
        report.problems.append(f"forward failed on a test configuration: "
                               f"{type(err).__name__}: {str(err).strip().splitlines()[-1]}")
        return report
    if not isinstance(result, dict):
        report.problems.append(f"forward must return Dict[str, Tensor], got "
                               f"{type(result).__name__}")
        return report
    report.outputs = {k: tuple(v.shape) for k, v in result.items()}
    report.problems += _output_problems(metadata, result, inputs)
    if report.problems:
        return report
    if metadata["forces"] == "autograd":
        energy = result["energy"]
        if not energy.requires_grad:
            report.problems.append("'energy' does not depend on positions through autograd; "
                                   "return forces and virial and set forces = 'module'")
    if "born_charges" in result:
        z = result["born_charges"].detach().cpu().double()
        sums = torch.zeros((len(inputs["n_atoms"]), 3, 3), dtype=torch.float64)
        sums.index_add_(0, inputs["replica"].cpu(), z)
        report.asr_violation = float(sums.abs().max())
    return report


def jit_load(path, map_location, extra_files):
    """torch.jit.load without its deprecation warning: TorchScript is the file format of
    slidesim's ML models (docs/ml_models.md), so the warning is noise to its users."""
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.*deprecated")
        return torch.jit.load(str(path), map_location=map_location, _extra_files=extra_files)
