"""Coercive-field search on Dask, the paper's Fig. S5 procedure.

For every condition (a combination of the swept parameters, e.g. E_par and T), find the least
value of the searched variable (E_perp [V/A], along -z) on a grid of ``step`` (0.05 V/A in the
paper) for which the run switches, i.e. starts sliding within the deck's field stage (30 ps
with ``stop switched`` in the paper). Each probe is one sweep task (its own run directory,
resumable); probes of different conditions run in parallel, and each condition's next probe is
submitted as soon as its previous one ends.

Strategies: ``bisect`` (bisection on the grid, about log2(n) probes, assumes switching is
monotonic in the field) and ``scan`` (upwards from the grid's start until the first switch, as
the paper describes it; more probes, one at a time per condition).

With ``neighbours=True`` (bisect only), a condition that has no probe yet starts from what the
conditions already finished beside it along E_par (or ``along``, e.g. T) say: E_perp,c falls as
E_par grows (Fig. S5) and as T grows (Fig. 4(a)), so it lies below the value found at the next
smaller E_par and above the one at the next larger. With both, the search probes their linear
interpolation and walks up to two grid steps from it towards the switching threshold; if that
has not settled it, or with one side only, it checks the bracket's ends (its top switches, the
value below its bottom does not) and bisects what is left. A guess that the probes refute only
costs probes: the answer meets the same test as plain bisection's (the value found switches and
the grid value below it was probed and did not), though under thermal noise it need not be the
same grid value. The brackets come from the results on disk when the pass starts and are kept
in ``coercive_brackets.json``, so a pass probes the same values whatever order its tasks finish
in, and a resumed pass continues where it stopped.

Then, per temperature (per combination of the parameters other than E_par): the minimum total
field E_t,c = sqrt(E_par^2 + E_perp,c^2) over the E_par grid and its dip angle
atan(E_perp,c / E_par), the angle of the field below the plane (Fig. 4(c)).
"""

import csv
import json
import math
import os

import numpy as np

from slidesim.fields.landau import MinimumTotalField
from slidesim.sweep.expand import SweepError, SweepParameter, format_number, run_directory
from slidesim.sweep.runner import Sweep, run_tasks, write_aggregate
from slidesim.sweep.tasks import FIRST_STAGE_DIR, finished_summary, write_json_atomic

STRATEGIES = ("bisect", "scan")
BRACKETS_FILE = "coercive_brackets.json"


def field_grid(start, stop, step):
    """Values start, start + step, ... <= stop [V/A] as deck text."""
    if not step > 0 or stop < start:
        raise SweepError(f"the search grid {start:g}:{stop:g}:{step:g} is empty; need step > 0 "
                         "and stop >= start")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    return [format_number(start + k * step) for k in range(count)]


class GridSearch:
    """The least grid index whose probe switches, for one condition.

    ``next_index()`` gives the index to probe next (None when done); ``record(index, switched)``
    feeds a result back; ``result`` is then the index found, or None if nothing switched.
    """

    def __init__(self, size, strategy="bisect"):
        if strategy not in STRATEGIES:
            raise SweepError(f"unknown search strategy '{strategy}'; choose {', '.join(STRATEGIES)}")
        self.size, self.strategy = size, strategy
        self.below, self.above = -1, size  # highest known not switching, lowest known switching
        self.probes = {}
        self.bracket = None

    def narrow(self, low=None, high=None, guess=None):
        """Start from a guess inside [low, high] (grid indices; None: open on that side or no
        guess; low == size: a hint that nothing switches). Bisect only. The next probes are
        the guess and up to two steps from it (down after a switch, up after none), then high
        and low - 1, then bisection between whatever they leave."""
        if self.strategy != "bisect":
            raise SweepError("a bracket from the neighbouring conditions needs --strategy bisect")
        self.bracket = (low, high, guess)

    def next_index(self):
        if self.above - self.below <= 1:
            return None
        if self.strategy == "scan":
            return self.below + 1
        if self.bracket is not None:
            low, high, index = self.bracket
            for _ in range(3 if index is not None else 0):  # the guess, two steps from it
                if self.below < index < self.above:
                    return index
                index = index - 1 if self.probes.get(index) else index + 1
            for index in (high, None if low is None else low - 1):
                if index is not None and self.below < index < self.above:
                    return index
        return (self.below + self.above) // 2

    def record(self, index, switched):
        self.probes[index] = bool(switched)
        if switched:
            self.above = min(self.above, index)
        else:
            self.below = max(self.below, index)

    @property
    def result(self):
        return self.above if self.above < self.size and self.next_index() is None else None


