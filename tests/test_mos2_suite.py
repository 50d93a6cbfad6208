"""The MoS2 DFT validation suite (validation/dft_mos2): its published numbers, `slidesim validate
--model mos2-ilp` end to end (the suite follows the model's material), the TMD stacking names
in suites, and the direction check of P_par at SP."""

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.commands.validate import DEFAULT_SUITE, SUITES, default_suite, validate
from slidesim.fields.dipole import RegistryDipole, load_parameters
from slidesim.catalog import model_entry
from slidesim.validation import SuiteError, evaluate, load_suite

MOS2_SUITE = SUITES["MoS2"]


def write_suite(directory, text):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "suite.toml"), "w") as handle:
        handle.write(text)
    return str(directory)


def checks_by_name(evaluation):
    return {check.name: check for check in evaluation.checks}


def test_mos2_suite_holds_the_published_numbers_with_their_sources():
    suite = load_suite(MOS2_SUITE)
    assert suite.material == "MoS2"
    # Ataca et al. (2011), Table 2: a = 3.220 A for 1H-MoS2, GGA+D
    assert suite.get("lattice")["value_A"] == 3.220
    assert "10.1021/jp205116x" in suite.get("lattice")["source"]
    # the seed paper's Fig. S6: P_par of MoS2 reversed against h-BN's
    assert suite.get("polarization")["P_par_SP_sign"] == -1
    # no published number for these could be read: the suite must not pretend otherwise
    for missing in ("barrier", "distance_AB", "path"):
        assert suite.get(missing) is None
    for key in ("P_perp_AB_pC_per_m", "P_perp_BA_pC_per_m", "P_par_SP_pC_per_m"):
        assert key not in suite.get("polarization")
    with open(os.path.join(MOS2_SUITE, "README.md")) as handle:
        readme = handle.read()
    for reference in ("10.1021/jp205116x", "10.1103/PhysRevB.95.201106", "2501.08194",
                      "146801", "367"):
        assert reference in readme


def test_validate_mos2_ilp_picks_the_mos2_suite_and_reports_the_lattice_gap(tmp_path):
    prefix = str(tmp_path / "report")
    result = CliRunner().invoke(validate, ["--model", "mos2-ilp", "--no-plot",
                                           "--output", prefix])
    assert result.exit_code == 1, result.output
    assert "suite dft_mos2" in result.output
    assert "FAILED: 1 of" in result.output and "lattice constant a" in result.output
    with open(f"{prefix}.json") as handle:
        text = handle.read()
    assert "NaN" not in text  # strict JSON: an info row has reference null
    (evaluation,) = json.loads(text)
    checks = {c["name"]: c for c in evaluation["checks"]}
    lattice = checks["lattice constant a"]
    assert not lattice["passed"] and lattice["model"] == pytest.approx(3.1152, abs=2e-4)
    assert lattice["source"].startswith("Ataca et al.")
    direction = checks["P_par(SP) along the slide from XM (P_perp > 0)"]
    assert direction["passed"] and direction["model"] < 0.0
    # quantities without a published reference are reported, not judged
    for name in ("barrier E(SP) - E(MX)", "interlayer distance MX", "P_perp(XM)", "P_par(SP)"):
        assert checks[name]["kind"] == "info" and checks[name]["reference"] is None
    assert checks["barrier E(SP) - E(MX)"]["model"] == pytest.approx(10.68, abs=0.05)
    assert checks["P_perp(XM)"]["model"] == pytest.approx(0.600, abs=0.005)


def test_the_default_suite_follows_the_material_of_the_model():
    assert default_suite(("bn-dft",)) == DEFAULT_SUITE
    assert default_suite(("bn-ilp", "bn-dft")) == DEFAULT_SUITE
    assert default_suite(("mos2-ilp",)) == MOS2_SUITE
    with pytest.raises(ValueError, match="--suite"):
        default_suite(("tmd-ilp",))
    with pytest.raises(ValueError, match="different materials"):
        default_suite(("bn-dft", "mos2-ilp"))


