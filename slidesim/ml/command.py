"""``slidesim model info | build``: inspect and write TorchScript models (docs/ml_models.md)."""

import importlib
import importlib.util
import json
import os
import sys

import click


def _fail(message):
    click.echo(f"slidesim: error: {message}", err=True)
    sys.exit(2)


def _load_factory(source):
    """The callable named by 'package.module:name' or 'path/to/file.py:name'."""
    if ":" not in source:
        _fail(f"--source {source!r} must be MODULE:NAME or FILE.py:NAME")
    where, name = source.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            if not os.path.exists(where):
                _fail(f"--source file {where} not found")
            spec = importlib.util.spec_from_file_location("slidesim_model_source", where)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ImportError as err:
        _fail(f"cannot import {where}: {err}")
    if not hasattr(module, name):
        _fail(f"{where} has no {name!r}")
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
        _fail(str(err))
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
@click.option("--cutoff", type=float, default=5.0, show_default=True,
              help="Cutoff [A] of the reference model.")
def build(output, source, metadata_path, types, cutoff):
    """Script a model, save it to OUTPUT with its metadata, and check it against the contract."""
    try:
        from slidesim.ml.contract import ContractError, check_model_file, save_model
    except ImportError as err:
        _fail(str(err))
    try:
        if source is None:
            from slidesim.ml.examples import write_example_model

            write_example_model(output, [t.strip() for t in types.split(",")], cutoff)
        else:
            if metadata_path is None:
                _fail("--source needs --metadata META.json (see docs/ml_models.md)")
            with open(metadata_path) as handle:
                metadata = json.load(handle)
            save_model(_load_factory(source)(), output, metadata)
    except (ContractError, OSError, json.JSONDecodeError, RuntimeError) as err:
        _fail(str(err))
    report = check_model_file(output)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)
