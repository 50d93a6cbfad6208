"""A deck's minimisation stage inside a run (``stage NAME minimize fire ...``, docs/decks.md).

The driver (:class:`slidesim.simulation.Simulation`) hands a stage with ``minimize`` settings
to :func:`run_minimize_stage`, which relaxes every replica with :func:`slidesim.minimize.
relax_state` in the stage's field and writes, in the output folder:

- ``minimize_NAME.txt``: one row per FIRE step: step, energy [eV], largest force [eV/A],
  in-plane pressure [bar], |a| and |b| [A] (per replica: ``minimize_NAME.r1.txt`` ...);
- ``minimize_NAME.extxyz``: the relaxed structure and cell, with energy and forces;

then a thermo row and a trajectory frame of the relaxed structure, moves the schedule to the
next stage (which starts from the relaxed positions and cell) and writes the checkpoint. A
minimisation is not MD: it takes no steps and no time, and velocities are left as they were
(as LAMMPS's ``minimize``). A run stopped during a minimisation restarts it from the stage's
start.
"""

import os
import sys

import numpy as np

from slidesim.io.structures import write_structure
from slidesim.minimize import CellRelax, Fire, relax_state


def minimize_settings(stage):
    """(Fire, CellRelax or None) of a stage's ``minimize`` settings."""
    settings = stage.minimize
    fire = Fire(ftol=settings["ftol"], max_steps=settings["max_steps"])
    cell = None
    if settings.get("cell") is not None:
        cell = CellRelax(settings["cell"], settings["pressure"], settings["stol"])
    return fire, cell


def run_minimize_stage(run, observers=(), run_log=None):
    """Run the minimisation stage ``run.state`` is at (see the module docstring); returns the
    model results at the relaxed structure. ``run_log``: the run's RunLog (log.txt), which
    gets the outcome too."""
    from slidesim.observers import replica_suffix
    from slidesim.guards import SimulationError

    state, schedule = run.state, run.schedule
    stage = schedule.stages[state.stage]
    fire, cell = minimize_settings(stage)
    field = np.array(stage.field, dtype=np.float64)
    logs = []
    for r in range(state.n_replicas):
        log = open(os.path.join(run.output, f"minimize_{stage.name}{replica_suffix(r)}.txt"), "w")
        log.write("# step energy_eV fmax_eVA p_inplane_bar a_A b_A\n")
        logs.append(log)
    try:
        outcomes = relax_state(run.engine, state, field, fire, cell,
                               log=lambda r, row: logs[r].write(
                                   "%d %.10f %.6e %.6f %.8f %.8f\n" % row))
    except ValueError as err:
        raise SimulationError(f"minimisation '{stage.name}' failed: {err}") from None
    finally:
        for log in logs:
            log.close()
    results = run.evaluate()
    for r, outcome in enumerate(outcomes):
        write_structure(os.path.join(run.output, f"minimize_{stage.name}{replica_suffix(r)}"
                                                 ".extxyz"),
                        state, r, forces=results[r].forces, energy=results[r].energy)
        a, b = np.linalg.norm(state.cell[0]), np.linalg.norm(state.cell[1])
        note = "" if outcome.converged else " (NOT converged: raise 'steps' or loosen 'ftol')"
        message = (f"minimisation '{stage.name}'{replica_suffix(r)}: {outcome.reason} "
                   f"after {outcome.steps} steps{note}; energy {outcome.energy:.6f} eV, fmax "
                   f"{outcome.fmax:.2e} eV/A, in-plane pressure {outcome.pressure:.3g} bar, "
                   f"|a| = {a:.6f} A, |b| = {b:.6f} A")
        print(f"slidesim: {message}", file=sys.stderr)
        if run_log is not None:
            run_log.write(message)
    targets = schedule.now(state)
    for observer in observers:
        observer.observe(run, results, targets)
    schedule.next_stage(state)
    run.write_checkpoint()
    return results
