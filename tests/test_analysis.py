"""Trajectory analysis: psi = exp(iG.t), sliding vectors from files, stage statistics, T_C,
switching events, the `analyze` command, and a real (short) heating/cooling ladder end to end."""

import csv
import json

import netCDF4
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from slidesim.analysis.analyze import analyze_trajectory
from slidesim.commands.analyze import analyze
from slidesim.analysis.lattice import HexLattice
from slidesim.analysis.ladder import (batch_statistics, branch_transition, curie_temperature,
                                      stage_table)
from slidesim.analysis.order import (IM_PSI_BA, OrderParameterError, ReciprocalVector,
                                     parse_reciprocal)
from slidesim.analysis.reader import FrameSeries, TrajectoryError, read_frame_series
from slidesim.analysis.switching import SwitchingDetector, detect_crossings
from slidesim.deck import parse_deck
from slidesim.io.trajectory import TrajectoryWriter, read_trajectory
from slidesim.simulation import Simulation
from slidesim.structures import bilayer, primitive_cell, sliding_vector_of
from slidesim.units import ATOMIC_MASS

A_BN = 2.5045  # [A], the builder's default


def bn_lattice():
    return HexLattice.from_constant(A_BN)


# ---- the order parameter ----------------------------------------------------------------------

@pytest.mark.parametrize("text, m, n", [("G=a*-b*", 1, -1), ("a*-b*", 1, -1), ("G=2a*+b*", 2, 1),
                                        ("-b*", 0, -1), ("2*a* + 3*b*", 2, 3), ("b*-a*+a*", 0, 1)])
def test_parse_reciprocal(text, m, n):
    g = parse_reciprocal(text)
    assert (g.m, g.n) == (m, n)
    assert parse_reciprocal(g.name) == g


@pytest.mark.parametrize("text", ["", "G=", "a*b*", "c*", "1.5a*", "a*-", "G=0a*", "a"])
def test_parse_reciprocal_rejects_garbage(text):
    with pytest.raises(OrderParameterError, match="integer combination"):
        parse_reciprocal(text)


def test_reciprocal_vectors_are_dual_to_the_lattice():
    lattice = bn_lattice()
    np.testing.assert_allclose(lattice.vectors @ lattice.reciprocal.T, 2 * np.pi * np.eye(2),
                               atol=1e-12)
    np.testing.assert_allclose(lattice.vectors, primitive_cell(A_BN)[:, :2], atol=0)


def test_paper_values_in_ba_and_ab():
    """psi[a*-b*] with slidesim's geometry: Im psi = +sqrt3/2 in BA, -sqrt3/2 in AB (Fig. 2)."""
    lattice, g = bn_lattice(), parse_reciprocal("G=a*-b*")
    expected = {"BA": np.sqrt(3) / 2, "AB": -np.sqrt(3) / 2, "AA": 0.0, "SP": 0.0}
    for stacking, im in expected.items():
        t = sliding_vector_of(stacking, A_BN)
        psi = np.exp(1j * g.vector(lattice) @ t[:2])  # the definition, from Cartesian G and t
        assert psi.imag == pytest.approx(im, abs=1e-14)
        assert g.psi(lattice.fractional(t)) == pytest.approx(psi, abs=1e-14)
    assert IM_PSI_BA == pytest.approx(np.sqrt(3) / 2, abs=1e-16)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(-4, 4), n=st.integers(-4, 4), i=st.integers(-5, 5), j=st.integers(-5, 5),
       f1=st.floats(-3, 3), f2=st.floats(-3, 3))
def test_psi_is_blind_to_lattice_translations(m, n, i, j, f1, f2):
    lattice, g = bn_lattice(), ReciprocalVector(m, n)
    t = lattice.cartesian([f1, f2])
    shifted = t + i * lattice.vectors[0] + j * lattice.vectors[1]
    direct = np.exp(1j * g.vector(lattice) @ t)
    assert g.psi(lattice.fractional(t)) == pytest.approx(direct, abs=1e-9)
    assert g.psi(lattice.fractional(shifted)) == pytest.approx(direct, abs=1e-9)


# ---- synthetic trajectories with a known t(time) ---------------------------------------------

