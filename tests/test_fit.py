"""Fitting: parameter-file round trips, the Tersoff rescaling, the ILP fit on the seed suite,
`slidesim fit`, and parity of the shipped bn-dft files with LAMMPS."""

import os

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.models import PARAMS_DIR, build_model
from slidesim.models.ilp import DEFAULT_ILP_FILE, read_ilp_file
from slidesim.structures import bilayer
from slidesim.validation import load_suite
from slidesim.commands.validate import DEFAULT_SUITE, fit, validate
from slidesim.validation.fit import DEFAULT_TERSOFF_FILE, IlpFit
from slidesim.validation.parameter_files import (read_ilp_entries, scaled_ilp_entries,
                                                 write_ilp_file, write_rescaled_tersoff)

from conftest import load_lammps


def test_ilp_file_round_trip_and_scaling(tmp_path):
    entries = read_ilp_entries(DEFAULT_ILP_FILE)
    out = tmp_path / "copy.ILP"
    write_ilp_file(out, scaled_ilp_entries(entries, {"C6": 1.0}), header=["test"])
    stock, _ = read_ilp_file(DEFAULT_ILP_FILE, ("B", "N", "C"))
    copy, _ = read_ilp_file(str(out), ("B", "N", "C"))
    assert np.array_equal(stock, copy)
    write_ilp_file(out, scaled_ilp_entries(entries, {"C6": 2.0}))
    scaled, _ = read_ilp_file(str(out), ("B", "N", "C"))
    assert np.allclose(scaled[:2, :2, 7], 2 * stock[:2, :2, 7])     # B/N C6 doubled
    assert np.array_equal(scaled[2], stock[2])                       # C untouched
    with pytest.raises(ValueError, match="unknown ILP column 'C7'"):
        scaled_ilp_entries(entries, {"C7": 1.0})


def test_rescaled_tersoff_keeps_energies_of_scaled_structures(tmp_path):
    factor = 1.013
    path = tmp_path / "scaled.tersoff"
    write_rescaled_tersoff(DEFAULT_TERSOFF_FILE, str(path), factor)
    from slidesim.models.model import Model
    from slidesim.models.tersoff import TersoffTerm
    state = bilayer("BN", (3, 3), "BA", 2.50, 3.3)
    x = state.positions[0] + np.random.default_rng(1).normal(0, 0.05, state.positions[0].shape)
    energies = []
    for tersoff, scale in ((DEFAULT_TERSOFF_FILE, 1.0), (str(path), factor)):
        model = Model("t", [TersoffTerm(tersoff, ("B", "N"))], ("B", "N"))
        energies.append(model.compute(x * scale, state.cell * scale, state.species,
                                      state.layer, model.neighbor_lists(skin=0.0)).energy)
    assert energies[1] == pytest.approx(energies[0], rel=1e-12)


def test_ilp_fit_meets_the_seed_suite_targets():
    suite = load_suite(DEFAULT_SUITE)
    result = IlpFit(suite).run()
    assert result.distance_ab == pytest.approx(3.074, abs=0.002)
    assert result.barrier_meV == pytest.approx(7.44, abs=0.02)
    assert result.aa_meV > result.barrier_meV          # AA the highest stacking
    assert result.largest_increase < 0.35
    assert result.path_rms_meV < 0.3
    for column, factor in result.scales.items():
        assert 0.85 < factor < 1.15, column            # a mild recalibration, not a new model


def test_fit_command_writes_files_that_validate(tmp_path):
    out = tmp_path / "fitted"
    result = CliRunner().invoke(fit, ["--output", str(out), "--name", "BN_test", "--no-dipole"])
    assert result.exit_code == 0, result.output
    ilp, tersoff = out / "BN_test.ILP", out / "BN_test.tersoff"
    assert "beta x" in ilp.read_text().splitlines()[3]
    check = CliRunner().invoke(validate, ["--model", "bn-dft", "--ilp", str(ilp), "--tersoff",
                                          str(tersoff), "--no-plot", "--output",
                                          str(tmp_path / "r")])
    assert check.exit_code == 0, check.output


def test_fit_refuses_bad_columns_and_suites(tmp_path):
    result = CliRunner().invoke(fit, ["--output", str(tmp_path), "--free", "beta,gamma"])
    assert result.exit_code == 2 and "cannot fit ILP column 'gamma'" in result.output
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "suite.toml").write_text(
        '[suite]\nname = "x"\n[barrier]\nvalue_meV = 7\ntolerance_meV = 0.1\n')
    result = CliRunner().invoke(fit, ["--suite", str(tmp_path / "s"), "--output",
                                      str(tmp_path)])
    assert result.exit_code == 2 and "fitting needs [lattice]" in result.output


@pytest.mark.lammps
def test_bn_dft_files_match_lammps():
    from slidesim.lammps_bridge import bn_ilp_pair_commands, single_point

    load_lammps()
    commands = bn_ilp_pair_commands().replace(
        f"{PARAMS_DIR}/BNC.tersoff", f"{PARAMS_DIR}/BN_dft.tersoff").replace(
        f"{PARAMS_DIR}/BNCH.ILP", f"{PARAMS_DIR}/BN_dft.ILP")
    assert "BN_dft.ILP" in commands and "BN_dft.tersoff" in commands
    state = bilayer("BN", (4, 4), 0.41, 2.511, 3.1)
    x = state.positions[0] + np.random.default_rng(5).normal(0, 0.04, state.positions[0].shape)
    model = build_model("bn-dft", ("B", "N"))
    result = model.compute(x, state.cell, state.species, state.layer, model.neighbor_lists())
    energy, forces, _ = single_point(x, state.cell, state.species, state.layer, commands)
    assert abs(result.energy - energy) / state.n_atoms < 1e-9
    assert np.abs(result.forces - forces).max() < 1e-8
