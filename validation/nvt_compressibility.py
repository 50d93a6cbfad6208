"""Isothermal in-plane compressibility of an h-BN bilayer (bn-ilp, 4 x 4) at temperature T
from two NVT runs at lattices 0.4 % apart, and the lattice fluctuation it predicts for NPT
(<dA^2>/A^2 = kB T / (V K)): a quick two-point estimate. The reference of docs/relax.md's NPT
table is validation/nvt_area_distribution.py (seven lattices, the whole distribution).

    python validation/nvt_compressibility.py 1000
"""
import numpy as np, sys
from slidesim.deck import parse_deck
from slidesim.simulation import Simulation
from slidesim.step import advance
from slidesim.units import MVV2E, NKTV2P, BOLTZMANN
from slidesim.barostat import lattice_constant
T = float(sys.argv[1]); out = {}
for a in (2.4899, 2.4999):
    deck = parse_deck(f"""system bilayer material BN cells 4 4 stacking BA lattice {a}
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 100 fs
velocities {T} K
seed 5
output o{a}
trajectory every 0
checkpoint every 0
thermo every 0
stage s temperature {T} K duration 35 ps
""", "kt.in")
    sim = Simulation(deck, progress=False, overwrite=True)
    st = sim.state
    results = sim.evaluate()
    for r in range(1): sim.integrator.setup(st, r, T)
    p = []
    for k in range(35000):
        targets = sim.schedule.next(st)
        results = advance(sim.engine, st, results, targets)
        sim.schedule.advance(st)
        if k >= 5000 and k % 5 == 0:
            v = st.velocities[0]; m = st.masses
            k2 = (m[:, None] * v[:, :2] ** 2).sum() * MVV2E
            w = results[0].virial
            p.append(0.5 * (k2 + w[0] + w[1]) / abs(np.linalg.det(st.cell)) * NKTV2P)
    p = np.array(p); blocks = np.array_split(p, 10)
    out[a] = (p.mean(), np.std([b.mean() for b in blocks]) / 3, abs(np.linalg.det(st.cell[:2, :2])), abs(np.linalg.det(st.cell)))
    print(a, out[a], flush=True)
(a1, a2) = sorted(out)
A1, A2 = out[a1][2], out[a2][2]; V = (out[a1][3] + out[a2][3]) / 2; A = (A1 + A2) / 2
K = -A * (out[a2][0] - out[a1][0]) / (A2 - A1) / NKTV2P   # eV/A^3
var = BOLTZMANN * T / (V * K)
acur = np.sqrt(A / (16 * np.sqrt(3) / 2))
print("K_T", K * NKTV2P / 1e4, "GPa; std_a predicted", acur / 2 * np.sqrt(var), "; P at a=%.4f: %.1f, a=%.4f: %.1f bar" % (a1, out[a1][0], a2, out[a2][0]))
