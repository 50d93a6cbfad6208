"""``slidesim validate`` and ``slidesim fit``: click commands of the DFT validation suite.

Registered on the command group by :mod:`slidesim.cli`.
"""

import os
import sys

import click

from slidesim.commands import POSITIVE, fail

#: the suites shipped with slidesim: the seed paper's h-BN DFT data (the default of ``fit``)
VALIDATION_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "validation")
DEFAULT_SUITE = os.path.join(VALIDATION_DIR, "dft_seed_paper")
#: material -> the shipped suite ``validate`` takes for a model of that material
SUITES = {"BN": DEFAULT_SUITE, "MoS2": os.path.join(VALIDATION_DIR, "dft_mos2")}


def default_suite(model_names):
    """The shipped suite of the material the models are made for (slidesim.structures.
    material_of_model); ValueError when they differ, or when no suite ships for it."""
    from slidesim.structures import material_of_model

    materials = {}
    for name in model_names:
        try:
            materials[name] = material_of_model(name)
        except ValueError as err:
            raise ValueError(f"{err}; or give a suite with --suite DIR "
                             f"(shipped: {', '.join(SUITES.values())})") from None
    if len(set(materials.values())) > 1:
        listed = ", ".join(f"{n} ({m})" for n, m in materials.items())
        raise ValueError(f"the models are made for different materials: {listed}; validate "
                         "them one at a time, or give a suite with --suite DIR")
    material = next(iter(materials.values()))
    if material not in SUITES:
        raise ValueError(f"no validation suite ships for {material}; give one with --suite "
                         "DIR (docs/validation.md)")
    return SUITES[material]


def _load(suite_dir):
    from slidesim.validation.suite import SuiteError, load_suite

    try:
        return load_suite(suite_dir)
    except SuiteError as err:
        fail(str(err))


@click.command("validate")
@click.option("--model", "model_names", multiple=True, default=("bn-dft",), show_default=True,
              help="Model name (repeat to compare several in one report and plot).")
@click.option("--suite", "suite_dir", default=None, type=click.Path(file_okay=False),
              show_default="the model's material: validation/dft_seed_paper for h-BN, "
                           "validation/dft_mos2 for MoS2",
              help="Suite directory (suite.toml).")
@click.option("--ilp", type=click.Path(dir_okay=False, exists=True),
              help="Use this .ILP parameter file instead of the model's.")
@click.option("--tersoff", type=click.Path(dir_okay=False, exists=True),
              help="Use this tersoff parameter file instead of the model's.")
@click.option("--dipole", type=click.Path(dir_okay=False, exists=True),
              help="Registry dipole parameters (JSON) instead of the model's.")
@click.option("--lattice", type=POSITIVE, default=None,
              help="Lattice constant a [A] of the profile (default: the model's own).")
@click.option("--output", default="validation_report", show_default=True,
              help="Report prefix: PREFIX.md, PREFIX.json, PREFIX.png.")
@click.option("--plot/--no-plot", default=True, show_default=True)
def validate(model_names, suite_dir, ilp, tersoff, dipole, lattice, output, plot):
    """Compare a model with a DFT suite; exit status 1 when anything is out of tolerance."""
    from slidesim.models import model_entry
    from slidesim.rigid import default_dipole
    from slidesim.structures import monolayer
    from slidesim.validation import report
    from slidesim.validation.evaluate import evaluate

    if suite_dir is None:
        try:
            suite_dir = default_suite(model_names)
        except ValueError as err:
            fail(str(err))
    suite = _load(suite_dir)
    options = {k: v for k, v in (("ilp", ilp), ("tersoff", tersoff)) if v}
    evaluations = []
    for name in model_names:
        try:
            entry = model_entry(name)
            species = monolayer(suite.material).species
            if entry.species is not None and not set(species) <= set(entry.species):
                fail(f"model '{name}' has no parameters for {suite.material} "
                     f"({', '.join(species)}), the material of suite '{suite.name}' "
                     f"({suite_dir}); give a suite of its material with --suite DIR "
                     "(docs/validation.md)")
            source = default_dipole(name, species, dipole)
        except ValueError as err:
            fail(str(err))
        try:
            evaluation = evaluate(suite, name, lattice, source, options)
        except (ValueError, OSError) as err:
            fail(str(err))
        evaluations.append(evaluation)
        click.echo(report.format_table(evaluation))
    prefix = output
    directory = os.path.dirname(prefix)
    if directory:
        os.makedirs(directory, exist_ok=True)
    image = f"{prefix}.png" if plot else None
    if plot:
        report.plot_profiles(evaluations, image)
    with open(f"{prefix}.md", "w") as handle:
        for evaluation in evaluations:
            handle.write(f"## {evaluation.model}\n\n{report.markdown_table(evaluation)}\n\n"
                         + ("**PASSED**" if evaluation.passed else "**FAILED**") + "\n\n")
        if image:
            handle.write(f"![model vs DFT]({os.path.basename(image)})\n")
    import json
    with open(f"{prefix}.json", "w") as handle:
        json.dump([e.to_dict() for e in evaluations], handle, indent=1)
    click.echo(f"report: {prefix}.md, {prefix}.json" + (f", {image}" if image else ""))
    if not all(e.passed for e in evaluations):
        sys.exit(1)


@click.command("fit")
@click.option("--suite", "suite_dir", default=DEFAULT_SUITE, type=click.Path(file_okay=False),
              show_default="validation/dft_seed_paper", help="Suite directory (suite.toml).")
@click.option("--output", "out_dir", default=".", show_default=True,
              help="Directory for NAME.ILP, NAME.tersoff, NAME_dipole.json.")
@click.option("--name", default="BN_fit", show_default=True, help="Base name of the files.")
@click.option("--free", default="beta,C,C6", show_default=True,
              help="ILP columns to scale (beta, alpha, delta, epsilon, C, C6, d).")
@click.option("--ilp", type=click.Path(dir_okay=False, exists=True),
              help="Starting .ILP file (default: BNCH.ILP).")
@click.option("--dipole/--no-dipole", default=True, show_default=True,
              help="Also fit the registry dipole model.")
def fit(suite_dir, out_dir, name, free, ilp, dipole):
    """Fit the ILP (and the registry dipole) of an h-BN model to a DFT suite."""
    from slidesim.validation.calibrate import calibrate

    suite = _load(suite_dir)
    try:
        paths = calibrate(suite, out_dir, name, tuple(c.strip() for c in free.split(",")),
                          base_ilp=ilp, dipole=dipole, log=click.echo)
    except ValueError as err:
        fail(str(err))
    written = [p for k, p in paths.items() if k != "result" and p]
    click.echo("wrote " + ", ".join(written))
    click.echo(f"check: slidesim validate --model bn-dft --ilp {paths['ilp']} --tersoff "
               f"{paths['tersoff']}" + (f" --dipole {paths['dipole']}" if dipole else ""))
