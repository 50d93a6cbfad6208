"""The paper's Curie-temperature experiment, full size: heat and cool an h-BN bilayer, find T_C.

    python validation/curie_ladder.py --out curie                     # 1 seed, the paper's ladder
    python validation/curie_ladder.py --out curie --seed 3            # one task of a sweep
    python validation/curie_ladder.py --collect curie                 # analyse every seed so far

Default ladder (as the paper, Fig. 2, and inputs/bn_heat.in): 15 x 15 cells (900 atoms), BA,
the default bn-ilp model, Nose-Hoover NVT (tdamp 100 fs), r-RESPA with a 3 fs outer and 1 fs
inner step (``--dt-fs 1 --respa 1``: the paper's single 1 fs step); 50 ps at 1 K, then 50 ->
2000 K and 1950 -> 50 K in 50 K steps of 50 ps (16667 outer steps, 50.001 ps): 80 stages, 4 ns
(about 2.3 hours on one core of the 2-core reference machine; slidesim 0.1 needed 17 hours).
Each seed runs in ``OUT/seed_<S>/`` and can be stopped and continued
(it restarts from its checkpoint). As a sweep, start one task per seed (a job array, or
``for s in 1 2 3 4; do python validation/curie_ladder.py --out curie --seed $s & done``) and
run ``--collect`` when they are done.

For every finished or partial seed the trajectory is analysed (``slidesim analyze`` with
G = a* - b*, the first ``--discard`` of every stage left out) and the script prints, and writes
to ``OUT/curie_summary.json``: T_C per seed (heating, cooling, estimate +- uncertainty), and the
mean and spread over seeds. Compare with the paper's ~1500 K (reference/paper_values.toml).

A tiny setting that finishes in well under a minute (proves the script works, no physics):
    python validation/curie_ladder.py --out /tmp/curie --cells 4 --stage-ps 0.05 --t-max 600 \\
        --t-step 300 --trajectory-every 10
"""

import argparse
import glob
import json
import os
import sys

import numpy as np

from slidesim.analysis.analyze import analyze_trajectory
from slidesim.analysis.plots import write_plots
from slidesim.analysis.report import format_table, write_outputs
from slidesim.deck import parse_deck
from slidesim.simulation import Simulation

DECK = """# written by validation/curie_ladder.py
system bilayer material BN cells {cells} {cells} stacking BA
model {model}
timestep {dt_fs:g} fs
integrator nose-hoover tdamp {tdamp_fs:g} fs chain 3{respa}
seed {seed}
output {output}
thermo every {thermo_every}
trajectory every {trajectory_every}
checkpoint every {checkpoint_every}
stage start temperature {t_start:g} K steps {stage_steps}
loop T from {t_step:g} to {t_max:g} step {t_step:g}
  stage heat_$T temperature $T K steps {stage_steps}
end
loop T from {t_cool:g} to {t_step:g} step -{t_step:g}
  stage cool_$T temperature $T K steps {stage_steps}
end
"""


def deck_text(args, seed, output):
    # stages of the nearest whole number of steps (50 ps at 3 fs: 16667 steps, 50.001 ps)
    steps_per_stage = max(1, int(round(args.stage_ps * 1000.0 / args.dt_fs)))
    return DECK.format(cells=args.cells, model=args.model, dt_fs=args.dt_fs,
                       respa=f" respa {args.respa}" if args.respa > 1 else "",
                       tdamp_fs=args.tdamp_fs, seed=seed, output=output,
                       thermo_every=args.trajectory_every, trajectory_every=args.trajectory_every,
                       checkpoint_every=max(steps_per_stage, args.trajectory_every),
                       t_start=args.t_start, stage_steps=steps_per_stage, t_step=args.t_step,
                       t_max=args.t_max, t_cool=args.t_max - args.t_step)