def rigid_frames(structure, sliding, whole_slide, wrap):
    """Frames (F, N, 3) [A] of ``structure`` with the top layer displaced by sliding[f] - sliding[0]
    and both layers by whole_slide[f] (in-plane, (F, 2)); wrapped into the cell if ``wrap``."""
    base, cell = structure.positions[0], structure.cell
    frames = np.repeat(base[None], len(sliding), axis=0)
    frames[:, structure.layer == 1, :2] += (sliding - sliding[0])[:, None, :]
    frames[:, :, :2] += whole_slide[:, None, :]
    if wrap:
        fractional = frames[..., :2] @ np.linalg.inv(cell[:2, :2])
        frames[..., :2] = (fractional - np.floor(fractional)) @ cell[:2, :2]
    return frames


def write_foreign_trajectory(path, structure, frames, times, dtype="f8", types=True):
    """An AMBER netCDF file as another program writes it: no layer ids, lengths + angles."""
    lengths = np.linalg.norm(structure.cell, axis=1)
    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as ds:
        ds.Conventions, ds.ConventionVersion, ds.program = "AMBER", "1.0", "elsewhere"
        for name, size in (("frame", None), ("atom", frames.shape[1]), ("spatial", 3),
                           ("cell_spatial", 3), ("cell_angular", 3)):
            ds.createDimension(name, size)
        ds.createVariable("time", "f8", ("frame",))[:] = times
        ds.createVariable("coordinates", dtype, ("frame", "atom", "spatial"))[:] = frames
        ds.createVariable("cell_lengths", "f8", ("frame", "cell_spatial"))[:] = \
            np.tile(lengths, (len(times), 1))
        ds.createVariable("cell_angles", "f8", ("frame", "cell_angular"))[:] = \
            np.tile([90.0, 90.0, 120.0], (len(times), 1))
        if types:
            ds.createVariable("atom_types", "i4", ("atom",))[:] = \
                np.where(structure.species == 0, 5, 7)


def sliding_path(n_frames, start="BA", turns=2.0):
    """t(time) [A] (F, 2): from ``start`` along (b - a), over ``turns`` lattice periods."""
    b_minus_a = (primitive_cell(A_BN)[1] - primitive_cell(A_BN)[0])[:2]
    fraction = sliding_vector_of(start, A_BN)[:2] @ b_minus_a / (b_minus_a @ b_minus_a)
    return (fraction + np.linspace(0.0, turns, n_frames))[:, None] * b_minus_a


def assert_same_modulo_one_lattice_vector(found, expected, lattice, atol):
    """found - expected is one and the same lattice vector R for every frame."""
    offset = lattice.fractional(found[0] - expected[0])
    np.testing.assert_allclose(offset, np.round(offset), atol=atol)
    np.testing.assert_allclose(found - expected, np.broadcast_to(found[0] - expected[0],
                                                                 found.shape), atol=atol)


