"""Fields and switching on TMD bilayers: XM/MX names in switching events and analysis, the MoS2
landscape with P_par reversed, and the Landau model fitted to a model's own landscape."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.analysis.lattice import HexLattice, polar_stacking_names
from slidesim.analysis.switching import SwitchingDetector, detect_crossings
from slidesim.commands.coercive import coercive
from slidesim.commands.landscape import landscape_command
from slidesim.geometry import sliding_vector
from slidesim.landscape import Landscape
from slidesim.structures import material_of_model

A_MOS2 = 3.1152


def slide(lattice, start, end, frames=41, wobble=0.0):
    """Sliding vectors (frames, 2) on the straight segment between two sites [A]."""
    w = np.linspace(0.0, 1.0, frames)[:, None]
    t = (1 - w) * lattice.site(start) + w * (lattice.site(end))
    t[:, 1] += wobble * np.sin(np.linspace(0, 9, frames))
    return t


def test_polar_stackings_are_named_by_material():
    assert polar_stacking_names(("Mo", "S")) == ("XM", "MX")
    assert polar_stacking_names(("W", "Se")) == ("XM", "MX")
    assert polar_stacking_names(("B", "N")) == ("BA", "AB")
    lattice = HexLattice.from_constant(A_MOS2).named_for(("Mo", "S"))
    np.testing.assert_array_equal(lattice.site("XM"), lattice.site("BA"))
    np.testing.assert_array_equal(lattice.site("MX"), lattice.site("AB"))
    np.testing.assert_allclose(lattice.site("XM"), sliding_vector("XM", A_MOS2)[:2])


@pytest.mark.parametrize("elements, names", [(("Mo", "S"), ("XM", "MX")),
                                             (("B", "N"), ("BA", "AB"))])
def test_crossings_carry_the_materials_stacking_names(elements, names):
    lattice = HexLattice.from_constant(A_MOS2).named_for(elements)
    # MX (AB) -> XM (BA) along the straight path: 240 deg
    t = slide(lattice, "AB", "BA")
    times = np.linspace(0.0, 4.0, len(t))
    crossings = detect_crossings(times, t, lattice)
    assert [(c.origin, c.destination) for c in crossings] == [(names[1], names[0])]
    assert crossings[0].theta_deg == pytest.approx(240.0, abs=1e-6)
    detector = SwitchingDetector(lattice)
    online = [c for c in (detector.update(s, v) for s, v in zip(times, t)) if c is not None]
    assert [(c.origin, c.destination) for c in online] == [(names[1], names[0])]


def test_a_model_knows_its_material():
    assert material_of_model("mos2-ilp") == "MoS2"
    assert material_of_model("bn-dft") == "BN"
    with pytest.raises(ValueError, match="no built-in material"):
        material_of_model("tether")


def test_mos2_landscape_reverses_p_par_against_h_bn():
    mos2, bn = Landscape(None, "mos2-ilp"), Landscape("BN", "bn-dft")
    assert mos2.material == "MoS2" and mos2.names == ("AA", "XM", "SP", "MX")
    results = {}
    for name, scan in (("MoS2", mos2), ("BN", bn)):
        path = scan.path(3)
        t, p_par, p_perp = scan.path_coordinates(path)
        assert t[0] < 0 < t[2] and p_perp[0] > 0 > p_perp[2]
        assert path[1].energy > path[0].energy
        results[name] = p_par[1]
    assert results["MoS2"] < -1.5 and results["BN"] > 1.5


def test_landscape_command_defaults_to_the_models_material(tmp_path):
    prefix = str(tmp_path / "mos2")
    result = CliRunner().invoke(landscape_command, ["--model", "mos2-ilp", "--divisions", "1",
                                                    "--path-points", "3", "--output", prefix,
                                                    "--no-plot"])
    assert result.exit_code == 0, result.output
    assert "XM -> SP -> MX" in result.output


def test_coercive_fits_the_models_own_landscape_with_the_in_plane_field_reversed():
    runner = CliRunner()
    out = {}
    for model in ("mos2-ilp", "bn-dft"):
        result = runner.invoke(coercive, ["--model", model, "--points", "7", "--e-par-max", "3",
                                          "--json"])
        assert result.exit_code == 0, result.output
        out[model] = json.loads(result.output)
    mos2, bn = out["mos2-ilp"], out["bn-dft"]
    assert mos2["path"] == ["XM", "MX"] and bn["path"] == ["BA", "AB"]
    assert mos2["in_plane_angle_deg"] == 240.0 and bn["in_plane_angle_deg"] == 60.0
    for result in (mos2, bn):
        assert min(result["fit_r_squared"].values()) > 0.99
        # along the fitted direction the in-plane field lowers the coercive field
        e_perp = result["analytic"]["e_perp_c_V_per_A"]
        assert e_perp[1] < e_perp[0] and result["analytic"]["minimum"]["reduction_pct"] > 30
    # MoS2: smaller P_perp and a higher barrier than h-BN, so a larger vertical field
    assert mos2["vertical_coercive_field_V_per_A"] > 2 * bn["vertical_coercive_field_V_per_A"]


def test_coercive_refuses_mixed_sources(tmp_path):
    runner = CliRunner()
    result = runner.invoke(coercive, ["--material", "MoS2"])
    assert result.exit_code != 0 and "--material only applies with --model" in result.output
    result = runner.invoke(coercive, ["--model", "mos2-ilp", "--from-csv", "x.csv"])
    assert result.exit_code != 0 and "not both" in result.output
    result = runner.invoke(coercive, ["--model", "tether"])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_analyze_names_a_mos2_trajectory_xm_mx(tmp_path):
    from slidesim.tmd import lammps_potential

    try:
        lammps_potential("MoS2.ILP")
    except FileNotFoundError as error:
        pytest.skip(str(error))
    from slidesim.analysis.analyze import analyze_trajectory
    from slidesim.analysis.report import format_table
    from slidesim.deck import parse_deck
    from slidesim.simulation import Simulation

    text = f"""system bilayer material MoS2 cells 3 3 stacking MX
