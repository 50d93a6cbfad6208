"""``slidesim model train``: an Allegro potential (nequip-train) plus a Born-charge network.

The recipe, each step also usable on its own:

1. split the labelled frames (extended XYZ with energy, forces, stress and ``born_charges``)
   into train / validation / test files (:func:`split_files`);
2. write a nequip 0.19 configuration for an Allegro model (:func:`nequip_config`) and run
   nequip's own ``nequip-train`` on it (:func:`run_nequip_train`): best checkpoint
   ``nequip/best.ckpt``;
3. fit :class:`~slidesim.ml.bec.BECNetwork` to the Born charges
   (:func:`slidesim.ml.training.train_bec`): ``bec.pt``;
4. wrap both into one contract file (:func:`slidesim.ml.nequip_interop.build_from_nequip`);
5. score the contract file on the test frames (:func:`score_model`): MAE of the energy per atom
   [meV/atom], forces [meV/A] and Born charges [e], written to ``metrics.json``.
"""

import json
import os
import subprocess
import sys

import numpy as np

#: Allegro hyperparameters of the demo model (small enough to train on a laptop CPU)
DEMO_ALLEGRO = {"l_max": 1, "num_layers": 2, "num_scalar_features": 32,
                "num_tensor_features": 8, "num_bessels": 8, "mlp_width": 32}


def split_files(data_path, workdir, validation=0.1, test=0.1, seed=0):
    """Write train.xyz, val.xyz and test.xyz (random split) in ``workdir``; returns their paths
    and the frame counts."""
    from ase.io import read, write

    frames = read(data_path, ":")
    if len(frames) < 10:
        raise ValueError(f"{data_path}: {len(frames)} frames; training needs at least 10")
    for k, atoms in enumerate(frames):
        if "born_charges" not in atoms.arrays:
            raise ValueError(f"{data_path}: frame {k} has no 'born_charges' array (9 numbers "
                             "per atom, Z[alpha, beta] row-major)")
    order = np.random.default_rng(seed).permutation(len(frames))
    n_val = max(1, int(round(validation * len(frames))))
    n_test = max(1, int(round(test * len(frames))))
    parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val],
             "train": order[n_test + n_val:]}
    paths = {}
    for name, indices in parts.items():
        paths[name] = os.path.abspath(os.path.join(workdir, f"{name}.xyz"))
        write(paths[name], [frames[k] for k in indices], format="extxyz")
    return paths, {name: len(indices) for name, indices in parts.items()}


