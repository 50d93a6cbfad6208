"""A parameter sweep: every combination of a grid run as one Dask task, with an aggregate table.

    sweep = Sweep("inputs/sweep_heat.in", [parse_set_option("T=100:500:100")], "heat_sweep")
    with sweep_client(workers=2) as client:
        results = sweep.run(client)

Layout of SWEEP_DIR: ``KEY1=V1/KEY2=V2/...`` run directories (see tasks.py), ``sweep.json``
(the deck and the grid), and the aggregate of the task summaries, one row per task and replica:
``summary.csv`` and ``summary.json``. Re-running the same sweep skips finished tasks.
"""

import csv
import json
import os
import sys
import warnings

from slidesim.sweep.expand import DeckTemplate, SweepError, expand_grid, run_directory
from slidesim.sweep.tasks import SweepTask, finished_summary, replica_rows, run_task, \
    write_json_atomic

SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"
MANIFEST = "sweep.json"


class Sweep:
    """A deck expanded over ``parameters`` (SweepParameter list) into tasks under ``sweep_dir``.

    extra_values: fixed name -> value text substituted in every task (not part of the layout).
    """

    def __init__(self, deck_path, parameters, sweep_dir, extra_values=None):
        self.template = DeckTemplate(deck_path)
        self.parameters = list(parameters)
        self.sweep_dir = os.path.abspath(sweep_dir)
        self.extra_values = dict(extra_values or {})
        if any(c.isspace() for c in self.sweep_dir):
            raise SweepError(f"the sweep directory '{self.sweep_dir}' contains a space, which a "
                             "deck's output line cannot hold; choose another (--out)")
        for parameter in self.parameters:
            self.template.role(parameter.name)  # an unknown KEY fails now, not on a worker
        for name in self.extra_values:
            self.template.role(name)
        self.tasks = [self.task(values) for values in expand_grid(self.parameters)]
        if not self.tasks:
            raise SweepError("the sweep has no tasks")
        self._check_axis_order()

    def _check_axis_order(self):
        """Warn when an earlier pass into the same directory swept the same axes in another
        order: its run directories follow that order, so none of its tasks would be reused."""
        try:
            with open(os.path.join(self.sweep_dir, MANIFEST)) as handle:
                before = list(json.load(handle).get("parameters", {}))
        except (OSError, ValueError):
            return
        now = [p.name for p in self.parameters]
        if before != now and sorted(before) == sorted(now):
            warnings.warn(f"{self.sweep_dir} holds a sweep over {', '.join(before)} in that "
                          f"order; this one is over {', '.join(now)}, so it will not find the "
                          f"finished tasks there and runs them again. Give the --set options "
                          f"in the order {', '.join(before)} to reuse them", stacklevel=2)

    def task(self, values, extra=None):
        """The SweepTask of one combination ``values`` (name -> value text)."""
        run_dir = run_directory(self.sweep_dir, values)
        text = self.template.render({**self.extra_values, **values}, run_dir)
        return SweepTask(values=dict(values), run_dir=run_dir, deck_text=text,
                         extra=dict(extra or {}))

    def check(self):
        """Parse every task's deck here: a bad value fails before any task is submitted. A
        task's deck has the lines of the user's deck, so errors name that file and line."""
        from slidesim.deck import DeckError, parse_deck

        for task in self.tasks:
            try:
                parse_deck(task.deck_text, self.template.path)
            except DeckError as error:
                raise SweepError(f"{error} (in the deck of task {task.label()})") from None

    def write_manifest(self):
        os.makedirs(self.sweep_dir, exist_ok=True)
        write_json_atomic(os.path.join(self.sweep_dir, MANIFEST), {
            "deck": self.template.path, "deck_text": self.template.text,
            "parameters": {p.name: list(p.values) for p in self.parameters},
            "fixed": self.extra_values, "tasks": len(self.tasks)})

    def run(self, client, progress=None, retries=0):
        """Run the unfinished tasks on ``client``; returns the summaries in grid order and writes
        the aggregate table, also when interrupted (then re-raises)."""
        self.check()
        self.write_manifest()
        summaries = {}
        try:
            run_tasks(client, self.tasks, summaries, progress=progress, retries=retries)
        finally:
            write_aggregate(self.sweep_dir, [summaries.get(t.key) or _not_run(t)
                                             for t in self.tasks])
        return [summaries[t.key] for t in self.tasks]


