"""The driver end to end: restarts, interrupts, blow-ups, outputs, the command line."""

import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.cli import main
from slidesim.deck import parse_deck
from slidesim.io.checkpoint import read_checkpoint
from slidesim.io.thermo import read_thermo
from slidesim.io.trajectory import read_trajectory
from slidesim.simulation import Simulation, SimulationError

DECK = """system bilayer material BN cells 3 3 stacking BA
model tether spring 4 eV/A^2
timestep 1 fs
integrator {integrator}
seed 11
replicas {replicas}
output {output}
thermo every 5
trajectory every 10 velocities yes forces yes
checkpoint every 1000
stage warm temperature 200 K to 400 K steps 60
stage hold temperature 400 K steps 40
"""


def make_deck(tmp_path, name="run.in", integrator="nose-hoover tdamp 50 fs", replicas=1, **kw):
    text = DECK.format(integrator=integrator, replicas=replicas, output=tmp_path / "out", **kw)
    os.makedirs(tmp_path, exist_ok=True)
    path = tmp_path / name
    path.write_text(text)
    return parse_deck(text, str(path))


@pytest.mark.parametrize("integrator", ["nose-hoover tdamp 50 fs", "langevin damp 50 fs", "nve"])
def test_restart_continues_exactly(tmp_path, integrator):
    """50 + 50 steps through a checkpoint equals 100 steps (crossing a stage boundary)."""
    straight = Simulation(make_deck(tmp_path / "a", integrator=integrator), progress=False)
    straight.run()
    first = Simulation(make_deck(tmp_path / "b", integrator=integrator), progress=False)
    first.run(max_steps=50)
    ckpt = first.checkpoint_path
    second = Simulation(make_deck(tmp_path / "b", integrator=integrator), restart=ckpt,
                        progress=False)
    assert second.state.step == 50
    second.run()
    a, b = straight.state, second.state
    assert b.step == a.step == 100 and b.stage == a.stage
    np.testing.assert_allclose(b.positions, a.positions, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.velocities, a.velocities, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.nose_hoover, a.nose_hoover, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.bath_energy, a.bath_energy, rtol=0, atol=1e-12)
    # outputs of the restarted run are continuous and identical to the straight run's
    ta, tb = read_thermo(tmp_path / "a" / "out" / "thermo.csv"), read_thermo(tmp_path / "b" / "out" / "thermo.csv")
    np.testing.assert_array_equal(ta["step"], tb["step"])
    np.testing.assert_allclose(tb["conserved_eV"], ta["conserved_eV"], rtol=0, atol=1e-10)
    ja, jb = read_trajectory(tmp_path / "a" / "out" / "traj.nc"), read_trajectory(tmp_path / "b" / "out" / "traj.nc")
    np.testing.assert_array_equal(ja["step"], jb["step"])
    np.testing.assert_allclose(jb["coordinates"], ja["coordinates"], atol=1e-5)


def test_replicas_are_independent_and_match_single_runs(tmp_path):
    deck = make_deck(tmp_path / "multi", replicas=3, integrator="langevin damp 50 fs")
    multi = Simulation(deck, progress=False)
    multi.run()
    assert os.path.exists(tmp_path / "multi" / "out" / "traj.r2.nc")
    assert not np.allclose(multi.state.positions[0], multi.state.positions[1])
    single = Simulation(make_deck(tmp_path / "single", integrator="langevin damp 50 fs"),
                        progress=False)
    single.run()
    np.testing.assert_allclose(multi.state.positions[0], single.state.positions[0], atol=1e-12)


def test_ramp_reaches_target_and_thermo_records_it(tmp_path):
    sim = Simulation(make_deck(tmp_path), progress=False)
    sim.run()
    thermo = read_thermo(tmp_path / "out" / "thermo.csv")
    assert thermo["step"][0] == 0 and thermo["step"][-1] == 100
    i60 = list(thermo["step"]).index(60)
    assert thermo["temperature_target_K"][i60] == pytest.approx(400.0)
    assert thermo["temperature_target_K"][1] == pytest.approx(200.0 + 200.0 * 5 / 60)
    assert np.isfinite(thermo["sliding_x_A"]).all()


def test_blow_up_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path):
    deck = make_deck(tmp_path, integrator="nve")
    sim = Simulation(deck, progress=False)
    sim.run(max_steps=20)
    good = read_checkpoint(sim.checkpoint_path)[0]
    sim = Simulation(deck, restart=sim.checkpoint_path, progress=False)
    sim.state.velocities[0, 3] = 1e6                      # a kick no integrator survives
    with pytest.raises(SimulationError, match="temperature .* exceeds the limit"):
        sim.run()
    kept = read_checkpoint(sim.checkpoint_path)[0]
    assert kept.step == good.step == 20
    np.testing.assert_array_equal(kept.positions, good.positions)
    frames = read_trajectory(tmp_path / "out" / "traj.nc")
    assert frames["step"][-1] <= 30 and np.isfinite(frames["coordinates"]).all()