def nequip_config(paths, type_names, r_max=6.0, epochs=100, batch_size=4, learning_rate=0.005,
                  seed=0, energy_weight=10.0, hyper=None):
    """A nequip-train configuration (dict, written as YAML) for an Allegro model."""
    h = dict(DEMO_ALLEGRO, **(hyper or {}))
    loader = {"_target_": "torch.utils.data.DataLoader", "batch_size": batch_size}
    metrics = {"_target_": "nequip.train.EnergyForceStressMetrics",
               "coeffs": {"per_atom_energy_mae": energy_weight, "forces_mae": 1.0,
                          "stress_mae": 1.0}}
    return {
        "run": ["train", "test"],
        "seed": seed,
        "data": {
            "_target_": "nequip.data.datamodule.ASEDataModule",
            "seed": seed,
            "train_file_path": paths["train"], "val_file_path": paths["val"],
            "test_file_path": paths["test"],
            "ase_args": {"format": "extxyz"},
            "key_mapping": {"born_charges": "born_effective_charges"},
            # nequip registers "dipole" as a per-atom field; the frames' dipole is per frame
            "exclude_keys": ["dipole"],
            "transforms": [
                {"_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper",
                 "model_type_names": list(type_names),
                 "chemical_species_to_atom_type_map": {t: t for t in type_names}},
                {"_target_": "nequip.data.transforms.NeighborListTransform", "r_max": r_max},
            ],
            "train_dataloader": dict(loader, shuffle=True), "val_dataloader": loader,
            "test_dataloader": loader,
            "stats_manager": {"_target_": "nequip.data.CommonDataStatisticsManager",
                              "type_names": list(type_names)},
        },
        "trainer": {
            "_target_": "lightning.Trainer", "accelerator": "cpu", "devices": 1,
            "max_epochs": epochs, "check_val_every_n_epoch": 1, "log_every_n_steps": 10,
            "enable_progress_bar": False, "logger": False,
            "callbacks": [{"_target_": "lightning.pytorch.callbacks.ModelCheckpoint",
                           "monitor": "val0_epoch/weighted_sum",
                           "dirpath": "${hydra:runtime.output_dir}", "filename": "best",
                           "save_top_k": 1, "save_last": True}],
        },
        "training_module": {
            "_target_": "nequip.train.NequIPLightningModule",
            "loss": {"_target_": "nequip.train.EnergyForceStressLoss", "per_atom_energy": True,
                     "coeffs": {"total_energy": energy_weight, "forces": 1.0, "stress": 1.0}},
            "val_metrics": metrics, "test_metrics": metrics,
            "optimizer": {"_target_": "torch.optim.Adam", "lr": learning_rate},
            "lr_scheduler": {
                "scheduler": {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau",
                              "factor": 0.5, "patience": 10},
                "monitor": "val0_epoch/weighted_sum", "interval": "epoch", "frequency": 1},
            "model": {
                "_target_": "allegro.model.AllegroModel", "seed": seed,
                "model_dtype": "float64", "type_names": list(type_names), "r_max": r_max,
                "l_max": h["l_max"], "parity": True, "num_layers": h["num_layers"],
                "num_scalar_features": h["num_scalar_features"],
                "num_tensor_features": h["num_tensor_features"],
                "radial_chemical_embed": {"_target_": "allegro.nn.TwoBodyBesselScalarEmbed",
                                          "num_bessels": h["num_bessels"]},
                "radial_chemical_embed_dim": h["num_scalar_features"],
                "scalar_embed_mlp_hidden_layers_depth": 1,
                "scalar_embed_mlp_hidden_layers_width": h["mlp_width"],
                "allegro_mlp_hidden_layers_depth": 1,
                "allegro_mlp_hidden_layers_width": h["mlp_width"],
                "readout_mlp_hidden_layers_depth": 1,
                "readout_mlp_hidden_layers_width": h["mlp_width"] // 2,
                "avg_num_neighbors": "${training_data_stats:num_neighbors_mean}",
                "per_type_energy_shifts": "${training_data_stats:per_atom_energy_mean}",
                "per_type_energy_scales": "${training_data_stats:forces_rms}",
            },
        },
    }