def test_wrapped_foreign_file_reproduces_t_and_psi_exactly(tmp_path):
    """Slides across the periodic boundary (twice round the lattice) and a whole-bilayer slide of
    more than a cell, wrapped coordinates, layers from z: t and psi exact (float64 file)."""
    structure = bilayer("BN", (6, 5), "BA")
    n_frames = 60
    sliding = sliding_path(n_frames)
    whole = np.outer(np.linspace(0.0, 1.0, n_frames), [17.3, -9.1])
    frames = rigid_frames(structure, sliding, whole, wrap=True)
    path = tmp_path / "foreign.nc"
    write_foreign_trajectory(path, structure, frames, 0.05 * np.arange(n_frames))
    result = analyze_trajectory(path, ["G=a*-b*", "G=2a*+b*"])
    series = result.series
    assert series.layer_source == "z gap" and series.lattice.supercell == (6, 5)
    assert series.lattice.constant == pytest.approx(A_BN, rel=1e-12)
    assert_same_modulo_one_lattice_vector(series.sliding, sliding, series.lattice, 1e-11)
    for name in ("a*-b*", "2a*+b*"):
        g = parse_reciprocal(name)
        expected = np.exp(1j * sliding @ g.vector(series.lattice))
        np.testing.assert_allclose(result.psi[name], expected, rtol=0, atol=1e-12)
    assert result.psi["a*-b*"][0].imag == pytest.approx(np.sqrt(3) / 2, abs=1e-12)
    # 2 turns along b - a from BA: BA->AB at SP, AB->BA through AA, twice
    assert [(c.origin, c.destination) for c in result.crossings] == [("BA", "AB"), ("AB", "BA")] * 2
    dt_per_turn = 0.05 * (n_frames - 1) / 2.0
    sp_times = [(0.5 - 1 / 3) * dt_per_turn, (1.0 - 1 / 3) * dt_per_turn]
    for k, crossing in enumerate(result.crossings):
        expected_time = sp_times[k % 2] + (k // 2) * dt_per_turn
        assert crossing.time == pytest.approx(expected_time, abs=1e-9)
        assert crossing.theta_deg == pytest.approx(60.0, abs=1e-9)
        assert crossing.field is None


def test_whole_lattice_slide_alone_changes_nothing(tmp_path):
    structure = bilayer("BN", (4, 4), "AB")
    n_frames = 30
    sliding = np.repeat(sliding_vector_of("AB", A_BN)[None, :2], n_frames, axis=0)
    whole = np.outer(np.linspace(0.0, 1.0, n_frames), [3 * A_BN, 2.2])
    path = tmp_path / "whole.nc"
    write_foreign_trajectory(path, structure, rigid_frames(structure, sliding, whole, True),
                             np.arange(n_frames, dtype=float))
    result = analyze_trajectory(path)
    assert_same_modulo_one_lattice_vector(result.series.sliding, sliding, result.series.lattice,
                                          1e-11)
    np.testing.assert_allclose(result.psi["a*-b*"].imag, -np.sqrt(3) / 2, atol=1e-12)
    assert result.crossings == []


def test_streaming_block_size_does_not_change_the_result(tmp_path):
    structure = bilayer("BN", (5, 5), "BA")
    n_frames = 23
    frames = rigid_frames(structure, sliding_path(n_frames, turns=1.3),
                          np.outer(np.arange(n_frames), [0.9, 0.4]), wrap=True)
    path = tmp_path / "blocks.nc"
    write_foreign_trajectory(path, structure, frames, np.arange(n_frames, dtype=float))
    reference = read_frame_series(path, block_frames=n_frames).sliding
    for block in (1, 4, 7):
        np.testing.assert_array_equal(read_frame_series(path, block_frames=block).sliding,
                                      reference)


def test_given_lattice_and_supercell_match_the_inferred_one(tmp_path):
    structure = bilayer("BN", (6, 4), "BA")
    frames = rigid_frames(structure, sliding_path(3), np.zeros((3, 2)), wrap=False)
    path = tmp_path / "lat.nc"
    write_foreign_trajectory(path, structure, frames, np.arange(3.0))
    inferred = read_frame_series(path).lattice
    for kwargs in ({"lattice": A_BN}, {"supercell": (6, 4)}):
        given_lattice = read_frame_series(path, **kwargs).lattice
        np.testing.assert_allclose(given_lattice.vectors, inferred.vectors, atol=1e-12)
        assert given_lattice.supercell == (6, 4)


# ---- slidesim's own files: stages, ladder statistics, fields ------------------------------------

LADDER_HEATING = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0]
LADDER_COOLING = [600.0, 500.0, 400.0, 300.0]
#: fraction of each stage's frames in BA (the rest in AB)
BA_FRACTION = [1, 1, 1, 1, 0.8, 0.5, 0.5] + [0.5, 0.4, 0.0, 0.0]


def write_ladder(path, frames_per_stage=10, field=True):
    """A slidesim trajectory of a made-up ladder: the top layer sits exactly on BA or AB.

    Returns (expected t (F, 2), times (F,), fields (F, 3), stage temperatures)."""
    structure = bilayer("BN", (4, 4), "BA")
    t_ba = sliding_vector_of("BA", A_BN)
    t_ab = sliding_vector_of("AB", A_BN)
    temperatures = LADDER_HEATING + LADDER_COOLING
    sliding, times, fields = [], [], []
    with TrajectoryWriter(path, structure) as writer:
        step = 0
        for stage, (temperature, fraction) in enumerate(zip(temperatures, BA_FRACTION)):
            n_ba = int(round(fraction * frames_per_stage))
            for k in range(frames_per_stage):
                t = t_ba if k < n_ba else t_ab
                structure.positions[0, structure.layer == 1] = \
                    bilayer("BN", (4, 4), "BA", sliding=t[:2]).positions[0, structure.layer == 1]
                structure.step, structure.time, structure.stage = step, 0.01 * step, stage
                e = np.array([0.0, 0.0, -0.01 * step]) if field else None
                writer.write_frame(structure, temperature_target=temperature,
                                   temperature=temperature + 1.0, electric_field=e)
                sliding.append(t[:2])
                times.append(0.01 * step)
                fields.append(e)
                step += 1
    return np.array(sliding), np.array(times), fields, temperatures