def test_nan_forces_are_caught(tmp_path):
    sim = Simulation(make_deck(tmp_path), progress=False)
    sim.model.terms[0].spring = float("nan")
    with pytest.raises(SimulationError, match="non-finite"):
        sim.run()


def _long_deck(tmp_path):
    deck = tmp_path / "long.in"
    deck.write_text(DECK.format(integrator="nve", replicas=1, output=tmp_path / "out")
                    .replace("steps 40", "steps 4000000").replace("every 1000", "every 100000000"))
    return deck


def _wait_for_frames(traj, count=20):
    deadline = time.time() + 120
    while time.time() < deadline and not (traj.exists()
                                          and read_trajectory(traj)["step"].size > count):
        time.sleep(0.5)


def test_sigterm_flushes_trajectory_and_writes_checkpoint(tmp_path):
    deck = _long_deck(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "slidesim.cli", "run", str(deck), "--no-progress"],
                            stderr=subprocess.PIPE, text=True)
    traj = tmp_path / "out" / "traj.nc"
    _wait_for_frames(traj)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped by SIGTERM" in err
    state, _ = read_checkpoint(tmp_path / "out" / "checkpoint.npz")
    frames = read_trajectory(traj)
    assert state.step >= frames["step"][-1] > 200


def test_closing_the_terminal_stops_cleanly(tmp_path):
    """A run with its progress bar on a terminal that closes (SIGHUP, as when an ssh session
    drops) stops between steps and writes its checkpoint, like Ctrl-C."""
    import pty

    deck = _long_deck(tmp_path)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: slidesim on the pseudo-terminal, progress bar on
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "slidesim.cli", "run", str(deck)])
    traj = tmp_path / "out" / "traj.nc"
    deadline = time.time() + 120
    while time.time() < deadline and not (traj.exists()
                                          and read_trajectory(traj)["step"].size > 20):
        ready, _, _ = select.select([terminal], [], [], 0.5)
        if ready:
            try:
                os.read(terminal, 65536)  # keep the terminal drained
            except OSError:
                break
    os.close(terminal)  # the terminal goes away: the kernel sends SIGHUP
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130
    log = (tmp_path / "out" / "log.txt").read_text()
    assert "stopped by SIGHUP" in log, log[-2000:]
    state, _ = read_checkpoint(tmp_path / "out" / "checkpoint.npz")
    frames = read_trajectory(traj)
    assert state.step >= frames["step"][-1] > 200


def test_ignored_hangup_stays_ignored(tmp_path):
    """Under nohup (SIGHUP ignored) a hangup does not stop the run; SIGTERM still does."""
    deck = _long_deck(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "slidesim.cli", "run", str(deck), "--no-progress"],
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    traj = tmp_path / "out" / "traj.nc"
    _wait_for_frames(traj)
    proc.send_signal(signal.SIGHUP)
    steps = read_trajectory(traj)["step"][-1]
    deadline = time.time() + 60  # the run goes on writing frames
    while time.time() < deadline and read_trajectory(traj)["step"][-1] <= steps + 100:
        time.sleep(0.5)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped by SIGTERM" in err and "SIGHUP" not in err


