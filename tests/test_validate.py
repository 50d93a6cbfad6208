"""DFT validation suite: the suite format and its errors, the shipped seed-paper suite, and
`slidesim validate` on bn-dft (passes), bn-ilp (fails honestly) and a broken parameter file."""

import os
import shutil
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.models import PARAMS_DIR, build_model
from slidesim.units import dipole_per_area_to_pC_per_m
from slidesim.validation import SuiteError, evaluate, load_suite
from slidesim.commands.validate import DEFAULT_SUITE, validate

MINIMAL = '[suite]\nname = "t"\n\n[barrier]\nvalue_meV = 7.44\ntolerance_meV = 0.1\n'


def write_suite(directory, text, files=None):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "suite.toml"), "w") as handle:
        handle.write(text)
    for name, content in (files or {}).items():
        with open(os.path.join(directory, name), "w") as handle:
            handle.write(content)
    return str(directory)


def test_seed_suite_holds_the_paper_values(reference_dir):
    with open(os.path.join(reference_dir, "paper_values.toml"), "rb") as handle:
        paper = tomllib.load(handle)
    suite = load_suite(DEFAULT_SUITE)
    dft, fit = paper["dft"], paper["path_fit"]
    assert suite.get("lattice")["value_A"] == dft["lattice_a_A"]
    assert suite.get("distance_AB")["value_A"] == dft["interlayer_AB_A"]
    assert suite.get("barrier")["value_meV"] == dft["barrier_meV_per_cell"]
    assert suite.get("distance_increase")["max_A"] == dft["interlayer_increase_max_A"]
    assert suite.get("polarization")["P_perp_AB_pC_per_m"] == dft["P_perp_AB_pC_per_m"]
    assert suite.get("polarization")["P_par_SP_pC_per_m"] == dft["P_par_SP_pC_per_m"]
    # the path table is Eq. 3 with the paper's coefficients (6 digits written)
    t, t_ba = suite.path.t_from_sp, fit["t_BA_A"]
    eps = fit["e4_meV_per_A4"] * (t**4 - 2 * t_ba**2 * t**2)
    assert np.allclose(suite.path.energy_meV, eps - eps[0], atol=2e-6)
    to_pc = dipole_per_area_to_pC_per_m(1.0, np.sqrt(3) / 2 * dft["lattice_a_A"] ** 2)
    p_perp = fit["p3_perp_e_per_A2"] * (t**3 - 3 * t_ba**2 * t) * to_pc
    assert np.allclose(suite.path.p_perp, p_perp, atol=2e-6)
    assert suite.path.fractions()[[0, -1]] == pytest.approx([1 / 3, 2 / 3], abs=1e-4)


