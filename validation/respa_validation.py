"""Validate r-RESPA (``integrator ... respa n``) against the single-step integrator.

    python validation/respa_validation.py nve      [--out validation/results/respa]
    python validation/respa_validation.py nvt
    python validation/respa_validation.py hopping  [--seeds 4]
    python validation/respa_validation.py coercive [--seeds 4]

nve: 900 atoms (15x15 h-BN, bn-ilp), NVE for 12 ps at about 300 K and 2000 K (velocities drawn
at twice the temperature from the flat lattice, equipartition halves them), with the
single-step integrator at 1 and 2 fs and r-RESPA at outer steps of 2, 3 and 4 fs (inner 1 fs).
Reports the drift (slope of the conserved energy, fitted over the run) and the standard deviation
of the conserved energy per atom, and ms/step.

nvt: the same system under Nose-Hoover at 300 K and 2000 K (tdamp 100 fs, 6 ps to equilibrate, then 24 ps): mean
temperature and its relative fluctuation against the canonical sqrt(2 / N_f).

hopping: BA <-> AB switching events at 1500 K (144 atoms, 6x6, Nose-Hoover, 48 ps per seed) with
and without r-RESPA, several seeds: the hopping rate.

coercive: a short E_perp ramp (-0.5 V/A/ps, 300 K, 144 atoms, bn-ilp with the registry dipole,
stop switched) with and without r-RESPA, several seeds: the coercive field.

Every run is a deck run by slidesim itself; results go to OUT/<experiment>.json and a markdown
table on stdout.
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

from slidesim.analysis.switching import detect_crossings
from slidesim.deck import parse_deck
from slidesim.io.thermo import read_thermo
from slidesim.simulation import Simulation, SimulationError

NVE_DECK = """system bilayer material BN cells 15 15 stacking BA
model bn-ilp
timestep {dt} fs
integrator nve{respa}
seed {seed}
velocities {t_init} K
output {out}
thermo every {every}
trajectory every 0
checkpoint every 0
stage run temperature {t} K duration {duration} ps
"""

NVT_DECK = """system bilayer material BN cells 15 15 stacking BA
model bn-ilp
timestep {dt} fs
integrator nose-hoover tdamp 100 fs{respa}
seed {seed}
output {out}
thermo every {every}
trajectory every 0
checkpoint every 0
stage equilibrate temperature {t} K duration 6 ps
stage run temperature {t} K duration {duration} ps
"""

HOP_DECK = """system bilayer material BN cells 6 6 stacking BA
model bn-ilp
timestep {dt} fs
integrator nose-hoover tdamp 100 fs{respa}
seed {seed}
output {out}
thermo every {every}
trajectory every 0
checkpoint every 0
stage run temperature 1500 K duration {duration} ps
"""

COERCIVE_DECK = """system bilayer material BN cells 6 6 stacking BA
model bn-ilp
timestep {dt} fs
integrator nose-hoover tdamp 100 fs{respa}
seed {seed}
output {out}
thermo every 100
trajectory every 0
checkpoint every 0
born_charges registry
stage equilibrate temperature 300 K duration 3 ps
stage ramp temperature 300 K duration 21 ps field_perp 0 V/A field_perp_rate -0.5 V/A/ps stop switched to AB
"""

#: (label, timestep [fs], inner steps)
SETTINGS = [("single step, 1 fs", 1, 1), ("single step, 2 fs", 2, 1),
            ("r-RESPA 2 fs / 1 fs", 2, 2), ("r-RESPA 3 fs / 1 fs", 3, 3),
            ("r-RESPA 4 fs / 1 fs", 4, 4)]


def run(text, **values):
    """Run a deck; a run that blows up returns its summary with reason 'blew up: ...'."""
    out = tempfile.mkdtemp(prefix="respa_")
    deck = parse_deck(text.format(out=out, **values), os.path.join(out, "deck.in"))
    simulation = Simulation(deck, progress=False)
    try:
        summary = simulation.run()
    except SimulationError as error:
        summary = {"reason": f"blew up: {error}", "step": simulation.state.step,
                   "ms_per_step": float("nan"), "events": []}
    return simulation, summary, out


def respa_suffix(n):
    return f" respa {n}" if n > 1 else ""


def nve(args):
    rows = []
    for t in args.temperatures:
        for label, dt, n in SETTINGS:
            sim, summary, out = run(NVE_DECK, dt=dt, respa=respa_suffix(n), seed=1,
                                    t_init=2 * t, t=t, duration=args.duration,
                                    every=max(1, 20 // dt))
            if summary["reason"] != "finished":
                rows.append({"T_target_K": t, "setting": label, "timestep_fs": dt, "inner": n,
                             "finished": False, "blew_up_at_step": summary["step"]})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                continue
            thermo = read_thermo(os.path.join(out, "thermo.csv"))
            time = np.asarray(thermo["time_ps"])
            conserved = np.asarray(thermo["conserved_eV"]) / sim.state.n_atoms
            slope = np.polyfit(time, conserved, 1)[0]
            rows.append({"T_target_K": t, "setting": label, "timestep_fs": dt, "inner": n,
                         "T_mean_K": float(np.mean(thermo["temperature_K"])),
                         "drift_eV_per_atom_per_ns": float(slope * 1e3),
                         "std_eV_per_atom": float(np.std(conserved)),
                         "ms_per_step": summary["ms_per_step"],
                         "ms_per_ps": summary["ms_per_step"] * 1000.0 / dt,
                         "finished": summary["reason"] == "finished"})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def nvt(args):
    from slidesim.integrators import degrees_of_freedom

    rows = []
    for t in args.temperatures:
        for label, dt, n in SETTINGS:
            sim, summary, out = run(NVT_DECK, dt=dt, respa=respa_suffix(n), seed=2, t=t,
                                    duration=args.duration, every=max(1, 20 // dt))
            if summary["reason"] != "finished":
                rows.append({"T_target_K": t, "setting": label, "finished": False,
                             "blew_up_at_step": summary["step"]})
                continue
            thermo = read_thermo(os.path.join(out, "thermo.csv"))
            keep = np.asarray(thermo["time_ps"]) > 6.0
            temperature = np.asarray(thermo["temperature_K"])[keep]
            rows.append({"T_target_K": t, "setting": label, "T_mean_K": float(temperature.mean()),
                         "T_rel_std": float(temperature.std() / temperature.mean()),
                         "canonical_rel_std": float(np.sqrt(2.0 / degrees_of_freedom(
                             sim.state.n_atoms)))})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def hopping(args):
    rows = []
    for label, dt, n in (SETTINGS[0], SETTINGS[2], SETTINGS[3]):
        counts, temperatures = [], []
        for seed in range(args.seeds):
            sim, _, out = run(HOP_DECK, dt=dt, respa=respa_suffix(n), seed=100 + seed,
                              duration=args.duration, every=max(1, 10 // dt))
            thermo = read_thermo(os.path.join(out, "thermo.csv"))
            sliding = np.column_stack([thermo["sliding_x_A"], thermo["sliding_y_A"]])
            counts.append(len(detect_crossings(thermo["time_ps"], sliding, sim.lattice)))
            temperatures.append(float(np.mean(thermo["temperature_K"])))
        # events come in bursts (a slide and its quick return), so the error is the standard
        # error over seeds, not the Poisson one
        rates = 1e3 * np.array(counts) / args.duration
        rows.append({"setting": label, "T_mean_K": float(np.mean(temperatures)),
                     "events_per_seed": counts,
                     "rate_per_ns": float(rates.mean()),
                     "rate_error_per_ns": float(rates.std(ddof=1) / np.sqrt(len(rates)))})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def coercive(args):
    rows = []
    for label, dt, n in (SETTINGS[0], SETTINGS[2], SETTINGS[3]):
        fields = []
        for seed in range(args.seeds):
            _, summary, _ = run(COERCIVE_DECK, dt=dt, respa=respa_suffix(n), seed=200 + seed)
            events = [e for e in summary["events"] if e["stage"] == "ramp"]
            fields.append(abs(events[0]["field"][2]) if events else float("nan"))
        fields = np.array(fields)
        rows.append({"setting": label, "E_perp_c_V_per_A": fields.tolist(),
                     "mean": float(np.nanmean(fields)), "std": float(np.nanstd(fields))})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=["nve", "nvt", "hopping", "coercive"])
    parser.add_argument("--out", default=os.path.join("validation", "results", "respa"))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=None, help="ps per run")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 2000.0],
                        help="nve, nvt: target temperatures [K]")
    args = parser.parse_args()
    defaults = {"nve": 12.0, "nvt": 24.0, "hopping": 48.0, "coercive": None}
    if args.duration is None:
        args.duration = defaults[args.experiment]
    rows = globals()[args.experiment](args)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.experiment}.json")
    with open(path, "w") as handle:
        json.dump(rows, handle, indent=1)
    keys = list(dict.fromkeys(key for row in rows for key in row))
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row[k]:.4g}" if isinstance(row.get(k), float)
                                else str(row.get(k, "")) for k in keys) + " |")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