def test_cli_check_and_errors(tmp_path):
    path = tmp_path / "ok.in"
    path.write_text(DECK.format(integrator="nve", replicas=1, output=tmp_path / "out"))
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--check", str(path)])
    assert result.exit_code == 0, result.output
    assert "deck OK" in result.output and "36 atoms" in result.output
    assert not (tmp_path / "out").exists()
    bad = tmp_path / "bad.in"
    bad.write_text(path.read_text().replace("timestep 1 fs", "timestep 1 fs\nthermostat nvt"))
    result = runner.invoke(main, ["run", "--check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4: unknown keyword 'thermostat'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["run", str(tmp_path / "missing.in")])
    assert result.exit_code == 2 and "not found" in result.output


def test_system_from_an_extxyz_file(tmp_path):
    from slidesim.io.structures import write_structure
    from slidesim.structures import bilayer

    structure = bilayer("BN", (3, 3), "AB")
    write_structure(tmp_path / "start.extxyz", structure)
    deck = tmp_path / "file.in"
    deck.write_text(f"system file path start.extxyz\nmodel tether\ntimestep 1 fs\n"
                    f"output {tmp_path / 'out'}\nstage a temperature 100 K steps 10\n")
    sim = Simulation(parse_deck(deck.read_text(), str(deck)), progress=False)
    np.testing.assert_allclose(sim.state.positions[0], structure.positions[0], atol=1e-9)
    np.testing.assert_array_equal(sim.state.layer, structure.layer)
    # the sliding vector of the file's AB stacking is found again (modulo the lattice)
    from slidesim.analysis.order import parse_reciprocal
    g = parse_reciprocal("a*-b*")
    psi = g.psi(sim.lattice.fractional(sim.sliding(sim.state.positions[0])))
    assert psi.imag == pytest.approx(-np.sqrt(3) / 2, abs=1e-9)
    sim.run()


FIELD_DECK = """system bilayer material BN cells 3 3 stacking BA
model bn-ilp
timestep 1 fs
integrator {integrator}
seed 4
output {output}
thermo every 10
trajectory every 50
stage warm temperature 100 K duration 0.2 ps
stage ramp temperature 100 K duration 5 ps field_perp 0 V/A field_perp_rate {rate} V/A/ps stop switched
stage after temperature 100 K steps 20
"""


def test_vertical_field_ramp_switches_ba_to_ab_and_stops_the_stage(tmp_path):
    path = tmp_path / "switch.in"
    path.write_text(FIELD_DECK.format(integrator="nose-hoover tdamp 50 fs",
                                      output=tmp_path / "out", rate=-2.0))
    sim = Simulation(parse_deck(path.read_text(), str(path)), progress=False)
    summary = sim.run()
    assert summary["reason"] == "finished"
    events = summary["events"]
    assert len(events) >= 1
    first = events[0]
    assert (first["start"], first["end"], first["stage"]) == ("BA", "AB", "ramp")
    assert first["field"][2] < 0                         # a field along -z drives BA -> AB
    # the coercive field is the ramp's value at the crossing time
    assert first["field"][2] == pytest.approx(-2.0 * (first["time"] - 0.2), abs=2e-3)
    # the stage ended at the switch, well before its 5 ps
    assert sim.state.step < 200 + 5000 and sim.state.stage == 3
    import json
    saved = json.loads((tmp_path / "out" / "events.json").read_text())
    assert saved["events"][0]["step"] == first["step"]
    thermo = read_thermo(tmp_path / "out" / "thermo.csv")
    assert "P_z_pCm" in thermo and thermo["P_z_pCm"][0] > 0  # BA is polarised along +z
    frames = read_trajectory(tmp_path / "out" / "traj.nc")
    assert np.nanmin(frames["electric_field"][:, 2]) < 0


def test_static_field_keeps_the_conserved_quantity(tmp_path):
    """NVE under a constant field: K + U - E.P is conserved; a ramp adds its work sum P.dE."""
    for rate in (0.0, -4.0):
        path = tmp_path / f"nve{rate}.in"
        text = FIELD_DECK.format(integrator="nve", output=tmp_path / f"out{rate}", rate=rate)
        text = text.replace("field_perp 0 V/A", "field_perp -0.3 V/A").replace(" stop switched", "")
        text = text.replace("duration 5 ps", "duration 0.5 ps")
        path.write_text(text)
        Simulation(parse_deck(path.read_text(), str(path)), progress=False).run()
        thermo = read_thermo(tmp_path / f"out{rate}" / "thermo.csv")
        conserved = np.asarray(thermo["conserved_eV"]) / 36
        total = np.asarray(thermo["total_eV"]) / 36
        assert np.ptp(conserved) < 2e-4, rate
        if rate:                     # the ramp's work is real: without it nothing is conserved
            assert np.ptp(total) > 5 * np.ptp(conserved)


def test_switching_events_survive_a_restart(tmp_path):
    """A run split by a checkpoint in the middle of the ramp reports the same switch."""
    runs = {}
    for name, split in (("straight", None), ("split", 400)):
        path = tmp_path / f"{name}.in"
        path.write_text(FIELD_DECK.format(integrator="nose-hoover tdamp 50 fs",
                                          output=tmp_path / name, rate=-2.0))
        deck = parse_deck(path.read_text(), str(path))
        sim = Simulation(deck, progress=False)
        if split:
            sim.run(max_steps=split)
            sim = Simulation(deck, restart=sim.checkpoint_path, progress=False)
        runs[name] = sim.run()["events"]
    straight, split = runs["straight"], runs["split"]
    assert len(straight) == len(split) >= 1
    assert split[0]["step"] > 400          # the switch came after the restart
    for a, b in zip(straight, split):
        assert (a["start"], a["end"], a["step"]) == (b["start"], b["end"], b["step"])
        assert a["time"] == pytest.approx(b["time"], abs=1e-9)
        assert a["field"][2] == pytest.approx(b["field"][2], abs=1e-9)
