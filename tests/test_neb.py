"""The sliding path by NEB (slidesim.neb, slidesim neb): the barrier against the saddle found
another way (SP relaxed with its atoms held in-plane), bn-dft against the DFT barrier, the
first-order effect of a field (-dE.dP), and the command's output and errors."""

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim.cli import main
from slidesim.neb import sliding_neb
from slidesim.units import dipole_per_area_to_pC_per_m


def relaxed_energy(stacking, model="bn-dft", field=None):
    """Energy [eV] of a 1 x 1 bilayer at a stacking with only z relaxed (BFGS), in a field."""
    from ase.constraints import FixCartesian
    from ase.optimize import BFGS

    from slidesim.ase import SlidesimCalculator
    from slidesim.catalog import model_entry
    from slidesim.io.structures import state_to_atoms
    from slidesim.structures import bilayer

    entry = model_entry(model)
    atoms = state_to_atoms(bilayer("BN", (1, 1), stacking, entry.lattice, entry.distance))
    atoms.set_constraint(FixCartesian(range(len(atoms)), mask=(True, True, False)))
    atoms.calc = SlidesimCalculator(model, **({} if field is None else {"field": field}))
    BFGS(atoms, logfile=None).run(fmax=1e-6, steps=1000)
    return atoms.get_potential_energy()


@pytest.fixture(scope="module")
def zero_field_path():
    return sliding_neb("bn-dft", n_images=5, fmax=1e-3)


def test_the_barrier_is_the_saddle_point_relaxed_in_z(zero_field_path):
    """In a 1 x 1 cell the climbing image sits at SP (t = 0) and the barrier equals SP minus BA,
    each relaxed with the atoms held in-plane (by symmetry their in-plane forces vanish at SP,
    BA and AB)."""
    path = zero_field_path
    assert path.converged
    k = path.climbing_index
    assert k == 2 and abs(path.t[k]) < 1e-3
    saddle = (relaxed_energy("SP") - relaxed_energy("BA")) * 1e3
    assert path.barrier == pytest.approx(saddle, abs=2e-3)
    # BA -> AB is symmetric at zero field
    np.testing.assert_allclose(path.energy, path.energy[::-1], atol=2e-3)
    np.testing.assert_allclose(path.polarization[:, 2], -path.polarization[::-1, 2], atol=1e-3)


def test_bn_dft_barrier_is_the_dft_one(zero_field_path):
    """The seed paper's DFT: 7.44 meV per cell. bn-dft is fitted to the rigid profile; the
    relaxed path adds the layers' buckling (about +0.1 meV)."""
    assert zero_field_path.barrier == pytest.approx(7.44, abs=0.15)
    assert zero_field_path.rigid_barrier == pytest.approx(7.44, abs=0.02)
    assert zero_field_path.landau_barrier == pytest.approx(7.44, abs=0.1)


@pytest.mark.slow
def test_a_small_vertical_field_changes_the_barrier_by_minus_dE_dP(zero_field_path):
    """To first order in E, the barrier changes by -E.(P_SP - P_BA) (Hellmann-Feynman)."""
    ez = 0.05
    path = sliding_neb("bn-dft", n_images=5, fmax=1e-4, field_vector=(0.0, 0.0, ez))
    zero = sliding_neb("bn-dft", n_images=5, fmax=1e-4)
    area = 2.511 ** 2 * np.sqrt(3) / 2
    dp = (zero.polarization[2, 2] - zero.polarization[0, 2]) / dipole_per_area_to_pC_per_m(
        1.0, area)  # e A per cell
    predicted = -ez * dp * 1e3
    assert abs(predicted) > 0.2  # meV: a test that can see it
    assert path.barrier - zero.barrier == pytest.approx(predicted, rel=0.05)


def test_the_command_prints_and_writes_the_path(tmp_path, zero_field_path, monkeypatch):
    import slidesim.neb

    asked = {}

    def computed(*args, **kwargs):  # the path of the fixture, not a second NEB
        asked["args"] = args
        return zero_field_path

    monkeypatch.setattr(slidesim.neb, "sliding_neb", computed)
    result = CliRunner().invoke(main, ["neb", "--model", "bn-dft", "--images", "5", "--fmax",
                                       "1e-3", "--csv", str(tmp_path / "p.csv"), "--plot",
                                       str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert asked["args"][:3] == ("bn-dft", None, (1, 1)) and asked["args"][3] == 5
    assert "barrier (climbing image): 7.5" in result.output and "BA -> AB" in result.output
    rows = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    assert rows.shape == (5, 8)
    assert rows[2, 2] == pytest.approx(zero_field_path.barrier, abs=1e-9)
    assert (tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.parametrize("arguments, message", [
    (["--model", "bn-dftt"], "did you mean 'bn-dft'"),
    (["--images", "3"], "at least 5 images"),
    (["--model", "bn-ilp", "--material", "MoS2"], "covers B, N only"),
])
def test_bad_options_give_one_line(arguments, message):
    result = CliRunner().invoke(main, ["neb"] + arguments)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output
