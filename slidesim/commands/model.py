"""``slidesim model info | build | dataset | train``: machine-learned model files (docs/ml_models.md)."""

import importlib
import importlib.util
import json
import os
import sys

import click

from slidesim.commands import POSITIVE, fail


def _load_factory(source):
    """The callable named by 'package.module:name' or 'path/to/file.py:name'."""
    if ":" not in source:
        fail(f"--source {source!r} must be MODULE:NAME or FILE.py:NAME")
    where, name = source.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            if not os.path.exists(where):
                fail(f"--source file {where} not found")
            spec = importlib.util.spec_from_file_location("slidesim_model_source", where)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ImportError as err:
        fail(f"cannot import {where}: {err}")
    if not hasattr(module, name):
        fail(f"{where} has no {name!r}")
    return getattr(module, name)


@click.group(name="model", context_settings={"help_option_names": ["-h", "--help"]})
def model():
    """Machine-learned model files (TorchScript): inspect, check, write."""


@model.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--device", default="cpu", show_default=True, help="Device for the test call.")
def info(path, device):
    """Print what the model file PATH contains and whether it satisfies the contract."""
    try:
        from slidesim.ml.contract import check_model_file

        report = check_model_file(path, device=device)
    except ImportError as err:
        fail(str(err))
    if not report.readable:  # not a model file at all (or none)
        fail(f"{path}: {report.problems[0]}")
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@model.command()
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--source", default=None, help="MODULE:NAME or FILE.py:NAME of a callable "
              "returning a torch.nn.Module (default: the reference model of slidesim.ml.examples).")
@click.option("--metadata", "metadata_path", type=click.Path(dir_okay=False), default=None,
              help="JSON file with the contract metadata (needed with --source).")
@click.option("--types", default="B,N", show_default=True,
              help="Type names of the reference model, comma-separated.")
@click.option("--cutoff", type=POSITIVE, default=5.0, show_default=True,
              help="Cutoff [A] of the reference model.")
@click.option("--nequip", "nequip_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Wrap a nequip/Allegro model (.nequip.zip package or .ckpt).")
@click.option("--bec", "bec_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="With --nequip: a Born-charge network file (bec.pt of slidesim model train).")
def build(output, source, metadata_path, types, cutoff, nequip_path, bec_path):
    """Script a model, save it to OUTPUT with its metadata, and check it against the contract."""
    try:
        from slidesim.ml.contract import ContractError, check_model_file, save_model
    except ImportError as err:
        fail(str(err))
    if bec_path and not nequip_path:
        fail("--bec goes with --nequip MODEL")
    try:
        if nequip_path is not None:
            from slidesim.ml.nequip_interop import build_from_nequip

            build_from_nequip(nequip_path, output, bec_path)
        elif source is None:
            from slidesim.ml.examples import write_example_model

            write_example_model(output, [t.strip() for t in types.split(",")], cutoff)
        else:
            if metadata_path is None:
                fail("--source needs --metadata META.json (see docs/ml_models.md)")
            with open(metadata_path) as handle:
                metadata = json.load(handle)
            save_model(_load_factory(source)(), output, metadata)
    except (ContractError, OSError, json.JSONDecodeError, RuntimeError, ValueError,
            ImportError) as err:
        fail(str(err))
    report = check_model_file(output)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@model.command()
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--model", "model_name", default="bn-dft", show_default=True,
              help="Reference model that labels the frames (energy, forces, stress; Born "
                   "charges from its registry dipole model).")
@click.option("--cells", type=click.IntRange(1), default=3, show_default=True,
              help="Bilayer supercell n x n (4 n^2 atoms).")
@click.option("--temperatures", default="100,300,1000,2000,3000", show_default=True,
              help="MD temperatures [K], comma-separated.")
@click.option("--frames", type=click.IntRange(0), default=30, show_default=True,
              help="MD snapshots per temperature (0.1 ps apart).")
@click.option("--grid", type=int, default=6, show_default=True,
              help="Rigid slides on a grid x grid mesh of sliding vectors (x 3 distances).")
@click.option("--seed", type=int, default=0, show_default=True)
def dataset(output, model_name, cells, temperatures, frames, grid, seed):
    """Write training frames labelled by a reference model to OUTPUT (extended XYZ)."""
    from slidesim.ml.dataset import generate_dataset

    try:
        temps = [float(t) for t in temperatures.split(",")]
    except ValueError:
        fail(f"--temperatures {temperatures!r}: give temperatures [K] separated by commas, "
             "e.g. 100,300,1000")
    try:
        n = generate_dataset(output, model_name, cells, temps, frames, grid, seed)
    except ValueError as err:
        fail(str(err))
    click.echo(f"wrote {n} frames to {output}")


@model.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Contract model file to write.")
@click.option("--workdir", default="train", show_default=True,
              help="Directory for the splits, nequip run, BEC network and metrics.json.")
@click.option("--types", default="B,N", show_default=True, help="Type names, in order.")
@click.option("--r-max", type=float, default=6.0, show_default=True, help="Cutoff [A].")
@click.option("--epochs", type=int, default=100, show_default=True,
              help="nequip-train epochs of the Allegro potential.")
@click.option("--bec-epochs", type=int, default=200, show_default=True,
              help="Epochs of the Born-charge network.")
@click.option("--seed", type=int, default=0, show_default=True)
def train(data, output, workdir, types, r_max, epochs, bec_epochs, seed):
    """Train an Allegro potential (nequip-train) and a Born-charge network on DATA.

    DATA: extended XYZ frames with energy, forces, stress and a per-atom 'born_charges' array
    (9 numbers, Z[alpha, beta] row-major, e), as `slidesim model dataset` writes. Prints the
    test-set errors and writes OUTPUT, a contract file for `model torchscript path OUTPUT`.
    """
    try:
        from slidesim.ml.nequip_train import train as run_training
    except ImportError as err:
        fail(str(err))
    try:
        metrics = run_training(data, output, workdir, [t.strip() for t in types.split(",")],
                               r_max, epochs, bec_epochs, seed=seed, log=click.echo)
    except (ValueError, RuntimeError, OSError) as err:
        fail(str(err))
    test = metrics["test"]
    click.echo(f"test set ({test['frames']} frames): energy MAE "
               f"{test['energy_mae_meV_per_atom']:.3f} meV/atom, forces MAE "
               f"{test['forces_mae_meV_per_A']:.2f} meV/A, Born charges MAE "
               f"{test.get('bec_mae_e', float('nan')):.4f} e")
    click.echo(f"wrote {output}; metrics in {os.path.join(workdir, 'metrics.json')}")
