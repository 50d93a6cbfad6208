"""The run's one state: restarts exact with fields and switching events, old checkpoints, the
schedule, and runs as a user sees them on a terminal (progress bar on)."""

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest

from slidesim.deck import parse_deck, read_deck
from slidesim.io.checkpoint import read_checkpoint, run_progress
from slidesim.io.thermo import read_thermo
from slidesim.schedule import Schedule
from slidesim.simulation import Simulation

DATA = os.path.join(os.path.dirname(__file__), "data")

SWITCH_DECK = """system bilayer material BN cells 3 3 stacking BA
model bn-ilp
timestep 1 fs
integrator {integrator}
seed 4
output {output}
thermo every 10
trajectory every 50
checkpoint every 100000
stage warm temperature 100 K duration 0.2 ps
stage ramp temperature 100 K duration 5 ps field_perp 0 V/A field_perp_rate -2 V/A/ps stop switched
stage after temperature 100 K steps 20 field 0.05 0 -0.1 V/A
"""


def switch_deck(directory, integrator):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "switch.in")
    with open(path, "w") as handle:
        handle.write(SWITCH_DECK.format(integrator=integrator,
                                        output=os.path.join(directory, "out")))
    return read_deck(path)


@pytest.mark.parametrize("integrator", ["nose-hoover tdamp 50 fs", "langevin damp 50 fs", "nve"])
def test_restart_with_a_field_ramp_and_switching_is_exact(tmp_path, integrator):
    """A field ramp that switches the bilayer (stop switched), restarted half-way through the
    excursion from BA to AB, equals the run without a restart: positions, the field's work, the
    dipole, the event (found from detector memory that crossed the restart) and the outputs."""
    straight = Simulation(switch_deck(tmp_path / "a", integrator), progress=False)
    summary = straight.run()
    (event,) = [e for e in summary["events"] if e["stage"] == "ramp"][:1]
    split = int(event["step"]) - 15  # inside the excursion: the detector has frames pending
    first = Simulation(switch_deck(tmp_path / "b", integrator), progress=False)
    first.run(max_steps=split)
    saved, _ = read_checkpoint(first.checkpoint_path)
    assert len(saved.switching.detectors[0].excursion) > 1
    assert saved.switching.events == []
    second = Simulation(switch_deck(tmp_path / "b", integrator), restart=first.checkpoint_path,
                        progress=False)
    resumed = second.run()
    a, b = straight.state, second.state
    assert (b.step, b.stage, b.stage_step) == (a.step, a.stage, a.stage_step)
    # the restart builds its neighbour lists afresh, so pair sums run in another order: equal
    # to round-off (a few 1e-13 relative after ~600 steps), not bit for bit
    for name in ("positions", "velocities", "nose_hoover", "bath_energy", "field", "dipole",
                 "field_work"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-10, atol=1e-11,
                                   err_msg=name)
    assert abs(a.field_work[0]) > 1e-6 and np.abs(a.dipole).max() > 0.01  # they can differ
    assert len(resumed["events"]) == len(summary["events"])
    for got, want in zip(resumed["events"], summary["events"]):
        assert {k: v for k, v in got.items() if k not in ("time", "theta", "field")} == \
            {k: v for k, v in want.items() if k not in ("time", "theta", "field")}
        for key in ("time", "theta", "field"):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-9, err_msg=key)
    ta = read_thermo(tmp_path / "a" / "out" / "thermo.csv")
    tb = read_thermo(tmp_path / "b" / "out" / "thermo.csv")
    np.testing.assert_array_equal(ta["step"], tb["step"])
    for column in ("conserved_eV", "P_z_pCm", "field_z_VA", "e_field"):
        np.testing.assert_allclose(tb[column], ta[column], rtol=1e-10, atol=1e-10,
                                   err_msg=column)


