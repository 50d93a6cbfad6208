"""The must-show checks of a machine-learned model with Born charges, run by slidesim's driver.

    python validation/ml_demo.py [--model inputs/models/bn_demo_allegro.pt]
        [--reference bn-dft] [--out validation/results/ml_demo] [--quick]

1. accuracy on held-out frames labelled by the reference model (frames drawn with a seed the
   training never saw): MAE of energy [meV/atom], forces [meV/A], Born charges [e];
2. rigid sliding profile (AA, BA, SP, AB) of the model against the reference [meV/cell];
3. forces against central finite differences of the energy;
4. the acoustic sum rule of the predicted Born charges on MD snapshots;
5. NVE energy conservation (4x4 bilayer, 300 K, dt 0.5 fs);
6. field-driven switching BA -> AB under an E_perp ramp (Nose-Hoover 300 K).

Writes summary.json, thermo files and events in --out and prints a table.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(HERE, "..", "inputs", "models", "bn_demo_allegro.pt")


def held_out_accuracy(model_path, reference, quick):
    from slidesim.ml.dataset import md_frames, slide_frames
    from slidesim.ml.nequip_train import score_model

    frames = slide_frames(reference, 3, grid=3 if quick else 5, distances=(0.0, 0.2), seed=99)
    frames += md_frames(reference, 3, (300.0, 1500.0), frames=4 if quick else 10, seed=99)
    return score_model(model_path, frames)


def profiles(model_path, reference):
    from slidesim.models import model_entry
    from slidesim.profile import sliding_profile

    lattice = model_entry(reference).lattice
    out = {}
    for name, model, options in ((reference, reference, None),
                                 ("ml", "torchscript", {"path": model_path, "device": "cpu"})):
        points = sliding_profile("BN", model, lattice, model_options=options)
        out[name] = {p.name: {"meV_per_cell": p.relative_meV, "distance_A": p.distance}
                     for p in points}
    return out


def thermal_state(cells, seed, amplitude=0.06):
    from slidesim.models import model_entry
    from slidesim.structures import bilayer

    entry = model_entry("bn-dft")
    state = bilayer("BN", (cells, cells), "BA", entry.lattice, entry.distance)
    rng = np.random.default_rng(seed)
    return state, state.positions[0] + rng.normal(0.0, amplitude, state.positions[0].shape)


def finite_differences(model_path):
    from slidesim.ml.torch_model import TorchScriptTerm
    from slidesim.models.model import Model

    state, x = thermal_state(4, 1)
    term = TorchScriptTerm(model_path, state.species_names, device="cpu")
    model = Model("ml", [term], state.species_names)

    def energy(positions):
        return model.compute(positions, state.cell, state.species, state.layer,
                             model.neighbor_lists(1.0)).energy

    forces = model.compute(x, state.cell, state.species, state.layer,
                           model.neighbor_lists(1.0)).forces
    rng, h, worst = np.random.default_rng(2), 1e-5, 0.0
    for _ in range(8):
        atom, axis = rng.integers(len(x)), rng.integers(3)
        plus, minus = x.copy(), x.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        worst = max(worst, abs(forces[atom, axis] + (energy(plus) - energy(minus)) / (2 * h)))
    sums = []
    for seed in range(5):
        state, x = thermal_state(4, 10 + seed, 0.1)
        z = model.compute(x, state.cell, state.species, state.layer,
                          model.neighbor_lists(1.0)).extras["born_charges"]
        sums.append(float(np.abs(z.sum(axis=0)).max()))
    return {"max_force_minus_fd_eV_per_A": worst, "max_asr_violation_e": max(sums)}


def bn_dft_geometry():
    """Deck words for the geometry the demo model was trained at: bn-dft's (its catalog entry)."""
    from slidesim.models import model_entry

    entry = model_entry("bn-dft")
    return f"lattice {entry.lattice} A distance {entry.distance} A"