def switched(summary, require="all"):
    """Did the run switch? ``all`` replicas (default) or ``any``. With ``stop switched to X``
    in the deck, only switches that end in X count (a thermal switch back does not)."""
    if summary.get("status") != "done":
        return False
    from slidesim.switch_watch import registry_name

    targets = {registry_name(name) for name in summary.get("switch_to", [])}
    replicas = {event.get("replica", 0) for event in summary.get("events", [])
                if not targets or registry_name(event.get("end")) in targets}
    return len(replicas) >= (summary["replicas"] if require == "all" else 1)


class CoerciveSearch:
    """Search ``search_name`` (a deck variable, e.g. E_perp) on ``field_grid(start, stop, step)``
    for every combination of ``parameters`` (SweepParameter list, e.g. E_par and T).

    par_name: the parameter holding the in-plane field [V/A] (for the minimum total field).
    """

    def __init__(self, deck_path, parameters, sweep_dir, search_name="E_perp", start=0.0,
                 stop=3.0, step=0.05, strategy="bisect", require="all", par_name="E_par",
                 neighbours=False, along=None):
        self.grid = field_grid(start, stop, step)
        if neighbours and strategy != "bisect":
            raise SweepError("brackets from the neighbouring conditions (--neighbours) need "
                             "--strategy bisect")
        self.neighbours, self.along = neighbours, along or par_name
        if neighbours:
            axis = next((p for p in parameters if p.name == self.along), None)
            option = "--along" if along else "--par (the default of --along)"
            if axis is None:
                raise SweepError(f"--neighbours: {self.along} ({option}) is not a --set axis of "
                                 "this search; give one along which E_perp,c falls (E_par, T)")
            numbers = [_float(v) for v in axis.values]
            if not all(math.isfinite(x) for x in numbers) or len(set(numbers)) < len(numbers):
                raise SweepError(f"--neighbours interpolates along {self.along} ({option}), so "
                                 "its values must be distinct numbers, not "
                                 f"{', '.join(axis.values)}")
        self.brackets = {}
        self.search_name, self.par_name, self.require = search_name, par_name, require
        if require not in ("all", "any"):
            raise SweepError(f"require must be 'all' or 'any' replicas, not '{require}'")
        names = [p.name for p in parameters]
        if search_name in names:
            raise SweepError(f"{search_name} is the searched variable; do not also --set it")
        self.sweep = Sweep(deck_path, list(parameters) + [SweepParameter(search_name,
                                                                         tuple(self.grid))],
                           os.path.join(os.path.abspath(sweep_dir)))
        if self.sweep.template.role(search_name)[0] != "variable":
            raise SweepError(f"the deck has no ${search_name}: write e.g. 'field_perp "
                             f"-${search_name} V/A' in its field stage")
        self.sweep_dir = self.sweep.sweep_dir
        self.conditions = [dict(zip(names, combo)) for combo in
                           _product([p.values for p in parameters])]
        self.searches = [GridSearch(len(self.grid), strategy) for _ in self.conditions]
        self.strategy = strategy
        self.summaries = {}

    def _probe(self, k):
        index = self.searches[k].next_index()
        if index is None:
            return []
        values = dict(self.conditions[k], **{self.search_name: self.grid[index]})
        # the probes of a condition (and of conditions that differ only in the later stages'
        # fields) share their first stage: it runs once and the others continue from it
        return [self.sweep.task(values, extra={
            "condition": k, "grid_index": index,
            "share_first_stage": os.path.join(self.sweep_dir, FIRST_STAGE_DIR)})]

    def _finished(self, k, index):
        """The done summary of condition k's probe at grid index, if a pass finished it."""
        values = dict(self.conditions[k], **{self.search_name: self.grid[index]})
        if not os.path.isdir(run_directory(self.sweep_dir, values)):
            return None, None
        task = self.sweep.task(values)
        return task, finished_summary(task)

    def load_finished(self):
        """Record every probe of every condition that a pass before this one finished, on this
        grid. A search keeps only the highest value that did not switch and the lowest that
        did, so the order does not matter while the probes agree. Where they do not (noise, or
        probes of another pass that judged differently), the condition instead replays its own
        path, as a plain pass does, so that its answer is tested like any other."""
        for k in range(len(self.conditions)):
            loaded = {}
            for index in range(len(self.grid)):
                task, earlier = self._finished(k, index)
                if earlier is not None:
                    loaded[index] = (task, earlier)
            search = self.searches[k]
            for index, (task, earlier) in loaded.items():
                search.record(index, switched(earlier, self.require))
            if search.below >= search.above:  # the probes disagree: replay the path
                fresh = GridSearch(len(self.grid), self.strategy)
                fresh.bracket = search.bracket
                search = self.searches[k] = fresh
                while (index := search.next_index()) in loaded:
                    search.record(index, switched(loaded[index][1], self.require))
            for index in search.probes:
                task, earlier = loaded[index]
                self.summaries[task.key] = dict(earlier, skipped=True)

    def _condition_key(self, k):
        return " ".join(f"{n}={v}" for n, v in self.conditions[k].items())

    def _saved_brackets(self):
        """{condition key: entry} of coercive_brackets.json; empty without the file or when it
        was made on another grid."""
        path = os.path.join(self.sweep_dir, BRACKETS_FILE)
        if not os.path.exists(path):
            return {}
        with open(path) as handle:
            saved = json.load(handle)
        if saved.get("grid") != self.grid:
            return {}
        return {entry["condition"]: entry for entry in saved.get("brackets", [])}

    def load_brackets(self):
        """Re-apply the brackets an earlier --neighbours pass gave (coercive_brackets.json),
        so a resumed or repeated pass follows the same probes. Bisect only; a file made on
        another grid is left aside."""
        if self.strategy != "bisect":
            return
        by_key = self._saved_brackets()
        for k in range(len(self.conditions)):
            entry = by_key.get(self._condition_key(k))
            if entry is not None:
                bracket = (entry["low"], entry["high"], entry["guess"])
                self.searches[k].narrow(*bracket)
                self.brackets[k] = bracket

    def save_brackets(self):
        """Add this pass's brackets to coercive_brackets.json (grid indices)."""
        entries = self._saved_brackets()
        for k, (low, high, guess) in self.brackets.items():
            entries[self._condition_key(k)] = {"condition": self._condition_key(k), "low": low,
                                               "high": high, "guess": guess}
        write_json_atomic(os.path.join(self.sweep_dir, BRACKETS_FILE),
                          {"grid": self.grid, "brackets": list(entries.values())})

    def narrow_from_neighbours(self):
        """Give each condition without a probe the bracket of its finished neighbours along
        ``along`` (E_par by default; same other values): E_perp,c at the next smaller value
        bounds it from above, at the next larger from below; with both, the guess is the linear
        interpolation between them. Returns {condition index: (low, high, guess)}."""
        size = len(self.grid)
        groups = {}
        for k, condition in enumerate(self.conditions):
            rest = tuple((n, v) for n, v in condition.items() if n != self.along)
            groups.setdefault(rest, []).append(k)

        def finished(k):  # result index, size for "nothing switches", None if not known
            search = self.searches[k]
            if search.next_index() is not None:
                return None
            return search.result if search.result is not None else size

        for members in groups.values():
            members.sort(key=lambda k: _float(self.conditions[k][self.along]))
            for position, k in enumerate(members):
                if self.searches[k].probes or k in self.brackets:
                    continue
                smaller = [(finished(j), j) for j in reversed(members[:position])]
                larger = [(finished(j), j) for j in members[position + 1:]]
                high, j_high = next((r for r in smaller if r[0] is not None), (None, None))
                low, j_low = next((r for r in larger if r[0] is not None), (None, None))
                high = None if high == size else high
                if low is None and high is None:
                    continue
                if low is not None and high is not None and low > high:
                    continue  # the neighbours contradict the trend: plain bisection
                guess = None
                if low is not None and high is not None and low < size:
                    x, x_high, x_low = (_float(self.conditions[i][self.along])
                                        for i in (k, j_high, j_low))
                    # half a step rounds up: a guess that switches ends its probe early
                    guess = int(math.floor(high + (low - high) * (x - x_high) / (x_low - x_high)
                                           + 0.5))
                self.searches[k].narrow(low, high, guess)
                self.brackets[k] = (low, high, guess)
        return self.brackets

    def run(self, client, progress=None):
        """Run every search to its end; returns the table of rows (see ``rows``) and writes
        coercive.csv, coercive_minimum.csv, coercive.json and the tasks' summary.csv."""
        self.sweep.write_manifest()
        failures = {}
        self.load_brackets()
        if self.neighbours:
            self.load_finished()
            self.narrow_from_neighbours()
            self.save_brackets()

        def on_result(task, summary):
            k, index = task.extra["condition"], task.extra["grid_index"]
            if summary.get("status") != "done":
                failures[k] = summary.get("error", "failed")
                return []
            self.searches[k].record(index, switched(summary, self.require))
            return self._probe(k)

        first = [t for k in range(len(self.conditions)) for t in self._probe(k)]
        try:
            run_tasks(client, first, self.summaries, progress=progress, on_result=on_result)
        finally:
            write_aggregate(self.sweep_dir, list(self.summaries.values()))
            rows = self.rows(failures)
            self.write(rows)
        return rows

    def rows(self, failures=None):
        """One dict per condition: its values, e_perp_c_VA (NaN if no switch up to the grid's
        end or unfinished), e_total_VA, dip_angle_deg, probes, and the switch at E_perp,c."""
        rows = []
        for k, (condition, search) in enumerate(zip(self.conditions, self.searches)):
            index = search.result
            e_perp = float(self.grid[index]) if index is not None else math.nan
            e_par = _float(condition.get(self.par_name, "0"))
            event = self._event(condition, index)
            status = ("failed" if failures and k in failures else
                      "unfinished" if search.next_index() is not None else
                      "found" if index is not None else "no switch")
            rows.append(dict(condition, e_perp_c_VA=e_perp, e_total_VA=math.hypot(e_par, e_perp),
                             dip_angle_deg=math.degrees(math.atan2(e_perp, e_par)),
                             theta_deg=event.get("theta", math.nan),
                             switch_time_ps=event.get("time", math.nan),
                             probes=len(search.probes), status=status,
                             error=(failures or {}).get(k, "")))
        return rows

    def _event(self, condition, index):
        if index is None:
            return {}
        task = self.sweep.task(dict(condition, **{self.search_name: self.grid[index]}))
        summary = self.summaries.get(task.key, {})
        return next(iter(summary.get("events", [])), {})

    def minima(self, rows):
        """Per group of the parameters other than par_name (e.g. per T): MinimumTotalField of
        the rows found, as dicts with the group's values."""
        groups = {}
        for row in rows:
            group = tuple((n, row[n]) for n in self.conditions[0] if n != self.par_name)
            groups.setdefault(group, []).append(row)
        out = []
        for group, members in groups.items():
            found = [r for r in members if r["status"] == "found"]
            if not found:
                continue
            best = min(found, key=lambda r: r["e_total_VA"])
            vertical = next((r["e_perp_c_VA"] for r in found
                             if _float(r.get(self.par_name, "0")) == 0.0), math.nan)
            minimum = MinimumTotalField(
                criterion="md", e_par=_float(best.get(self.par_name, "0")),
                e_perp=best["e_perp_c_VA"], e_total=best["e_total_VA"],
                dip_angle_deg=best["dip_angle_deg"], vertical_field=vertical,
                reduction_pct=(100.0 * (1.0 - best["e_total_VA"] / vertical) if vertical > 0
                               else math.nan))
            out.append(dict(group, **{k: v for k, v in minimum.__dict__.items()
                                      if k != "criterion"}))
        return out

    def write(self, rows):
        minima = self.minima(rows)
        _write_csv(os.path.join(self.sweep_dir, "coercive.csv"), rows)
        _write_csv(os.path.join(self.sweep_dir, "coercive_minimum.csv"), minima)
        size = len(self.grid)
        brackets = [dict(self.conditions[k], low=_grid_value(self.grid, low),
                         high=_grid_value(self.grid, high), guess=_grid_value(self.grid, guess),
                         nothing_switches=low == size)
                    for k, (low, high, guess) in sorted(self.brackets.items())]
        write_json_atomic(os.path.join(self.sweep_dir, "coercive.json"), {
            "search": self.search_name, "grid": self.grid, "strategy": self.strategy,
            "require": self.require, "neighbours": self.neighbours,
            "along": self.along if self.neighbours else None,
            "neighbour_brackets": brackets, "conditions": rows, "minima": minima})


