"""Parameter sweeps on Dask (slidesim.sweep): grid expansion, a local cluster of 2 workers
against the same decks run one by one, resume after a killed sweep, failing combinations, and
the coercive-field search."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")

from slidesim.deck import parse_deck  # noqa: E402
from slidesim.io.thermo import read_thermo  # noqa: E402
from slidesim.sweep import (DeckTemplate, Sweep, SweepError, expand_grid, parse_set_option,  # noqa: E402
                            parse_values, read_summary_table, sweep_client)
from slidesim.sweep.coercive_search import CoerciveSearch, GridSearch  # noqa: E402
from slidesim.commands.sweep import sweep as sweep_command  # noqa: E402

# 3x3 cells (36 atoms), a few hundred steps: a task takes about a second
SMALL_DECK = """# tiny deck for sweep tests
system bilayer material BN cells 3 3 stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 100 fs
seed 5
output somewhere_else
thermo every 20
trajectory every 100
checkpoint every 100
limit temperature $LIMIT
velocities $T K
stage warm temperature 1 K to $T K duration 0.2 ps
stage hold temperature $T K duration {hold} ps
"""

COERCIVE_DECK = """system bilayer material BN cells 3 3 stacking BA
timestep 1 fs
integrator nose-hoover tdamp 100 fs
seed 11
thermo every 50
trajectory every 0
checkpoint every 500
stage equilibrate temperature $T K duration 0.5 ps
stage field temperature $T K duration 3 ps field_par $E_par V/A field_angle 60 deg field_perp -$E_perp V/A stop switched
"""


def write_deck(tmp_path, text, name="deck.in"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def client():
    with sweep_client(workers=2) as dask_client:
        yield dask_client


def test_two_local_clusters_on_one_machine_do_not_warn():
    """A second sweep on the same machine (the first holds port 8787) starts without the
    'Port 8787 is already in use' warning users saw when running two sweeps at once."""
    import socket
    import warnings

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
    except OSError:
        pass  # already taken, e.g. by another sweep: the same situation
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with sweep_client(workers=1) as dask_client:
                assert dask_client.submit(int, "3").result() == 3
        assert not [w for w in caught if "8787" in str(w.message)], [str(w.message) for w in caught]
    finally:
        holder.close()


# ---- expansion ---------------------------------------------------------------------------
def test_values_lists_and_inclusive_ranges():
    assert parse_values("100:500:100") == ("100", "200", "300", "400", "500")
    assert parse_values("0,0.1:0.3:0.1") == ("0", "0.1", "0.2", "0.3")
    assert parse_values("3:1:-1") == ("3", "2", "1")
    with pytest.raises(SweepError, match="never reaches"):
        parse_values("1:3:-1")
    with pytest.raises(SweepError, match="START:STOP:STEP"):
        parse_values("a:b:c")
    with pytest.raises(SweepError, match="KEY=VALUES"):
        parse_set_option("T 300")


def test_grid_is_the_product_in_order():
    grid = expand_grid([parse_set_option("T=1,2"), parse_set_option("seed=7:9:1")])
    assert [tuple(v.values()) for v in grid] == [("1", "7"), ("1", "8"), ("1", "9"),
                                                 ("2", "7"), ("2", "8"), ("2", "9")]


def test_variables_keywords_and_options_are_set(tmp_path):
    template = DeckTemplate(write_deck(tmp_path, SMALL_DECK.format(hold=0.1)))
    text = template.render({"T": "250", "LIMIT": "9000", "seed": "42", "cells": "4x5",
                            "replicas": "2", "system.stacking": "AB"}, str(tmp_path / "run"))
    deck = parse_deck(text)
    assert deck.stages[1].t_start == 250.0 and deck.temperature_limit == 9000.0
    assert deck.seed == 42 and deck.replicas == 2
    assert deck.system["cells"] == (4, 5) and deck.system["stacking"] == "AB"
    assert deck.output == str(tmp_path / "run")


def test_unknown_and_ambiguous_keys_are_clear_errors(tmp_path):
    template = DeckTemplate(write_deck(tmp_path, SMALL_DECK.format(hold=0.1)))
    with pytest.raises(SweepError, match=r"has no \$TEMP"):
        template.role("TEMP")
    with pytest.raises(SweepError, match="trajectory.every"):
        template.role("every")
    looped = DeckTemplate(write_deck(tmp_path, "loop T in 1 2\nstage a temperature $T K\nend\n",
                                     "loop.in"))
    with pytest.raises(SweepError, match="loop variable"):
        looped.role("T")
    result = CliRunner().invoke(sweep_command, [str(tmp_path / "deck.in"), "--set", "TEMP=1,2",
                                                "--dry-run"])
    assert result.exit_code == 2 and "has no $TEMP" in result.output


def test_dry_run_lists_tasks_by_parameter_directory(tmp_path):
    deck = write_deck(tmp_path, SMALL_DECK.format(hold=0.1))
    result = CliRunner().invoke(sweep_command, [deck, "--set", "T=10,20", "--set", "LIMIT=5000",
                                                "--seeds", "2", "--dry-run",
                                                "--out", str(tmp_path / "sw")])
    assert result.exit_code == 0, result.output
    assert "4 task(s)" in result.output
    assert os.path.join("sw", "T=20", "LIMIT=5000", "seed=6") in result.output


# ---- running on a local cluster of 2 workers -----------------------------------------------
def _run_one_by_one(template, values, directory):
    """The deck run on its own, as a user would: in a fresh process on one thread (this test
    process has run hundreds of other tests, whose leftovers, e.g. libraries that change the
    floating-point environment, must not enter the reference)."""
    text = template.render(values, str(directory))
    deck_path = str(directory) + ".in"
    os.makedirs(os.path.dirname(deck_path), exist_ok=True)
    with open(deck_path, "w") as handle:
        handle.write(text)
    code = ("import json, sys, numba; numba.set_num_threads(1); "
            "from slidesim.deck import read_deck; from slidesim.simulation import Simulation; "
            "s = Simulation(read_deck(sys.argv[1]), progress=False).run(); "
            "print(json.dumps({k: s[k] for k in ('step', 'output')}))")
    done = subprocess.run([sys.executable, "-c", code, deck_path], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sweep_matches_the_same_decks_run_one_by_one(tmp_path, client):
    deck = write_deck(tmp_path, SMALL_DECK.format(hold=0.2))
    parameters = [parse_set_option("T=50,400"), parse_set_option("LIMIT=20000"),
                  parse_set_option("seed=1,2")]
    sweep = Sweep(deck, parameters, tmp_path / "sweep")
    summaries = sweep.run(client, progress=False)
    assert [s["status"] for s in summaries] == ["done"] * 4
    table = read_summary_table(tmp_path / "sweep")
    assert len(table) == 4
    for task, summary, row in zip(sweep.tasks, summaries, table):
        reference = _run_one_by_one(sweep.template, task.values, tmp_path / "ref" / task.label().replace(" ", "_"))
        assert summary["step"] == reference["step"] == 400
        ours = read_thermo(os.path.join(task.run_dir, "thermo.csv"))
        theirs = read_thermo(os.path.join(reference["output"], "thermo.csv"))
        assert ours.keys() == theirs.keys()
        for name in ours:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
        assert float(row["final_temperature_K"]) == theirs["temperature_K"][-1]
        assert row["T"] == task.values["T"] and row["seed"] == task.values["seed"]
    # the seeds differ, and a hot run is hotter than a cold one
    temperatures = {(r["T"], r["seed"]): float(r["final_temperature_K"]) for r in table}
    assert temperatures[("50", "1")] != temperatures[("50", "2")]
    assert temperatures[("400", "1")] > 3 * temperatures[("50", "1")]
    # a second run finds everything finished and runs nothing
    again = sweep.run(client, progress=False)
    assert all(s.get("skipped") for s in again)


def test_a_failing_combination_is_reported_and_the_others_finish(tmp_path, client):
    deck = write_deck(tmp_path, SMALL_DECK.format(hold=0.1))
    out = tmp_path / "sweep"
    runner = CliRunner()
    args = [deck, "--set", "T=300", "--set", "LIMIT=5,20000", "--scheduler",
            client.scheduler.address, "--out", str(out), "--no-progress"]
    result = runner.invoke(sweep_command, args)
    assert result.exit_code == 1
    assert "LIMIT=5" in result.output and "exceeds the limit" in result.output
    table = {row["LIMIT"]: row for row in read_summary_table(out)}
    assert table["5"]["status"] == "failed" and "exceeds the limit" in table["5"]["error"]
    assert table["20000"]["status"] == "done"
    failure = json.loads((out / "T=300" / "LIMIT=5" / "failed.json").read_text())
    assert failure["values"] == {"T": "300", "LIMIT": "5"} and "Traceback" in failure["traceback"]


def test_resume_after_a_killed_sweep(tmp_path):
    deck = write_deck(tmp_path, SMALL_DECK.format(hold=1.5))
    out = tmp_path / "sweep"
    args = [deck, "--set", "T=100,200,300,400", "--set", "LIMIT=20000", "--workers", "2",
            "--out", str(out), "--no-progress"]
    code = "import sys; from slidesim.commands.sweep import sweep; sweep(sys.argv[1:])"
    process = subprocess.Popen([sys.executable, "-c", code] + args, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = lambda: sorted(str(p) for p in out.glob("*/*/done.json"))  # noqa: E731

    def ready():
        """A task finished and another, unfinished, has written a checkpoint: kill now."""
        pending = [p.parent for p in out.glob("*/*/deck.in")
                   if not (p.parent / "done.json").exists()]
        return bool(done()) and any((d / "checkpoint.npz").exists() for d in pending)

    deadline = time.time() + 120
    while not ready() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the sweep and its workers, as a batch system would
    process.wait()
    finished = {path: os.stat(path).st_mtime_ns for path in done()}
    assert 1 <= len(finished) < 4, "the kill came too late to test a resume"
    unfinished = [p.parent for p in out.glob("*/*/deck.in")
                  if str(p.parent / "done.json") not in finished]
    with_checkpoint = [d for d in unfinished if (d / "checkpoint.npz").exists()]

    result = CliRunner().invoke(sweep_command, args)
    assert result.exit_code == 0, result.output
    assert f"({len(finished)} finished earlier)" in result.output
    for path, mtime in finished.items():
        assert os.stat(path).st_mtime_ns == mtime  # finished results are kept, not redone
    template = DeckTemplate(deck)
    assert with_checkpoint, "no killed task had a checkpoint to restart from"
    # restarted from the checkpoint: the same run up to round-off (the neighbour lists are
    # rebuilt at the restart, which may reorder sums in the last bit)
    for directory in with_checkpoint:
        summary = json.loads((directory / "done.json").read_text())
        assert summary["restarted"]
        reference = _run_one_by_one(template, summary["values"], tmp_path / "ref" /
                                    summary["values"]["T"])
        ours = read_thermo(directory / "thermo.csv")
        theirs = read_thermo(os.path.join(reference["output"], "thermo.csv"))
        np.testing.assert_array_equal(ours["step"], theirs["step"])
        np.testing.assert_allclose(ours["potential_eV"], theirs["potential_eV"], rtol=1e-12)
    assert len(read_summary_table(out)) == 4


# ---- coercive search -----------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["bisect", "scan"])
@pytest.mark.parametrize("threshold", [0, 3, 17, 40, 41])
def test_grid_search_finds_the_least_switching_value(strategy, threshold):
    search = GridSearch(41, strategy)
    while (index := search.next_index()) is not None:
        search.record(index, index >= threshold)
    assert search.result == (threshold if threshold < 41 else None)
    if strategy == "bisect":
        assert len(search.probes) <= 6  # ceil(log2(42))


@pytest.mark.parametrize("threshold", [0, 5, 9, 12, 20, 40, 41])
@pytest.mark.parametrize("bracket", [(5, 9, None), (9, 9, 9), (12, 20, 16), (5, 9, 7),
                                     (None, 9, None), (9, None, None), (0, 3, 2), (41, None, None),
                                     (30, 35, 33), (0, 40, 12), (0, 40, 11), (0, 40, 13)])
def test_a_bracket_from_the_neighbours_never_changes_the_answer(threshold, bracket):
    """Right or wrong, a guess and bracket only change which probes run: the search still finds
    the least switching value; a guess within a step of it settles it in at most 3 probes, a
    right bracket in its two end checks and a bisection of the bracket."""
    search = GridSearch(41, "bisect")
    search.narrow(*bracket)
    while (index := search.next_index()) is not None:
        assert index not in search.probes
        search.record(index, index >= threshold)
    assert search.result == (threshold if threshold < 41 else None)
    low, high, guess = bracket
    if guess is not None and abs(guess - threshold) <= 1 and 0 < threshold < 41:
        assert len(search.probes) <= 3
    elif low is not None and high is not None and low <= threshold <= high:
        assert len(search.probes) <= 3 * (guess is not None) + 2 + math.ceil(
            math.log2(high - low + 1))
    assert len(search.probes) <= 3 + 2 + 6


def test_scan_takes_no_bracket():
    with pytest.raises(SweepError, match="bisect"):
        GridSearch(10, "scan").narrow(2, 5)


def test_brackets_come_from_the_finished_neighbours_along_e_par(tmp_path):
    """E_perp,c falls as E_par grows: a new condition lies between the values found at the next
    larger E_par (from below) and the next smaller one (from above), per temperature; nothing
    found or neighbours against the trend give no bracket."""
    deck = write_deck(tmp_path, COERCIVE_DECK)
    search = CoerciveSearch(deck, [parse_set_option("E_par=0:0.6:0.1"),
                                   parse_set_option("T=10,100,300")], tmp_path / "co",
                            stop=3.0, step=0.05, neighbours=True)
    index = {tuple(c.values()): k for k, c in enumerate(search.conditions)}
    found = {("0", "10"): 2.0, ("0.2", "10"): 1.2, ("0.6", "10"): 0.5,   # T=10: 0.1, 0.3-0.5 new
             ("0.2", "100"): 1.0, ("0.4", "100"): 1.4,                    # against the trend
             ("0", "300"): None}                                          # no switch up to 3
    for key, e_perp in found.items():
        grid_search = search.searches[index[key]]
        if e_perp is not None:
            grid_search.record(search.grid.index(f"{e_perp:g}"), True)
        while (probe := grid_search.next_index()) is not None:
            grid_search.record(probe, False)
    search.searches[index[("0.5", "10")]].record(3, False)  # a condition begun earlier: left alone
    brackets = search.narrow_from_neighbours()
    at = {key: brackets.get(k) for key, k in index.items()}
    grid = search.grid.index
    assert at[("0.1", "10")] == (grid("1.2"), grid("2"), grid("1.6"))
    assert at[("0.3", "10")] == (grid("0.5"), grid("1.2"), grid("1.05"))   # 1.2 - 0.7 / 4
    assert at[("0.4", "10")] == (grid("0.5"), grid("1.2"), grid("0.85"))
    assert at[("0.5", "10")] is None
    assert at[("0.3", "100")] is None                   # 1.4 at larger E_par than 1.0: no bracket
    assert at[("0.1", "100")] == (grid("1"), None, None)  # nothing smaller finished: open above
    assert at[("0.5", "100")] == (None, grid("1.4"), None)
    assert at[("0.1", "300")] is None                   # "no switch" at E_par = 0 bounds nothing
    assert search.searches[index[("0.1", "10")]].next_index() == grid("1.6")  # the guess first
    # along T instead (per E_par): E_perp,c falls as T grows
    by_t = CoerciveSearch(deck, [parse_set_option("E_par=0.2"), parse_set_option("T=10,100,300")],
                          tmp_path / "co", neighbours=True, along="T")
    by_t.searches[0].record(grid("1.2"), True)
    by_t.searches[0].record(grid("1.15"), False)
    by_t.searches[2].record(grid("0.4"), True)
    by_t.searches[2].record(grid("0.35"), False)
    guess = math.floor(grid("1.2") + (grid("0.4") - grid("1.2")) * 90 / 290 + 0.5)
    assert by_t.narrow_from_neighbours() == {1: (grid("0.4"), grid("1.2"), guess)}
    with pytest.raises(SweepError, match="seed \\(--along\\) is not a --set axis"):
        CoerciveSearch(deck, [parse_set_option("E_par=0")], tmp_path / "co3", neighbours=True,
                       along="seed")
    with pytest.raises(SweepError, match="bisect"):
        CoerciveSearch(deck, [parse_set_option("E_par=0")], tmp_path / "co2", strategy="scan",
                       neighbours=True)
    result = CliRunner().invoke(sweep_command, [deck, "--coercive", "E_perp", "--neighbours",
                                                "--strategy", "scan", "--set", "E_par=0",
                                                "--set", "T=10", "--dry-run"])
    assert result.exit_code != 0 and "need --strategy bisect" in result.output
    assert "Traceback" not in result.output


def test_refining_e_par_with_neighbours_on_dask(tmp_path, client):
    """A second pass on a finer E_par grid: the first pass's conditions are all taken from disk
    (nothing reruns), the new one starts inside its neighbours' bracket and finds what plain
    bisection finds, with fewer probes."""
    deck = write_deck(tmp_path, COERCIVE_DECK)
    grid = dict(start=0.0, stop=3.0, step=0.1)
    first = CoerciveSearch(deck, [parse_set_option("E_par=0.2,0.4"), parse_set_option("T=10")],
                           tmp_path / "co", **grid)
    coarse = {r["E_par"]: r["e_perp_c_VA"] for r in first.run(client, progress=False)}
    assert coarse["0.2"] > coarse["0.4"]
    finer = CoerciveSearch(deck, [parse_set_option("E_par=0.2,0.3,0.4"),
                                  parse_set_option("T=10")],
                           tmp_path / "co", neighbours=True, **grid)
    rows = {r["E_par"]: r for r in finer.run(client, progress=False)}
    assert {k: rows[k]["e_perp_c_VA"] for k in coarse} == coarse
    new_keys = [key for key, s in finer.summaries.items() if not s.get("skipped")]
    assert len(new_keys) == rows["0.3"]["probes"]        # only the new condition ran probes
    low, high = (finer.grid.index(f"{coarse[e_par]:g}") for e_par in ("0.4", "0.2"))
    assert finer.brackets == {1: (low, high, math.floor((low + high) / 2 + 0.5))}
    plain = CoerciveSearch(deck, [parse_set_option("E_par=0.3"), parse_set_option("T=10")],
                           tmp_path / "plain", **grid)
    (reference,) = plain.run(client, progress=False)
    assert rows["0.3"]["e_perp_c_VA"] == reference["e_perp_c_VA"]
    assert rows["0.3"]["probes"] < reference["probes"]
    guess = math.floor((low + high) / 2 + 0.5)
    report = json.loads((tmp_path / "co" / "coercive.json").read_text())
    assert report["neighbours"] and report["along"] == "E_par"
    assert report["neighbour_brackets"] == [{"E_par": "0.3", "T": "10", "low": coarse["0.4"],
                                             "high": coarse["0.2"],
                                             "guess": float(finer.grid[guess]),
                                             "nothing_switches": False}]
    # the same pass again, with or without --neighbours: the kept bracket replays the same
    # probes, so everything is found on disk and nothing reruns
    for neighbours in (True, False):
        again = CoerciveSearch(deck, [parse_set_option("E_par=0.2,0.3,0.4"),
                                      parse_set_option("T=10")],
                               tmp_path / "co", neighbours=neighbours, **grid)
        assert again.run(client, progress=False) == list(rows.values())
        assert all(s.get("skipped") for s in again.summaries.values())
        assert again.brackets == finer.brackets


def _fake_disk(search, outcomes):
    """Make search read probe results {grid index: switched} as if a pass had left them."""
    from types import SimpleNamespace

    def finished(k, index):
        if index not in outcomes:
            return None, None
        events = [{"replica": 0, "end": "AB"}] if outcomes[index] else []
        return (SimpleNamespace(key=f"{k}:{index}"),
                {"status": "done", "replicas": 1, "events": events, "switch_to": ["AB"]})

    search._finished = finished


def test_probes_on_disk_that_disagree_are_replayed_not_trusted(tmp_path):
    """Probes left on disk are taken together while they agree (all that switched above all
    that did not); where they disagree, the condition replays its own bisection path, so its
    answer is never a switching value whose lower neighbour was not probed."""
    deck = write_deck(tmp_path, COERCIVE_DECK)
    search = CoerciveSearch(deck, [parse_set_option("E_par=0")], tmp_path / "co",
                            neighbours=True)
    _fake_disk(search, {5: False, 9: True, 30: True})
    search.load_finished()
    assert (search.searches[0].below, search.searches[0].above) == (5, 9)
    assert sorted(search.summaries) == ["0:30", "0:5", "0:9"]
    search = CoerciveSearch(deck, [parse_set_option("E_par=0")], tmp_path / "co",
                            neighbours=True)
    midpoint = (len(search.grid) - 1) // 2
    _fake_disk(search, {10: True, 12: False, midpoint: True})      # 12 did not switch, 10 did
    search.load_finished()
    assert search.searches[0].probes == {midpoint: True}          # only its own path's first
    assert sorted(search.summaries) == [f"0:{midpoint}"]


def test_neighbours_options_are_checked(tmp_path):
    deck = write_deck(tmp_path, COERCIVE_DECK)
    with pytest.raises(SweepError, match="distinct numbers"):
        CoerciveSearch(deck, [parse_set_option("E_par=0,0.2"),
                              parse_set_option("system.stacking=AB,BA")], tmp_path / "co",
                       neighbours=True, along="system.stacking")
    with pytest.raises(SweepError, match="--par"):
        CoerciveSearch(deck, [parse_set_option("T=10")], tmp_path / "co", neighbours=True)
    for args, message in ((["--neighbours"], "belong to a coercive search"),
                          (["--coercive", "E_perp", "--along", "T"], "give --neighbours too")):
        result = CliRunner().invoke(sweep_command, [deck, "--set", "T=10", "--dry-run"] + args)
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output


def test_coercive_search_on_dask(tmp_path, client):
    deck = write_deck(tmp_path, COERCIVE_DECK)
    search = CoerciveSearch(deck, [parse_set_option("E_par=0"), parse_set_option("T=10")],
                            tmp_path / "co", start=1.0, stop=3.0, step=1.0)
    rows = search.run(client, progress=False)
    assert len(rows) == 1 and rows[0]["status"] == "found"
    probes = search.searches[0].probes
    e_perp_c = rows[0]["e_perp_c_VA"]
    assert probes[search.grid.index(f"{e_perp_c:g}")] is True
    assert all(not switched for index, switched in probes.items()
               if float(search.grid[index]) < e_perp_c)
    assert rows[0]["dip_angle_deg"] == pytest.approx(90.0)
    assert 50 < rows[0]["theta_deg"] < 70  # slides along b - a
    for name in ("coercive.csv", "coercive_minimum.csv", "coercive.json", "summary.csv"):
        assert (tmp_path / "co" / name).exists()
    again = CoerciveSearch(deck, [parse_set_option("E_par=0"), parse_set_option("T=10")],
                           tmp_path / "co", start=1.0, stop=3.0, step=1.0)
    assert again.run(client, progress=False) == rows
    assert all(s.get("skipped") for s in again.summaries.values())


def test_minimum_total_field_per_temperature(tmp_path):
    deck = write_deck(tmp_path, COERCIVE_DECK)
    search = CoerciveSearch(deck, [parse_set_option("E_par=0,0.3,0.6"),
                                   parse_set_option("T=10,100")], tmp_path / "co")
    e_perp = {("0", "10"): 2.0, ("0.3", "10"): 1.2, ("0.6", "10"): 1.0,
              ("0", "100"): 1.5, ("0.3", "100"): 0.5, ("0.6", "100"): 0.45}
    for condition, grid_search in zip(search.conditions, search.searches):
        grid_search.record(search.grid.index(f"{e_perp[tuple(condition.values())]:g}"), True)
        while (index := grid_search.next_index()) is not None:
            grid_search.record(index, False)
    minima = {m["T"]: m for m in search.minima(search.rows())}
    totals_10 = [np.hypot(0, 2.0), np.hypot(0.3, 1.2), np.hypot(0.6, 1.0)]
    assert minima["10"]["e_total"] == pytest.approx(min(totals_10))
    assert minima["10"]["e_par"] == 0.6
    assert minima["100"]["e_par"] == 0.3
    assert minima["100"]["dip_angle_deg"] == pytest.approx(np.degrees(np.arctan2(0.5, 0.3)))
    assert minima["100"]["reduction_pct"] == pytest.approx(100 * (1 - np.hypot(0.3, 0.5) / 1.5))


def test_replica_rows_take_the_switch_into_the_stop_target():
    """A replica that first switched the other way (AB -> BA is not the target of
    "stop switched to AB") reports the later switch to AB, with its stage; without a stop target
    the first switch counts."""
    from slidesim.sweep.tasks import replica_rows
    events = [{"start": "BA", "end": "AB", "time": 3.0, "field": [0.0, 0.0, 0.0], "theta": 180.0,
               "stage": "equilibrate", "replica": 0},
              {"start": "AB", "end": "BA", "time": 5.0, "field": [0.0, 0.0, 0.0], "theta": 0.0,
               "stage": "equilibrate", "replica": 0},
              {"start": "BA", "end": "AB", "time": 40.0, "field": [0.0, 0.0, -1.5],
               "theta": 60.0, "stage": "ramp", "replica": 0}]
    summary = {"status": "done", "replicas": 2, "events": events, "switch_to": ["AB"],
               "values": {"T": "500"}, "reason": "finished", "step": 10, "time_ps": 41.0,
               "final": [{}, {}], "seconds": 1.0, "run_dir": "x"}
    first, second = replica_rows(summary)
    assert first["switched"] and first["switch_stage"] == "equilibrate"   # a thermal switch
    assert first["switch_time_ps"] == 3.0 and first["switch_field_z_VA"] == 0.0
    assert not second["switched"] and second["switch_stage"] == ""
    summary["events"] = events[1:]          # AB -> BA first: not the target, skipped
    first, _ = replica_rows(summary)
    assert first["switch_stage"] == "ramp" and first["switch_field_z_VA"] == -1.5
    assert first["switch_theta_deg"] == 60.0
    summary["switch_to"] = []
    first, _ = replica_rows(summary)
    assert first["switch_stage"] == "equilibrate" and first["switch_time_ps"] == 5.0


def test_task_seconds_counts_each_task_once():
    from slidesim.sweep.tasks import task_seconds

    rows = [{"run_dir": "a", "seconds": "10.5", "replica": "0"},
            {"run_dir": "a", "seconds": "10.5", "replica": "1"},
            {"run_dir": "b", "seconds": "4", "replica": "0"}]
    assert task_seconds(rows) == 14.5
    assert task_seconds([]) == 0


def test_probes_share_their_first_stage_and_end_as_if_run_alone(tmp_path):
    """Two probes that differ only in their field stage: the first runs the field-free first
    stage and publishes it, the second continues from it; the second ends bit for bit where it
    ends when run alone from the start (positions, events, thermo file)."""
    from slidesim.io.checkpoint import read_checkpoint
    from slidesim.sweep.runner import Sweep
    from slidesim.sweep.tasks import FIRST_STAGE_DIR, first_stage_key, run_task
    from slidesim.deck import parse_deck

    deck = write_deck(tmp_path, COERCIVE_DECK.replace("trajectory every 0",
                                                      "trajectory every 100"))
    grid = [parse_set_option("E_par=0.3"), parse_set_option("T=300"),
            parse_set_option("E_perp=1,2.5")]
    shared, alone = Sweep(deck, grid, tmp_path / "shared"), Sweep(deck, grid, tmp_path / "alone")
    folder = str(tmp_path / "shared" / FIRST_STAGE_DIR)
    a, b = [shared.task(t.values, extra={"share_first_stage": folder}) for t in shared.tasks]
    keys = {first_stage_key(parse_deck(t.deck_text, "x.in")) for t in (a, b)}
    assert len(keys) == 1 and None not in keys
    assert run_task(a)["status"] == "done"
    assert os.listdir(folder) == list(keys)
    mine = run_task(b)
    assert mine["status"] == "done" and mine["restarted"]
    theirs = run_task(alone.tasks[1])
    assert not theirs["restarted"]
    assert mine["events"] == theirs["events"] and mine["step"] == theirs["step"]
    ours, _ = read_checkpoint(os.path.join(b.run_dir, "checkpoint.npz"))
    reference, _ = read_checkpoint(os.path.join(alone.tasks[1].run_dir, "checkpoint.npz"))
    np.testing.assert_array_equal(ours.positions, reference.positions)
    np.testing.assert_array_equal(ours.velocities, reference.velocities)
    with open(os.path.join(b.run_dir, "thermo.csv")) as mine_csv, \
            open(os.path.join(alone.tasks[1].run_dir, "thermo.csv")) as theirs_csv:
        assert mine_csv.read() == theirs_csv.read()
    # a deck whose first stage differs (another temperature) does not share
    other = Sweep(deck, [parse_set_option("E_par=0.3"), parse_set_option("T=10"),
                         parse_set_option("E_perp=1")], tmp_path / "other").tasks[0]
    assert first_stage_key(parse_deck(other.deck_text, "x.in")) not in keys


def test_a_pass_with_the_axes_in_another_order_warns(tmp_path):
    """Run directories follow the axis order: a second pass into the same directory with the
    --set options reordered would find none of the first pass's tasks; it says so."""
    import warnings

    deck = write_deck(tmp_path, SMALL_DECK.format(hold=0.2))
    first = Sweep(deck, [parse_set_option("T=50"), parse_set_option("LIMIT=20000")],
                  tmp_path / "sw")
    first.write_manifest()
    with pytest.warns(UserWarning, match="in the order T, LIMIT"):
        Sweep(deck, [parse_set_option("LIMIT=20000"), parse_set_option("T=50,60")],
              tmp_path / "sw")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Sweep(deck, [parse_set_option("T=50,60"), parse_set_option("LIMIT=20000")],
              tmp_path / "sw")
