"""The reproduction decks and their summary scripts, end to end at a tiny size: the shipped deck
with smaller cells and shorter stages (text substitution, nothing else changed), run by
`slidesim sweep` as a user would, then the summary script on the sweep's output.

Fig. S4 (inputs/sweep_fig_s4.in + validation/fig_s4_summary.py) and Fig. S5 / 4(b,c)
(inputs/sweep_fig_s5.in + validation/fig_s5_summary.py). The full-size decks are checked with
`slidesim run --check`.
"""

import csv
import importlib.util
import json
import math
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("distributed")
pytest.importorskip("matplotlib")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, NUMBA_NUM_THREADS="1")


def shrink(deck, substitutions, out_path):
    """Write ``deck`` (under inputs/) with each (old, new) substituted exactly once."""
    with open(os.path.join(ROOT, "inputs", deck)) as handle:
        text = handle.read()
    for old, new in substitutions:
        assert text.count(old) == 1, f"{deck} no longer has exactly one '{old}'"
        text = text.replace(old, new)
    out_path.write_text(text)
    return str(out_path)


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "validation",
                                                                     f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def slidesim(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "slidesim.cli", *args], cwd=cwd, env=ENV,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("deck, variables", [
    ("sweep_fig4a.in", {"T": "300", "E_par": "0.2"}),
    ("sweep_fig_s4.in", {"ANGLE": "15"}),
    ("sweep_fig_s5.in", {"T": "0.1", "E_par": "0.65", "E_perp": "0.45"}),
])
def test_full_size_decks_are_valid(tmp_path, deck, variables):
    with open(os.path.join(ROOT, "inputs", deck)) as handle:
        text = handle.read()
    for name, value in variables.items():
        text = text.replace(f"${name}", value)
    assert "$" not in re.sub(r"#.*", "", text)
    (tmp_path / "deck.in").write_text(text)
    check = slidesim("run", "--check", "deck.in", cwd=tmp_path)
    assert "900 atoms" in check.stdout + check.stderr


def test_fig_s4_sweep_and_summary(tmp_path):
    deck = shrink("sweep_fig_s4.in", [("cells 15 15", "cells 3 3"),
                                      ("duration 12 ps", "duration 0.3 ps"),
                                      ("duration 180 ps", "duration 3 ps"),
                                      ("field_perp_rate -0.02", "field_perp_rate -2")],
                  tmp_path / "s4.in")
    sweep = tmp_path / "s4"
    slidesim("sweep", deck, "--set", "ANGLE=0,60", "--workers", "1",
             "--out", str(sweep), "--no-progress", cwd=tmp_path)
    load_script("fig_s4_summary").main([str(sweep), "--out", str(tmp_path / "summary")])

    rows = read_csv(tmp_path / "summary" / "fig_s4.csv")
    assert [(r["model"], float(r["angle_deg"])) for r in rows] == [("bn-dft", 0.0),
                                                                   ("bn-dft", 60.0)]
    for row in rows:
        assert int(row["runs"]) == 1 and int(row["switched"]) == 1  # fast ramp: always switches
        low, mean, high = (float(row[f"E_perp_c_{k}_VA"]) for k in ("min", "mean", "max"))
        assert 0 < low <= mean <= high < 6.0 + 1e-9  # at most the ramp's end, 2 V/A/ps x 3 ps
        theta = float(row["theta_deg"])
        assert sum(int(row[f"along_{d}"]) for d in (60, 180, 300)) == 1
        nearest = min((60, 180, 300), key=lambda d: abs((theta - d + 180) % 360 - 180))
        assert row[f"along_{nearest}"] == "1"
    along_field = rows[1]
    assert abs(float(along_field["theta_deg"]) - 60) < 15 and along_field["along_60"] == "1"
    with open(tmp_path / "summary" / "fig_s4.json") as handle:
        report = json.load(handle)
    assert len(report["runs"]) == 2
    assert report["comparison"]["bn-dft"]["all_along_60_in_(0,60]"] is True
    assert (tmp_path / "summary" / "fig_s4.png").stat().st_size > 0


