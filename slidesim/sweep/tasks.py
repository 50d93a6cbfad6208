"""One sweep task: one concrete deck run in its own directory, on whatever process Dask picks.

A task's directory holds ``deck.in`` (the concrete deck: ``slidesim run deck.in`` repeats the
task), the run's own outputs (thermo.csv, traj.nc, checkpoint.npz, events.json) and, once it has
ended, ``done.json`` (its summary, written atomically, last) or ``failed.json`` (the error).
A directory with ``done.json`` for the same deck text is finished and never run again; one
without it is run again, from its checkpoint if an earlier attempt left one.
"""

import hashlib
import json
import os
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field

DONE_FILE = "done.json"
FAILED_FILE = "failed.json"
DECK_FILE = "deck.in"


@dataclass(frozen=True)
class SweepTask:
    """One combination of a sweep.

    Attributes:
        values: sweep parameter name -> value text, in sweep order.
        run_dir: the task's own directory (absolute).
        deck_text: the concrete deck, ``output`` pointing at run_dir.
    """

    values: dict
    run_dir: str
    deck_text: str
    extra: dict = field(default_factory=dict)

    @property
    def deck_sha256(self):
        return hashlib.sha256(self.deck_text.encode()).hexdigest()

    @property
    def key(self):
        """A name unique to this task's deck (the Dask key)."""
        return f"slidesim-task-{self.deck_sha256[:20]}"

    def label(self):
        return " ".join(f"{k}={v}" for k, v in self.values.items()) or "run"


def write_json_atomic(path, document):
    """Write JSON to ``path`` through a temporary file and a rename: readers see all or none."""
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(temporary, "w") as handle:
        json.dump(document, handle, indent=1, default=float)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def finished_summary(task):
    """The task's done.json summary if it finished with this very deck, else None."""
    path = os.path.join(task.run_dir, DONE_FILE)
    try:
        with open(path) as handle:
            summary = json.load(handle)
    except (OSError, ValueError):
        return None
    return summary if summary.get("deck_sha256") == task.deck_sha256 else None


def _simulation_module():
    from slidesim import simulation

    return simulation


def _restart_point(task):
    """Path of a usable checkpoint an earlier attempt left, or None (stale outputs removed)."""
    from slidesim.io.checkpoint import run_progress

    path = os.path.join(task.run_dir, "checkpoint.npz")
    if not os.path.exists(path):
        return None
    try:
        deck_hash = run_progress(path).deck_hash
    except Exception:  # a torn or foreign file: start over
        deck_hash = None
    if deck_hash == task.deck_sha256:
        return path
    for name in os.listdir(task.run_dir):  # another deck's outputs: start afresh
        if name != DECK_FILE and not os.path.isdir(os.path.join(task.run_dir, name)):
            os.remove(os.path.join(task.run_dir, name))
    return None


#: folder of a sweep that holds the first stages its tasks share (see :func:`run_task`)
FIRST_STAGE_DIR = "_first_stage"
#: the files of a run (by name prefix, replicas' files included) that a task copies from a
#: shared first stage; log.txt stays its own
FIRST_STAGE_FILES = ("checkpoint.npz", "thermo", "events", "traj")


def first_stage_key(deck):
    """A key that two decks share exactly when their first stages run the same steps: every
    line but ``output`` and the stages after the first (comments dropped), and the Born-charge
    source the run couples (set by any stage's field). None when sharing cannot pay or cannot
    be exact: one stage only, a first stage of no MD steps, or one that may stop early."""
    first = deck.stages[0] if deck.stages else None
    if len(deck.stages) < 2 or first.n_steps == 0 or first.stop is not None:
        return None
    kept, stages = [], 0
    for line in deck.text.splitlines():
        words = line.split("#")[0].split()
        if not words or words[0] == "output":
            continue
        if words[0] == "stage":
            stages += 1
            if stages > 1:
                continue
        kept.append(" ".join(words))
    kept.append(f"born_charges {deck.born_charges}")
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()[:20]


def _copy_run_files(source, target):
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        if name.startswith(FIRST_STAGE_FILES):  # traj.nc, thermo.csv, per-replica files
            shutil.copy2(os.path.join(source, name), os.path.join(target, name))


def _shared_first_stage(task, deck):
    """The checkpoint of the first stage a finished task published for ``task``'s key, copied
    with its outputs into ``task``'s run directory (its path), or None."""
    key = first_stage_key(deck)
    if key is None:
        return None
    published = os.path.join(task.extra["share_first_stage"], key)
    if not os.path.exists(os.path.join(published, "checkpoint.npz")):
        return None
    _copy_run_files(published, task.run_dir)
    return os.path.join(task.run_dir, "checkpoint.npz")


def _publish_first_stage(task, deck, simulation):
    """Run ``deck``'s first stage alone (a checkpoint at its end) and publish its files for the
    other tasks of the sweep with the same :func:`first_stage_key`. Returns the checkpoint to
    continue from, or None (nothing run: the task runs straight)."""
    key = first_stage_key(deck)
    if key is None:
        return None
    first = simulation.Simulation(deck, progress=False, overwrite=True, log_lines=False)
    first.run(max_steps=deck.stages[0].n_steps)
    if first.state.step != deck.stages[0].n_steps:
        return None
    folder = task.extra["share_first_stage"]
    staging = os.path.join(folder, f".{key}.{os.getpid()}")
    _copy_run_files(task.run_dir, staging)
    try:
        os.rename(staging, os.path.join(folder, key))  # atomic; another task may have won
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return first.checkpoint_path