def test_ladder_statistics_branches_and_curie_temperature(tmp_path):
    path = tmp_path / "traj.nc"
    sliding, times, fields, temperatures = write_ladder(path)
    result = analyze_trajectory(path, ["G=a*-b*"])
    lattice = result.series.lattice
    # float32 coordinates: t to float32 rounding of ~10 A positions
    assert_same_modulo_one_lattice_vector(result.series.sliding, sliding, lattice, 2e-5)
    stages = result.stages
    assert [row["temperature_target_K"] for row in stages] == temperatures
    assert [row["branch"] for row in stages] == ["heating"] * 7 + ["cooling"] * 4
    g = parse_reciprocal("a*-b*")
    for k, row in enumerate(stages):
        im = np.exp(1j * sliding[10 * k:10 * k + 10] @ g.vector(lattice)).imag
        mean, sd, se = row["psi[a*-b*]_im_mean"], row["psi[a*-b*]_im_sd"], row["psi[a*-b*]_im_se"]
        assert mean == pytest.approx(im.mean(), abs=1e-5)
        assert sd == pytest.approx(im.std(ddof=1), abs=1e-5)
        assert se == pytest.approx(im.std(ddof=1) / np.sqrt(10), abs=1e-5)  # 10 frames: 10 batches
        assert row["temperature_K"] == temperatures[k] + 1.0
    # order m = |2p - 1|: heating 1,1,1,1,0.6,0,0 -> T_C between 500 and 600 K at m = 0.5;
    # cooling (600..300 K) 0, 0.2, 1, 1 -> between 400 and 500 K
    curie = result.curie
    heating = 500.0 + (0.6 - 0.5) / (0.6 - 0.0) * 100.0
    cooling = 400.0 + (1.0 - 0.5) / (1.0 - 0.2) * 100.0
    assert curie["heating_K"] == pytest.approx(heating, abs=0.05)
    assert curie["cooling_K"] == pytest.approx(cooling, abs=0.05)
    assert curie["estimate_K"] == pytest.approx((heating + cooling) / 2, abs=0.05)
    assert curie["uncertainty_K"] == pytest.approx(np.hypot(50.0, abs(heating - cooling) / 2),
                                                   abs=0.05)
    assert curie["first_switch_heating_K"] == 500.0


def test_crossings_carry_time_direction_and_field(tmp_path):
    path = tmp_path / "traj.nc"
    sliding, times, fields, _ = write_ladder(path)
    result = analyze_trajectory(path)
    # every change of stacking between consecutive frames is one crossing, at the midpoint (the
    # jump from site to site crosses the dividing line halfway), field linearly interpolated
    changes = [f for f in range(1, len(sliding)) if not np.allclose(sliding[f], sliding[f - 1])]
    assert [c.frame for c in result.crossings] == changes
    for crossing in result.crossings:
        f = crossing.frame
        assert crossing.time == pytest.approx(0.5 * (times[f - 1] + times[f]), abs=1e-6)
        np.testing.assert_allclose(crossing.field, 0.5 * (fields[f - 1] + fields[f]), atol=1e-9)
        assert crossing.theta_deg == pytest.approx(60.0 if crossing.origin == "BA" else 240.0,
                                                   abs=1e-3)
    online = SwitchingDetector(result.series.lattice)
    found = [online.update(t, s, e) for t, s, e in zip(result.series.time, result.series.sliding,
                                                         result.series.field)]
    assert [c for c in found if c is not None] == result.crossings


@pytest.mark.parametrize("direction, theta", [("(b-a)/3", 60.0), ("(2a+b)/3", 300.0),
                                              ("-(a+2b)/3", 180.0)])
def test_the_three_ba_to_ab_directions(direction, theta):
    lattice = bn_lattice()
    a, b = lattice.vectors
    step = {"(b-a)/3": (b - a) / 3, "(2a+b)/3": (2 * a + b) / 3, "-(a+2b)/3": -(a + 2 * b) / 3}
    path = lattice.site("BA") + np.linspace(0, 1, 11)[:, None] * step[direction]
    crossings = detect_crossings(np.arange(11.0), path, lattice)
    assert len(crossings) == 1 and crossings[0].origin == "BA"
    assert crossings[0].theta_deg == pytest.approx(theta, abs=1e-9)
    assert crossings[0].time == pytest.approx(5.0, abs=1e-9)