def run_seed(args, seed):
    """Run (or continue) one seed; returns its trajectory path."""
    folder = os.path.abspath(os.path.join(args.out, f"seed_{seed}"))
    os.makedirs(folder, exist_ok=True)
    deck_path = os.path.join(folder, "curie_ladder.in")
    text = deck_text(args, seed, folder)
    with open(deck_path, "w") as handle:
        handle.write(text)
    deck = parse_deck(text, deck_path)
    checkpoint = os.path.join(folder, "checkpoint.npz")
    restart = checkpoint if os.path.exists(checkpoint) else None
    simulation = Simulation(deck, restart=restart, progress=args.progress)
    if simulation.state.step >= deck.total_steps:
        print(f"seed {seed}: already finished", file=sys.stderr)
    else:
        print(f"seed {seed}: {simulation.state.n_atoms} atoms, {len(deck.stages)} stages, "
              f"{deck.total_steps} steps, from step {simulation.state.step}", file=sys.stderr)
        summary = simulation.run()
        print(f"seed {seed}: {summary['reason']} at step {summary['step']} "
              f"({summary['ms_per_step']:.2f} ms/step)", file=sys.stderr)
    return os.path.join(folder, "traj.nc")


def collect(args):
    """Analyse every seed's trajectory under ``args.out``; print and write the summary."""
    results = []
    for path in sorted(glob.glob(os.path.join(args.out, "seed_*", "traj.nc"))):
        analysis = analyze_trajectory(path, ["G=a*-b*"], discard=args.discard)
        folder = os.path.join(os.path.dirname(path), "analysis")
        write_outputs(analysis, folder)
        write_plots(analysis, folder)
        print(format_table(analysis, max_crossings=5))
        curie = analysis.curie
        results.append({"trajectory": path, "frames": analysis.series.n_frames,
                        "heating_K": curie["heating_K"], "cooling_K": curie["cooling_K"],
                        "estimate_K": curie["estimate_K"],
                        "uncertainty_K": curie["uncertainty_K"],
                        "first_switch_heating_K": curie["first_switch_heating_K"],
                        "crossings": len(analysis.crossings)})
    if not results:
        raise SystemExit(f"no seed_*/traj.nc under {args.out}: run some seeds first")
    estimates = [r["estimate_K"] for r in results if r["estimate_K"] is not None]
    summary = {"seeds": results, "paper_K": 1500.0, "discard": args.discard,
               "mean_K": float(np.mean(estimates)) if estimates else None,
               "spread_K": float(np.std(estimates, ddof=1)) if len(estimates) > 1 else None,
               "n_with_estimate": len(estimates)}
    with open(os.path.join(args.out, "curie_summary.json"), "w") as handle:
        json.dump(summary, handle, indent=1)
    if estimates:
        spread = "" if summary["spread_K"] is None else f" +- {summary['spread_K']:.0f} (seeds)"
        print(f"T_C over {len(estimates)} seed(s): {summary['mean_K']:.0f} K{spread}; "
              "paper: ~1500 K")
    else:
        print("no seed crossed the order threshold on the ladder: T_C not found")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="curie_ladder", help="output folder")
    parser.add_argument("--seed", type=int, nargs="*", default=[2024],
                        help="seed(s) to run one after another (one per sweep task)")
    parser.add_argument("--collect", metavar="OUT", default=None,
                        help="only analyse the seeds already under OUT")
    parser.add_argument("--cells", type=int, default=15)
    parser.add_argument("--model", default="bn-ilp")
    parser.add_argument("--stage-ps", type=float, default=50.0, help="length of each stage [ps]")
    parser.add_argument("--t-start", type=float, default=1.0, help="first stage [K]")
    parser.add_argument("--t-step", type=float, default=50.0, help="ladder spacing [K]")
    parser.add_argument("--t-max", type=float, default=2000.0, help="top of the ladder [K]")
    parser.add_argument("--dt-fs", type=float, default=3.0,
                        help="(outer) timestep [fs]; the default with --respa 3 is the setting "
                             "inputs/bn_heat.in ships (docs/engine.md, r-RESPA validation)")
    parser.add_argument("--respa", type=int, default=3,
                        help="r-RESPA inner steps per timestep (1: the single-step integrator)")
    parser.add_argument("--tdamp-fs", type=float, default=100.0)
    parser.add_argument("--trajectory-every", type=int, default=167,
                        help="steps per frame (167 x 3 fs: a frame every 0.5 ps)")
    parser.add_argument("--discard", type=float, default=0.2,
                        help="fraction of each stage left out as equilibration")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--progress", action="store_true", help="progress bar")
    args = parser.parse_args(argv)
    if args.threads:
        import numba
        numba.set_num_threads(args.threads)
    if args.collect:
        args.out = args.collect
        return collect(args)
    for seed in args.seed:
        run_seed(args, seed)
    return collect(args)


if __name__ == "__main__":
    main()