def run_task(task, threads=1):
    """Run one task to its end (or return its earlier summary). Never raises for a failing run:
    returns a summary dict with "status" "done" or "failed" (then "error", "traceback")."""
    summary = finished_summary(task)
    if summary is not None:
        return dict(summary, skipped=True)
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    os.makedirs(task.run_dir, exist_ok=True)
    deck_path = os.path.join(task.run_dir, DECK_FILE)
    failed_path = os.path.join(task.run_dir, FAILED_FILE)
    if os.path.exists(failed_path):
        os.remove(failed_path)
    started = time.perf_counter()
    try:
        with open(deck_path, "w") as handle:
            handle.write(task.deck_text)
        simulation = _simulation_module()
        from slidesim.deck import parse_deck

        deck = parse_deck(task.deck_text, deck_path)
        restart = _restart_point(task)
        shared = False
        if restart is None and task.extra.get("share_first_stage"):
            restart = _shared_first_stage(task, deck)
            shared = restart is not None
            if restart is None:
                restart = _publish_first_stage(task, deck, simulation)
        result = _run_or_recover(simulation, deck, restart, shared_start=shared)
    except Exception as error:  # a failing combination must not stop the others
        failure = {"status": "failed", "values": task.values, "run_dir": task.run_dir,
                   "error": f"{type(error).__name__}: {error}",
                   "traceback": traceback.format_exc(), "deck_sha256": task.deck_sha256}
        write_json_atomic(failed_path, failure)
        return failure
    summary = {"status": "done", "values": task.values, "run_dir": task.run_dir,
               "deck_sha256": task.deck_sha256, "reason": result["reason"],
               "step": result["step"], "time_ps": result["step"] * deck.timestep,
               "replicas": deck.replicas, "restarted": restart is not None,
               "seconds": time.perf_counter() - started, "events": result["events"],
               "switch_to": sorted({s.stop_to for s in deck.stages if s.stop_to}),
               "final": final_thermo(task.run_dir, deck.replicas), **task.extra}
    write_json_atomic(os.path.join(task.run_dir, DONE_FILE), summary)
    return summary


def _run_or_recover(simulation, deck, restart, shared_start=False):
    """Simulation(deck, restart).run(); a checkpoint already at the schedule's end (an attempt
    killed between its last checkpoint and done.json) gives its summary without running."""
    if restart is not None:
        from slidesim.io.checkpoint import run_progress

        progress = run_progress(restart)
        if progress.finished(len(deck.stages)):
            return {"reason": "finished", "step": progress.step, "events": progress.events}
    # a task without a checkpoint starts over: a killed attempt's partial files are replaced
    result = simulation.Simulation(deck, restart=restart, progress=False,
                                   overwrite=restart is None, log_lines=False,
                                   shared_start=shared_start).run()
    if result["reason"] != "finished":
        raise simulation.SimulationError(f"the run ended early: {result['reason']}")
    return result


def final_thermo(run_dir, replicas):
    """The last thermo row of each replica: list of dicts column -> value (empty if none)."""
    from slidesim.io.thermo import read_thermo
    from slidesim.simulation import replica_suffix

    rows = []
    for r in range(replicas):
        path = os.path.join(run_dir, f"thermo{replica_suffix(r)}.csv")
        if not os.path.exists(path):
            rows.append({})
            continue
        columns = read_thermo(path)
        rows.append({name: (int(v[-1]) if name == "step" else float(v[-1]))
                     for name, v in columns.items() if len(v)})
    return rows


def replica_rows(summary):
    """Flat rows, one per replica, for the aggregate table."""
    values = summary.get("values", {})
    if summary.get("status") != "done":
        return [dict(values, status=summary.get("status", "failed"), replica="",
                     error=summary.get("error", ""), run_dir=summary.get("run_dir", ""))]
    rows = []
    # the switch that counts: the first one into a stage's stop target (a deck with
    # "stop switched to AB"), or the first of any kind where no stage names one
    targets = set(summary.get("switch_to", []))
    for r in range(summary["replicas"]):
        event = next((e for e in summary["events"] if e.get("replica") == r
                      and (not targets or e.get("end") in targets)), None)
        final = summary["final"][r] if r < len(summary["final"]) else {}
        row = dict(values, status="done", replica=r, reason=summary["reason"],
                   step=summary["step"], time_ps=summary["time_ps"],
                   switched=event is not None,
                   switch_time_ps=event["time"] if event else "",
                   switch_field_x_VA=event["field"][0] if event else "",
                   switch_field_y_VA=event["field"][1] if event else "",
                   switch_field_z_VA=event["field"][2] if event else "",
                   switch_theta_deg=event["theta"] if event else "",
                   switch_stage=event.get("stage", "") if event else "",
                   final_temperature_K=final.get("temperature_K", ""),
                   final_potential_eV=final.get("potential_eV", ""),
                   final_sliding_x_A=final.get("sliding_x_A", ""),
                   final_sliding_y_A=final.get("sliding_y_A", ""),
                   seconds=summary["seconds"], error="", run_dir=summary["run_dir"])
        rows.append(row)
    return rows


def task_seconds(rows):
    """Wall time [s] of the tasks behind ``rows`` (from :func:`replica_rows` or
    :func:`finished_rows`), each task counted once however many replica rows it has."""
    seconds = {}
    for row in rows:
        seconds[row["run_dir"]] = float(row["seconds"])
    return sum(seconds.values())


def finished_rows(sweep_dir):
    """:func:`replica_rows` of every task of a sweep that has finished so far (its
    ``done.json``), whether or not the sweep itself has: the reproduction summaries read this,
    so they can run while a long sweep is still going."""
    import glob

    rows = []
    for done in sorted(glob.glob(os.path.join(glob.escape(str(sweep_dir)), "**", "done.json"),
                                 recursive=True)):
        with open(done) as handle:
            summary = json.load(handle)
        rows += [{k: str(v) for k, v in row.items()} for row in replica_rows(summary)]
    return rows