model mos2-ilp
timestep 1 fs
integrator nve
seed 3
velocities 50 K
output {tmp_path / 'out'}
thermo every 10
trajectory every 5
stage run temperature 50 K steps 30 field_perp 0.5 V/A
"""
    simulation = Simulation(parse_deck(text, str(tmp_path / "m.in")), progress=False)
    assert simulation.lattice.names == ("XM", "MX")
    simulation.run()
    analysis = analyze_trajectory(tmp_path / "out" / "traj.nc")
    assert analysis.series.lattice.names == ("XM", "MX")
    assert "XM<->MX crossing(s)" in format_table(analysis)
    # the registry stays MX: Im psi = -sqrt(3)/2 there, as in h-BN's AB
    assert np.all(analysis.psi["a*-b*"].imag < -0.7)


@pytest.mark.parametrize("stacking", ["XM", "SP", "MX", 0.41])
def test_the_sliding_vector_of_a_mos2_bilayer_is_its_stacking(stacking):
    """The registry (and the lattice inferred from one layer, whose S pairs sit over each other
    in the plane) gives MoS2's own sliding vector, as for h-BN."""
    from slidesim.analysis.lattice import infer_lattice
    from slidesim.analysis.sliding import registry_sliding_vector
    from slidesim.structures import bilayer

    state = bilayer("MoS2", (4, 3), stacking)
    x = state.positions[0] + np.random.default_rng(2).normal(0.0, 0.03, state.positions[0].shape)
    lattice = infer_lattice(x, state.cell, state.species, np.flatnonzero(state.layer == 0))
    assert lattice.supercell == (4, 3)
    assert lattice.constant == pytest.approx(A_MOS2, rel=1e-9)
    t = registry_sliding_vector(x, state.cell, state.species, state.layer)
    np.testing.assert_allclose(t[:2], sliding_vector(stacking, A_MOS2)[:2], atol=0.05)
