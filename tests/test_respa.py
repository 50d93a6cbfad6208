"""r-RESPA (``integrator ... respa n``): its limits, its conserved quantity, exact restarts."""

import os

import numpy as np
import pytest

from slidesim.deck import DeckError, parse_deck
from slidesim.io.thermo import read_thermo
from slidesim.kernels.integrators import remove_momentum
from slidesim.simulation import Simulation
from slidesim.step import SplitResult, respa_step

DECK = """system bilayer material BN cells 3 3 stacking BA
model {model}
timestep {dt} fs
integrator {integrator}
seed 5
velocities 600 K
output {output}
thermo every 1
trajectory every 0
checkpoint every 100000
{extra}
stage run temperature 300 K steps {steps} {field}
"""


def simulation(tmp_path, name, integrator, dt=1.0, steps=40, model="bn-ilp", extra="",
               field="", restart=None):
    directory = tmp_path / name
    os.makedirs(directory, exist_ok=True)
    text = DECK.format(model=model, dt=dt, integrator=integrator, output=directory / "out",
                       steps=steps, extra=extra, field=field)
    return Simulation(parse_deck(text, str(directory / "deck.in")), restart=restart,
                      progress=False)


@pytest.mark.parametrize("integrator", ["nve", "nose-hoover tdamp 50 fs"])
def test_one_inner_step_is_the_single_step_integrator(tmp_path, integrator):
    """The r-RESPA step with n = 1 (fast and slow forces kicked apart) is velocity Verlet
    (with the Nose-Hoover chain) again, to round-off."""
    plain = simulation(tmp_path, "plain", integrator)
    plain.run()
    split = simulation(tmp_path, "split", integrator + " respa 2")
    engine, state, schedule = split.engine, split.state, split.schedule
    assert [t.name for t in engine.fast.terms] == ["tersoff"]
    assert [t.name for t in engine.slow.terms] == ["interlayer"]
    engine.respa = 1
    remove_momentum(state.velocities[0], state.masses)
    engine.update_lists(state)
    results = [SplitResult.of(f, s) for f, s in zip(engine._compute(engine.fast, state),
                                                    engine.evaluate_slow(state, None))]
    split.integrator.setup(state, 0, schedule.now(state).temperature)
    while not schedule.finished(state):
        results = respa_step(engine, state, results, schedule.next(state))
        schedule.advance(state)
        if schedule.stage_complete(state):
            schedule.next_stage(state)
    assert state.step == plain.state.step == 40
    np.testing.assert_allclose(state.positions, plain.state.positions, rtol=0, atol=1e-11)
    np.testing.assert_allclose(state.velocities, plain.state.velocities, rtol=0, atol=1e-9)
    assert results[0].energy == pytest.approx(
        plain.evaluate()[0].energy, abs=1e-9)


def conserved_spread(tmp_path, name, integrator, dt, steps, **kw):
    sim = simulation(tmp_path, name, integrator, dt=dt, steps=steps, **kw)
    sim.run()
    thermo = read_thermo(tmp_path / name / "out" / "thermo.csv")
    return np.ptp(np.asarray(thermo["conserved_eV"]))


@pytest.mark.parametrize("integrator", ["nve respa 2", "nose-hoover tdamp 50 fs respa 2",
                                        "langevin damp 50 fs respa 2"])
def test_the_conserved_quantity_is_second_order(tmp_path, integrator):
    """Over the same 40 fs, halving the outer (and inner) step divides the spread of the
    conserved quantity by about 4: what is left is discretisation error."""
    coarse = conserved_spread(tmp_path, "coarse", integrator, 2.0, 20)
    fine = conserved_spread(tmp_path, "fine", integrator, 1.0, 40)
    assert 3.0 < coarse / fine < 5.5, (coarse, fine)


def test_respa_with_a_field_conserves_energy_and_restarts_exactly(tmp_path):
    """NVE under a field ramp: K + U - E.P + field work is conserved to the integrator's error,
    and 15 + 15 outer steps through a checkpoint equal 30."""
    extra, field = "born_charges registry", "field_perp 0 V/A field_perp_rate -5 V/A/ps"
    fine = conserved_spread(tmp_path, "fine", "nve respa 2", 1.0, 60, extra=extra, field=field)
    coarse = conserved_spread(tmp_path, "coarse", "nve respa 2", 2.0, 30, extra=extra,
                              field=field)
    assert 3.0 < coarse / fine < 5.5, (coarse, fine)
    straight = simulation(tmp_path, "straight", "langevin damp 50 fs respa 3", dt=3.0, steps=30,
                          extra=extra, field=field)
    straight.run()
    first = simulation(tmp_path, "split", "langevin damp 50 fs respa 3", dt=3.0, steps=30,
                       extra=extra, field=field)
    first.run(max_steps=15)
    second = simulation(tmp_path, "split", "langevin damp 50 fs respa 3", dt=3.0, steps=30,
                        extra=extra, field=field, restart=first.checkpoint_path)
    second.run()
    for name in ("positions", "velocities", "bath_energy", "dipole", "field_work"):
        np.testing.assert_allclose(getattr(second.state, name), getattr(straight.state, name),
                                   rtol=1e-10, atol=1e-11, err_msg=name)


def test_models_that_cannot_be_split_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no intralayer terms"):
        simulation(tmp_path, "tether", "nve respa 2", model="tether spring 4 eV/A^2")
    with pytest.raises(DeckError, match="at least 1"):
        parse_deck(DECK.format(model="bn-ilp", dt=1, integrator="nve respa 0", output="o",
                               steps=5, extra="", field=""), "deck.in")
