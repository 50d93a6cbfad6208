"""The direction of every trend of the paper's four MD experiments, on shortened runs (slow).

Each experiment is rerun the way a user runs it (docs/reproduction.md), with the shipped deck
or script made smaller by exact text substitution: 6 x 6 cells (144 atoms), the bn-dft model,
short stages and a ramp five times the paper's. The numbers of so small and short runs are not
the paper's (a 144-atom cell slides at lower temperatures and fields than a 900-atom one); what
is checked is only which way each result goes, so a regression in the physics (the sign of the
field coupling or of the dipole model, the switching detection, the order parameter, T_C) fails:

1. Curie ladder (validation/curie_ladder.py, then `slidesim analyze`'s T_C): Im psi starts at
   +sqrt(3)/2 (BA); T_C is found on both branches, inside the ladder, and heating does not
   come out below cooling by more than one ladder spacing.
2. Fig. 4(a) (inputs/sweep_fig4a.in by `slidesim sweep`, validation/fig4a_summary.py): every
   replica switches, and E_perp,c is larger at 100 K than at 500 K.
3. Fig. 4(a) with E_par = 0.2 V/A at 60 deg: E_perp,c at 100 K is lower than without, and
   every slide goes along 60 deg, which the slides without E_par do not all do.
4. Fig. S4 (inputs/sweep_fig_s4.in, validation/fig_s4_summary.py): at 0.1 K and
   |E_par| = 0.1 V/A, fields at 15, 30 and 45 deg all slide the bilayer along 60 deg, and
   E_perp,c falls as the field turns towards 60 deg.

    python3 -m pytest -m slow tests/test_reproduction_trends.py

Runs on one thread (NUMBA_NUM_THREADS=1); the wall time is in docs/reproduction.md.
"""

import csv
import json
import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("distributed")
pytest.importorskip("matplotlib")

from test_reproduction_scripts import shrink  # noqa: E402  (the decks shortened alike)

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, NUMBA_NUM_THREADS="1")
IM_PSI_BA = math.sqrt(3.0) / 2.0
SEED = 1

# A slide counts as "along 60 deg" within 30 deg of it. The three BA -> AB saddles lie at 60,
# 180 and 300 deg, 120 deg apart, so 30 deg is a quarter of the way to the next one: a slide
# through another saddle can never count, while the scatter of the measured direction (the
# chord from the BA to the AB capture circle, bent by thermal motion and by the in-plane
# field's component across the path) stays well inside it: in the development runs below
# (seeds 1-3) the slides with E_par came within 4 deg of 60, those without within 17 deg of
# their saddle at 500 K, and the 144-atom bn-ilp scans of docs/fields.md scatter by +-25 deg.
ALONG_TOLERANCE_DEG = 30.0

# The ladder: 1 K, then 300 -> 1500 -> 300 K in 300 K steps of 10 ps. The 144-atom bn-dft
# bilayer loses order near 800 K, so both branches cross inside it; at 2100 K this small cell
# ran into ILP's neighbour-count warning, hence the 1500 K top.
LADDER = ["--cells", "6", "--model", "bn-dft", "--stage-ps", "10", "--t-start", "1",
          "--t-step", "300", "--t-max", "1500", "--trajectory-every", "100", "--threads", "1"]
# Development runs, seeds 1-3: T_C heating 1034, 1268, 1042 K, cooling 738, 488, 462 K
# (Im psi at 1 K: 0.87 in each); a first run of seed 1 up to 2100 K: 834 and 774 K.
LADDER_SPACING_K = 300.0
LADDER_RANGE_K = (300.0, 1500.0)

# Fig. 4(a) shortened: 3 ps at T (not 12), E_perp ramped at 0.1 V/A/ps (not 0.02) for at most
# 39 ps (3.9 V/A, above bn-dft's zero-temperature Landau value of 2.83 V/A).
FIG4A_SHORT = [("cells 15 15", "cells 6 6"), ("duration 12 ps", "duration 3 ps"),
               ("duration 150 ps", "duration 39 ps"),
               ("field_perp_rate -0.02", "field_perp_rate -0.1")]
