"""Plot E_perp,c against temperature from coercive_md.py tables (the paper's Fig. 4(a) analogue).

    python validation/plot_coercive_md.py OUT.png LABEL=TABLE.csv [LABEL=TABLE.csv ...]

Each table has the columns coercive_md.py writes (e_par_VA, temperature_K, replica,
e_perp_c_VA, theta_deg); points are the mean over replicas with their standard deviation.
"""

import csv
import sys
from collections import defaultdict

import numpy as np


def read_table(path):
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out, tables = sys.argv[1], [arg.split("=", 1) for arg in sys.argv[2:]]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    markers = "osd^v"
    for k, (label, path) in enumerate(tables):
        groups = defaultdict(list)
        for row in read_table(path):
            groups[(row["e_par_VA"], row["temperature_K"])].append(row["e_perp_c_VA"])
        for e_par in sorted({key[0] for key in groups}):
            temps = sorted(t for (e, t) in groups if e == e_par)
            values = [np.array(groups[(e_par, t)]) for t in temps]
            ax.errorbar(temps, [v.mean() for v in values], yerr=[v.std() for v in values],
                        marker=markers[k % len(markers)], capsize=3,
                        linestyle="-" if e_par == 0 else "--",
                        label=f"{label}, E_par = {e_par:g} V/A")
    ax.set_xlabel("temperature [K]")
    ax.set_ylabel("E_perp,c [V/A]")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
