"""The ``slidesim`` command line."""

import os
import sys

import click

from slidesim import __version__


def _fail(message):
    click.echo(f"slidesim: error: {message}", err=True)
    sys.exit(2)


class LazyGroup(click.Group):
    """A group whose commands beside ``run`` are imported only when used (fast start-up)."""

    #: command name -> "module:attribute"
    lazy = {
        "analyze": "slidesim.analysis.command:analyze",
        "coercive": "slidesim.fields.coercive_command:coercive",
        "fit": "slidesim.validation.command:fit",
        "landscape": "slidesim.fields.landscape:landscape_command",
        "model": "slidesim.ml.command:model",
        "sweep": "slidesim.sweep.command:sweep",
        "validate": "slidesim.validation.command:validate",
    }

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slidesim")
def main():
    """slidesim: molecular dynamics of sliding ferroelectric bilayers."""


@main.command()
@click.argument("deck", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Validate the deck and the model set-up; run nothing.")
@click.option("--restart", type=click.Path(dir_okay=False),
              help="Continue from this checkpoint (e.g. out/checkpoint.npz).")
@click.option("--steps", type=int, default=None, help="Stop after this many steps (can restart).")
@click.option("--threads", type=int, default=None, help="Numba threads (default: all cores).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on a terminal only).")
def run(deck, check, restart, steps, threads, progress):
    """Run the simulation a DECK describes (see docs/decks.md)."""
    from slidesim.deck import DeckError, read_deck

    if not os.path.exists(deck):
        _fail(f"deck {deck} not found")
    if restart is not None and not os.path.exists(restart):
        _fail(f"checkpoint {restart} not found")
    if threads is not None:
        import numba
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        parsed = read_deck(deck)
    except DeckError as err:
        _fail(str(err))
    from slidesim.simulation import Simulation, SimulationError

    try:
        simulation = Simulation(parsed, restart=restart, progress=progress)
    except (ValueError, OSError, SimulationError) as err:
        _fail(f"{deck}: {err}")
    state = simulation.state
    summary = (f"{parsed.path}: {state.n_atoms} atoms x {state.n_replicas} replica(s), model "
               f"{simulation.model.name} ({' + '.join(simulation.model.term_names)}), "
               f"{simulation.integrator.name}, dt = {parsed.timestep * 1e3:g} fs, "
               f"{len(parsed.stages)} stages, {parsed.total_steps} steps "
               f"({parsed.total_steps * parsed.timestep:g} ps)")
    if check:
        simulation.evaluate()
        click.echo(f"{summary}\ndeck OK")
        return
    click.echo(summary, err=True)
    try:
        result = simulation.run(max_steps=steps)
    except SimulationError as err:
        _fail(str(err))
    click.echo(f"{result['reason']} at step {result['step']}: {result['steps']} steps in "
               f"{result['seconds']:.1f} s ({result['ms_per_step']:.2f} ms/step); output in "
               f"{result['output']}; checkpoint {result['checkpoint']}", err=True)
    if result["reason"].startswith("stopped"):
        sys.exit(130)


@main.command()
@click.option("--model", default="bn-ilp", show_default=True, help="Model name.")
@click.option("--material", default="BN", show_default=True, help="Monolayer material.")
@click.option("--lattice", type=float, default=None, help="Lattice constant a [A] "
              "(default: the material's, 2.5045 A for BN).")
@click.option("--points", type=int, default=0, help="Also sample this many sliding vectors "
              "along AA -> BA -> SP -> AB -> AA.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Save a plot of the profile (PNG, PDF, SVG).")
@click.option("--path", "model_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Model file, for --model torchscript.")
def profile(model, material, lattice, points, plot, model_path):
    """Sliding energy profile of rigid flat layers, interlayer distance optimised per point."""
    from slidesim.profile import plot_profile, sliding_profile

    options = {"path": model_path, "device": "cpu"} if model_path else {}
    try:
        table = sliding_profile(material, model, lattice, path_points=points,
                                model_options=options)
    except ValueError as err:
        _fail(str(err))
    click.echo(f"{'stacking':>10} {'t/|b-a|':>8} {'d [A]':>8} {'E [meV/cell]':>13}")
    for p in table:
        click.echo(f"{p.name:>10} {p.fraction:>8.4f} {p.distance:>8.4f} {p.relative_meV:>13.3f}")
    if plot:
        plot_profile(table, plot)
        click.echo(f"plot saved to {plot}")


if __name__ == "__main__":
    main()