def run_nequip_train(config, workdir, log_path=None):
    """Write ``config`` as nequip.yaml in ``workdir`` and run nequip-train there.

    Returns the path of the best checkpoint. Raises RuntimeError with the log's tail when
    nequip-train fails.
    """
    import yaml

    workdir = os.path.abspath(workdir)
    with open(os.path.join(workdir, "nequip.yaml"), "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    run_dir = os.path.join(workdir, "nequip")
    command = [sys.executable, "-m", "nequip.scripts.train", "-cp", workdir, "-cn",
               "nequip.yaml", f"hydra.run.dir={run_dir}"]
    log_path = log_path or os.path.join(workdir, "nequip-train.log")
    with open(log_path, "w") as log:
        done = subprocess.run(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    best = os.path.join(run_dir, "best.ckpt")
    if done.returncode != 0 or not os.path.exists(best):
        with open(log_path) as handle:
            tail = "".join(handle.readlines()[-20:])
        raise RuntimeError(f"nequip-train failed (exit {done.returncode}); see {log_path}:\n"
                           f"{tail}")
    return best


def score_model(model_path, frames, skin=0.0):
    """MAE of a contract model on labelled frames: energy [meV/atom], forces [meV/A], Born
    charges [e] (when both have them), and the layer-summed Z_z,x/y [e] that drives sliding
    under a vertical field."""
    from slidesim.io.structures import atoms_to_state
    from slidesim.ml.torch_model import TorchScriptTerm
    from slidesim.models.model import Model

    errors = {"energy": [], "forces": [], "born_charges": [], "layer_zzxy": []}
    term = None
    for atoms in frames:
        state = atoms_to_state(atoms)
        if term is None:
            term = TorchScriptTerm(model_path, state.species_names, device="cpu")
            model = Model("ml", [term], state.species_names)
        positions = state.positions[0]
        result = model.compute(positions, state.cell, state.species, state.layer,
                               model.neighbor_lists(skin))
        errors["energy"].append(abs(result.energy - atoms.get_potential_energy()) / len(atoms))
        errors["forces"].append(np.abs(result.forces - atoms.get_forces()).ravel())
        predicted = result.extras.get("born_charges")
        if predicted is not None and "born_charges" in atoms.arrays:
            reference = atoms.arrays["born_charges"].reshape(-1, 3, 3)
            errors["born_charges"].append(np.abs(predicted - reference).ravel())
            for layer in (0, 1):
                rows = state.layer == layer
                diff = predicted[rows, 2, :2].sum(0) - reference[rows, 2, :2].sum(0)
                errors["layer_zzxy"].append(np.abs(diff))
    out = {"frames": len(frames),
           "energy_mae_meV_per_atom": 1e3 * float(np.mean(errors["energy"])),
           "forces_mae_meV_per_A": 1e3 * float(np.mean(np.concatenate(errors["forces"])))}
    if errors["born_charges"]:
        out["bec_mae_e"] = float(np.mean(np.concatenate(errors["born_charges"])))
        out["layer_Zz_xy_mae_e"] = float(np.mean(np.concatenate(errors["layer_zzxy"])))
    return out


def train(data_path, output, workdir, type_names=("B", "N"), r_max=6.0, epochs=100,
          bec_epochs=200, bec_channels=8, seed=0, log=print):
    """The whole recipe (module docstring); returns the metrics dict (also metrics.json)."""
    from ase.io import read

    from slidesim.ml.nequip_interop import build_from_nequip, save_bec
    from slidesim.ml.training import train_bec

    os.makedirs(workdir, exist_ok=True)
    paths, counts = split_files(data_path, workdir, seed=seed)
    log(f"frames: {counts['train']} train, {counts['val']} validation, {counts['test']} test")
    log(f"training the Allegro potential with nequip-train ({epochs} epochs; log in "
        f"{os.path.join(workdir, 'nequip-train.log')})")
    config = nequip_config(paths, type_names, r_max=r_max, epochs=epochs, seed=seed)
    best = run_nequip_train(config, workdir)
    log(f"training the Born-charge network ({bec_epochs} epochs)")
    train_frames, val_frames = read(paths["train"], ":"), read(paths["val"], ":")
    net, bec_metrics = train_bec(train_frames, val_frames, list(type_names), cutoff=r_max,
                                 channels=bec_channels, epochs=bec_epochs, seed=seed, log=log)
    bec_path = os.path.join(workdir, "bec.pt")
    save_bec(net, bec_path, type_names, r_max)
    build_from_nequip(best, output, bec_path,
                      description=f"Allegro (nequip) + BECNetwork trained on {data_path}")
    metrics = {"data": os.path.abspath(data_path), "frames": counts, "r_max_A": r_max,
               "epochs": epochs, "bec_epochs": bec_epochs, "allegro": DEMO_ALLEGRO,
               "bec_training": bec_metrics,
               "test": score_model(output, read(paths["test"], ":")),
               "validation": score_model(output, val_frames)}
    with open(os.path.join(workdir, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=1)
    return metrics
