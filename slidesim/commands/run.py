"""``slidesim run``: run a deck (docs/decks.md), continue it from a checkpoint, or check it."""

import os
import sys

import click

from slidesim.commands import fail


@click.command("run")
@click.argument("deck", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Validate the deck and the model set-up; run nothing.")
@click.option("--restart", type=click.Path(dir_okay=False),
              help="Continue from this checkpoint (e.g. out/checkpoint.npz).")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Stop after this many steps (can restart).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Numba threads (default: all cores).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on a terminal only; elsewhere progress lines go to "
                   "stderr and log.txt).")
@click.option("--overwrite", is_flag=True,
              help="Replace the run the output folder holds (its checkpoint, trajectory, thermo "
                   "and log are deleted first).")
@click.option("--new-integrator", is_flag=True,
              help="With --restart: continue the checkpoint's state with the deck's integrator "
                   "even if another one wrote it (e.g. NVE after Nose-Hoover); its thermostat "
                   "starts afresh.")
def run(deck, check, restart, steps, threads, progress, overwrite, new_integrator):
    """Run the simulation a DECK describes (see docs/decks.md)."""
    from slidesim.deck import DeckError, read_deck

    if not os.path.exists(deck):
        fail(f"deck {deck} not found")
    if restart is not None and not os.path.exists(restart):
        fail(f"checkpoint {restart} not found")
    if threads is not None:
        import numba
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        parsed = read_deck(deck)
    except DeckError as err:
        fail(str(err))
    from slidesim.simulation import Simulation, SimulationError

    try:
        if new_integrator and restart is None:
            fail("--new-integrator goes with --restart CHECKPOINT")
        simulation = Simulation(parsed, restart=restart, progress=progress, overwrite=overwrite,
                                new_integrator=new_integrator)
    except (ValueError, OSError, SimulationError) as err:
        fail(f"{deck}: {err}")
    state = simulation.state
    summary = (f"{parsed.path}: {state.n_atoms} atoms x {state.n_replicas} replica(s), model "
               f"{simulation.model.name} ({' + '.join(simulation.model.term_names)}), "
               f"{simulation.integrator.name}, dt = {parsed.timestep * 1e3:g} fs, "
               f"{len(parsed.stages)} stages, {parsed.total_steps} steps "
               f"({parsed.total_steps * parsed.timestep:g} ps)")
    if check:
        from slidesim.outputs import OutputError

        try:
            simulation.evaluate()
            simulation.folder.claim(restart=restart is not None, overwrite=overwrite,
                                    check_only=True)
        except (SimulationError, OutputError) as err:
            fail(f"{deck}: {err}")
        click.echo(f"{summary}\noutput folder {simulation.output} can be written\ndeck OK")
        return
    click.echo(summary, err=True)
    try:
        result = simulation.run(max_steps=steps)
    except SimulationError as err:
        if getattr(err, "exit_now", False):  # outputs that could not be written (a full disk)
            click.echo(f"slidesim: error: {err}", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)
        fail(str(err))
    click.echo(f"{result['summary']}\noutput in {result['output']} (log.txt has the deck, "
               f"progress and this summary); checkpoint {result['checkpoint']}", err=True)
    if result["reason"].startswith("stopped"):
        sys.exit(130)
