"""The seed paper's four MD experiments, both models and the paper on one figure each.

    python validation/reproduction_figures.py [--results validation/results] [--out docs/images]
        [--tables]

Reads the committed summaries that the per-experiment scripts write (they are small; the runs
themselves are not needed):

- ``curie_ladder/<model>_seed<N>/traj.stages.csv`` (``validation/curie_ladder.py``);
- ``fig4a/<model>/fig4a.json`` (``validation/fig4a_summary.py``);
- ``fig_s4/<model>/fig_s4.json`` (``validation/fig_s4_summary.py``);
- ``fig_s5/<model>/fig_s5.json`` (``validation/fig_s5_summary.py``);

and writes ``reproduction_curie.png``, ``reproduction_fig4a.png``, ``reproduction_fig_s4.png`` and
``reproduction_fig_s5.png`` into ``--out``, with the paper's numbers
(``reference/paper_values.toml``, copied into the summaries) marked in black. A model or
experiment without a summary is left out of its figure, so the figures can be made while the
runs are still going. Error bars are the min-max range over seeds, as the paper's are the range
of its parallel runs. ``--tables`` also prints the markdown tables of docs/reproduction.md from
the same summaries.
"""

import argparse
import csv
import glob
import json
import math
import os
import re

import numpy as np

MODELS = ("bn-dft", "bn-ilp")
COLORS = {"bn-dft": "tab:blue", "bn-ilp": "tab:orange"}
SEED_SHADES = {"bn-dft": ("tab:blue", "navy", "tab:cyan"),
               "bn-ilp": ("tab:orange", "tab:red", "goldenrod")}
PAPER_TC_K = 1500.0
IM_PSI = math.sqrt(3.0) / 2.0


def _folder(model):
    return model.replace("-", "_")


def _load(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def _errorbar(ax, x, rows, key, **style):
    mean = np.array([r[f"{key}_mean_VA"] for r in rows])
    low = mean - np.array([r[f"{key}_min_VA"] for r in rows])
    high = np.array([r[f"{key}_max_VA"] for r in rows]) - mean
    ax.errorbar(x, mean, yerr=[low, high], capsize=3, **style)


def _legends(axes):
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)


def curie(results, ax):
    """Im psi per stage against the stage's target temperature, heating and cooling, every seed
    of every model. Returns how many ladders were drawn."""
    drawn = 0
    for model in MODELS:
        paths = sorted(glob.glob(os.path.join(results, "curie_ladder", f"{_folder(model)}_seed*",
                                              "traj.stages.csv")))
        for number, path in enumerate(paths):
            color = SEED_SHADES[model][number % len(SEED_SHADES[model])]
            seed = re.search(r"seed(\d+)", path).group(1)
            with open(path, newline="") as handle:
                rows = list(csv.DictReader(handle))
            key = next(k for k in rows[0] if k.endswith("_im_mean"))
            for branch, style in (("heating", "-"), ("cooling", "--")):
                part = [r for r in rows if r["branch"] == branch]
                ax.plot([float(r["temperature_target_K"]) for r in part],
                        [float(r[key]) for r in part], style, color=color, lw=1,
                        marker="o" if branch == "heating" else "s", ms=2.5,
                        label=f"{model}, seed {seed}, {branch}")
            drawn += 1
    for value in (IM_PSI, -IM_PSI):
        ax.axhline(value, color="0.6", lw=0.6, ls=":")
    ax.axvline(PAPER_TC_K, color="k", ls=":", label="paper T_C ~ 1500 K")
    ax.set_xlabel("T [K]")
    ax.set_ylabel("Im psi (stage mean)")
    ax.set_title("Curie ladder (Fig. 2)", fontsize=9)
    ax.legend(fontsize=6)
    return drawn