def test_fig_s5_search_and_summary(tmp_path):
    deck = shrink("sweep_fig_s5.in", [("cells 15 15", "cells 3 3"),
                                      ("duration 6 ps", "duration 0.3 ps"),
                                      ("duration 30 ps", "duration 2.1 ps")],
                  tmp_path / "s5.in")
    sweep = tmp_path / "s5"
    slidesim("sweep", deck, "--coercive", "E_perp", "--start", "0", "--stop", "3", "--step", "1",
             "--set", "E_par=0,0.6", "--set", "T=300", "--set", "model=bn-ilp",
             "--workers", "1", "--out", str(sweep), "--no-progress", cwd=tmp_path)
    out = tmp_path / "summary"
    load_script("fig_s5_summary").main([str(sweep), "--out", str(out)])

    conditions = {r["E_par"]: r for r in read_csv(sweep / "coercive.csv")}
    found = [c for c in conditions.values() if c["status"] == "found"]
    assert found  # at 300 K the grid's 3 V/A switches within 2.1 ps
    (row,) = read_csv(out / "fig_s5.csv")
    assert (row["model"], float(row["T_K"])) == ("bn-ilp", 300.0)
    assert int(row["found"]) == len(found) and int(row["conditions"]) == 2
    e_par, e_perp, total = (float(row[k]) for k in ("E_par_VA", "E_perp_c_VA", "E_t_c_VA"))
    assert total == pytest.approx(min(math.hypot(float(c["E_par"]), float(c["e_perp_c_VA"]))
                                      for c in found))
    assert total == pytest.approx(math.hypot(e_par, e_perp))
    assert float(row["dip_angle_deg"]) == pytest.approx(math.degrees(math.atan2(e_perp, e_par)))
    vertical = conditions["0"]
    if vertical["status"] == "found":
        assert float(row["vertical_E_perp_c_VA"]) == float(vertical["e_perp_c_VA"])
        assert float(row["reduction_pct"]) == pytest.approx(
            100 * (1 - total / float(vertical["e_perp_c_VA"])))
    else:
        assert math.isnan(float(row["reduction_pct"]))

    landau = {r["criterion"]: r for r in read_csv(out / "fig_s5_landau.csv")}
    assert set(landau) == {"analytic", "numeric"}
    cli = json.loads(slidesim("coercive", "--model", "bn-ilp", "--json", cwd=tmp_path).stdout)
    for criterion, row in landau.items():
        expected = cli[criterion]["minimum"]
        assert float(row["E_t_c_VA"]) == pytest.approx(expected["e_total"], rel=1e-6)
        assert float(row["reduction_pct"]) == pytest.approx(expected["reduction_pct"], rel=1e-6)
        assert float(row["dip_angle_deg"]) == pytest.approx(expected["dip_angle_deg"], rel=1e-6)
    with open(out / "fig_s5.json") as handle:
        report = json.load(handle)
    assert len(report["conditions"]) == 2 and report["paper"]["dip_angle_deg"] == 24
    assert report["probes_run"] == sum(int(c["probes"]) for c in conditions.values())
    assert report["probe_wall_min"] > 0
    assert (out / "fig_s5_bn-ilp.png").stat().st_size > 0

    # the combined figures: this summary next to the committed ones of the other experiments
    results = tmp_path / "results"
    (results / "fig_s5").mkdir(parents=True)
    os.symlink(out, results / "fig_s5" / "bn_ilp")
    for experiment in ("curie_ladder", "fig4a", "fig_s4"):
        os.symlink(os.path.join(ROOT, "validation", "results", experiment), results / experiment)
    figures = load_script("reproduction_figures")
    figures.main(["--results", str(results), "--out", str(tmp_path / "images")])
    for name in ("curie", "fig4a", "fig_s4", "fig_s5"):
        assert (tmp_path / "images" / f"reproduction_{name}.png").stat().st_size > 0
    text = figures.tables(str(results))
    assert "| 100 | 1.99 | 2.42 [2.35, 2.52] | 299, 182, 59 |" in text  # committed bn-dft runs
    (s5_row,) = [line for line in text.splitlines() if line.startswith("| bn-ilp | 300 |")]
    (minimum,) = report["minima"]
    assert f"| {minimum['found']} of 2 |" in s5_row and f"{minimum['E_t_c_VA']:.3f}" in s5_row
    assert s5_row.endswith(f"| {figures._band(minimum)} |")
    assert figures._band(minimum).endswith(f"({minimum['near_minimum']} condition"
                                           + ("s)" if minimum["near_minimum"] > 1 else ")"))