def test_a_format_1_checkpoint_continues_as_it_did(tmp_path):
    """A checkpoint of slidesim 0.1 (Langevin, 2 replicas, a field ramp) loads and continues to
    the same positions, velocities, bath energies, conserved energy and P as 0.1 computed."""
    work = tmp_path / "run"
    work.mkdir()
    shutil.copy(os.path.join(DATA, "checkpoint_v1", "deck.in"), work / "deck.in")
    old = os.getcwd()
    os.chdir(work)
    try:
        simulation = Simulation(read_deck("deck.in"),
                                restart=os.path.join(DATA, "checkpoint_v1", "checkpoint.npz"),
                                progress=False)
        assert simulation.state.step == 15 and simulation.state.n_replicas == 2
        simulation.run()
    finally:
        os.chdir(old)
    reference = np.load(os.path.join(DATA, "checkpoint_v1", "final.npz"))
    state = simulation.state
    assert state.step == int(reference["step"])
    np.testing.assert_allclose(state.positions, reference["positions"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.velocities, reference["velocities"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.bath_energy, reference["bath"], rtol=0, atol=1e-12)
    assert state.nose_hoover.shape == (2, 3, 0)
    for r, suffix in enumerate(("", ".r1")):
        thermo = read_thermo(work / "out" / f"thermo{suffix}.csv")
        assert thermo["conserved_eV"][-1] == pytest.approx(reference["conserved"][r], abs=1e-10)
        assert thermo["P_z_pCm"][-1] == pytest.approx(reference["P_z"][r], abs=1e-10)
    # what it writes now is format 2, and the sweep reads its progress through one function
    progress = run_progress(work / "out" / "checkpoint.npz")
    assert progress.finished(2) and progress.step == 30 and progress.events == []


def test_schedule_values_at_the_end_of_each_step():
    deck = parse_deck("system bilayer material BN cells 2 2 stacking BA\nmodel tether\n"
                      "timestep 2 fs\nintegrator nve\noutput out\n"
                      "stage a temperature 100 K to 200 K steps 4 field_perp 1 V/A "
                      "field_perp_rate -10 V/A/ps\nstage b temperature 300 K steps 2\n", "d.in")
    schedule = Schedule(deck.stages, deck.timestep)
    a = deck.stages[0]
    assert [schedule.temperature(a, j) for j in range(5)] == [100, 125, 150, 175, 200]
    assert schedule.field(a, 3)[2] == pytest.approx(1.0 - 10 * 0.006)

    class Progress:
        step, time, stage, stage_step = 0, 0.0, 0, 0

    state = Progress()
    assert schedule.now(state).temperature == 100 and schedule.next(state).temperature == 125
    temperatures = []
    while not schedule.finished(state):
        temperatures.append(schedule.next(state).temperature)
        schedule.advance(state)
        if schedule.stage_complete(state):
            schedule.next_stage(state)
    assert temperatures == [125, 150, 175, 200, 300, 300]
    assert (state.step, state.time) == (6, pytest.approx(0.012))
    assert schedule.remaining_steps(state) == 0


# ---- on a terminal, as a user runs it ----------------------------------------------------------

TERMINAL_DECK = """system bilayer material BN cells 2 2 stacking BA
model tether spring 4 eV/A^2
timestep 1 fs
integrator nose-hoover tdamp 50 fs
seed 2
output out
thermo every {thermo}
trajectory every 10
checkpoint every 30
stage warm temperature 100 K steps 70
stage hold temperature 100 K steps 30
"""


def run_on_terminal(arguments, cwd, timeout=300, rows=24, columns=100):
    """Run ``slidesim ARGUMENTS`` with stdin, stdout and stderr on a pseudo-terminal (so the
    progress bar is on, as for a user); returns (exit code, everything it printed)."""
    leader, follower = pty.openpty()
    # a terminal 100 columns wide (a fresh pseudo-terminal has 0, where tqdm draws nothing)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "slidesim.cli", *arguments], cwd=cwd,
                               stdin=follower, stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            process.kill()
            raise AssertionError(f"no output for {timeout} s: {output.decode(errors='replace')}")
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(timeout=timeout), output.decode(errors="replace")


@pytest.mark.parametrize("thermo", [100, 0])
def test_a_run_and_its_restart_finish_on_a_terminal(tmp_path, thermo):
    """The bar's status line is drawn every 20 steps; the restart at step 41 reaches step 60
    before any thermo row (or never writes one), which once crashed the run."""
    (tmp_path / "deck.in").write_text(TERMINAL_DECK.format(thermo=thermo))
    code, output = run_on_terminal(["run", "deck.in", "--steps", "41"], tmp_path)
    assert code == 0, output
    assert "41/41" in output  # the progress bar was drawn
    assert "paused at step 41" in output
    code, output = run_on_terminal(["run", "deck.in", "--restart", "out/checkpoint.npz"],
                                   tmp_path)
    assert code == 0, output
    assert "Traceback" not in output
    assert "finished at step 100" in output
    assert "59/59" in output and "hold T=" in output  # the bar, with its status line
    assert run_progress(tmp_path / "out" / "checkpoint.npz").finished(2)


@pytest.mark.parametrize("rows, columns", [(0, 100), (0, 0)])
def test_the_bar_shows_on_terminals_that_report_no_size(tmp_path, rows, columns):
    """`script` and some CI runners give a pseudo-terminal of 0 rows (or 0 columns), where
    tqdm's own sizing hides the bar."""
    (tmp_path / "deck.in").write_text(TERMINAL_DECK.format(thermo=10))
    code, output = run_on_terminal(["run", "deck.in", "--steps", "41"], tmp_path, rows=rows,
                                   columns=columns)
    assert code == 0, output
    assert "41/41" in output


def test_a_checkpoint_whose_list_anchors_do_not_fit_warns_and_continues(tmp_path):
    """A checkpoint written by a version that built other neighbour lists (here: one anchor
    set fewer, as before the registry dipole got its own interlayer list) restarts with a
    warning, lists built from the current positions, and ends where the straight run does to
    round-off."""
    from slidesim.io.checkpoint import write_checkpoint

    straight = Simulation(switch_deck(tmp_path / "a", "nve"), progress=False)
    straight.run(max_steps=120)
    first = Simulation(switch_deck(tmp_path / "b", "nve"), progress=False)
    first.run(max_steps=60)
    saved, meta = read_checkpoint(first.checkpoint_path)
    assert saved.neighbor_anchors.shape[1] == 3  # bn-ilp's two lists and the dipole's own
    saved.neighbor_anchors = saved.neighbor_anchors[:, :2].copy()
    write_checkpoint(first.checkpoint_path, saved, meta)
    with pytest.warns(UserWarning, match="not bit for bit"):
        second = Simulation(switch_deck(tmp_path / "b", "nve"), restart=first.checkpoint_path,
                            progress=False)
    second.run(max_steps=60)
    assert second.state.step == straight.state.step == 120
    np.testing.assert_allclose(second.state.positions, straight.state.positions, rtol=0,
                               atol=1e-9)


BOUNDARY_DECK = """system bilayer material BN cells 3 3 stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 100 fs
seed 11
output {output}
thermo every 50
checkpoint every 100000
stage equilibrate temperature 300 K steps 200
stage field temperature 300 K steps 400 field_par 0.3 V/A field_angle 60 deg field_perp -2.5 V/A
"""


def test_a_restart_at_a_stage_boundary_where_the_field_jumps_is_exact(tmp_path):
    """A checkpoint written exactly at the end of a field-free stage, before a stage with a
    static field: the restart computes its first forces in the field the ending stage used
    (the state's), as the run without a restart holds them, and continues bit for bit."""
    def deck(name):
        path = tmp_path / f"{name}.in"
        path.write_text(BOUNDARY_DECK.format(output=tmp_path / name))
        return read_deck(str(path))

    straight = Simulation(deck("a"), progress=False)
    straight.run()
    first = Simulation(deck("b"), progress=False)
    first.run(max_steps=200)
    assert (first.state.stage, first.state.stage_step) == (1, 0)
    second = Simulation(deck("b"), restart=first.checkpoint_path, progress=False)
    second.run()
    for name in ("positions", "velocities", "dipole", "field_work"):
        np.testing.assert_array_equal(getattr(second.state, name), getattr(straight.state, name),
                                      err_msg=name)