def fig4a(results, ax):
    """E_perp,c against T, with E_par = 0 (circles) and 0.2 V/A at 60 deg (squares)."""
    drawn, paper = 0, None
    for shift, model in zip((-4, 4), MODELS):
        data = _load(os.path.join(results, "fig4a", _folder(model), "fig4a.json"))
        if data is None:
            continue
        paper = data["paper"]
        for e_par, marker, fill in ((0.0, "o", COLORS[model]), (0.2, "s", "white")):
            rows = sorted((r for r in data["rows"] if r["E_par_VA"] == e_par and r["switched"]),
                          key=lambda r: r["T_K"])
            if rows:
                _errorbar(ax, np.array([r["T_K"] for r in rows]) + shift, rows, "E_perp_c",
                          marker=marker, color=COLORS[model], mfc=fill,
                          label=f"{model}, E_par = {e_par:g} V/A")
                drawn += 1
    if paper:
        ax.plot([100], [paper["E_perp_c_100K"]], "k*", ms=10, label="paper, 100 K")
        ax.hlines(paper["E_perp_c_saturated"], 200, 500, colors="k", linestyles=":",
                  label="paper, 200-500 K")
    ax.set_xlabel("T [K]")
    ax.set_ylabel("E_perp,c [V/A]")
    ax.set_title("Coercive field (Fig. 4(a)); bars: min-max over seeds", fontsize=9)
    ax.legend(fontsize=6)
    return drawn


def fig_s4(results, axes):
    """E_perp,c against the in-plane field's angle, and the share of slides along 60 deg."""
    drawn = 0
    for shift, model in zip((-0.8, 0.8), MODELS):
        data = _load(os.path.join(results, "fig_s4", _folder(model), "fig_s4.json"))
        if data is None:
            continue
        rows = sorted((r for r in data["rows"] if r["switched"]), key=lambda r: r["angle_deg"])
        angle = np.array([r["angle_deg"] for r in rows])
        _errorbar(axes[0], angle + shift, rows, "E_perp_c", marker="o", color=COLORS[model],
                  label=model)
        share = [r["along_60"] / r["switched"] for r in rows]
        axes[1].plot(angle + shift, share, "o-", color=COLORS[model],
                     label=f"{model} ({sum(r['switched'] for r in rows)} slides)")
        drawn += 1
    axes[0].set_xlabel("angle of E_par [deg]")
    axes[0].set_ylabel("E_perp,c [V/A]")
    axes[0].set_title("Fig. S4, 0.1 K, |E_par| = 0.1 V/A", fontsize=9)
    axes[1].plot([0, 15, 30, 45, 60], [math.nan, 1, 1, 1, 1], "k*", ms=10,
                 label="paper: always 60 deg in (0, 60]")
    axes[1].set_xlabel("angle of E_par [deg]")
    axes[1].set_ylabel("share of slides along 60 deg")
    axes[1].set_ylim(-0.05, 1.1)
    _legends(axes)
    return drawn


def fig_s5(results, axes):
    """E_perp,c against E_par per temperature with the Landau curves, and the minimum total
    field's reduction and dip angle against T."""
    drawn, paper = 0, None
    styles = ["-", "--", "-.", ":", (0, (1, 3)), (0, (5, 1))]
    for model in MODELS:
        data = _load(os.path.join(results, "fig_s5", _folder(model), "fig_s5.json"))
        if data is None:
            continue
        paper = data["paper"]
        temperatures = sorted({c["T_K"] for c in data["conditions"]})
        for style, temperature in zip(styles, temperatures):
            conds = sorted((c for c in data["conditions"] if c["T_K"] == temperature
                            and c["status"] == "found"), key=lambda c: c["E_par_VA"])
            axes[0].plot([c["E_par_VA"] for c in conds], [c["E_perp_c_VA"] for c in conds],
                         marker="o", ms=3, ls=style, color=COLORS[model],
                         label=f"{model}, {temperature:g} K")
        curves = data["landau_curves"].get(model)
        if curves:
            axes[0].plot(curves["e_par_VA"], curves["numeric"], color=COLORS[model], lw=0.8,
                         alpha=0.5, label=f"{model}, Landau (numeric)")
        mins = sorted((m for m in data["minima"] if np.isfinite(m["E_t_c_VA"])),
                      key=lambda m: m["T_K"])
        t = [m["T_K"] for m in mins]
        axes[1].plot(t, [m["reduction_pct"] for m in mins], "o-", color=COLORS[model],
                     label=model)
        axes[2].plot(t, [m["dip_angle_deg"] for m in mins], "o-", color=COLORS[model],
                     label=model)
        if all("near_dip_low_deg" in m for m in mins):  # summaries before the band lack it
            axes[2].fill_between(t, [m["near_dip_low_deg"] for m in mins],
                                 [m["near_dip_high_deg"] for m in mins], color=COLORS[model],
                                 alpha=0.15, lw=0)
        drawn += 1
    axes[0].set_xlabel("E_par at 60 deg [V/A]")
    axes[0].set_ylabel("E_perp,c [V/A]")
    axes[0].set_title("Fig. S5: least E_perp that slides in 30 ps", fontsize=9)
    if paper:
        axes[1].axhline(paper["min_Etc_reduction_md_pct_gt"], color="k", ls=":",
                        label="paper: > 70 %")
        axes[2].axhline(paper["dip_angle_deg"], color="k", ls=":", label="paper: ~24 deg")
    axes[1].set_xlabel("T [K]")
    axes[1].set_ylabel("min E_t,c below vertical [%]")
    axes[2].set_xlabel("T [K]")
    axes[2].set_ylabel("dip angle of min E_t,c [deg]")
    _legends(axes)
    return drawn


