"""Landau model of Eq. 3 (slidesim.fields.landau), its fit to a landscape, `slidesim coercive`."""

import csv
import json
import os
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.commands.coercive import coercive
from slidesim.fields.landau import CRITERIA, LandauPath, minimum_total_field
from slidesim.fields.landau_fit import LANDSCAPE_COLUMNS, fit_landau_path, fit_landscape_csv
from slidesim.units import dipole_per_area_to_pC_per_m


@pytest.fixture(scope="module")
def paper(reference_dir):
    with open(os.path.join(reference_dir, "paper_values.toml"), "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def path():
    return LandauPath()


# -- the model against the paper ------------------------------------------------------------

@pytest.mark.reference
def test_paper_vertical_coercive_field(path, paper):
    expected = paper["coercive_analytic"]["E0_perp_c_V_per_A"]
    assert path.vertical_coercive_field() == pytest.approx(expected, abs=0.005)
    for criterion in CRITERIA:
        field, t_star = path.coercive_field(0.0, criterion)
        assert field == pytest.approx(path.vertical_coercive_field(), rel=1e-12)
        assert t_star == pytest.approx(path.t_ba_A)  # at e_par = 0 the BA minimum itself folds


@pytest.mark.reference
def test_paper_polarizations_from_the_fit(path, paper):
    """The fitted dipoles give back the DFT polarizations (cell area of the DFT lattice)."""
    a = paper["dft"]["lattice_a_A"]
    area = np.sqrt(3) / 2 * a**2
    p_par_sp = dipole_per_area_to_pC_per_m(path.dipole_par_eA(0.0), area)
    assert p_par_sp == pytest.approx(paper["dft"]["P_par_SP_pC_per_m"], rel=0.01)
    # the cubic p_perp fit sits 1.7 % below the DFT value at BA (2.042 vs 2.078 pC/m)
    p_perp_ba = dipole_per_area_to_pC_per_m(path.dipole_perp_eA(path.t_ba_A), area)
    assert p_perp_ba == pytest.approx(-paper["dft"]["P_perp_AB_pC_per_m"], rel=0.02)
    assert path.dipole_par_eA(path.t_ba_A) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.reference
def test_paper_minimum_total_field_reductions(path, paper):
    analytic = minimum_total_field(path, "analytic")
    numeric = minimum_total_field(path, "numeric")
    assert analytic.reduction_pct > paper["coercive_analytic"]["min_Etc_reduction_analytic_pct_gt"]
    assert numeric.reduction_pct > paper["coercive_analytic"]["min_Etc_reduction_numeric_pct_gt"]
    for minimum in (analytic, numeric):
        assert minimum.vertical_field == pytest.approx(path.vertical_coercive_field(), rel=1e-12)
        assert minimum.e_total == pytest.approx(np.hypot(minimum.e_par, minimum.e_perp))
        assert minimum.dip_angle_deg == pytest.approx(
            np.degrees(np.arctan2(minimum.e_perp, minimum.e_par)))
        # it is a minimum of the total field along the curve
        for step in (-0.01, 0.01):
            e_par = minimum.e_par + step
            neighbour = np.hypot(e_par, path.coercive_field(e_par, minimum.criterion)[0])
            assert neighbour > minimum.e_total


# -- the two criteria, checked by brute force on eps(t) itself -------------------------------

def test_field_along_minus_z_favours_ab(path):
    assert path.dipole_perp_eA(path.t_ba_A) > 0 > path.dipole_perp_eA(path.t_ab_A)
    assert path.dipole_par_eA(0.0) > 0
    assert path.energy_meV(path.t_ab_A, 0.0, 1.0) < path.energy_meV(path.t_ba_A, 0.0, 1.0)
    assert path.energy_meV(0.0, 1.0, 0.0) < path.energy_meV(0.0, 0.0, 0.0)


@pytest.mark.parametrize("e_par", [0.0, 0.05, 0.3, 0.8, 1.4])
def test_analytic_criterion_matches_eq_s6(path, e_par):
    assert path.coercive_field(e_par, "analytic")[0] == pytest.approx(
        float(path.coercive_field_eq_s6(e_par)), rel=1e-9)


@pytest.mark.parametrize("source", ["solver", "eq_s6"])
def test_eq4_small_field_limit(path, source):
    # (1 - E_perp,c / E0) / sqrt(e_par) -> beta; the next order is O(sqrt(e_par)) relative
    e_par = 1e-6
    if source == "solver":
        field = path.coercive_field(e_par, "analytic")[0]
    else:
        field = float(path.coercive_field_eq_s6(e_par))
    beta = (1 - field / path.vertical_coercive_field()) / np.sqrt(e_par)
    assert beta == pytest.approx(path.eq4_beta(), rel=1e-2)


def _has_local_minimum_ba_side(path, e_par, e_perp):
    t = np.linspace(path.t_ba_A, 0.0, 20001)
    slope = np.gradient(path.energy_meV(t, e_par, e_perp), t)
    return bool(np.any(slope[1:-1] > 0))


def _barrier_above_ba_meV(path, e_par, e_perp):
    t = np.linspace(path.t_ba_A, path.t_ab_A, 20001)[1:]
    return float(np.max(path.energy_meV(t, e_par, e_perp))
                 - path.energy_meV(path.t_ba_A, e_par, e_perp))


@pytest.mark.parametrize("e_par", [0.1, 0.4, 0.8])
def test_analytic_criterion_is_where_the_ba_minimum_disappears(path, e_par):
    field = path.coercive_field(e_par, "analytic")[0]
    assert _has_local_minimum_ba_side(path, e_par, 0.99 * field)
    assert not _has_local_minimum_ba_side(path, e_par, 1.01 * field)


@pytest.mark.parametrize("e_par", [0.1, 0.4, 0.8])
def test_numeric_criterion_is_where_no_barrier_exceeds_ba(path, e_par):
    field = path.coercive_field(e_par, "numeric")[0]
    assert _barrier_above_ba_meV(path, e_par, 0.999 * field) > 0
    assert _barrier_above_ba_meV(path, e_par, 1.001 * field) < 0
    assert field < path.coercive_field(e_par, "analytic")[0]


def test_large_in_plane_field_needs_no_vertical_field(path):
    # 2 e4 t_BA^2 + p2 e_par < 0: the SP is no longer a maximum at e_perp = 0
    e_par = 1.1 * 2 * path.e4_meV_per_A4 / 1000 * path.t_ba_A**2 / -path.p2_e_per_A
    assert path.coercive_curve([e_par], "analytic")[0] == 0.0
    assert path.coercive_curve([e_par], "numeric")[0] == 0.0


def test_bad_input_is_refused(path):
    with pytest.raises(ValueError, match="must be >= 0"):
        path.coercive_field(-0.1)
    with pytest.raises(ValueError, match="unknown criterion"):
        path.coercive_field(0.1, "energy")
    with pytest.raises(ValueError, match="larger e_par_max"):
        minimum_total_field(path, "analytic", e_par_max=0.3)
    with pytest.raises(ValueError, match="negative t"):
        LandauPath(t_ba_A=0.725)


# -- fitting a landscape ---------------------------------------------------------------------

def _landscape(path, points=41, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(path.t_ba_A, path.t_ab_A, points)
    columns = (t, path.zero_field_energy_meV(t), path.dipole_par_eA(t), path.dipole_perp_eA(t))
    scales = (0.0, 0.05, 1e-4, 1e-4)  # meV, e A, e A
    return [c + noise * s * rng.standard_normal(points) for c, s in zip(columns, scales)]


@pytest.mark.parametrize("t_ba_A", [None, LandauPath().t_ba_A])
def test_fit_recovers_the_coefficients(path, t_ba_A):
    fitted, r_squared = fit_landau_path(*_landscape(path, noise=1.0), t_ba_A=t_ba_A)
    assert fitted.t_ba_A == pytest.approx(path.t_ba_A, rel=2e-3)
    assert fitted.e4_meV_per_A4 == pytest.approx(path.e4_meV_per_A4, rel=2e-2)
    assert fitted.e0_meV == pytest.approx(path.e0_meV, abs=0.05)
    assert fitted.p3_e_per_A2 == pytest.approx(path.p3_e_per_A2, rel=2e-2)
    assert fitted.vertical_coercive_field() == pytest.approx(
        path.vertical_coercive_field(), rel=3e-2)
    assert all(value > 0.99 for value in r_squared.values())


def test_fit_is_exact_on_exact_data(path):
    fitted, _ = fit_landau_path(*_landscape(path))
    for name, value in vars(path).items():
        assert getattr(fitted, name) == pytest.approx(value, rel=1e-6), name


def test_fit_refuses_bad_landscapes(path, tmp_path):
    t, energy, p_par, p_perp = _landscape(path)
    with pytest.raises(ValueError, match="both sides of SP"):
        fit_landau_path(t[t < 0], energy[t < 0], p_par[t < 0], p_perp[t < 0])
    with pytest.raises(ValueError, match="at least 6"):
        fit_landau_path(t[:4], energy[:4], p_par[:4], p_perp[:4])
    bad = tmp_path / "bad.csv"
    bad.write_text("t_A,energy_meV\n0,1\n")
    with pytest.raises(ValueError, match="missing column"):
        fit_landscape_csv(bad)


# -- the command -----------------------------------------------------------------------------

def _write_landscape_csv(path, out):
    with open(out, "w", newline="") as handle:
        handle.write("# written by test_landau\n")
        writer = csv.writer(handle)
        writer.writerow(("stacking",) + LANDSCAPE_COLUMNS)
        for row in zip(*_landscape(path)):
            writer.writerow(["-"] + [repr(float(v)) for v in row])


def test_command_table_csv_and_plot(tmp_path):
    table, figure = tmp_path / "coercive.csv", tmp_path / "coercive.png"
    result = CliRunner().invoke(coercive, ["--points", "9", "--csv", str(table),
                                           "--plot", str(figure)])
    assert result.exit_code == 0, result.output
    assert "E0_perp,c = 2.8605 V/A" in result.output
    with open(table) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9
    assert float(rows[0]["e_perp_c_numeric_V_per_A"]) == pytest.approx(2.8605, abs=1e-4)
    assert figure.stat().st_size > 10_000


def test_command_from_csv_reproduces_the_paper_model(tmp_path):
    landscape = tmp_path / "landscape.csv"
    _write_landscape_csv(LandauPath(), landscape)
    runner = CliRunner()
    direct = json.loads(runner.invoke(coercive, ["--points", "11", "--json"]).output)
    result = runner.invoke(coercive, ["--points", "11", "--json", "--from-csv", str(landscape)])
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.output)
    assert fitted["fit_r_squared"]["energy"] == pytest.approx(1.0, abs=1e-9)
    for criterion in CRITERIA:
        assert fitted[criterion]["minimum"]["e_total"] == pytest.approx(
            direct[criterion]["minimum"]["e_total"], rel=1e-6)


def test_command_reports_bad_input(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(coercive, ["--from-csv", str(tmp_path / "none.csv")])
    assert missing.exit_code != 0 and "cannot read landscape CSV" in missing.output
    short = runner.invoke(coercive, ["--e-par-max", "0.2"])
    assert short.exit_code != 0 and "larger e_par_max" in short.output
    assert runner.invoke(coercive, ["--t-ba", "-0.7"]).exit_code != 0