# Development runs, seeds 1-3, 6 replicas each, mean [range] of E_perp,c in V/A:
#   E_par = 0,   100 K: 1.92 [1.43, 2.49], 2.22 [1.74, 2.54], 2.37 [2.11, 2.60]
#   E_par = 0,   500 K: 0.91 [0.00, 1.81], 1.03 [0.00, 1.86], 1.00 [0.24, 1.51]
#   E_par = 0.2, 100 K: 1.53 [1.14, 1.87], 1.77 [1.56, 1.91], 1.75 [1.43, 1.88]
# (at 500 K one replica of six in seeds 1 and 2 switched thermally before the ramp: counted as
# 0 V/A in these development means, now kept out of E_perp,c by fig4a_summary, which raises
# the 500 K means a little) so the means at 100 K and 500 K stay about 1 V/A apart, and E_par
# lowers the 100 K
# mean by 0.39-0.62 V/A; every one of the 18 slides with E_par went within 4 deg of 60 deg,
# against 5, 4 and 8 of 12 without it (the rest along 180 and 300 deg).
FIG4A_REPLICAS = 6
T_LOW, T_HIGH = 100, 500

# Fig. S4 shortened: 1.5 ps at 0.1 K, the same ramp as above for at most 36 ps (3.6 V/A).
FIG_S4_SHORT = [("cells 15 15", "cells 6 6"), ("duration 12 ps", "duration 1.5 ps"),
                ("duration 180 ps", "duration 36 ps"),
                ("field_perp_rate -0.02", "field_perp_rate -0.1")]
# Development runs, seeds 1-2 (at 0.1 K the seed hardly matters): every slide at 60.2-60.5
# deg; E_perp,c 2.47, 2.38 and 2.32 V/A at 15, 30 and 45 deg, the seeds within 0.003 V/A.
FIG_S4_ANGLES = (15, 30, 45)


def run(*args, cwd):
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=ENV, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def slidesim(*args, cwd):
    return run("-m", "slidesim.cli", *args, cwd=cwd)


def script(name, *args, cwd):
    return run(os.path.join(ROOT, "validation", f"{name}.py"), *args, cwd=cwd)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def angle_from(theta, direction):
    """|theta - direction| [deg], across 0/360."""
    return abs((theta - direction + 180.0) % 360.0 - 180.0)


def curie_ladder(folder, seed=SEED):
    """Run the shortened ladder; returns (T_C summary of the seed, its per-stage rows)."""
    script("curie_ladder", "--out", str(folder), "--seed", str(seed), *LADDER, cwd=folder)
    with open(folder / "curie_summary.json") as handle:
        (curie,) = json.load(handle)["seeds"]
    return curie, read_csv(folder / f"seed_{seed}" / "analysis" / "traj.stages.csv")


def fig4a_sweep(folder, e_par, temperatures, seed=SEED):
    """One shortened Fig. 4(a) sweep; returns (fig4a.csv rows by T, summary.csv rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    deck = shrink("sweep_fig4a.in", FIG4A_SHORT, folder / "fig4a.in")
    sweep = folder / "sweep"
    slidesim("sweep", deck, "--set", f"E_par={e_par}",
             "--set", "T=" + ",".join(str(t) for t in temperatures),
             "--set", f"replicas={FIG4A_REPLICAS}", "--set", f"seed={seed}",
             "--workers", "1", "--out", str(sweep), "--no-progress", cwd=folder)
    script("fig4a_summary", str(sweep), "--out", str(folder / "summary"), cwd=folder)
    table = {float(r["T_K"]): r for r in read_csv(folder / "summary" / "fig4a.csv")}
    return table, read_csv(sweep / "summary.csv")


def fig_s4_sweep(folder, seed=SEED):
    """The shortened Fig. S4 sweep over FIG_S4_ANGLES; returns fig_s4.json's runs."""
    folder.mkdir(parents=True, exist_ok=True)
    deck = shrink("sweep_fig_s4.in", FIG_S4_SHORT, folder / "fig_s4.in")
    sweep = folder / "sweep"
    slidesim("sweep", deck, "--set", "ANGLE=" + ",".join(str(a) for a in FIG_S4_ANGLES),
             "--set", f"seed={seed}", "--workers", "1", "--out", str(sweep), "--no-progress",
             cwd=folder)
    script("fig_s4_summary", str(sweep), "--out", str(folder / "summary"), cwd=folder)
    with open(folder / "summary" / "fig_s4.json") as handle:
        return json.load(handle)["runs"]


