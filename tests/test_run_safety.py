"""Output folders that no run overwrites by accident, the run log, and stops on the intended
switch (issue: runs that never lose or corrupt results)."""

import os
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from slidesim.analysis.lattice import HexLattice
from slidesim.deck import DeckError, parse_deck
from slidesim.outputs import LOCK_NAME, OutputError, OutputFolder
from slidesim.state import SwitchingRecord
from slidesim.sweep.coercive_search import switched
from slidesim.switch_watch import SwitchWatch

DECK = """\
system bilayer material BN cells 2 2 stacking BA
timestep 1 fs
integrator nose-hoover tdamp 50 fs
output {output}
thermo every 5
trajectory every 5
checkpoint every 10
stage one temperature 300 K steps 20
stage two temperature 300 K steps 20
"""


def slidesim(*args, cwd=None, timeout=300):
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "slidesim.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def deck(tmp_path):
    path = tmp_path / "run.in"
    path.write_text(DECK.format(output="out"))
    return path


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))
            if not name.startswith(".")}


def test_a_finished_run_is_not_overwritten_without_restart_or_overwrite(deck, tmp_path):
    first = slidesim("run", str(deck), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    before = snapshot(out)
    assert {"traj.nc", "thermo.csv", "checkpoint.npz", "checkpoint.npz.prev", "log.txt"} <= set(before)
    again = slidesim("run", str(deck), cwd=tmp_path)
    assert again.returncode == 2
    assert "Traceback" not in again.stderr
    message = again.stderr.strip().splitlines()[-1]
    assert message.startswith("slidesim: error:") and "already holds a run" in message
    assert "--restart" in message and "--overwrite" in message
    assert snapshot(out) == before  # nothing touched
    # --check says the same before anything runs
    check = slidesim("run", "--check", str(deck), cwd=tmp_path)
    assert check.returncode == 2 and "already holds a run" in check.stderr
    # --overwrite replaces the run: a fresh log and trajectory, same physics (same seed)
    replaced = slidesim("run", "--overwrite", str(deck), cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    after = snapshot(out)
    assert after["log.txt"].count(b"new run from step 0") == 1
    assert after["thermo.csv"] == before["thermo.csv"]


def test_a_held_folder_stops_a_second_run(deck, tmp_path):
    holder = OutputFolder(tmp_path / "out")
    holder.claim()
    try:
        second = slidesim("run", str(deck), cwd=tmp_path)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert "in use by another slidesim run" in second.stderr
        assert f"pid {os.getpid()}" in second.stderr
        assert not (tmp_path / "out" / "traj.nc").exists()
        check = slidesim("run", "--check", str(deck), cwd=tmp_path)
        assert check.returncode == 2 and "in use by another slidesim run" in check.stderr
    finally:
        holder.release()
    assert slidesim("run", str(deck), cwd=tmp_path).returncode == 0


def test_a_killed_holder_does_not_leave_a_stale_lock(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from slidesim.outputs import OutputFolder
        folder = OutputFolder({str(tmp_path / 'out')!r})
        folder.claim()
        print("held", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match="in use"):
            OutputFolder(tmp_path / "out").claim()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (tmp_path / "out" / LOCK_NAME).exists()
    folder = OutputFolder(tmp_path / "out")
    folder.claim()  # the lock died with its holder
    folder.release()


@pytest.mark.parametrize("where", ["under a file", "proc"])
def test_unwritable_output_folders_are_refused_before_running(tmp_path, where):
    if where == "under a file":
        (tmp_path / "plain").write_text("a file\n")
        output = tmp_path / "plain" / "out"
    else:
        output = "/proc/slidesim-out"
    deck = tmp_path / "run.in"
    deck.write_text(DECK.format(output=output))
    for args in (["run", "--check", str(deck)], ["run", str(deck)]):
        result = slidesim(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("slidesim: error:") and "cannot be" in last and "'output'" in last


def test_check_reports_a_writable_folder(deck, tmp_path):
    result = slidesim("run", "--check", str(deck), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "can be written" in result.stdout and "deck OK" in result.stdout
    assert not (tmp_path / "out").exists()  # --check creates nothing


def test_batch_jobs_get_progress_lines_a_log_and_a_summary(deck, tmp_path):
    result = slidesim("run", str(deck), cwd=tmp_path)  # stderr is a pipe, not a terminal
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "stage one ended at step 20" in err and "stage two ended at step 40" in err
    assert "ETA" in err and "ms/step" in err
    assert "neighbour-list builds" in err and "switching events: 0" in err
    log = (tmp_path / "out" / "log.txt").read_text()
    assert log.count("  | ") == len(DECK.splitlines())  # the deck as run
    assert "new run from step 0" in log and "command:" in log and "slidesim 0." in log
    table = [line.split() for line in log.splitlines() if line.startswith("  one ")
             or line.startswith("  two ")]
    assert [row[:3] for row in table] == [["one", "20", "300"], ["two", "20", "300"]]
    # the mean temperature in the summary is the thermo file's, step by step: compare with the
    # rows of stage two (every 5 steps; a coarse check of the right quantity)
    from slidesim.io.thermo import read_thermo

    thermo = read_thermo(str(tmp_path / "out" / "thermo.csv"))
    rows = (thermo["step"] > 20)
    mean_rows = float(np.mean(thermo["temperature_K"][rows]))
    assert float(table[1][3]) == pytest.approx(mean_rows, rel=0.25)


def test_restart_appends_to_the_log_keeps_modes_and_clears_leftovers(deck, tmp_path):
    first = slidesim("run", str(deck), "--steps", "25", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    leftover = out / ".checkpoint.abc123.tmp"  # as a SIGKILL during a checkpoint write leaves
    leftover.write_bytes(b"partial")
    second = slidesim("run", str(deck), "--restart", str(out / "checkpoint.npz"), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert not leftover.exists()
    log = (out / "log.txt").read_text()
    assert "new run from step 0" in log and "checkpoint.npz at step 25" in log
    assert log.count("\nended ") == 2 and "paused at step 25" in log
    umask = os.umask(0)
    os.umask(umask)
    for name in ("checkpoint.npz", "checkpoint.npz.prev", "thermo.csv", "traj.nc", "log.txt"):
        mode = stat.S_IMODE(os.stat(out / name).st_mode)
        assert mode == 0o666 & ~umask, (name, oct(mode))


# ---- stop switched to AB ----------------------------------------------------------------------

def stage_line(stop):
    text = f"system bilayer cells 2 2\ntimestep 1 fs\nstage s temperature 300 K steps 10 {stop}\n"
    return parse_deck(text, "t.in").stages[0]


def test_stop_switched_to_parses_and_rejects_unknown_stackings():
    assert stage_line("stop switched").stop_to is None
    assert stage_line("stop switched to AB").stop_to == "AB"
    assert stage_line("stop switched to XM").stop_to == "XM"
    for bad, match in [("stop switched to", "needs a stacking"), ("stop switched to SP", "no such"),
                       ("stop switched to AB extra", "unknown option")]:
        with pytest.raises(DeckError, match=match):
            stage_line(bad)


def test_only_the_intended_switch_counts_for_stop_switched_to(tmp_path):
    lattice = HexLattice.from_constant(2.5045)
    a, b = lattice.vectors
    there = lattice.site("BA") + np.linspace(0, 1, 11)[:, None] * (b - a) / 3  # BA -> AB
    back = there[::-1]                                                          # AB -> BA
    for path, stop_to, counts in [(back, "AB", False), (back, None, True), (there, "AB", True),
                                  (there, "MX", True), (there, "BA", False)]:
        record = SwitchingRecord.fresh(1)
        watch = SwitchWatch(lattice, record, 1.0, str(tmp_path / "events.json"), "t.in")
        for t, s in enumerate(path):
            watch.update(0, float(t), s, np.zeros(3), "s", stop_to)
        assert len(watch.events) == 1
        assert watch.all_switched() is counts, (stop_to, watch.events[0]["end"])


def test_the_coercive_search_counts_only_switches_to_the_target():
    summary = {"status": "done", "replicas": 1, "switch_to": ["AB"],
               "events": [{"replica": 0, "start": "AB", "end": "BA"}]}
    assert not switched(summary)
    summary["events"].append({"replica": 0, "start": "BA", "end": "AB"})
    assert switched(summary)
    assert switched({"status": "done", "replicas": 1,
                     "events": [{"replica": 0, "start": "AB", "end": "BA"}]})


# ---- restarts: bit for bit, after kills and a full disk ----------------------------------------

def test_a_restart_continues_bit_for_bit_in_every_thermo_column(tmp_path):
    """The checkpoint carries the positions the neighbour lists were built from, so a restart
    sums the same pairs in the same order: every float64 thermo column equals the straight run."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    for folder in (straight, split):
        folder.mkdir()
        (folder / "run.in").write_text(DECK.format(output="out").replace(
            "steps 20", "steps 60").replace("checkpoint every 10", "checkpoint every 7"))
    assert slidesim("run", "run.in", cwd=straight).returncode == 0
    first = slidesim("run", "run.in", "--steps", "45", cwd=split)
    assert first.returncode == 0, first.stderr
    # the lists were built long before step 45 (the atoms move less than skin/2 in 45 fs at
    # 300 K), so rebuilding them from step-45 positions would change the sums' round-off
    second = slidesim("run", "run.in", "--restart", "out/checkpoint.npz", cwd=split)
    assert second.returncode == 0, second.stderr
    assert (split / "out" / "thermo.csv").read_text() == \
        (straight / "out" / "thermo.csv").read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="the disk-full trial mounts a tmpfs (root only)")
def test_kill_and_disk_full_soak(tmp_path):
    """validation/kill_soak.py in small: SIGKILL/SIGTERM/SIGINT during runs (one during
    checkpoint rotation) and a full disk; outputs stay readable, restarts end identical."""
    import json

    script = os.path.join(os.path.dirname(__file__), "..", "validation", "kill_soak.py")
    result = subprocess.run([sys.executable, script, "--out", str(tmp_path), "--trials", "2",
                             "--disk-full", "1", "--seed", "3"], capture_output=True, text=True,
                            timeout=900, env=dict(os.environ, NUMBA_NUM_THREADS="1"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["kill_trials"] == 2 and summary["kill_during_rotation"] == 1
    assert summary["killed_while_running"] == 2
    assert summary["kill_restarts_identical"] == 2, summary["records"]
    assert summary["tracebacks"] == 0, summary["records"]
    if summary["disk_full_trials"]:  # a tmpfs could be mounted
        assert summary["disk_full_clean_stops"] == 1, summary["records"]
        assert summary["disk_full_restarts_identical"] == 1, summary["records"]
    assert result.returncode == 0, result.stdout[-2000:]


def test_the_nve_temperature_guard_counts_the_starting_velocities(tmp_path):
    """An NVE deck started at 3000 K (stages without targets) is not a blow-up at step 0."""
    from slidesim.guards import temperature_limit

    text = ("system bilayer material BN cells 2 2 stacking BA\ntimestep 0.5 fs\nintegrator nve\n"
            "velocities 3000 K\noutput out\nstage run steps 10\n")
    assert temperature_limit(parse_deck(text, "nve.in")) == 31000.0
    (tmp_path / "nve.in").write_text(text)
    result = slidesim("run", "nve.in", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_messages_never_name_a_checkpoint_that_does_not_exist(tmp_path):
    from slidesim.guards import last_good_checkpoint

    assert last_good_checkpoint(str(tmp_path / "checkpoint.npz")) == "No checkpoint was written yet"
    (tmp_path / "checkpoint.npz").write_bytes(b"x")
    assert str(tmp_path) in last_good_checkpoint(str(tmp_path / "checkpoint.npz"))


@pytest.mark.parametrize("new", ["nve", "langevin tdamp 50 fs", "nose-hoover tdamp 50 fs chain 5"])
def test_a_restart_may_change_the_integrator_only_when_asked(tmp_path, new):
    """A checkpoint of a Nose-Hoover run refuses another integrator, unless --new-integrator:
    then the run continues from the same positions and velocities with a fresh thermostat."""
    (tmp_path / "nh.in").write_text(DECK.format(output="out"))
    (tmp_path / "other.in").write_text(DECK.format(output="out").replace(
        "integrator nose-hoover tdamp 50 fs", f"integrator {new}"))
    first = slidesim("run", "nh.in", "--steps", "20", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    refused = slidesim("run", "other.in", "--restart", "out/checkpoint.npz", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--new-integrator" in refused.stderr.strip().splitlines()[-1]
    from slidesim.io.thermo import read_thermo

    rows_before = len(read_thermo(str(tmp_path / "out" / "thermo.csv"))["step"])
    changed = slidesim("run", "other.in", "--restart", "out/checkpoint.npz", "--new-integrator",
                       cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert "thermostat starts afresh" in changed.stderr
    thermo = read_thermo(str(tmp_path / "out" / "thermo.csv"))
    assert list(thermo["step"][rows_before - 1:]) == [20, 25, 30, 35, 40]
    from slidesim.io.checkpoint import read_checkpoint

    state, meta = read_checkpoint(str(tmp_path / "out" / "checkpoint.npz"))
    assert meta["integrator"] == new.split()[0] and state.step == 40
    if new.endswith("chain 5"):
        assert state.nose_hoover.shape == (1, 3, 5)
    elif new.startswith("langevin"):
        assert state.bath_energy[0] != 0.0  # the new bath did work
