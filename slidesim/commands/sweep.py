"""``slidesim sweep``: a deck over a grid of parameter values, every combination a Dask task.

Registered on the command group by :mod:`slidesim.cli`.
"""

import math
import os
import sys

import click

from slidesim.commands import fail


@click.command("sweep", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("deck", type=click.Path(dir_okay=False))
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUES",
              help="A swept parameter: $KEY in the deck, a deck keyword (seed, replicas ...) or "
                   "option (cells, system.stacking ...). VALUES: 1,2,3 or START:STOP:STEP "
                   "(STOP included). Repeat for a grid (the product).")
@click.option("--seeds", type=int, default=None,
              help="Also sweep N seeds: the deck's seed + 0 ... N-1.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Worker processes of the local Dask cluster (default: one per core).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Use an existing Dask cluster, e.g. tcp://host:8786 (see docs/sweeps.md).")
@click.option("--out", "sweep_dir", type=click.Path(file_okay=False), default=None,
              help="Sweep directory (default: DECK's name + '_sweep', beside the deck).")
@click.option("--retries", type=click.IntRange(0), default=0, show_default=True,
              help="Dask retries of a task whose worker died.")
@click.option("--dry-run", is_flag=True, help="List the tasks and their state; run nothing.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar over tasks (default: on a terminal only).")
@click.option("--coercive", "search_name", default=None, metavar="VAR",
              help="Coercive-field search mode (Fig. S5): for each combination, the least $VAR "
                   "on the grid --start:--stop:--step for which the run switches.")
@click.option("--start", type=float, default=0.0, show_default=True,
              help="Search grid start [V/A].")
@click.option("--stop", type=float, default=3.0, show_default=True, help="Search grid end [V/A].")
@click.option("--step", type=float, default=0.05, show_default=True,
              help="Search grid step [V/A].")
@click.option("--strategy", type=click.Choice(["bisect", "scan"]), default="bisect",
              show_default=True, help="Bisection on the grid, or an upward scan.")
@click.option("--require", type=click.Choice(["all", "any"]), default="all", show_default=True,
              help="A probe switches when all (or any) of its replicas switch.")
@click.option("--par", "par_name", default="E_par", show_default=True,
              help="The parameter holding the in-plane field [V/A] (minimum total field).")
@click.option("--neighbours", is_flag=True,
              help="Coercive mode, bisect: start each new condition inside the bracket of the "
                   "conditions finished beside it along --along (default --par), at their "
                   "interpolation (E_perp,c falls as E_par or T grows): 2-3 probes instead of "
                   "about 7 when refining an earlier pass's grid.")
@click.option("--along", default=None, metavar="AXIS",
              help="The axis --neighbours interpolates along (default: --par); E_perp,c must "
                   "fall as it grows, as it does with E_par and with T.")
@click.option("--plot/--no-plot", default=True, help="Coercive mode: save the plots.")
def sweep(deck, settings, seeds, workers, scheduler, sweep_dir, retries, dry_run, progress,
          search_name, start, stop, step, strategy, require, par_name, neighbours, along, plot):
    """Run DECK for every combination of the --set values, as tasks on Dask."""
    from slidesim.sweep.expand import DeckTemplate, SweepError, parse_set_option, seed_parameter

    if not os.path.exists(deck):
        fail(f"deck {deck} not found")
    if sweep_dir is None:
        sweep_dir = os.path.splitext(deck)[0] + ("_coercive" if search_name else "_sweep")
    try:
        if (neighbours or along) and not search_name:
            raise SweepError("--neighbours and --along belong to a coercive search "
                             "(--coercive VAR)")
        if along and not neighbours:
            raise SweepError("--along names the axis --neighbours interpolates along; give "
                             "--neighbours too")
        parameters = [parse_set_option(text) for text in settings]
        if seeds is not None:
            if any(p.name == "seed" for p in parameters):
                raise SweepError("give seeds either by --seeds or by --set seed=..., not both")
            parameters.append(seed_parameter(DeckTemplate(deck), seeds))
        if search_name:
            runner = _coercive(deck, parameters, sweep_dir, search_name, start, stop, step,
                               strategy, require, par_name, neighbours, along)
        else:
            from slidesim.sweep.runner import Sweep

            runner = Sweep(deck, parameters, sweep_dir)
            runner.check()
    except SweepError as error:
        fail(str(error))
    if dry_run:
        _list(runner, search_name)
        return
    from slidesim.sweep.cluster import sweep_client

    try:
        with sweep_client(workers, scheduler) as client:
            click.echo(f"slidesim sweep: {_describe(runner, search_name)} on "
                       f"{len(client.scheduler_info()['workers'])} Dask worker(s) "
                       f"({scheduler or 'local cluster'}); results in {runner.sweep_dir}",
                       err=True)
            result = runner.run(client, progress=progress)
    except KeyboardInterrupt:
        click.echo("slidesim sweep: interrupted; finished tasks are kept, run the same "
                   "command again to resume", err=True)
        sys.exit(130)
    except (RuntimeError, ValueError, OSError) as error:
        fail(str(error))
    if search_name:
        _report_coercive(runner, result, plot, par_name)
    else:
        _report_sweep(runner, result)