def _grid_value(grid, index):
    """The grid value at index as a number; None for an open side or beyond the grid."""
    if index is None or index >= len(grid):
        return None
    return float(grid[index])


def _float(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def _product(value_lists):
    import itertools

    return itertools.product(*value_lists)


def _write_csv(path, rows):
    if not rows:
        open(path, "w").close()
        return
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot_coercive(rows, minima, par_name, out_prefix, group_name="T"):
    """Fig. S5 analogue (E_perp,c against E_par per group, minima starred) to
    OUT_PREFIX_s5.png and, with more than one group, the Fig. 4(c) analogue (minimum E_t,c and
    its dip angle against the group value) to OUT_PREFIX_minimum.png. Returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    figure, axes = plt.subplots(figsize=(5.5, 4.0))
    groups = {}
    for row in rows:
        groups.setdefault(row.get(group_name, ""), []).append(row)
    for label, members in groups.items():
        members = sorted(members, key=lambda r: _float(r.get(par_name, "0")))
        x = [_float(r.get(par_name, "0")) for r in members]
        line, = axes.plot(x, [r["e_perp_c_VA"] for r in members], "o-",
                          label=f"{group_name} = {label}" if label != "" else None)
        best = next((m for m in minima if m.get(group_name, "") == label), None)
        if best is not None:
            axes.plot(best["e_par"], best["e_perp"], "*", ms=14, color=line.get_color())
    axes.set_xlabel(r"$E_\parallel$ (V/Å)")
    axes.set_ylabel(r"$E_{\perp,c}$ along $-z$ (V/Å)")
    if any(label != "" for label in groups):
        axes.legend(fontsize=8)
    figure.tight_layout()
    paths.append(f"{out_prefix}_s5.png")
    figure.savefig(paths[-1], dpi=120)
    plt.close(figure)
    if len(minima) > 1 and all(group_name in m for m in minima):
        minima = sorted(minima, key=lambda m: _float(m[group_name]))
        x = np.array([_float(m[group_name]) for m in minima])
        figure, axes = plt.subplots(figsize=(5.5, 4.0))
        axes.plot(x, [m["e_total"] for m in minima], "o-", color="tab:blue")
        axes.set_xlabel(group_name)
        axes.set_ylabel(r"minimum $E_{t,c}$ (V/Å)", color="tab:blue")
        twin = axes.twinx()
        twin.plot(x, [m["dip_angle_deg"] for m in minima], "s-", color="tab:red")
        twin.set_ylabel("dip angle (deg)", color="tab:red")
        figure.tight_layout()
        paths.append(f"{out_prefix}_minimum.png")
        figure.savefig(paths[-1], dpi=120)
        plt.close(figure)
    return paths