def _cell(row, key="E_perp_c"):
    if row is None or not row.get("switched", 1):
        return "not run yet" if row is None else "no switch"
    runs = row.get("runs", 1)
    text = f"{row[key + '_mean_VA']:.2f}"
    if runs > 1:
        text += f" [{row[key + '_min_VA']:.2f}, {row[key + '_max_VA']:.2f}]"
    if row["switched"] < runs:
        text += f" ({row['switched']} of {runs} switched)"
    return text


def _curie_seeds(results, model):
    """(seed, its T_C summary, Im psi of the last cooling stage) for every seed run so far."""
    seeds = []
    pattern = os.path.join(results, "curie_ladder", f"{_folder(model)}_seed*", "curie_summary.json")
    for path in glob.glob(pattern):
        summary = _load(path)["seeds"][0]
        with open(os.path.join(os.path.dirname(path), "traj.stages.csv")) as handle:
            last = list(csv.DictReader(handle))[-1]
        seeds.append((int(re.search(r"seed(\d+)", path).group(1)), summary,
                      float(last["psi[a*-b*]_im_mean"])))
    return sorted(seeds, key=lambda item: item[0])


def curie_table(results):
    """T_C per seed and over seeds (mean [min, max] of the per-seed estimates)."""
    rows = {m: _curie_seeds(results, m) for m in MODELS}
    if not any(rows.values()):
        return []
    out = ["Fig. 2: T_C per seed (the midpoint of the heating and cooling crossings of "
           "|Im psi| = 0.5; +- half their gap and half the ladder spacing, in quadrature)", "",
           "| model | seed | heating [K] | cooling [K] | T_C [K] | first switch on heating [K] | "
           "crossings | Im psi at 50 K (state) |", "|---" * 8 + "|"]
    for m in MODELS:
        for seed, s, im_psi in rows[m]:
            state = "BA" if im_psi > 0.5 else "AB" if im_psi < -0.5 else "disordered"
            out.append(f"| {m} | {seed} | {s['heating_K']:.0f} | {s['cooling_K']:.0f} | "
                       f"{s['estimate_K']:.0f} +- {s['uncertainty_K']:.0f} | "
                       f"{s['first_switch_heating_K']:.0f} | {s['crossings']} | "
                       f"{im_psi:+.3f} ({state}) |")
    out += ["", "| model | seeds | T_C over seeds: mean [min, max] [K] | paper |", "|---" * 4 + "|"]
    for m in MODELS:
        estimates = [s["estimate_K"] for _, s, _ in rows[m]]
        if estimates:
            text = f"{np.mean(estimates):.0f}"
            if len(estimates) > 1:
                text += f" [{min(estimates):.0f}, {max(estimates):.0f}]"
            out.append(f"| {m} | {len(estimates)} | {text} | ~{PAPER_TC_K:.0f} |")
    return out + [""]


def _band(row):
    """The near-minimal band of a Fig. S5 minimum: its dip angles [deg] and how many conditions."""
    if "near_dip_low_deg" not in row or not np.isfinite(row["near_dip_low_deg"]):
        return ""
    low, high, count = row["near_dip_low_deg"], row["near_dip_high_deg"], row["near_minimum"]
    if count == 1:
        return f"{low:.0f} deg (1 condition)"
    return f"{low:.0f}-{high:.0f} deg ({count} conditions)"


