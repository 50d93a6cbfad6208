"""Training the Born-charge network on labelled frames, and the error metrics of a model.

Frames are ase.Atoms with ``born_charges`` (N, 9) arrays (as written by
:mod:`slidesim.ml.dataset`, or converted from DFPT output). :func:`batch_frames` turns a list of
frames into the flat batched tensors of the model contract, with edges from slidesim's own
neighbour list; :func:`train_bec` fits a :class:`~slidesim.ml.bec.BECNetwork` with Adam on the
mean squared error of Z and reports mean absolute errors in e.
"""

import time

import numpy as np

from slidesim.ml.batch import csr_sources


def frame_graph(atoms, type_names, cutoff):
    """Inputs of one frame as NumPy arrays: positions, types, cell, edge_index, shifts, layer."""
    from slidesim.io.structures import atoms_to_state
    from slidesim.neighbors import NeighborList

    state = atoms_to_state(atoms)
    unknown = sorted(set(state.species_names) - set(type_names))
    if unknown:
        raise ValueError(f"frame has elements {unknown} the model does not know ({type_names})")
    types = np.array([type_names.index(state.species_names[s]) for s in state.species])
    nl = NeighborList(cutoff, skin=0.0, mode="all")
    nl.update(state.positions[0], state.cell, state.layer)
    edge_index = np.stack([csr_sources(nl.offsets), nl.neighbors]).astype(np.int64)
    return state.positions[0], types, state.cell, edge_index, np.array(nl.shifts), state.layer


def batch_frames(frames, type_names, cutoff):
    """Flat batched tensors (the model contract's inputs, plus ``born_charges`` and
    ``energy``/``forces`` where the frames carry them) of a list of frames."""
    import torch

    parts = [frame_graph(atoms, type_names, cutoff) for atoms in frames]
    n_atoms = np.array([len(p[0]) for p in parts])
    starts = np.concatenate([[0], np.cumsum(n_atoms)[:-1]])
    batch = {
        "positions": torch.from_numpy(np.concatenate([p[0] for p in parts])),
        "atom_types": torch.from_numpy(np.concatenate([p[1] for p in parts])),
        "cells": torch.from_numpy(np.stack([p[2] for p in parts])),
        "edge_index": torch.from_numpy(np.concatenate([p[3] + s for p, s in zip(parts, starts)],
                                                      axis=1)),
        "shifts": torch.from_numpy(np.concatenate([p[4] for p in parts])),
        "replica": torch.from_numpy(np.repeat(np.arange(len(parts)), n_atoms)),
        "n_atoms": torch.from_numpy(n_atoms.astype(np.int64)),
    }
    batch["field"] = torch.zeros((len(parts), 3), dtype=torch.float64)
    # (replica, layer) group of every atom, for sums of Z over a layer
    batch["layer_group"] = torch.from_numpy(
        2 * np.repeat(np.arange(len(parts)), n_atoms) + np.concatenate([p[5] for p in parts]))
    if all("born_charges" in atoms.arrays for atoms in frames):
        batch["born_charges"] = torch.from_numpy(np.concatenate(
            [atoms.arrays["born_charges"].reshape(-1, 3, 3) for atoms in frames]))
    return batch


def bec_inputs(batch):
    """The arguments of BECNetwork.forward from a batch dict."""
    return (batch["positions"], batch["atom_types"], batch["edge_index"], batch["shifts"],
            batch["replica"], batch["n_atoms"])


def split_frames(frames, validation=0.1, seed=0):
    """(train, validation) lists, a random ``validation`` fraction of frames held out."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frames))
    n_val = max(1, int(round(validation * len(frames))))
    return [frames[k] for k in order[n_val:]], [frames[k] for k in order[:n_val]]


def layer_sums(z, batch):
    """Z summed over each layer of each frame: (2 R, 3, 3)."""
    import torch

    groups = 2 * len(batch["n_atoms"])
    return torch.zeros((groups, 3, 3), dtype=z.dtype).index_add(0, batch["layer_group"], z)


def bec_loss(z, batch, layer_weight):
    """Mean squared error of Z plus ``layer_weight`` times that of the per-layer sums of Z.

    A field perpendicular to the layers pushes a whole layer sideways with sum_i Z_i[z, x|y] E_z,
    a small quantity (~0.01 e per layer) that per-atom errors, adding up over a layer, can swamp;
    the second term trains it directly.
    """
    loss = ((z - batch["born_charges"]) ** 2).mean()
    if layer_weight:
        diff = layer_sums(z, batch) - layer_sums(batch["born_charges"], batch)
        loss = loss + layer_weight * (diff ** 2).mean()
    return loss


def train_bec(train, validation, type_names, cutoff=5.0, channels=8, epochs=200,
              batch_size=16, learning_rate=0.01, seed=0, layer_weight=1.0, log=print):
    """Fit a BECNetwork to the ``born_charges`` of ``train`` frames.

    Adam on :func:`bec_loss` (per-atom and, weighted by ``layer_weight``, per-layer errors of
    Z), full passes over shuffled mini-batches of ``batch_size`` frames, the learning rate
    halved when the validation loss has not improved for 20 epochs; the best validation state is
    kept. Returns (network, metrics): the MAE of Z [e] on the training and validation frames,
    the validation MAE of the per-layer sums of Z [e], and the training time [s].
    """
    import torch

    from slidesim.ml.bec import BECNetwork

    torch.manual_seed(seed)
    net = BECNetwork(len(type_names), cutoff, channels=channels)
    batches = [batch_frames(train[k:k + batch_size], type_names, cutoff)
               for k in range(0, len(train), batch_size)]
    val = batch_frames(validation, type_names, cutoff)
    with torch.no_grad():  # start from each type's mean charge (trace of Z / 3)
        for t in range(len(type_names)):
            zs = [b["born_charges"][b["atom_types"] == t] for b in batches]
            z = torch.cat(zs)
            if len(z):
                net.charge[t] = torch.diagonal(z, dim1=1, dim2=2).mean()
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=20)
    rng = np.random.default_rng(seed)
    best, best_state = np.inf, None
    started = time.perf_counter()
    for epoch in range(epochs):
        for k in rng.permutation(len(batches)):
            batch = batches[k]
            optimizer.zero_grad()
            loss = bec_loss(net(*bec_inputs(batch)), batch, layer_weight)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            z = net(*bec_inputs(val))
            val_loss = bec_loss(z, val, layer_weight).item()
            val_mae = (z - val["born_charges"]).abs().mean().item()
            val_layer = (layer_sums(z, val) - layer_sums(val["born_charges"], val)).abs()
        scheduler.step(val_loss)
        if val_loss < best:
            best = val_loss
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
            best_metrics = (val_mae, val_layer.mean().item())
        if log is not None and (epoch % 20 == 0 or epoch == epochs - 1):
            log(f"BEC epoch {epoch:4d}: validation MAE {val_mae:.5f} e, per-layer sums "
                f"{val_layer.mean().item():.5f} e (lr {optimizer.param_groups[0]['lr']:.2e})")
    net.load_state_dict(best_state)
    with torch.no_grad():
        train_mae = np.mean([(net(*bec_inputs(b)) - b["born_charges"]).abs().mean().item()
                             for b in batches])
    return net, {"bec_mae_train_e": float(train_mae), "bec_mae_validation_e": best_metrics[0],
                 "bec_layer_sum_mae_validation_e": best_metrics[1],
                 "seconds": time.perf_counter() - started}
