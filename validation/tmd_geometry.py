"""The stress-free geometry of LAMMPS's TMD bilayer model for MoS2, WS2, MoSe2 and WSe2.

    NUMBA_NUM_THREADS=1 python validation/tmd_geometry.py [--cells 3]

The model is slidesim's ``tmd-ilp`` (sw/mod with ``tmd.sw.mod`` in each layer, ilp/tmd with
``TMD.ILP`` between them; ``mos2-ilp`` with ``MoS2.ILP`` for the MoS2 row marked so). For each
material, a flat 3R bilayer at XM (t = (b - a)/3), the metal at fractional (0, 0) and the
chalcogen pair at (1/3, 2/3), is relaxed in

1. the builder's family (what ``material X`` builds): lattice constant a, one chalcogen height h
   above and below every metal plane, the metal-metal distance d; energy minimised over (a, h, d).
   These are the numbers the catalog stores;
2. the full relaxation at the stacking's symmetry (C3v keeps the in-plane positions): a, d and
   the four chalcogen heights of the two layers free. It shows how far 1. is from force- and
   stress-free, and the in-plane pressure of 1. is printed from the virial.

Also the SW monolayer alone (a, h). Writes validation/results/tmd_geometry.json.
"""

import argparse
import json
import os

import numpy as np
from scipy.optimize import minimize

from slidesim import units
from slidesim.models.ilp_tmd import ILPTMDTerm
from slidesim.models.model import Model
from slidesim.models.sw_mod import SWModTerm
from slidesim.tmd import lammps_potential

MATERIALS = {"MoS2": ("Mo", "S"), "WS2": ("W", "S"), "MoSe2": ("Mo", "Se"),
             "WSe2": ("W", "Se")}
#: starting guesses (a [A], h [A], d [A]); any reasonable value converges to the same optimum
START = {"MoS2": (3.12, 1.56, 6.3), "WS2": (3.12, 1.56, 6.3), "MoSe2": (3.25, 1.67, 6.6),
         "WSe2": (3.25, 1.67, 6.6)}
RESULTS = os.path.join(os.path.dirname(__file__), "results", "tmd_geometry.json")


def bilayer(a, heights, d, cells, slide=1 / 3):
    """Positions (N, 3) [A], cell (3, 3), species (N,) (0 metal, 1 chalcogen), layer (N,) and
    sheets (N,) of a flat 3R bilayer; heights: (lower, upper) chalcogen offsets from the metal
    plane of the bottom and top layer, (4,) [A] (lower ones negative)."""
    a1 = np.array([a, 0.0, 0.0])
    a2 = np.array([-a / 2, a * np.sqrt(3) / 2, 0.0])
    positions, species, layer, sheets = [], [], [], []
    for lay in (0, 1):
        for i in range(cells):
            for j in range(cells):
                metal = i * a1 + j * a2 + [0.0, 0.0, 10.0 + lay * d] + lay * slide * (a2 - a1)
                site = metal + (a1 + 2 * a2) / 3
                for position, s, sheet in ((metal, 0, 1),
                                           (site + [0, 0, heights[2 * lay]], 1, 0),
                                           (site + [0, 0, heights[2 * lay + 1]], 1, 2)):
                    positions.append(position)
                    species.append(s)
                    layer.append(lay)
                    sheets.append(sheet)
    cell = np.array([cells * a1, cells * a2, [0.0, 0.0, 40.0]])
    return (np.array(positions), cell, np.array(species, np.int64), np.array(layer, np.int64),
            np.array(sheets, np.int64))


def make_model(names, ilp_file, sheets):
    return Model("tmd", [SWModTerm(lammps_potential("tmd.sw.mod"), names),
                         ILPTMDTerm(lammps_potential(ilp_file), names, sheets=sheets)], names)


