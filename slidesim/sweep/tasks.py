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
        result = _run_or_recover(simulation, deck, restart)
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


def _run_or_recover(simulation, deck, restart):
    """Simulation(deck, restart).run(); a checkpoint already at the schedule's end (an attempt
    killed between its last checkpoint and done.json) gives its summary without running."""
    if restart is not None:
        from slidesim.io.checkpoint import run_progress

        progress = run_progress(restart)
        if progress.finished(len(deck.stages)):
            return {"reason": "finished", "step": progress.step, "events": progress.events}
    # a task without a checkpoint starts over: a killed attempt's partial files are replaced
    result = simulation.Simulation(deck, restart=restart, progress=False,
                                   overwrite=restart is None, log_lines=False).run()
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
