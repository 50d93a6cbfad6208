"""The model catalog, the geometry module, the rigid-bilayer scanner, and the one sliding-vector
definition shared by a run and `slidesim analyze`."""

import csv
import os
import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from slidesim import geometry
from slidesim.fields.dipole import RegistryDipole, load_parameters, sheet_area
from slidesim.commands.landscape import landscape_command
from slidesim.landscape import Landscape
from slidesim import catalog
from slidesim.models import build_model, model_entry
from slidesim.neighbors import built_neighbor_lists
from slidesim.analysis.sliding import SlidingVector, layer_weights
from slidesim.profile import StackingEnergy, sliding_profile
from slidesim.rigid import RigidBilayer, default_dipole
from slidesim.structures import MONOLAYERS, bilayer
from slidesim.units import dipole_per_area_to_pC_per_m

BN_DFT_DIPOLE = os.path.join(catalog.PARAMS_DIR, "BN_dft_dipole.json")


def read_csv(path):
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}


# ---- the catalog ------------------------------------------------------------------------------

def test_catalog_entries_hold_what_each_model_implies():
    ilp, dft = model_entry("bn-ilp"), model_entry("bn-dft")
    assert (ilp.lattice, ilp.distance, ilp.dipole, ilp.species) == (2.5045, 3.235, None,
                                                                      ("B", "N"))
    assert (dft.lattice, dft.distance, dft.species) == (2.511, 3.074, ("B", "N"))
    assert dft.dipole == BN_DFT_DIPOLE
    for name in ("tether", "torchscript"):
        entry = model_entry(name)
        assert (entry.lattice, entry.distance, entry.dipole, entry.species) == (None,) * 4
    assert set(catalog.CATALOG) == {"bn-ilp", "bn-dft", "mos2-ilp", "tmd-ilp", "tether",
                                    "torchscript"}
    assert all(callable(entry.factory) for entry in catalog.CATALOG.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        dft.lattice = 2.5
    # the material's defaults are its model's (bn-ilp for h-BN), not a second copy
    assert (MONOLAYERS["BN"].lattice, MONOLAYERS["BN"].interlayer) == (2.5045, 3.235)


def test_unknown_model_names_get_a_did_you_mean():
    with pytest.raises(ValueError, match="unknown model 'bn-dtf'; did you mean 'bn-dft'"):
        model_entry("bn-dtf")
    with pytest.raises(ValueError, match="known models: bn-ilp, bn-dft, mos2-ilp, tmd-ilp, tether, "
                       "torchscript"):
        model_entry("lj")
    with pytest.raises(ValueError, match="did you mean 'tether'"):
        build_model("teether", ("B", "N"))
    with pytest.raises(ValueError, match="model 'bn-ilp' has no option 'spring'"):
        build_model("bn-ilp", ("B", "N"), spring=1.0)
    with pytest.raises(ValueError, match="covers B, N only, not Mo"):
        model_entry("bn-dft").check_species(("Mo", "S"))


def test_every_command_takes_the_models_settings_from_the_catalog(monkeypatch):
    """Change bn-dft's entry: profile, landscape, validate's dipole and the dataset follow."""
    changed = dataclasses.replace(model_entry("bn-dft"), lattice=2.53, distance=3.2, dipole=None)
    monkeypatch.setitem(catalog.CATALOG, "bn-dft", changed)
    assert StackingEnergy("BN", "bn-dft").lattice == 2.53
    assert Landscape("BN", "bn-dft", dipole=None).lattice == 2.53
    shipped = load_parameters(None)
    assert default_dipole("bn-dft", ("B", "N")).parameters == shipped
    from slidesim.ml.dataset import slide_frames

    frame = slide_frames("bn-dft", cells=1, grid=1, distances=(0.0,), displacement=0.0)[0]
    assert frame.cell[0, 0] == pytest.approx(2.53, abs=1e-12)
    z = frame.positions[:, 2]
    assert z[2:].mean() - z[:2].mean() == pytest.approx(3.2, abs=1e-12)


# ---- bn-dft's own settings reach every command ------------------------------------------------

def test_landscape_command_of_bn_dft_uses_its_lattice_and_dipole(tmp_path):
    prefix = str(tmp_path / "dft")
    result = CliRunner().invoke(landscape_command, ["--model", "bn-dft", "--divisions", "1",
                                                    "--path-points", "3", "--output", prefix,
                                                    "--no-plot"])
    assert result.exit_code == 0, result.output
    a = model_entry("bn-dft").lattice
    path = read_csv(prefix + "_path.csv")
    # BA sits -|b - a| / 6 from SP: the lattice constant is bn-dft's 2.511 A, not bn-ilp's
    assert path["t_from_SP_A"][0] == pytest.approx(-np.sqrt(3.0) * a / 6.0, abs=1e-6)
    hexagon = read_csv(prefix + "_hexagon.csv")
    t_ba = geometry.sliding_vector("BA", a)
    assert np.hypot(hexagon["t_x_A"] - t_ba[0], hexagon["t_y_A"] - t_ba[1]).min() < 1e-6
    # the polarizations are those of bn-dft's registry-dipole fit at the relaxed geometry
    u = geometry.sliding_direction(a)
    own, shipped = RegistryDipole(("B", "N"), BN_DFT_DIPOLE), RegistryDipole(("B", "N"))
    worst_shipped = 0.0
    for k, fraction in enumerate((1 / 3, 1 / 2, 2 / 3)):
        state = bilayer("BN", (1, 1), fraction, a, path["distance_A"][k])
        x = state.positions[0]
        values = []
        for source in (own, shipped):
            lists = built_neighbor_lists(source.requests, x, state.cell, state.layer)
            dipole = source.compute(x, state.cell, state.species, state.layer, lists).dipole
            p = dipole_per_area_to_pC_per_m(dipole, geometry.in_plane_area(state.cell))
            values.append((p @ u, p[2]))
        assert path["P_par_pC_per_m"][k] == pytest.approx(values[0][0], abs=2e-5)
        assert path["P_perp_pC_per_m"][k] == pytest.approx(values[0][1], abs=2e-5)
        worst_shipped = max(worst_shipped, *np.abs(np.subtract(values[1], values[0])))
    assert worst_shipped > 1e-4  # the two fits differ: this test tells them apart


def test_profile_of_bn_dft_is_at_its_lattice():
    scanner = StackingEnergy("BN", "bn-dft")
    assert scanner.lattice == 2.511 and scanner.dipole is None
    assert Landscape("BN", "bn-dft").dipole.parameters == load_parameters(BN_DFT_DIPOLE)
    default = {p.name: p for p in sliding_profile("BN", "bn-dft", stackings=("AB", "SP"))}
    given = {p.name: p for p in sliding_profile("BN", "bn-dft", 2.511, stackings=("AB", "SP"))}
    for name in ("AB", "SP"):
        assert default[name].energy == given[name].energy
        assert default[name].distance == given[name].distance
    # at its own lattice bn-dft has the DFT's AB distance (what it was fitted to)
    assert default["AB"].distance == pytest.approx(3.074, abs=1e-3)


# ---- geometry and the scanner -----------------------------------------------------------------

def test_geometry_of_the_hexagonal_cell():
    a = 2.5
    prim = geometry.primitive_cell(a)
    cell = np.vstack([3 * prim[0], 2 * prim[1], [0.0, 0.0, 30.0]])
    assert geometry.in_plane_area(cell) == pytest.approx(6 * np.sqrt(3) / 2 * a**2, rel=1e-14)
    assert sheet_area(cell) == geometry.in_plane_area(cell)
    np.testing.assert_allclose(geometry.sliding_vector("AB", a), 2 / 3 * (prim[1] - prim[0]))
    np.testing.assert_allclose(geometry.sliding_vector("sp", a), geometry.sliding_vector(0.5, a))
    np.testing.assert_allclose(geometry.sliding_vector([0.1, 0.2], a), [0.1, 0.2, 0.0])
    u = geometry.sliding_direction(a)
    # b - a points 60 degrees counterclockwise from +y
    assert np.degrees(np.arctan2(-u[0], u[1])) == pytest.approx(60.0)
    with pytest.raises(ValueError, match="unknown stacking 'XY'"):
        geometry.sliding_vector("XY", a)
    folded = geometry.minimum_image_in_plane(np.array([[3 * a - 0.1, 0.0, 1.0]]), cell)
    np.testing.assert_allclose(folded, [[-0.1, 0.0, 1.0]], atol=1e-12)


def test_scanner_accepts_names_fractions_and_vectors():
    scanner = RigidBilayer.of_model("bn-ilp", dipole=None)
    a = scanner.lattice
    e_name = scanner.energy("SP", 3.3)
    assert scanner.energy(0.5, 3.3) == e_name
    assert scanner.energy(geometry.sliding_vector("SP", a), 3.3) == e_name
    with pytest.raises(ValueError, match="unknown material"):
        RigidBilayer.of_model("bn-ilp", material="XY")


# ---- the sliding vector: one definition for the run and for analyze ----------------------------

def test_sliding_vector_follows_the_centres_of_mass():
    state = bilayer("BN", (3, 3), "AB")
    x = state.positions[0]
    vector = SlidingVector(x, state.cell, state.species, state.layer, state.masses)
    # t_AB, modulo a lattice vector
    prim = geometry.primitive_cell(2.5045)
    offset = (vector(x) - geometry.sliding_vector("AB", 2.5045))[:2] @ np.linalg.inv(prim[:, :2])
    np.testing.assert_allclose(offset, np.round(offset), atol=1e-12)
    # an intralayer optical mode (B against N, momentum zero) leaves t where it was
    moved = x.copy()
    boron, nitrogen = state.species == 0, state.species == 1
    m_b, m_n = state.masses[boron][0], state.masses[nitrogen][0]
    moved[boron & (state.layer == 1), 0] += 0.05 * m_n / (m_b + m_n)
    moved[nitrogen & (state.layer == 1), 0] -= 0.05 * m_b / (m_b + m_n)
    np.testing.assert_allclose(vector(moved), vector(x), atol=1e-14)
    weights = layer_weights(state.masses, state.layer)
    assert weights[state.layer == 0].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one entry per atom"):
        SlidingVector(x, state.cell, state.species, state.layer, state.masses[:-1])


RUN_DECK = """system bilayer material BN cells 3 3 stacking BA
model bn-ilp
timestep 1 fs
integrator langevin damp 50 fs
seed 7
velocities 300 K
output {output}
thermo every 10
trajectory every 5
checkpoint every 0
stage hot temperature 300 K steps 80
"""


def test_stored_and_recomputed_sliding_vectors_agree(tmp_path):
    from slidesim.analysis.reader import read_frame_series
    from slidesim.deck import read_deck
    from slidesim.io.trajectory import read_trajectory
    from slidesim.simulation import Simulation

    deck_path = tmp_path / "hot.in"
    deck_path.write_text(RUN_DECK.format(output=tmp_path / "run"))
    Simulation(read_deck(str(deck_path)), progress=False).run()
    path = tmp_path / "run" / "traj.nc"
    stored = read_frame_series(path, sliding_source="stored").sliding
    recomputed = read_frame_series(path, sliding_source="coordinates").sliding
    assert len(stored) == 17
    # float32 coordinates: ~1e-6 A at 15 A
    np.testing.assert_allclose(recomputed, stored, rtol=0, atol=1e-5)
    # the plain (unweighted) layer means, the old run-time definition, are off by far more:
    # the B-N optical phonons at 300 K move them
    data = read_trajectory(path)
    x, layer = data["coordinates"].astype(np.float64), data["layer"]
    plain = (x[:, layer == 1].mean(1) - x[:, layer == 0].mean(1))[:, :2]
    plain += stored[0] - plain[0]
    assert np.abs(plain - stored).max() > 1e-4