def _not_run(task):
    return {"status": "not run", "values": task.values, "run_dir": task.run_dir}


def run_tasks(client, tasks, summaries, progress=None, retries=0, on_result=None):
    """Submit the tasks not finished yet, collect summaries (by task key) as they complete.

    A task whose worker died is recorded as failed with the error. ``on_result(task, summary)``
    is called for each summary (finished earlier or now); it may return new tasks to submit.
    """
    from distributed import as_completed

    bar = _progress_bar(len(tasks), progress)
    by_key, pending = {}, as_completed()
    try:
        queue = list(tasks)
        while queue or pending.count():
            for task in queue:
                by_key[task.key] = task
                earlier = finished_summary(task)
                if earlier is not None:
                    _record(task, dict(earlier, skipped=True), summaries, bar, on_result, queue,
                            pending, client, by_key, retries)
                    continue
                pending.add(client.submit(run_task, task, key=task.key, pure=False,
                                          retries=retries))
            queue.clear()
            if not pending.count():
                break
            future = next(pending)
            task = by_key[future.key]
            try:
                summary = future.result()
            except Exception as error:  # the worker died (KilledWorker) or the task could not run
                summary = {"status": "failed", "values": task.values, "run_dir": task.run_dir,
                           "error": f"{type(error).__name__}: {error}"}
            _record(task, summary, summaries, bar, on_result, queue, pending, client, by_key,
                    retries)
    except BaseException:
        for future in pending.futures:
            future.cancel()
        raise
    finally:
        if bar is not None:
            bar.close()
    return summaries


def _record(task, summary, summaries, bar, on_result, queue, pending, client, by_key, retries):
    summaries[task.key] = summary
    if summary.get("status") == "failed":
        message = (f"slidesim sweep: task {task.label()} failed: {summary.get('error')}\n"
                   f"  (details in {os.path.join(task.run_dir, 'failed.json')})")
        (bar.write if bar is not None else print)(message, file=sys.stderr)
    if bar is not None:
        bar.update(1)
    if on_result is not None:
        new = on_result(task, summary) or []
        if bar is not None:
            bar.total += len(new)
            bar.refresh()
        queue.extend(new)


def _progress_bar(total, progress):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="task", dynamic_ncols=True, file=sys.stderr)


def write_aggregate(sweep_dir, summaries):
    """summary.csv (one row per task and replica) and summary.json (the full summaries)."""
    rows = [row for summary in summaries for row in replica_rows(summary)]
    os.makedirs(sweep_dir, exist_ok=True)
    columns = []
    for row in rows:
        columns += [name for name in row if name not in columns]
    path = os.path.join(sweep_dir, SUMMARY_CSV)
    temporary = path + ".tmp"
    with open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()}
                         for row in rows)
    os.replace(temporary, path)
    write_json_atomic(os.path.join(sweep_dir, SUMMARY_JSON),
                      {"tasks": [{k: v for k, v in s.items() if k != "traceback"}
                                 for s in summaries]})
    return path


def read_summary_table(sweep_dir):
    """summary.csv as a list of dicts (text values)."""
    with open(os.path.join(sweep_dir, SUMMARY_CSV), newline="") as handle:
        return list(csv.DictReader(handle))


def failed_tasks(summaries):
    """The failed summaries among ``summaries``."""
    return [s for s in summaries if s.get("status") == "failed"]


def load_manifest(sweep_dir):
    with open(os.path.join(sweep_dir, MANIFEST)) as handle:
        return json.load(handle)