def test_bn_dft_passes_the_seed_suite(tmp_path):
    result = CliRunner().invoke(validate, ["--model", "bn-dft", "--output",
                                           str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output
    for ext in ("md", "json", "png"):
        assert (tmp_path / f"report.{ext}").stat().st_size > 0


def test_bn_dft_numbers_meet_the_issue_targets():
    evaluation = evaluate(load_suite(DEFAULT_SUITE), "bn-dft")
    values = {c.name: c.model for c in evaluation.checks}
    assert values["barrier E(SP) - E(AB)"] == pytest.approx(7.44, abs=0.1)
    assert values["interlayer distance AB"] == pytest.approx(3.074, abs=0.02)
    assert values["lattice constant a"] == pytest.approx(2.511, abs=1e-4)
    assert values["P_perp(AB)"] == pytest.approx(-2.078, abs=0.05)
    assert values["P_par(SP)"] == pytest.approx(2.091, abs=0.05)
    assert values["AA is the highest stacking"] > values["barrier E(SP) - E(AB)"]


def test_bn_ilp_reports_the_barrier_gap_and_fails(tmp_path):
    result = CliRunner().invoke(validate, ["--model", "bn-ilp", "--no-plot", "--output",
                                           str(tmp_path / "report")])
    assert result.exit_code == 1, result.output
    barrier = [line for line in result.output.splitlines() if line.startswith("barrier")][0]
    assert barrier.split()[-1] == "FAIL"
    model_barrier = float(barrier.split()[4])
    assert 5.0 < model_barrier < 5.8          # the stock ILP's ~5.4-5.5 meV/cell
    assert "FAILED" in result.output


def test_broken_parameter_file_fails_with_a_readable_diff(tmp_path):
    broken = tmp_path / "broken.ILP"
    lines = open(os.path.join(PARAMS_DIR, "BN_dft.ILP")).read().splitlines()
    for k, line in enumerate(lines):
        words = line.split()
        if len(words) > 2 and set(words[:2]) <= {"B", "N"}:
            words[2] = f"{float(words[2]) * 1.05:.8g}"      # B/N beta 5 % too long
            lines[k] = " ".join(words)
    broken.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(validate, ["--model", "bn-dft", "--ilp", str(broken),
                                           "--no-plot", "--output", str(tmp_path / "r")])
    assert result.exit_code == 1
    row = [line for line in result.output.splitlines()
           if line.startswith("interlayer distance AB")][0]
    assert row.endswith("FAIL") and "+-" in row
    assert "FAILED" in result.output and "interlayer distance AB" in result.output.splitlines()[-2]


@pytest.mark.parametrize("text, files, message", [
    (None, None, "suite.toml: not found"),
    ('[suite]\nname = "t"\n', None, "declares no references"),
    ('[barrier]\nvalue_meV = 7.44\ntolerance_meV = 0.1\n', None, "no [suite] section"),
    (MINIMAL + "[barier]\nvalue_meV = 1\n", None, "unknown section [barier]"),
    ('[suite]\nname = "t"\n[barrier]\nvalue_meV = 7.44\n', None,
     "[barrier] has no 'tolerance_meV'; add e.g. `tolerance_meV = 0.1`"),
    (MINIMAL.replace("tolerance_meV", "tolerance"), None, "unknown key 'tolerance'"),
    (MINIMAL.replace("7.44", '"7.44"'), None, "must be a number"),
    (MINIMAL.replace("0.1", "-0.1"), None, "must be positive"),
    (MINIMAL + "[path\n", None, "not valid TOML"),
    (MINIMAL + '[polarization]\ntolerance_pC_per_m = 0.05\n', None, "only a tolerance"),
    (MINIMAL + '[path]\nfile = "p.csv"\nlattice_A = 2.511\nenergy_tolerance_meV = 0.3\n', None,
     "p.csv not found"),
    (MINIMAL + '[path]\nfile = "p.csv"\nlattice_A = 2.511\nenergy_tolerance_meV = 0.3\n',
     {"p.csv": "t,energy_meV_per_cell\n-0.7,0\n0,7\n0.7,0\n"}, "header has no column"),
    (MINIMAL + '[path]\nfile = "p.csv"\nlattice_A = 2.511\nenergy_tolerance_meV = 0.3\n',
     {"p.csv": "t_from_SP_A,energy_meV_per_cell\n-0.7,0\n0,seven\n0.7,0\n"}, "p.csv:3"),
    (MINIMAL + '[path]\nfile = "p.csv"\nlattice_A = 2.511\nenergy_tolerance_meV = 0.3\n',
     {"p.csv": "t_from_SP_A,energy_meV_per_cell\n-0.7,0\n"}, "at least 3"),
    (MINIMAL + '[path]\nfile = "p.csv"\nlattice_A = 2.511\nenergy_tolerance_meV = 0.3\n',
     {"p.csv": "t_from_SP_A,energy_meV_per_cell\n-1.7,0\n0,7\n0.7,0\n"}, "outside BA .. AB"),
    (MINIMAL + '[path]\nfile = "p.csv"\nlattice_A = 2.511\nenergy_tolerance_meV = 0.3\n',
     {"p.csv": "t_from_SP_A,energy_meV_per_cell,P_par_pC_per_m\n-0.7,0,0\n0,7,2\n0.7,0,0\n"},
     "no polarization_tolerance_pC_per_m"),
    (MINIMAL + '[frames]\nfile = "f.xyz"\nenergy_tolerance_meV_per_atom = 1\n', None,
     "write [[frames]]"),
    (MINIMAL + '[[frames]]\nfile = "f.xyz"\nenergy_tolerance_meV_per_atom = 1\n',
     {"f.xyz": "2\nProperties=species:S:1:pos:R:3\nB 0 0 0\nN 0 0 1.4\n"}, "has no energy"),
])
def test_bad_suites_give_clear_errors(tmp_path, text, files, message):
    directory = str(tmp_path / "suite")
    if text is None:
        os.makedirs(directory)
    else:
        write_suite(directory, text, files)
    with pytest.raises(SuiteError) as error:
        load_suite(directory)
    assert message in str(error.value)
    assert directory in str(error.value)


def test_bad_suite_exits_with_status_2(tmp_path):
    directory = write_suite(tmp_path / "s", MINIMAL.replace("tolerance_meV", "tol"))
    result = CliRunner().invoke(validate, ["--suite", directory, "--no-plot"])
    assert result.exit_code == 2
    assert "unknown key 'tol'" in result.output


def _frames_suite(tmp_path, shift=0.0):
    """A suite of frames whose reference is bn-dft itself (plus a deliberate force shift)."""
    import ase
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    from slidesim.fields.dipole import RegistryDipole
    from slidesim.models.bn_dft import DIPOLE_PARAMETERS
    from slidesim.neighbors import NeighborList
    from slidesim.structures import bilayer

    model = build_model("bn-dft", ("B", "N"))
    dipole = RegistryDipole(("B", "N"), DIPOLE_PARAMETERS)
    rng = np.random.default_rng(7)
    frames = []
    for stacking in ("BA", "SP", 0.41):
        state = bilayer("BN", (3, 3), stacking, 2.511, 3.1)
        x = state.positions[0] + rng.normal(0, 0.03, state.positions[0].shape)
        result = model.compute(x, state.cell, state.species, state.layer,
                               model.neighbor_lists(skin=0.0))
        lists = {k: NeighborList(r.cutoff, skin=0.0, mode=r.mode)
                 for k, r in dipole.requests.items()}
        for nl in lists.values():
            nl.build(x, state.cell, state.layer)
        born = dipole.compute(x, state.cell, state.species, state.layer, lists).born_charges
        atoms = ase.Atoms([("B", "N")[s] for s in state.species], x, cell=state.cell,
                          pbc=(True, True, False))
        atoms.arrays["layer"] = state.layer.copy()
        atoms.arrays["born_charges"] = born.reshape(len(x), 9)
        atoms.calc = SinglePointCalculator(atoms, energy=result.energy + 1.0,
                                           forces=result.forces + shift)
        frames.append(atoms)
    directory = tmp_path / "frames_suite"
    directory.mkdir(parents=True)
    ase.io.write(str(directory / "frames.extxyz"), frames)
    return write_suite(directory, '[suite]\nname = "frames"\n\n[[frames]]\nfile = '
                       '"frames.extxyz"\nenergy_tolerance_meV_per_atom = 0.01\n'
                       'force_tolerance_eV_per_A = 0.01\nborn_charge_tolerance_e = 0.001\n')


def test_frames_of_the_model_itself_pass_and_shifted_forces_fail(tmp_path):
    suite = load_suite(_frames_suite(tmp_path))
    checks = {c.name.split(" (")[0]: c for c in evaluate(suite, "bn-dft", lattice=2.511).checks}
    assert checks["frames energy RMS"].model < 1e-4  # meV/atom: offset removed, file digits
    assert checks["frames force RMS"].model < 1e-6
    assert checks["frames Born charge RMS"].model < 1e-8
    assert all(c.passed for c in checks.values())
    shifted = load_suite(_frames_suite(tmp_path / "b", shift=0.05))
    failed = [c.name for c in evaluate(shifted, "bn-dft", lattice=2.511).failures()]
    assert failed == ["frames force RMS (frames.extxyz)"]


def test_suite_directory_can_be_copied_and_extended(tmp_path):
    copy = tmp_path / "mine"
    shutil.copytree(DEFAULT_SUITE, copy)
    with open(copy / "suite.toml", "a") as handle:
        handle.write("\n[lattice]\nvalue_A = 2.6\ntolerance_A = 0.005\n")
    with pytest.raises(SuiteError, match="not valid TOML"):   # [lattice] declared twice
        load_suite(str(copy))