def run_deck(text, directory, name):
    from slidesim.deck import parse_deck
    from slidesim.io.thermo import read_thermo
    from slidesim.simulation import Simulation

    output = os.path.join(directory, name)
    deck = parse_deck(text.format(output=output), os.path.join(directory, f"{name}.in"))
    simulation = Simulation(deck, progress=sys.stderr.isatty())
    summary = simulation.run()
    return summary, read_thermo(os.path.join(output, "thermo.csv")), simulation


def nve(model_path, directory, steps):
    text = (f"system bilayer material BN cells 4 4 stacking BA {bn_dft_geometry()}\n"
            f"model torchscript path {os.path.abspath(model_path)} device cpu\n"
            f"timestep 0.5 fs\nintegrator nve\nseed 5\nvelocities 300 K\noutput {{output}}\n"
            f"thermo every 10\ntrajectory every 0\ncheckpoint every 0\n"
            f"stage run temperature 300 K steps {steps}\n")
    summary, thermo, simulation = run_deck(text, directory, "nve")
    t = np.asarray(thermo["time_ps"])
    e = np.asarray(thermo["conserved_eV"]) / simulation.state.n_atoms
    slope = np.polyfit(t, e, 1)[0]
    return {"atoms": simulation.state.n_atoms, "ps": float(t[-1] - t[0]),
            "drift_eV_per_atom": float(slope * (t[-1] - t[0])),
            "std_eV_per_atom": float(np.std(e)),
            "mean_temperature_K": float(np.mean(thermo["temperature_K"])),
            "ms_per_step": summary["ms_per_step"]}


def switching(model_path, directory, rate, limit_ps):
    text = (f"system bilayer material BN cells 4 4 stacking BA {bn_dft_geometry()}\n"
            f"model torchscript path {os.path.abspath(model_path)} device cpu\n"
            f"timestep 1 fs\nintegrator nose-hoover tdamp 100 fs\nseed 11\nvelocities 300 K\n"
            f"output {{output}}\nthermo every 20\ntrajectory every 100\ncheckpoint every 0\n"
            f"born_charges model\n"
            f"stage equilibrate temperature 300 K duration 1 ps\n"
            f"stage ramp temperature 300 K duration {limit_ps} ps field_perp 0 V/A "
            f"field_perp_rate {-abs(rate)} V/A/ps stop switched to AB\n")
    summary, thermo, _ = run_deck(text, directory, "switch")
    events = summary["events"]
    first = events[0] if events else None
    return {"rate_V_per_A_ps": -abs(rate), "switched": first is not None,
            "event": first, "ms_per_step": summary["ms_per_step"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--reference", default="bn-dft")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "ml_demo"))
    parser.add_argument("--rate", type=float, default=0.5, help="E_perp ramp rate [V/A/ps]")
    parser.add_argument("--quick", action="store_true", help="fewer frames and steps")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    results = {"model": os.path.relpath(args.model), "reference": args.reference}
    print("1. held-out accuracy ...", flush=True)
    results["accuracy"] = held_out_accuracy(args.model, args.reference, args.quick)
    print(json.dumps(results["accuracy"], indent=1))
    print("2. sliding profiles ...", flush=True)
    results["profile"] = profiles(args.model, args.reference)
    print(json.dumps(results["profile"], indent=1))
    print("3-4. finite differences, acoustic sum rule ...", flush=True)
    results["checks"] = finite_differences(args.model)
    print(json.dumps(results["checks"], indent=1))
    print("5. NVE ...", flush=True)
    results["nve"] = nve(args.model, args.out, 400 if args.quick else 2000)
    print(json.dumps(results["nve"], indent=1))
    print("6. switching under an E_perp ramp ...", flush=True)
    results["switching"] = switching(args.model, args.out, args.rate, 10.0)
    print(json.dumps(results["switching"], indent=1))
    results["seconds"] = time.perf_counter() - started
    with open(os.path.join(args.out, "summary.json"), "w") as handle:
        json.dump(results, handle, indent=1, default=float)
    print(f"summary in {os.path.join(args.out, 'summary.json')} "
          f"({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
