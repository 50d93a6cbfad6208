"""Guards that catch a blow-up whatever the thermostat, and keep the last good checkpoint."""

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.cli import main
from slidesim.deck import DeckError, parse_deck
from slidesim.guards import Limits
from slidesim.io.checkpoint import read_checkpoint, write_checkpoint
from slidesim.simulation import Simulation, SimulationError

DECK = """system bilayer material BN cells 3 3 stacking BA {system}
model bn-ilp
timestep {dt} fs
integrator nose-hoover tdamp 100 fs
output {output}
checkpoint every 20
{extra}
stage run temperature {t} K steps 200
"""


def deck(tmp_path, system="", dt=1, t=300, extra=""):
    path = tmp_path / "deck.in"
    path.write_text(DECK.format(system=system, dt=dt, t=t, extra=extra, output=tmp_path / "out"))
    return parse_deck(path.read_text(), str(path)), path


def test_overlapping_layers_under_nose_hoover_stop_at_once(tmp_path):
    """Layers 0.01 A apart: the thermostat used to cool the explosion and the run ended with
    exit 0 and atoms 3e6 A away; now the first forces stop it, naming the atom and the fix."""
    parsed, path = deck(tmp_path, system="distance 0.01 A")
    with pytest.raises(SimulationError, match=r"force .* eV/A on atom \d+ at step 0 .*overlap"):
        Simulation(parsed, progress=False).run()
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 2 and "No checkpoint was written yet" in result.output
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def test_an_absurd_temperature_stops_on_the_first_step(tmp_path):
    parsed, _ = deck(tmp_path, t="1e30", extra="limit temperature 1e40 K")
    with pytest.raises(SimulationError, match=r"atom \d+ moved .* A in one step at step 1"):
        Simulation(parsed, progress=False).run()


def test_a_restart_with_absurd_velocities_stops_and_keeps_the_checkpoints(tmp_path):
    parsed, _ = deck(tmp_path)
    first = Simulation(parsed, progress=False)
    first.run(max_steps=40)
    state, meta = read_checkpoint(first.checkpoint_path)
    state.velocities *= 1e6  # a checkpoint someone edited, or a corrupted one
    bad = tmp_path / "bad.npz"
    write_checkpoint(bad, state, meta)
    good = (tmp_path / "out" / "checkpoint.npz").read_bytes()
    previous = (tmp_path / "out" / "checkpoint.npz.prev").read_bytes()
    with pytest.raises(SimulationError, match="moved|force|temperature"):
        Simulation(parsed, restart=str(bad), progress=False).run()
    assert (tmp_path / "out" / "checkpoint.npz").read_bytes() == good
    assert (tmp_path / "out" / "checkpoint.npz.prev").read_bytes() == previous


def test_a_blow_up_mid_run_leaves_the_last_good_checkpoint(tmp_path):
    """5 fs steps at 2000 K blow up after a few tens of steps; the checkpoint written at step
    20 survives, and the message names it."""
    parsed, _ = deck(tmp_path, dt=5, t=2000)
    simulation = Simulation(parsed, progress=False)
    with pytest.raises(SimulationError, match="The last good checkpoint is") as error:
        simulation.run()
    assert "checkpoint.npz" in str(error.value)
    state, _ = read_checkpoint(tmp_path / "out" / "checkpoint.npz")
    assert state.step % 20 == 0 and state.step < simulation.state.step
    assert np.isfinite(state.positions).all()


def test_limits_come_from_the_deck_and_bad_ones_are_refused(tmp_path):
    parsed, _ = deck(tmp_path, extra="limit displacement 0.5 A force 50 eV/A energy 0.1 eV")
    assert Limits.of_deck(parsed) == Limits(10 * 300 + 1000.0, 0.5, 50.0, 0.1)
    with pytest.raises(DeckError, match="limit force must be a positive finite number"):
        deck(tmp_path, extra="limit force -1 eV/A")
    # a tight limit trips on an ordinary run, and says which limit to raise
    parsed, _ = deck(tmp_path, extra="limit displacement 0.001 A")
    with pytest.raises(SimulationError, match="raise 'limit displacement'"):
        Simulation(parsed, progress=False).run()


@pytest.mark.parametrize("change, message", [
    ("system bilayer material BN cells 3 3", "18 atoms|36 atoms"),
    ("replicas 2", "1 replicas, the deck asks for 2"),
    ("integrator langevin damp 50 fs", "integrator nose-hoover, the deck's is langevin"),
    ("stacking BA lattice 2.6 A", "another cell"),
])
def test_a_restart_must_continue_the_same_system(tmp_path, change, message):
    parsed, path = deck(tmp_path)
    first = Simulation(parsed, progress=False)
    first.run(max_steps=10)
    text = path.read_text()
    if change.startswith("system"):
        text = text.replace("cells 3 3 stacking BA", "cells 3 2 stacking BA")
    elif change.startswith("stacking"):
        text = text.replace("stacking BA", change)
    elif change.startswith("integrator"):
        text = text.replace("integrator nose-hoover tdamp 100 fs", change)
    else:
        text += change + "\n"
    other = tmp_path / "other.in"
    other.write_text(text)
    with pytest.raises(SimulationError, match=message):
        Simulation(parse_deck(text, str(other)), restart=first.checkpoint_path, progress=False)
    result = CliRunner().invoke(main, ["run", str(other), "--restart", first.checkpoint_path])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "is not a state of the run" in result.output