class Bilayer:
    """Energy per 6-atom cell [eV] of the flat 3R bilayer of one material and model file."""

    def __init__(self, names, ilp_file, cells):
        self.cells = cells
        x, self.cell, self.species, self.layer, sheets = bilayer(3.2, (-1.6, 1.6) * 2, 6.4, cells)
        self.model = make_model(names, ilp_file, sheets)

    def result(self, a, heights, d):
        x, cell, species, layer, _ = bilayer(a, heights, d, self.cells)
        return self.model.compute(x, cell, species, layer, self.model.neighbor_lists(0.0)), cell

    def energy(self, a, heights, d):
        return self.result(a, heights, d)[0].energy / self.cells ** 2

    def in_plane_pressure_bar(self, a, heights, d):
        """In-plane pressure -(W_xx + W_yy) / (2 V) [bar] with V = area x 40 A (LAMMPS's
        convention for the periodic cell): zero at a stress-free lattice."""
        result, cell = self.result(a, heights, d)
        volume = abs(np.linalg.det(cell))
        return float((result.virial[0] + result.virial[1]) / 2 / volume * units.NKTV2P)


def optimise(function, start):
    found = minimize(function, start, method="Nelder-Mead",
                     options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 20000,
                              "maxfev": 40000})
    return found.x, found.fun


def monolayer_optimum(names, start):
    """(a, h) [A] of the SW monolayer alone (the bottom layer of a bilayer without ILP)."""
    sw = SWModTerm(lammps_potential("tmd.sw.mod"), names)
    model = Model("sw", [sw], names)
    cells = 3

    def energy(p):
        x, cell, species, layer, _ = bilayer(p[0], (-p[1], p[1], -p[1], p[1]), 20.0, cells)
        bottom = layer == 0
        return model.compute(x[bottom], cell, species[bottom], layer[bottom],
                             model.neighbor_lists(0.0)).energy

    (a, h), _ = optimise(energy, start)
    return a, h


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=3)
    args = parser.parse_args()
    rows = {}
    cases = [(m, "TMD.ILP") for m in MATERIALS] + [("MoS2", "MoS2.ILP")]
    for material, ilp_file in cases:
        names = MATERIALS[material]
        scan = Bilayer(names, ilp_file, args.cells)
        a0, h0, d0 = START[material]
        (a, h, d), e = optimise(lambda p: scan.energy(p[0], (-p[1], p[1], -p[1], p[1]), p[2]),
                                (a0, h0, d0))
        heights = (-h, h, -h, h)
        pressure = scan.in_plane_pressure_bar(a, heights, d)
        full, e_full = optimise(lambda p: scan.energy(p[0], p[2:], p[1]),
                                (a, d, -h, h, -h, h))
        mono_a, mono_h = monolayer_optimum(names, (a0, h0))
        # the gap between the layers' facing chalcogen sheets
        gap = d - 2 * h
        key = material if ilp_file == "TMD.ILP" else "MoS2 (MoS2.ILP)"
        rows[key] = {
            "ilp_file": ilp_file, "lattice_A": a, "chalcogen_height_A": h,
            "metal_distance_A": d, "chalcogen_gap_A": gap, "energy_eV_per_cell": e,
            "in_plane_pressure_bar": pressure,
            "full_relaxation": {"lattice_A": full[0], "metal_distance_A": full[1],
                                "chalcogen_heights_A": list(full[2:]),
                                "energy_gain_meV_per_cell": (e - e_full) * 1e3},
            "monolayer": {"lattice_A": mono_a, "chalcogen_height_A": mono_h},
        }
        print(f"{key:16s} a = {a:.5f} A  h = {h:.5f} A  d = {d:.5f} A  gap = {gap:.4f} A  "
              f"P_inplane = {pressure:+.2e} bar | full: a = {full[0]:.5f}, d = {full[1]:.5f}, "
              f"h = {np.round(full[2:], 5).tolist()}, gain {(e - e_full) * 1e6:.3f} ueV/cell | "
              f"monolayer a = {mono_a:.5f}, h = {mono_h:.5f}", flush=True)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump({"cells": args.cells, "stacking": "XM (t = (b - a)/3)", "materials": rows},
                  handle, indent=1)
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
