"""``slidesim profile``: the sliding energy profile of rigid flat layers (docs/models.md)."""

import click

from slidesim.commands import POSITIVE, fail, user_errors


@click.command("profile")
@click.option("--model", default=None,
              help="Model name (default: the material's reference model: bn-ilp for BN, "
                   "mos2-ilp for MoS2).")
@click.option("--material", default="BN", show_default=True, help="Monolayer material.")
@click.option("--lattice", type=POSITIVE, default=None, help="Lattice constant a [A] "
              "(default: the model's own, e.g. 2.5045 A for bn-ilp, 2.511 A for bn-dft).")
@click.option("--points", type=click.IntRange(0), default=0, help="Also sample this many sliding vectors "
              "along AA -> BA -> SP -> AB -> AA.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Save a plot of the profile (PNG, PDF, SVG).")
@click.option("--path", "model_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Model file, for --model torchscript.")
def profile(model, material, lattice, points, plot, model_path):
    """Sliding energy profile of rigid flat layers, interlayer distance optimised per point."""
    from slidesim.profile import plot_profile, sliding_profile

    from slidesim.structures import monolayer

    options = {"path": model_path, "device": "cpu"} if model_path else {}
    if model is None:
        with user_errors():
            model = monolayer(material).model
    try:
        table = sliding_profile(material, model, lattice, path_points=points,
                                model_options=options)
    except ValueError as err:
        fail(str(err))
    click.echo(f"{'stacking':>10} {'t/|b-a|':>8} {'d [A]':>8} {'E [meV/cell]':>13}")
    for p in table:
        click.echo(f"{p.name:>10} {p.fraction:>8.4f} {p.distance:>8.4f} {p.relative_meV:>13.3f}")
    if plot:
        plot_profile(table, plot)
        click.echo(f"plot saved to {plot}")