def tables(results):
    """The markdown tables of docs/reproduction.md, from the same summaries as the figures."""
    out = curie_table(results)
    data = {m: _load(os.path.join(results, "fig4a", _folder(m), "fig4a.json")) for m in MODELS}
    paper = next((d["paper"] for d in data.values() if d), None)
    if any(data.values()):
        out += ["Fig. 4(a): E_perp,c [V/A], mean [min, max] over seeds; slide directions [deg]", "",
                "| T [K] | paper, E_par = 0 | " + " | ".join(
                    f"{m}, E_par = {e:g} | directions" for e in (0.0, 0.2) for m in MODELS) + " |",
                "|---" * 10 + "|"]
        for t in (100.0, 200.0, 300.0, 400.0, 500.0):
            cells = [f"{t:g}", (f"{paper['E_perp_c_100K']}" if t == 100 else
                                f"~{paper['E_perp_c_saturated']}") if paper else ""]
            for e in (0.0, 0.2):
                for m in MODELS:
                    row = next((r for r in (data[m] or {"rows": []})["rows"]
                                if r["E_par_VA"] == e and r["T_K"] == t), None)
                    cells += [_cell(row), row["theta_deg"].replace(" ", ", ") if row else ""]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    data = {m: _load(os.path.join(results, "fig_s4", _folder(m), "fig_s4.json")) for m in MODELS}
    if any(data.values()):
        out += ["Fig. S4 (0.1 K, |E_par| = 0.1 V/A): E_perp,c [V/A]; slide directions [deg]", "",
                "| field angle [deg] | " + " | ".join(f"{m} | directions" for m in MODELS) + " |",
                "|---" * 5 + "|"]
        for angle in (0.0, 15.0, 30.0, 45.0, 60.0):
            cells = [f"{angle:g}"]
            for m in MODELS:
                row = next((r for r in (data[m] or {"rows": []})["rows"]
                            if r["angle_deg"] == angle), None)
                cells += [_cell(row), row["theta_deg"].replace(" ", ", ") if row else ""]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    rows, band = [], 0.05
    for m in MODELS:
        d = _load(os.path.join(results, "fig_s5", _folder(m), "fig_s5.json"))
        rows += [(m, r) for r in (d or {"minima": []})["minima"]]
        band = (d or {}).get("band_VA", band)
    if rows:
        out += ["Fig. S5 / 4(c): minimum total field over the E_par grid, per temperature", "",
                "| model | T [K] | conditions found | vertical E_perp,c [V/A] | min E_t,c [V/A] | "
                "at E_par, E_perp,c [V/A] | reduction | dip angle | dip angles within "
                f"{band:g} V/A of the minimum |", "|---" * 9 + "|"]
        for m, r in rows:
            edge = " (grid edge)" if r["at_grid_edge"] else ""
            out.append(f"| {m} | {r['T_K']:g} | {r['found']} of {r['conditions']} | "
                       f"{r['vertical_E_perp_c_VA']:.2f} | {r['E_t_c_VA']:.3f} | "
                       f"{r['E_par_VA']:.2f}, {r['E_perp_c_VA']:.2f}{edge} | "
                       f"{r['reduction_pct']:.1f} % | {r['dip_angle_deg']:.1f} deg | "
                       f"{_band(r)} |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--results", default=os.path.join(here, "results"))
    parser.add_argument("--out", default=os.path.join(here, os.pardir, "docs", "images"))
    parser.add_argument("--tables", action="store_true",
                        help="also print the tables of docs/reproduction.md (markdown)")
    args = parser.parse_args(argv)
    if args.tables:
        print(tables(args.results))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out, exist_ok=True)
    jobs = (("curie", curie, (1, (6, 4))), ("fig4a", fig4a, (1, (6, 4))),
            ("fig_s4", fig_s4, (2, (9, 3.6))), ("fig_s5", fig_s5, (3, (13, 3.8))))
    for name, draw, (panels, size) in jobs:
        fig, axes = plt.subplots(1, panels, figsize=size)
        drawn = draw(args.results, axes if panels > 1 else axes)
        path = os.path.join(args.out, f"reproduction_{name}.png")
        if drawn:
            fig.tight_layout()
            fig.savefig(path, dpi=150)
            print(f"{path}: {drawn} series")
        else:
            print(f"{name}: no summaries under {args.results}; no figure")
        plt.close(fig)


if __name__ == "__main__":
    main()
