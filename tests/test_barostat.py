"""In-plane NPT (slidesim.barostat): the barostat's force against finite differences of the
enthalpy, the conserved quantity to second order in the timestep, bit-for-bit restarts, the
cold limit against the minimised lattice, and deck errors. LAMMPS comparisons of the mean
lattice and its fluctuation: validation/npt_lattice.py and docs/relax.md."""

import numpy as np
import pytest

from slidesim.barostat import NoseHooverBarostat, lattice_constant
from slidesim.deck import DeckError, parse_deck
from slidesim.io.checkpoint import read_checkpoint
from slidesim.io.thermo import read_thermo
from slidesim.models import build_model
from slidesim.simulation import Simulation
from slidesim.structures import bilayer
from slidesim.units import NKTV2P


def npt_deck(out, dt=1.0, steps=30, temperature=300, extra="", cells=(3, 3), lattice=""):
    return parse_deck(f"""system bilayer material BN cells {cells[0]} {cells[1]} stacking BA {lattice}
model bn-ilp
timestep {dt} fs
integrator nose-hoover tdamp 50 fs pressure 1000 bar pdamp 200 fs {extra}
velocities {2 * temperature} K
output {out}
thermo every {int(round(1 / dt))}
trajectory every 10
checkpoint every 0
stage npt temperature {temperature} K steps {steps}
""", f"{out}.in")


def test_the_barostat_force_is_minus_the_enthalpy_derivative():
    """At rest, W dv_eps/dt = -d(U + P V)/d(eps) for a uniform in-plane scaling by exp(eps)."""
    state = bilayer("BN", (2, 2), 0.3, lattice=2.53)
    state.positions[0] += np.random.default_rng(2).normal(0, 0.03, state.positions[0].shape)
    model = build_model("bn-ilp", state.species_names, state)
    pressure = 5000.0
    integrator = NoseHooverBarostat(0.001, pressure=pressure, pdamp=0.2)

    def enthalpy(eps):
        x, cell = state.positions[0].copy(), state.cell.copy()
        x[:, :2] *= np.exp(eps)
        cell[:, :2] *= np.exp(eps)
        result = model.compute(x, cell, state.species, state.layer, model.neighbor_lists(0.0))
        return result.energy + pressure * abs(np.linalg.det(cell)) / NKTV2P, result

    _, result = enthalpy(0.0)
    integrator.see([result])
    state.barostat[:] = 0.0
    integrator._barostat_kick(state, 0, 300.0)  # v = 0: no kinetic term
    force = state.barostat[0, 1] * integrator.mass(state, 300.0) / (0.5 * 0.001)
    h = 1e-6
    numeric = -(enthalpy(h)[0] - enthalpy(-h)[0]) / (2 * h)
    assert force == pytest.approx(numeric, rel=1e-6)


def test_the_conserved_quantity_is_second_order_in_the_timestep(tmp_path):
    spreads = []
    for dt, steps in ((1.0, 400), (0.5, 800)):
        out = tmp_path / f"dt{dt}"
        Simulation(npt_deck(out, dt, steps, cells=(2, 2)), progress=False).run()
        thermo = read_thermo(out / "thermo.csv")
        spreads.append(np.ptp(thermo["conserved_eV"]))
    assert 3.0 < spreads[0] / spreads[1] < 5.5


def test_a_restart_continues_bit_for_bit(tmp_path):
    whole = Simulation(npt_deck(tmp_path / "a"), progress=False)
    whole.run()
    first = Simulation(npt_deck(tmp_path / "b"), progress=False)
    first.run(max_steps=13)
    saved, _ = read_checkpoint(first.checkpoint_path)
    assert saved.barostat_chain.shape == (1, 3, 3) and saved.barostat[0, 1] != 0.0
    assert not np.array_equal(saved.cell, whole.state.cell)
    second = Simulation(npt_deck(tmp_path / "b"), restart=first.checkpoint_path, progress=False)
    second.run()
    for name in ("positions", "velocities", "cell", "barostat", "barostat_chain", "nose_hoover"):
        assert np.array_equal(getattr(second.state, name), getattr(whole.state, name)), name


@pytest.mark.slow
def test_the_cold_limit_is_the_minimised_lattice(tmp_path):
    """At 10 K the mean lattice is the zero of the in-plane stress (2.4972 A for bn-ilp, the
    minimisation's, tests/test_minimize.py). The barostat's mass is 2 N kB T Pdamp^2 (as
    LAMMPS's): light when cold, so the cell oscillates fast (a period of a few fs at 10 K in
    this cell) and the timestep is small."""
    import netCDF4

    from slidesim.minimize import CellRelax, Fire, relax_state
    from slidesim.step import Engine

    relaxed = bilayer("BN", (2, 2), "BA")
    model = build_model("bn-ilp", relaxed.species_names, relaxed)
    relax_state(Engine(model, [model.neighbor_lists()], None), relaxed, None, Fire(1e-6),
                CellRelax("iso", 0.0, 0.01))
    deck = parse_deck(f"""system bilayer material BN cells 2 2 stacking BA lattice 2.4985
model bn-ilp
timestep 0.25 fs
integrator nose-hoover tdamp 10 fs pressure 0 bar pdamp 50 fs
velocities 20 K
output {tmp_path / "cold"}
trajectory every 4
checkpoint every 0
stage cold temperature 10 K steps 8000
""", str(tmp_path / "cold.in"))
    Simulation(deck, progress=False).run()
    with netCDF4.Dataset(tmp_path / "cold" / "traj.nc") as data:
        cells = np.array(data["cell_vectors"][:])
    a = [lattice_constant(cell, (2, 2)) for cell in cells[len(cells) // 2:]]
    assert np.mean(a) == pytest.approx(lattice_constant(relaxed.cell, (2, 2)), abs=2e-4)


@pytest.mark.parametrize("line, message", [
    ("integrator nose-hoover pdamp 1 ps", "needs its pressure"),
    ("integrator langevin pressure 0 GPa", "belongs to 'integrator nose-hoover'"),
    ("integrator nose-hoover pressure 0 GPa respa 2", "does not run under r-RESPA"),
    ("integrator nose-hoover pressure 0", "pressure needs a unit"),
    ("integrator nose-hoover pressure 0 GPa pdamp 0 ps", "pdamp must be positive"),
])
def test_bad_barostat_lines_say_where_and_how(line, message):
    with pytest.raises(DeckError) as error:
        parse_deck(f"system bilayer material BN cells 2 2\ntimestep 1 fs\n{line}\n"
                   "stage a temperature 300 K steps 10\n", "x.in")
    assert message in str(error.value) and "x.in:3" in str(error.value)


def test_replicas_are_refused(tmp_path):
    deck = parse_deck("system bilayer material BN cells 2 2\ntimestep 1 fs\nreplicas 2\n"
                      "integrator nose-hoover pressure 0 GPa\n"
                      "stage a temperature 300 K steps 10\n", "x.in")
    with pytest.raises(ValueError, match="x.in:4: the barostat changes the cell"):
        Simulation(deck, progress=False)
