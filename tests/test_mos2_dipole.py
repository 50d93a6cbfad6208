"""The MoS2 registry dipole (catalog mos2-ilp): stacking symmetry, P_par reversed against h-BN,
the monolayer Born charges, Born charges as dP/dr, and fields in a MoS2 run."""

import json

import numpy as np
import pytest

from slidesim.catalog import model_entry
from slidesim.fields.dipole import RegistryDipole, load_parameters, polarization_pC_per_m
from slidesim.geometry import sliding_direction
from slidesim.neighbors import NeighborList
from slidesim.structures import bilayer

#: targets (docs/tmd.md): P_perp at XM, |P_par| at SP [pC/m]
P_PERP_XM, P_PAR_SP_RANGE = 0.60, (2.1, 2.4)
#: monolayer Born charges [e] (in-plane, out-of-plane) of Mo; S carries minus half of them
#: (in-plane: Ataca et al. 2011 with the sign of Pike et al. 2017, docs/tmd.md)
Z_MO = (-1.21, -0.06)


def mos2_dipole(overrides=None):
    parameters = load_parameters(model_entry("mos2-ilp").dipole)
    return RegistryDipole(("Mo", "S"), {**parameters, **(overrides or {})})


def evaluate(model, state, positions=None, cell=None):
    positions = state.positions[0] if positions is None else positions
    cell = state.cell if cell is None else cell
    lists = {key: NeighborList(r.cutoff, skin=0.0, mode=r.mode)
             for key, r in model.requests.items()}
    for nl in lists.values():
        nl.build(positions, cell, state.layer)
    return model.compute(positions, cell, state.species, state.layer, lists)


def polarization(model, material, stacking, supercell=(3, 3), **geometry):
    """(P along b - a, in-plane normal to it, P_z) [pC/m] of a rigid flat bilayer."""
    state = bilayer(material, supercell, stacking, **geometry)
    p = polarization_pC_per_m(evaluate(model, state).dipole, state.cell)
    u = sliding_direction()
    return np.array([p @ u, p @ np.cross([0.0, 0.0, 1.0], u), p[2]])


def distorted(seed=3, amplitude=0.08, stacking=0.41, supercell=(2, 2)):
    state = bilayer("MoS2", supercell, stacking)
    state.positions[0] += np.random.default_rng(seed).normal(0.0, amplitude,
                                                             state.positions[0].shape)
    return state


def test_the_catalog_gives_mos2_ilp_its_own_dipole():
    entry = model_entry("mos2-ilp")
    assert entry.dipole is not None and entry.dipole != model_entry("bn-ilp").dipole
    assert set(load_parameters(entry.dipole)["species"]) == {"Mo", "S"}
    with pytest.raises(ValueError, match="no parameters for species"):
        RegistryDipole(("B", "N"), entry.dipole)


def test_stackings_have_the_3r_symmetry_and_the_target_sizes():
    model = mos2_dipole()
    aa, xm, sp, mx = (polarization(model, "MoS2", s) for s in ("AA", "XM", "SP", "MX"))
    assert xm[2] == pytest.approx(P_PERP_XM, abs=0.02)
    assert mx[2] == pytest.approx(-xm[2], abs=1e-12)           # the sign flips XM <-> MX
    assert P_PAR_SP_RANGE[0] < abs(sp[0]) < P_PAR_SP_RANGE[1]
    assert np.abs(aa).max() < 1e-10 and abs(sp[2]) < 1e-10
    assert np.abs(xm[:2]).max() < 1e-10 and np.abs(mx[:2]).max() < 1e-10   # C3 at XM, MX
    assert abs(sp[1]) < 1e-10                                   # mirror through b - a


def test_p_par_at_sp_points_against_the_slide_from_the_positive_state_unlike_h_bn():
    mos2, bn = mos2_dipole(), RegistryDipole(("B", "N"))
    xm, sp = polarization(mos2, "MoS2", "XM"), polarization(mos2, "MoS2", "SP")
    ba, sp_bn = polarization(bn, "BN", "BA"), polarization(bn, "BN", "SP")
    # both slide from the state with P_perp > 0 (XM, BA; t = (b - a)/3) along +(b - a) to SP
    assert xm[2] > 0.5 and ba[2] > 1.5
    assert sp[0] < -2.0          # MoS2: against the sliding direction
    assert sp_bn[0] > 1.0        # h-BN: along it (1.8 pC/m at bn-ilp's d = 3.235 A)