def test_fig_s5_summary_minimum_per_temperature_and_seed(tmp_path):
    """The summary's arithmetic on a hand-made coercive.csv (no MD): per T and seed the least
    total field, its reduction and dip angle; NaN without a vertical field on the grid."""
    e_perp_c = {("0", "100", "1"): 1.5, ("0.3", "100", "1"): 0.5, ("0.6", "100", "1"): 0.45,
                ("0", "100", "2"): 1.4, ("0.3", "100", "2"): 0.7, ("0.6", "100", "2"): 0.2,
                ("0", "0.1", "1"): math.nan, ("0.3", "0.1", "1"): 2.0,
                ("0.6", "0.1", "1"): 1.0,
                ("0.2", "100", "3"): 0.8, ("0.4", "100", "3"): 0.5, ("0.6", "100", "3"): 0.3}
    sweep = tmp_path / "search"
    sweep.mkdir()
    with open(sweep / "coercive.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["E_par", "T", "seed", "e_perp_c_VA", "e_total_VA", "dip_angle_deg",
                         "theta_deg", "switch_time_ps", "probes", "status", "error"])
        for (e_par, temperature, seed), field in e_perp_c.items():
            writer.writerow([e_par, temperature, seed, field, math.hypot(float(e_par), field),
                             0.0, 60.0, 1.0, 6, "no switch" if math.isnan(field) else "found",
                             ""])
    load_script("fig_s5_summary").main([str(sweep), "--model", "bn-dft", "--no-landau"])
    rows = {(r["T_K"], r["seed"]): r for r in read_csv(sweep / "fig_s5.csv")}
    assert sorted(rows) == [("0.1", "1"), ("100.0", "1"), ("100.0", "2"), ("100.0", "3")]
    first, second, cold = rows[("100.0", "1")], rows[("100.0", "2")], rows[("0.1", "1")]
    assert float(first["E_par_VA"]) == 0.3 and first["at_grid_edge"] == "False"
    assert float(first["reduction_pct"]) == pytest.approx(100 * (1 - math.hypot(0.3, 0.5) / 1.5))
    assert float(first["dip_angle_deg"]) == pytest.approx(math.degrees(math.atan2(0.5, 0.3)))
    assert float(second["E_par_VA"]) == 0.6 and second["at_grid_edge"] == "True"
    assert float(second["E_t_c_VA"]) == pytest.approx(math.hypot(0.6, 0.2))
    assert cold["model"] == "bn-dft" and cold["no_switch"] == "1" and cold["found"] == "2"
    assert math.isnan(float(cold["reduction_pct"]))
    assert float(cold["E_t_c_VA"]) == pytest.approx(math.hypot(0.6, 1.0))
    assert read_csv(sweep / "fig_s5_landau.csv") == []
    assert (sweep / "fig_s5_bn-dft.png").exists()
    # the near-minimal band: 0.6, 0.3 V/A (total 0.671) is within a 0.05 V/A grid step of the
    # minimum at 0.4, 0.5 V/A (0.640); 0.2, 0.8 V/A (0.825) is not
    flat = rows[("100.0", "3")]
    assert float(flat["E_par_VA"]) == 0.4 and flat["near_minimum"] == "2"
    assert float(flat["near_dip_low_deg"]) == pytest.approx(math.degrees(math.atan2(0.3, 0.6)))
    assert float(flat["near_dip_high_deg"]) == pytest.approx(math.degrees(math.atan2(0.5, 0.4)))
    assert first["near_minimum"] == "1"
    assert float(first["near_dip_low_deg"]) == float(first["dip_angle_deg"])
    script = load_script("fig_s5_summary")
    narrow = script.minima(script.conditions(read_csv(sweep / "coercive.csv"), "bn-dft"),
                           band=0.01)
    (flat,) = [m for m in narrow if m["seed"] == "3"]
    assert flat["near_minimum"] == 1 and flat["near_dip_high_deg"] == flat["dip_angle_deg"]


def test_fig_s4_summary_directions_and_trend():
    """Sliding directions snap to the nearest of 60/180/300 deg across 0/360; the comparison
    with the paper flags a slide off 60 deg inside (0, 60] and E_perp,c rising towards 60."""
    script = load_script("fig_s4_summary")
    assert [script.nearest_direction(t) for t in (10, 119, 121, 240.5, 355, -50, 420)] == \
        [60, 60, 180, 300, 300, 300, 60]

    def run(angle, field, theta):
        return {"model": "m", "angle_deg": angle, "seed": "1", "replica": "0",
                "E_perp_c_VA": field, "theta_deg": theta,
                "run_dir": f"{angle}/{field}", "seconds": "90"}

    runs = [run(0, 2.4, 61), run(0, 2.5, 298), run(30, 2.2, 59), run(60, 2.0, 62),
            run(60, math.nan, math.nan)]
    table = script.table(runs)
    assert [(r["angle_deg"], r["runs"], r["switched"]) for r in table] == \
        [(0, 2, 2), (30, 1, 1), (60, 2, 1)]
    assert (table[0]["along_60"], table[0]["along_300"]) == (1, 1)
    assert table[0]["E_perp_c_min_VA"] == 2.4 and table[0]["E_perp_c_max_VA"] == 2.5
    assert [r["wall_min"] for r in table] == [3.0, 1.5, 3.0]
    verdict = script.comparison(table)["m"]
    assert verdict["all_along_60_in_(0,60]"] is True
    assert verdict["directions_at_0"] == {60: 1, 180: 0, 300: 1}
    assert verdict["E_perp_c_never_rises_towards_60"] is True
    runs[2] = run(30, 2.6, 299)
    verdict = script.comparison(script.table(runs))["m"]
    assert verdict["all_along_60_in_(0,60]"] is False
    assert verdict["E_perp_c_never_rises_towards_60"] is False


