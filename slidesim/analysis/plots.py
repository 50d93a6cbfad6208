"""PNG plots of an analysis: Im psi against temperature (the paper's Fig. 2), psi and t against
time, and the sliding vectors on the hexagon of the primitive cell.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot, no global backend state),
so plotting works on machines without a display.
"""

import numpy as np
from matplotlib.figure import Figure

from slidesim.analysis.order import IM_PSI_BA, PAPER_G
from slidesim.analysis.report import output_stem

_BRANCH_STYLE = {"heating": ("tab:red", "o", "heating"), "cooling": ("tab:blue", "^", "cooling"),
                 "constant": ("tab:gray", "s", "constant")}


def plot_order_vs_temperature(analysis, path):
    """Im psi[a*-b*] per stage (mean, error bar = se) against target temperature, heating and
    cooling apart, with +-sqrt(3)/2 and the T_C estimate marked."""
    figure = Figure(figsize=(6.4, 4.2))
    axes = figure.subplots()
    key = f"psi[{PAPER_G.name}]_im"
    for branch, (color, marker, label) in _BRANCH_STYLE.items():
        rows = [row for row in analysis.stages if row["branch"] == branch]
        if not rows:
            continue
        temperature = [row["temperature_target_K"] for row in rows]
        mean = [row[f"{key}_mean"] for row in rows]
        error = [0.0 if not np.isfinite(row[f"{key}_se"]) else row[f"{key}_se"] for row in rows]
        axes.errorbar(temperature, mean, yerr=error, color=color, marker=marker, ls="-", lw=0.8,
                      ms=5, capsize=2, label=label)
    for level in (IM_PSI_BA, -IM_PSI_BA):
        axes.axhline(level, color="0.6", lw=0.6, ls=":")
    axes.text(0.01, IM_PSI_BA, " BA", transform=axes.get_yaxis_transform(), va="bottom", fontsize=8)
    axes.text(0.01, -IM_PSI_BA, " AB", transform=axes.get_yaxis_transform(), va="top", fontsize=8)
    curie = analysis.curie
    if curie["estimate_K"] is not None:
        axes.axvline(curie["estimate_K"], color="0.4", ls="--", lw=1,
                     label=f"$T_C$ = {curie['estimate_K']:.0f} $\\pm$ "
                           f"{curie['uncertainty_K']:.0f} K")
    axes.set_xlabel("temperature [K]")
    axes.set_ylabel(r"Im $\psi$,  $G = a^* - b^*$")
    axes.set_ylim(-1.05, 1.05)
    axes.legend(fontsize=8, loc="center left")
    figure.tight_layout()
    figure.savefig(path, dpi=130)
    return path


def plot_time_series(analysis, path):
    """psi (Re, Im for every G) and t (x, y) against time, crossings marked."""
    series = analysis.series
    figure = Figure(figsize=(7.5, 5.5))
    top, bottom = figure.subplots(2, 1, sharex=True)
    for name, values in analysis.psi.items():
        top.plot(series.time, values.imag, lw=0.8, label=f"Im psi[{name}]")
        top.plot(series.time, values.real, lw=0.6, ls="--", label=f"Re psi[{name}]")
    top.set_ylabel(r"$\psi$")
    top.set_ylim(-1.05, 1.05)
    top.legend(fontsize=7, ncol=2, loc="lower left")
    bottom.plot(series.time, series.sliding[:, 0], lw=0.8, label="$t_x$")
    bottom.plot(series.time, series.sliding[:, 1], lw=0.8, label="$t_y$")
    bottom.set_ylabel("sliding vector [A]")
    bottom.set_xlabel("time [ps]")
    bottom.legend(fontsize=7, loc="upper left")
    if series.temperature_target is not None:
        twin = bottom.twinx()
        twin.plot(series.time, series.temperature_target, color="0.6", lw=0.8)
        twin.set_ylabel("target temperature [K]", color="0.4")
    for crossing in analysis.crossings:
        for axes in (top, bottom):
            axes.axvline(crossing.time, color="tab:purple", lw=0.5, alpha=0.5)
    figure.tight_layout()
    figure.savefig(path, dpi=130)
    return path


def plot_hexagon(analysis, path):
    """Sliding vectors folded into the Wigner-Seitz hexagon of the primitive lattice, coloured
    by time, with the AA, BA, SP and AB sites."""
    lattice = analysis.series.lattice
    folded = lattice.reduce(analysis.series.sliding)
    figure = Figure(figsize=(5.6, 5.0))
    axes = figure.subplots()
    a, b = lattice.vectors
    # Wigner-Seitz corners of a hexagonal lattice: the K points (2a + b)/3 rotated by 60 deg
    corners = [(2 * a + b) / 3, (a + 2 * b) / 3, (b - a) / 3, -(2 * a + b) / 3,
               -(a + 2 * b) / 3, (a - b) / 3]
    outline = np.array(corners + corners[:1])
    axes.plot(outline[:, 0], outline[:, 1], color="0.3", lw=1)
    points = axes.scatter(folded[:, 0], folded[:, 1], c=analysis.series.time, s=4,
                          cmap="viridis")
    figure.colorbar(points, ax=axes, label="time [ps]")
    first, second = getattr(lattice, "names", ("BA", "AB"))  # XM, MX for TMDs
    for name, color in (("AA", "k"), (first, "tab:red"), ("SP", "tab:green"),
                        (second, "tab:blue")):
        site = lattice.reduce(lattice.site(name))
        axes.plot(*site, marker="x" if name == "SP" else "o", color=color, ms=8, mfc="none",
                  mew=2)
        axes.annotate(name, site, textcoords="offset points", xytext=(5, 5), color=color)
    axes.set_aspect("equal")
    axes.set_xlabel("$t_x$ [A]")
    axes.set_ylabel("$t_y$ [A]")
    axes.set_title("sliding vector modulo the lattice", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=130)
    return path


def write_plots(analysis, out_dir):
    """The three PNGs in ``out_dir``; returns a dict kind -> path. The temperature plot is made
    only when the trajectory has target temperatures."""
    stem = output_stem(analysis.series.path, out_dir)
    paths = {}
    if analysis.series.temperature_target is not None:
        paths["order_vs_temperature"] = plot_order_vs_temperature(
            analysis, f"{stem}.im_psi_vs_T.png")
    paths["time_series"] = plot_time_series(analysis, f"{stem}.time_series.png")
    paths["hexagon"] = plot_hexagon(analysis, f"{stem}.hexagon.png")
    return paths