def test_mirror_of_the_bilayer_flips_p_perp_and_keeps_p_par():
    """Exchanging the layers by z -> -z maps any configuration to a valid one: P_z changes sign,
    the in-plane P does not (the layer-swap antisymmetry of the Mo-S weights)."""
    model = mos2_dipole()
    state = distorted(seed=11, stacking=0.43)
    mirrored = bilayer("MoS2", (2, 2), 0.43)
    x = state.positions[0].copy()
    x[:, 2] = 2 * x[:, 2].mean() - x[:, 2]
    mirrored.positions[0] = x
    mirrored.layer = 1 - state.layer
    p, q = evaluate(model, state).dipole, evaluate(model, mirrored).dipole
    assert abs(p[2]) > 1e-3 and np.abs(p[:2]).max() > 1e-3
    np.testing.assert_allclose(q, [p[0], p[1], -p[2]], atol=1e-12)


def test_monolayer_born_charges_are_mos2s_and_each_layer_is_neutral():
    model = mos2_dipole({"perp_amplitudes_eA": [0.0, 0.0], "par_amplitudes_e": [0.0, 0.0]})
    state = distorted(amplitude=0.04)
    born = evaluate(model, state).born_charges
    z_mo = np.diag([Z_MO[0], Z_MO[0], Z_MO[1]])
    for i, s in enumerate(state.species):
        np.testing.assert_allclose(born[i], z_mo if s == 0 else -0.5 * z_mo, atol=1e-12)
    for layer in (0, 1):
        assert np.abs(born[state.layer == layer].sum(axis=0)).max() < 1e-12
    assert np.abs(evaluate(model, bilayer("MoS2", (2, 2), 0.41)).dipole).max() < 1e-12


def test_born_charges_are_the_derivative_of_the_dipole_and_sum_to_zero():
    # switches moved so that the thermal-size distortion crosses them
    model = mos2_dipole({"z_on_A": 4.6, "z_off_A": 5.0, "bond_on_A": 2.35, "bond_off_A": 2.6})
    state = distorted(seed=5, amplitude=0.08, supercell=(2, 1))
    x0 = state.positions[0]
    analytic = evaluate(model, state).born_charges
    h = 1e-5
    numeric = np.zeros_like(analytic)
    for i in range(len(x0)):
        for beta in range(3):
            plus, minus = x0.copy(), x0.copy()
            plus[i, beta] += h
            minus[i, beta] -= h
            numeric[i, :, beta] = (evaluate(model, state, plus).dipole
                                   - evaluate(model, state, minus).dipole) / (2 * h)
    assert np.abs(analytic).max() > 0.5
    np.testing.assert_allclose(analytic, numeric, atol=2e-8, rtol=1e-6)
    full = evaluate(mos2_dipole(), distorted(seed=9)).born_charges
    assert np.abs(full.sum(axis=0)).max() < 1e-12


def test_shipped_parameters_say_how_they_were_made():
    with open(model_entry("mos2-ilp").dipole) as handle:
        fit = json.load(handle)["fit"]
    assert "fit_registry_dipole_mos2.py" in fit["method"]
    assert fit["rms_path_residual_par_pC_per_m"] < 0.05


def test_a_mos2_deck_with_a_field_couples_it_through_the_registry_dipole(tmp_path):
    """A field in a MoS2 deck: the catalog's dipole gives the Born charges, P_z starts at XM's
    +0.6 pC/m, and the conserved quantity (with the field's work) holds in NVE."""
    from slidesim.tmd import lammps_potential

    try:
        lammps_potential("MoS2.ILP")
    except FileNotFoundError as error:
        pytest.skip(str(error))
    from slidesim.deck import parse_deck
    from slidesim.io.thermo import read_thermo
    from slidesim.simulation import Simulation

    text = """system bilayer material MoS2 cells 3 3 stacking XM
model mos2-ilp
timestep 1 fs
integrator nve
seed 3
velocities 100 K
output {out}
thermo every 5
stage ramp temperature 100 K steps 60 field_par 0.3 V/A field_angle 240 deg field_perp 0 V/A field_perp_rate 2 V/A/ps
"""
    deck = parse_deck(text.format(out=tmp_path / "out"), str(tmp_path / "mos2.in"))
    simulation = Simulation(deck, progress=False)
    assert simulation.run()["reason"] == "finished"
    thermo = read_thermo(tmp_path / "out" / "thermo.csv")
    assert thermo["P_z_pCm"][0] == pytest.approx(P_PERP_XM, abs=0.05)
    assert thermo["field_z_VA"][-1] == pytest.approx(0.12, abs=0.01)
    assert abs(thermo["e_field"][-1]) > 0.0
    conserved = np.asarray(thermo["conserved_eV"])
    assert np.ptp(conserved) / simulation.state.n_atoms < 2e-5