def test_fig4a_sweep_and_summary(tmp_path):
    deck = shrink("sweep_fig4a.in", [("cells 15 15", "cells 3 3"),
                                     ("duration 12 ps", "duration 0.3 ps"),
                                     ("duration 150 ps", "duration 3 ps"),
                                     ("field_perp_rate -0.02", "field_perp_rate -2")],
                  tmp_path / "f4a.in")
    sweep = tmp_path / "f4a"
    slidesim("sweep", deck, "--set", "E_par=0,0.2", "--set", "T=300", "--workers", "1",
             "--out", str(sweep), "--no-progress", cwd=tmp_path)
    summary = load_script("fig4a_summary")
    summary.main([str(sweep)])
    rows = read_csv(sweep / "fig4a.csv")
    assert [(r["model"], float(r["E_par_VA"]), float(r["T_K"])) for r in rows] == \
        [("bn-dft", 0.0, 300.0), ("bn-dft", 0.2, 300.0)]
    switches = read_csv(sweep / "summary.csv")
    for row in rows:
        runs = [r for r in switches if float(r["E_par"]) == float(row["E_par_VA"])
                and r["switched"] == "True"]
        assert int(row["switched"]) == len(runs)
        if runs:  # the mean is the events' own field
            fields = [-float(r["switch_field_z_VA"]) for r in runs]
            assert float(row["E_perp_c_mean_VA"]) == pytest.approx(sum(fields) / len(fields))
    assert (sweep / "fig4a.png").exists()


def test_fig4a_summary_keeps_switches_before_the_ramp_apart():
    """A run that switched to AB by thermal motion before the ramp has no E_perp,c: it is
    counted under before_ramp, not as a zero field in the mean."""
    script = load_script("fig4a_summary")

    def row(seed, field, stage):
        return {"status": "done", "model": "m", "E_par": "0", "T": "500", "seed": str(seed),
                "switched": "True", "switch_field_z_VA": str(-field), "switch_theta_deg": "60",
                "switch_stage": stage, "run_dir": f"seed={seed}", "seconds": "120"}
    rows = [row(1, 1.5, "ramp"), row(2, 0.0, "equilibrate"), row(3, 1.7, "ramp"),
            {"status": "done", "model": "m", "E_par": "0", "T": "500", "seed": "4",
             "switched": "False", "switch_field_z_VA": "", "switch_theta_deg": "",
             "switch_stage": "", "run_dir": "seed=4", "seconds": "600"}]
    (out,) = script.table(rows)
    assert out["runs"] == 4 and out["switched"] == 2 and out["before_ramp"] == 1
    assert out["wall_min"] == pytest.approx(16.0)
    assert out["E_perp_c_mean_VA"] == pytest.approx(1.6)
    assert out["E_perp_c_min_VA"] == pytest.approx(1.5)


def test_curie_table_per_seed_and_over_seeds(tmp_path):
    """The Fig. 2 table on hand-made per-seed summaries (no MD): one row per seed with the
    state it froze into, then mean [min, max] of the per-seed estimates."""
    for seed, (heating, cooling, im_psi) in {1: (1700.0, 1500.0, 0.86),
                                              2: (1650.0, 1610.0, -0.85)}.items():
        folder = tmp_path / "curie_ladder" / f"bn_dft_seed{seed}"
        folder.mkdir(parents=True)
        estimate = (heating + cooling) / 2
        summary = {"heating_K": heating, "cooling_K": cooling, "estimate_K": estimate,
                   "uncertainty_K": math.hypot((heating - cooling) / 2, 25.0),
                   "first_switch_heating_K": heating, "crossings": 3 * seed}
        with open(folder / "curie_summary.json", "w") as handle:
            json.dump({"seeds": [summary]}, handle)
        with open(folder / "traj.stages.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["stage", "branch", "psi[a*-b*]_im_mean"])
            writer.writerow([0, "heating", 0.866])
            writer.writerow([1, "cooling", im_psi])
    lines = load_script("reproduction_figures").curie_table(str(tmp_path))
    assert "| bn-dft | 1 | 1700 | 1500 | 1600 +- 103 | 1700 | 3 | +0.860 (BA) |" in lines
    assert "| bn-dft | 2 | 1650 | 1610 | 1630 +- 32 | 1650 | 6 | -0.850 (AB) |" in lines
    assert "| bn-dft | 2 | 1615 [1600, 1630] | ~1500 |" in lines
    assert not any(line.startswith("| bn-ilp") for line in lines)
