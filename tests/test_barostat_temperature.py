"""The in-plane barostat has one degree of freedom (the area: a and b scale together), and its
Nose-Hoover chain must hold that one degree of freedom at the target temperature:
<W v_eps^2> = kB T. Holding it at 2 kB T (LAMMPS's nhc_press_integrate counts pdof = 2 for
``x ... y ... couple xy`` in a 3d box although omega_dot_x = omega_dot_y) heats the area and
widens its distribution; validation/npt_barostat_temperature.py measures both on the 4 x 4
bilayer at 1000 K (docs/relax.md, In-plane NPT)."""

import numpy as np

from slidesim import units
from slidesim.barostat import NoseHooverBarostat
from slidesim.deck import parse_deck
from slidesim.kernels import integrators as kern
from slidesim.simulation import Simulation
from slidesim.step import advance


class TwoDofChain(NoseHooverBarostat):
    """The barostat chain aimed at 2 kB T for the one area degree of freedom (the mistake the
    test must catch)."""

    def _barostat_chain(self, state, replica, t_target):
        mass = self.mass(state, t_target)
        v_eps = state.barostat[replica, 1]
        factor = kern.nose_hoover_chain_half_step(
            state.barostat_chain[replica], 0.5 * mass * v_eps * v_eps / units.BOLTZMANN,
            t_target, 1, 1.0 / self.pdamp, self.timestep, 1, units.BOLTZMANN)
        state.barostat[replica, 1] = v_eps * factor


def barostat_temperature(tmp_path, integrator_class=None, temperature=300.0, steps=6000):
    deck = parse_deck(f"""system bilayer material BN cells 2 2 stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 50 fs pressure 0 bar pdamp 100 fs
velocities {temperature} K
seed 11
output {tmp_path / "tb"}
trajectory every 0
checkpoint every 0
thermo every 0
stage s temperature {temperature} K steps {steps}
""", str(tmp_path / "tb.in"))
    sim = Simulation(deck, progress=False, overwrite=True)
    if integrator_class is not None:
        old = sim.engine.integrator
        sim.engine.integrator = integrator_class(old.timestep, old.tdamp, old.chain_length,
                                                 old.loops, old.pressure, old.pdamp, old.pchain)
    state, integrator = sim.state, sim.engine.integrator
    results = sim.evaluate()
    integrator.setup(state, 0, temperature)
    kinetic = []
    for k in range(steps):
        targets = sim.schedule.next(state)
        results = advance(sim.engine, state, results, targets)
        sim.schedule.advance(state)
        if k >= steps // 6:
            kinetic.append(integrator.mass(state, temperature) * state.barostat[0, 1] ** 2)
    return np.mean(kinetic) / (units.BOLTZMANN * temperature)


def test_the_barostat_holds_its_one_degree_of_freedom_at_the_target_temperature(tmp_path):
    ratio = barostat_temperature(tmp_path)
    assert 0.75 < ratio < 1.3, ratio


def test_the_check_catches_a_chain_that_counts_two_degrees_of_freedom(tmp_path):
    ratio = barostat_temperature(tmp_path, TwoDofChain)
    assert ratio > 1.5, ratio