def test_jitter_inside_a_basin_is_not_a_crossing():
    lattice = bn_lattice()
    rng = np.random.default_rng(4)
    sp = lattice.site("SP")
    # wander around the saddle point, never entering the AB basin
    path = sp + rng.normal(0, 0.05, (400, 2))
    path[0] = lattice.site("BA")
    assert detect_crossings(np.arange(400.0), path, lattice) == []


def test_batch_statistics():
    values = np.arange(40.0) ** 1.5
    mean, sd, se = batch_statistics(values)
    batches = values.reshape(10, 4).mean(axis=1)
    assert mean == pytest.approx(values.mean()) and sd == pytest.approx(values.std(ddof=1))
    assert se == pytest.approx(batches.std(ddof=1) / np.sqrt(10))
    assert np.isnan(batch_statistics([1.0])[2])


def test_branch_transition_edges():
    assert branch_transition([100, 200], [1.0, 0.9])[0] is None
    assert "above" in branch_transition([100, 200], [1.0, 0.9])[1]
    assert "below" in branch_transition([100, 200], [0.1, 0.2])[1]
    assert branch_transition([300, 100, 200], [0.0, 1.0, 1.0])[0] == pytest.approx(250.0)


# ---- errors ------------------------------------------------------------------------------------

def test_not_netcdf(tmp_path):
    path = tmp_path / "deck.in"
    path.write_text("system bilayer\n")
    with pytest.raises(TrajectoryError, match="is not a netCDF file"):
        read_frame_series(path)
    result = CliRunner().invoke(analyze, [str(path)])
    assert result.exit_code == 2 and "is not a netCDF file" in result.output


def test_missing_variables(tmp_path):
    path = tmp_path / "empty.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("frame", None)
        ds.createVariable("time", "f8", ("frame",))[:] = [0.0]
    with pytest.raises(TrajectoryError, match="lacks the variable.*coordinates"):
        read_frame_series(path)


def test_no_recognisable_bilayer(tmp_path):
    structure = bilayer("BN", (4, 4), "BA")
    frames = rigid_frames(structure, sliding_path(2), np.zeros((2, 2)), wrap=False)
    frames[:, :, 2] = np.linspace(5.0, 20.0, frames.shape[1])  # atoms spread evenly in z
    path = tmp_path / "soup.nc"
    write_foreign_trajectory(path, structure, frames, np.arange(2.0))
    with pytest.raises(TrajectoryError, match="no recognisable bilayer"):
        read_frame_series(path)


def test_missing_atom_types(tmp_path):
    structure = bilayer("BN", (4, 4), "BA")
    frames = rigid_frames(structure, sliding_path(2), np.zeros((2, 2)), wrap=False)
    path = tmp_path / "untyped.nc"
    write_foreign_trajectory(path, structure, frames, np.arange(2.0), types=False)
    with pytest.raises(TrajectoryError, match="no per-atom types"):
        read_frame_series(path)


# ---- the command --------------------------------------------------------------------------------

