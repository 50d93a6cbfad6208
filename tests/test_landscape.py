"""`slidesim landscape`: the hexagon of sliding vectors and the BA -> SP -> AB path."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.commands.landscape import landscape_command
from slidesim.landscape import Landscape, hexagon_sliding_vectors
from slidesim.structures import primitive_cell, sliding_vector_of


def read_csv(path):
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}


def test_hexagon_grid_is_centred_on_ba_and_has_aa_and_ab_corners():
    a = 2.5
    t = hexagon_sliding_vectors(a, 2)
    # grid step a/n, n = 6: the hexagon has one cell's area (n^2 points), and its edges, whose
    # periodic images on the opposite edges are kept too, add n + 1
    n = 6
    assert len(t) == n * n + n + 1
    assert len(np.unique(np.round(t, 9), axis=0)) == len(t)
    centre = sliding_vector_of("BA", a)
    assert np.abs(t.mean(axis=0) - centre).max() < 1e-12
    radii = np.linalg.norm(t - centre, axis=1)
    assert radii.max() == pytest.approx(a / np.sqrt(3))
    prim = primitive_cell(a)
    for name in ("AA", "AB"):
        target = sliding_vector_of(name, a)
        # equal up to a lattice vector
        shifts = [i * prim[0] + j * prim[1] for i in (-1, 0, 1) for j in (-1, 0, 1)]
        assert min(np.linalg.norm(t - target - s, axis=1).min() for s in shifts) < 1e-12
    with pytest.raises(ValueError, match="positive integer"):
        hexagon_sliding_vectors(a, 0)


def test_landscape_command_writes_symmetric_energy_and_polarization(tmp_path):
    prefix = str(tmp_path / "bn")
    result = CliRunner().invoke(landscape_command, ["--divisions", "1", "--path-points", "5",
                                                    "--output", prefix])
    assert result.exit_code == 0, result.output
    for suffix in ("_hexagon.csv", "_path.csv", "_hexagon.png", "_path.png"):
        assert (tmp_path / f"bn{suffix}").stat().st_size > 0
    path = read_csv(prefix + "_path.csv")
    # BA and AB: equal energy and distance, opposite P_perp, no P_par; SP: P_par only
    energy = path["energy_meV_per_cell"]
    p_perp, p_par = path["P_perp_pC_per_m"], path["P_par_pC_per_m"]
    assert energy[0] == pytest.approx(energy[-1], abs=1e-6)
    np.testing.assert_allclose(p_perp, -p_perp[::-1], atol=1e-5)
    np.testing.assert_allclose(p_par, p_par[::-1], atol=1e-5)
    assert p_perp[0] > 1.0 and abs(p_par[0]) < 1e-5
    assert p_par[2] > 1.0 and abs(p_perp[2]) < 1e-5
    assert energy[2] == pytest.approx(energy.max()) and energy[2] > 1.0
    hexagon = read_csv(prefix + "_hexagon.csv")
    centre = np.argmin(np.hypot(hexagon["t_x_A"] - hexagon["t_x_A"].mean(),
                                hexagon["t_y_A"] - hexagon["t_y_A"].mean()))
    # the centre is BA: the energy minimum, polarized along +z, as the path's first point
    assert hexagon["energy_meV_per_cell"][centre] == pytest.approx(0.0, abs=1e-6)
    assert hexagon["P_z_pC_per_m"][centre] == pytest.approx(p_perp[0], abs=1e-5)
    # the six corners alternate AA (highest energy, P = 0) and AB (P_z = -P_z(BA))
    corners = np.argsort(np.hypot(hexagon["t_x_A"] - hexagon["t_x_A"][centre],
                                  hexagon["t_y_A"] - hexagon["t_y_A"][centre]))[-6:]
    corner_pz = np.sort(hexagon["P_z_pC_per_m"][corners])
    np.testing.assert_allclose(corner_pz[:3], -p_perp[0], atol=1e-5)
    np.testing.assert_allclose(corner_pz[3:], 0.0, atol=1e-5)
    assert hexagon["energy_meV_per_cell"].max() == pytest.approx(
        hexagon["energy_meV_per_cell"][corners].max())
    assert "t from SP" in result.output


def test_landscape_without_a_dipole_source_reports_nan_polarization():
    scan = Landscape(dipole=None)
    point = scan.point(sliding_vector_of("SP", scan.lattice))
    assert np.isnan(point.polarization).all() and 3.0 < point.distance < 3.6


def test_landscape_command_refuses_bad_input():
    result = CliRunner().invoke(landscape_command, ["--material", "XY", "--no-plot"])
    assert result.exit_code != 0 and "unknown material" in result.output
    result = CliRunner().invoke(landscape_command, ["--divisions", "0"])
    assert result.exit_code != 0 and "divisions" in result.output