def _coercive(deck, parameters, sweep_dir, search_name, start, stop, step, strategy, require,
              par_name, neighbours, along):
    from slidesim.sweep.coercive_search import CoerciveSearch

    return CoerciveSearch(deck, parameters, sweep_dir, search_name=search_name, start=start,
                          stop=stop, step=step, strategy=strategy, require=require,
                          par_name=par_name, neighbours=neighbours, along=along)


def _describe(runner, search_name):
    if search_name:
        return (f"{len(runner.conditions)} condition(s), {search_name} searched on "
                f"{len(runner.grid)} values ({runner.strategy}"
                f"{', from the neighbours along ' + runner.along if runner.neighbours else ''})")
    return f"{len(runner.tasks)} task(s)"


def _list(runner, search_name):
    from slidesim.sweep.tasks import finished_summary

    if search_name:
        click.echo(f"{_describe(runner, search_name)}: {runner.grid[0]} ... {runner.grid[-1]}")
        for condition in runner.conditions:
            click.echo("  " + " ".join(f"{k}={v}" for k, v in condition.items()))
        return
    for task in runner.tasks:
        state = "done" if finished_summary(task) is not None else "to run"
        click.echo(f"{state:>7}  {task.label():40s} {task.run_dir}")
    click.echo(f"{len(runner.tasks)} task(s) in {runner.sweep_dir}")


def _report_sweep(runner, summaries):
    from slidesim.sweep.runner import SUMMARY_CSV, SUMMARY_JSON

    done = sum(s.get("status") == "done" for s in summaries)
    skipped = sum(bool(s.get("skipped")) for s in summaries)
    failed = [s for s in summaries if s.get("status") == "failed"]
    click.echo(f"{done} of {len(summaries)} task(s) done ({skipped} finished earlier), "
               f"{len(failed)} failed; table: "
               f"{os.path.join(runner.sweep_dir, SUMMARY_CSV)} and {SUMMARY_JSON}", err=True)
    for summary in failed:
        values = " ".join(f"{k}={v}" for k, v in summary["values"].items())
        click.echo(f"  failed: {values}: {summary.get('error')}", err=True)
    if failed:
        sys.exit(1)


def _report_coercive(runner, rows, plot, par_name):
    names = list(runner.conditions[0])
    click.echo(" ".join(f"{n:>8}" for n in names) +
               f" {'E_perp,c':>9} {'E_t,c':>7} {'dip':>6} {'probes':>6}  status")
    for row in rows:
        click.echo(" ".join(f"{row[n]:>8}" for n in names) +
                   f" {row['e_perp_c_VA']:>9.2f} {row['e_total_VA']:>7.3f} "
                   f"{row['dip_angle_deg']:>6.1f} {row['probes']:>6}  {row['status']}")
    if runner.brackets:
        click.echo(f"{len(runner.brackets)} condition(s) started from their neighbours along "
                   f"{runner.along} (coercive.json: neighbour_brackets)", err=True)
    minima = runner.minima(rows)
    for minimum in minima:
        group = " ".join(f"{k}={v}" for k, v in minimum.items() if k in names)
        reduction = ("" if math.isnan(minimum["reduction_pct"]) else
                     f", {minimum['reduction_pct']:.0f} % below the vertical field")
        click.echo(f"minimum E_t,c {group}: {minimum['e_total']:.3f} V/A at {par_name} = "
                   f"{minimum['e_par']:g} V/A, dip angle {minimum['dip_angle_deg']:.1f} deg"
                   f"{reduction}")
    outputs = ["coercive.csv", "coercive_minimum.csv", "coercive.json"]
    if plot and rows:
        from slidesim.sweep.coercive_search import plot_coercive

        group = next((n for n in names if n != par_name), "")
        paths = plot_coercive(rows, minima, par_name, os.path.join(runner.sweep_dir, "coercive"),
                              group_name=group)
        outputs += [os.path.basename(p) for p in paths]
    click.echo(f"wrote {', '.join(outputs)} in {runner.sweep_dir}", err=True)
    if any(row["status"] == "failed" for row in rows):
        sys.exit(1)