def switch_thetas(rows):
    return [float(r["switch_theta_deg"]) for r in rows if r["switched"] == "True"]


@pytest.fixture(scope="module")
def fig4a(tmp_path_factory):
    """E_par = 0 at T_LOW and T_HIGH, and E_par = 0.2 V/A at 60 deg at T_LOW."""
    folder = tmp_path_factory.mktemp("fig4a")
    vertical = fig4a_sweep(folder / "vertical", 0, (T_LOW, T_HIGH))
    inclined = fig4a_sweep(folder / "inclined", 0.2, (T_LOW,))
    return vertical, inclined


def test_curie_ladder_orders_in_ba_and_disorders_inside_the_ladder(tmp_path):
    curie, stages = curie_ladder(tmp_path)
    start = stages[0]
    assert float(start["temperature_target_K"]) == 1.0 and start["branch"] == "heating"
    assert abs(float(start["psi[a*-b*]_im_mean"]) - IM_PSI_BA) < 0.01, start  # BA at 1 K
    heating, cooling = curie["heating_K"], curie["cooling_K"]
    assert heating is not None and cooling is not None, curie  # both branches cross
    low, high = LADDER_RANGE_K
    for value in (heating, cooling, curie["estimate_K"]):
        assert low <= value <= high, curie
    # on heating the order lasts at least as long as on cooling, up to the ladder's resolution
    assert heating >= cooling - LADDER_SPACING_K, curie


def test_coercive_field_falls_with_temperature(fig4a):
    (table, rows), _ = fig4a
    for temperature in (T_LOW, T_HIGH):
        row = table[float(temperature)]
        # every replica switched: in the ramp, or (at 500 K in this small cell) thermally before
        # it, which fig4a_summary keeps out of E_perp,c
        assert int(row["runs"]) == FIG4A_REPLICAS, row
        assert int(row["switched"]) + int(row["before_ramp"]) == FIG4A_REPLICAS, row
        assert int(row["switched"]) >= FIG4A_REPLICAS - 1, row
    # every switch of the ramp stage is BA -> AB under a field along -z
    for row in rows:
        assert float(row["switch_field_z_VA"]) <= 0.0, row
    cold = float(table[float(T_LOW)]["E_perp_c_mean_VA"])
    hot = float(table[float(T_HIGH)]["E_perp_c_mean_VA"])
    assert cold > hot, (cold, hot)


def test_inclined_field_lowers_the_coercive_field_and_fixes_the_direction(fig4a):
    (vertical, vertical_rows), (inclined, inclined_rows) = fig4a
    row = inclined[float(T_LOW)]
    assert int(row["runs"]) == FIG4A_REPLICAS and int(row["switched"]) == FIG4A_REPLICAS, row
    with_par = float(row["E_perp_c_mean_VA"])
    without = float(vertical[float(T_LOW)]["E_perp_c_mean_VA"])
    assert with_par < without, (with_par, without)
    thetas = switch_thetas(inclined_rows)
    assert len(thetas) == FIG4A_REPLICAS
    assert all(angle_from(t, 60.0) <= ALONG_TOLERANCE_DEG for t in thetas), thetas
    # without the in-plane field the three saddles are equivalent: not every slide along 60
    free = switch_thetas(vertical_rows)
    assert len(free) == 2 * FIG4A_REPLICAS
    assert not all(angle_from(t, 60.0) <= ALONG_TOLERANCE_DEG for t in free), free


def test_in_plane_field_between_0_and_60_deg_slides_along_60(tmp_path):
    runs = sorted(fig_s4_sweep(tmp_path), key=lambda r: float(r["angle_deg"]))
    assert [float(r["angle_deg"]) for r in runs] == [float(a) for a in FIG_S4_ANGLES]
    for entry in runs:
        assert math.isfinite(float(entry["E_perp_c_VA"])), entry  # switched within the ramp
        assert angle_from(float(entry["theta_deg"]), 60.0) <= ALONG_TOLERANCE_DEG, entry
    # the closer the in-plane field to 60 deg, the more of it pushes along the slide
    fields = [float(r["E_perp_c_VA"]) for r in runs]
    assert fields == sorted(fields, reverse=True) and len(set(fields)) == len(fields), fields