def test_tmd_ilp_runs_on_the_mos2_suite_given_explicitly(tmp_path):
    result = CliRunner().invoke(validate, ["--model", "tmd-ilp", "--no-plot", "--output",
                                           str(tmp_path / "r")])
    assert result.exit_code == 2 and "--suite" in result.output
    result = CliRunner().invoke(validate, ["--model", "tmd-ilp", "--suite", MOS2_SUITE,
                                           "--no-plot", "--output", str(tmp_path / "r")])
    assert result.exit_code == 1 and "suite dft_mos2" in result.output


def test_a_dipole_with_h_bn_direction_fails_the_direction_check():
    parameters = load_parameters(model_entry("mos2-ilp").dipole)
    reversed_par = {**parameters,
                    "par_amplitudes_e": [-a for a in parameters["par_amplitudes_e"]]}
    suite = load_suite(MOS2_SUITE)
    good = checks_by_name(evaluate(suite, "mos2-ilp"))
    bad = checks_by_name(evaluate(suite, "mos2-ilp",
                                  dipole=RegistryDipole(("Mo", "S"), reversed_par)))
    name = "P_par(SP) along the slide from XM (P_perp > 0)"
    assert good[name].passed and not bad[name].passed
    assert bad[name].model == pytest.approx(-good[name].model)


def test_suites_may_name_the_polar_stackings_xm_and_mx(tmp_path):
    directory = write_suite(tmp_path / "s", '[suite]\nname = "t"\nmaterial = "MoS2"\n\n'
                            '[distance_XM]\nvalue_A = 6.2\ntolerance_A = 0.02\n\n'
                            '[polarization]\nP_perp_XM_pC_per_m = 0.6\n'
                            'P_perp_MX_pC_per_m = -0.6\ntolerance_pC_per_m = 0.05\n')
    suite = load_suite(directory)
    assert suite.get("distance_AB")["value_A"] == 6.2
    assert suite.get("polarization")["P_perp_BA_pC_per_m"] == 0.6
    assert suite.get("polarization")["P_perp_AB_pC_per_m"] == -0.6
    checks = checks_by_name(evaluate(suite, "mos2-ilp"))
    # mos2-ilp's XM distance is 6.292 A: 0.09 A off the made-up 6.2, out of tolerance
    assert not checks["interlayer distance MX"].passed
    assert checks["P_perp(XM)"].passed and checks["P_perp(MX)"].passed
    assert np.isclose(checks["P_perp(XM)"].model, -checks["P_perp(MX)"].model)


@pytest.mark.parametrize("text, message", [
    ('[distance_XM]\nvalue_A = 6.2\ntolerance_A = 0.02\n'
     '[distance_AB]\nvalue_A = 6.2\ntolerance_A = 0.02\n', "repeats \\[distance_AB\\]"),
    ('[polarization]\nP_perp_XM_pC_per_m = 0.6\nP_perp_BA_pC_per_m = 0.6\n'
     'tolerance_pC_per_m = 0.05\n', "repeats P_perp_BA_pC_per_m"),
    ('[polarization]\nP_par_SP_sign = 2\n', "must be 1 or -1"),
    ('[polarization]\nP_par_SP_pC_per_m = 2.0\n', "no 'tolerance_pC_per_m'"),
    ('[polarization]\nsource = "x"\n', "has no value"),
    ('[lattice]\nvalue_A = 3.2\ntolerance_A = 0.03\nsource = 3\n', "must be a string"),
])
def test_bad_tmd_suites_give_clear_errors(tmp_path, text, message):
    directory = write_suite(tmp_path / "s", '[suite]\nname = "t"\nmaterial = "MoS2"\n' + text)
    with pytest.raises(SuiteError, match=message):
        load_suite(directory)