def test_command_writes_table_csv_json_and_plots(tmp_path):
    path = tmp_path / "traj.nc"
    write_ladder(path)
    out = tmp_path / "res"
    result = CliRunner().invoke(analyze, [str(path), "--order-param", "G=a*-b*",
                                          "--order-param", "G=2a*+b*", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Curie temperature T_C" in result.output and "heating" in result.output
    for suffix in ("frames.csv", "stages.csv", "crossings.csv", "analysis.json",
                   "im_psi_vs_T.png", "time_series.png", "hexagon.png"):
        assert (out / f"traj.{suffix}").stat().st_size > 0
    with open(out / "traj.stages.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 11 and "psi[2a*+b*]_im_se" in rows[0]
    with open(out / "traj.im_psi_vs_T.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    scripted = CliRunner().invoke(analyze, [str(path), "--json", "--no-plots", "--out", str(out)])
    assert scripted.exit_code == 0
    summary = json.loads(scripted.output)
    assert len(summary) == 1 and summary[0]["order_parameters"] == ["a*-b*"]
    assert len(summary[0]["crossings"]) == len(
        list(csv.DictReader(open(out / "traj.crossings.csv"))))
    bad = CliRunner().invoke(analyze, [str(path), "--order-param", "G=a+b"])
    assert bad.exit_code == 2 and "integer combination" in bad.output


# ---- a real heating/cooling ladder run by slidesim ---------------------------------------------

REAL_LADDER = """system bilayer material BN cells 4 4 stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 20 fs
seed 7
output {output}
thermo every 10
trajectory every 10
checkpoint every 100000
stage start temperature 1 K steps 40
loop T in 600 1200
  stage heat_$T temperature $T K steps 60
end
loop T in 600 1
  stage cool_$T temperature $T K steps 60
end
"""


def test_real_ladder_end_to_end(tmp_path):
    deck = parse_deck(REAL_LADDER.format(output=tmp_path / "run"), str(tmp_path / "ladder.in"))
    Simulation(deck, progress=False).run()
    path = tmp_path / "run" / "traj.nc"
    out = tmp_path / "res"
    result = CliRunner().invoke(analyze, [str(path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)[0]
    stages = summary["stages"]
    assert [s["temperature_target_K"] for s in stages] == [1.0, 600.0, 1200.0, 600.0, 1.0]
    assert [s["branch"] for s in stages] == ["heating"] * 3 + ["cooling"] * 2
    assert summary["lattice"]["supercell"] == [4, 4]
    assert summary["lattice"]["a_A"] == pytest.approx(A_BN, rel=1e-12)
    # independent check of t: mass-centre difference of the (unwrapped) layers, with the run's
    # masses (slidesim's table), anchored at the registry slidesim recorded for frame 0
    data = read_trajectory(path)
    masses = np.array([ATOMIC_MASS[data["species_names"][s]] for s in data["species"]])
    centre = [(data["coordinates"][:, data["layer"] == k] * masses[data["layer"] == k, None]).sum(1)
              / masses[data["layer"] == k].sum() for k in (0, 1)]
    expected = (centre[1] - centre[0])[:, :2]
    with open(out / "traj.frames.csv") as handle:
        frames = list(csv.DictReader(handle))
    found = np.array([[float(r["t_x_A"]), float(r["t_y_A"])] for r in frames])
    # the anchor: the registry of frame 0, which slidesim recorded from its float64 state
    # (the file's coordinates are float32, ~1e-6 A at 10 A)
    np.testing.assert_allclose(found[0], data["sliding_vector"][0, :2], atol=2e-6)
    expected += found[0] - expected[0]
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-9)
    # the run recorded the same definition: stored and recomputed t agree to float32 round-off
    np.testing.assert_allclose(found, data["sliding_vector"][:, :2], rtol=0, atol=2e-6)
    g = parse_reciprocal("a*-b*")
    lattice = HexLattice(np.array(summary["lattice"]["vectors_A"]))
    np.testing.assert_allclose([float(r["psi[a*-b*]_im"]) for r in frames],
                               np.exp(1j * expected @ g.vector(lattice)).imag, atol=1e-9)
    # 0.3 ps at <= 1200 K is far too short to switch a bilayer: it stays BA
    assert stages[0]["psi[a*-b*]_im_mean"] == pytest.approx(np.sqrt(3) / 2, abs=0.02)
    assert summary["crossings"] == []
    assert summary["curie_temperature"]["estimate_K"] is None
    assert (out / "traj.im_psi_vs_T.png").exists()


def test_ase_written_trajectory(tmp_path):
    """ASE's netcdftrajectory writer (types per frame, float32, wrapped, no layers): t and psi to
    float32 precision."""
    from ase.io import write

    from slidesim.io.structures import state_to_atoms

    sliding = sliding_path(12, turns=0.6)
    frames = []
    for k, t in enumerate(sliding):
        atoms = state_to_atoms(bilayer("BN", (5, 5), "BA", sliding=t))
        atoms.translate([0.7 * k, 0.3 * k, 0.0])
        atoms.wrap()
        frames.append(atoms)
    path = tmp_path / "ase.nc"
    write(path, frames, format="netcdftrajectory")
    with pytest.raises(TrajectoryError, match="no 'time' variable; give --dt"):
        analyze_trajectory(path)  # ASE writes no times: frames are not picoseconds
    result = analyze_trajectory(path, dt=1.0)
    lattice = result.series.lattice
    assert result.series.layer_source == "z gap" and lattice.supercell == (5, 5)
    assert_same_modulo_one_lattice_vector(result.series.sliding, sliding, lattice, 2e-5)
    g = parse_reciprocal("a*-b*")
    np.testing.assert_allclose(result.psi["a*-b*"], np.exp(1j * sliding @ g.vector(lattice)),
                               atol=1e-4)
    assert [(c.origin, c.destination) for c in result.crossings] == [("BA", "AB")]
