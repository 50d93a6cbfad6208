"""Fit the registry dipole model (slidesim.fields.dipole) to a suite at a model's geometry.

Like validation/fit_registry_dipole.py, but every sliding vector sits at the interlayer distance
the energy model relaxes to (the DFT polarizations are those of relaxed stackings), and the
reference distance d0 of the dipole's exp(-kappa (d - d0)) is the model's AB distance. Targets:
the suite's [polarization] values (weight ``anchor_weight``) and the P columns of its [path].
The monolayer Born charges, switches and kappa stay those of the shipped h-BN parameters.
"""

import numpy as np
from scipy.optimize import least_squares

from slidesim.fields.dipole import RegistryDipole, load_parameters
from slidesim.geometry import in_plane_area
from slidesim.neighbors import NeighborList
from slidesim.units import dipole_per_area_to_pC_per_m

#: starting point and bounds of (A1, s1, A2, s2) for perp [e A, A] and par [e, A]
START = np.array([-0.02, 0.8, 0.0, 0.5, 0.02, 0.8, 0.0, 0.5])
LOWER = np.array([-1.0, 0.3, -1.0, 0.3, -1.0, 0.3, -1.0, 0.3])
UPPER = np.array([1.0, 1.2, 1.0, 1.2, 1.0, 1.2, 1.0, 1.2])


def _set(dipole, x):
    dipole.perp_amplitudes[:] = [x[0], x[2]]
    dipole.perp_widths[:] = [x[1], x[3]]
    dipole.par_amplitudes[:] = [x[4], x[6]]
    dipole.par_widths[:] = [x[5], x[7]]


def fit_dipole(suite, rigid, anchor_weight=20.0):
    """Registry dipole parameters (dict, JSON-ready) fitted on ``rigid`` (a RigidBilayer of
    the energy model at the suite's lattice); the dict's "fit" key records the residuals."""
    base = load_parameters(None)
    d_ab = rigid.relax(2.0 / 3.0)[0]
    parameters = {**base, "reference_distance_A": float(d_ab)}
    parameters.pop("fit", None)
    dipole = RegistryDipole(("B", "N"), parameters)
    rigid.dipole = dipole
    u = rigid.sliding_direction()
    targets = []  # (fraction, component, value, weight)
    table = suite.get("polarization") or {}
    for key, fraction, component in (("P_perp_AB_pC_per_m", 2 / 3, "perp"),
                                     ("P_perp_BA_pC_per_m", 1 / 3, "perp"),
                                     ("P_par_SP_pC_per_m", 0.5, "par")):
        if key in table:
            targets.append((fraction, component, table[key], anchor_weight))
    path = suite.path
    if path is not None:
        for s, p_par, p_perp in zip(np.clip(path.fractions(), 1 / 3, 2 / 3),
                                    path.p_par if path.p_par is not None else [],
                                    path.p_perp if path.p_perp is not None else []):
            targets += [(s, "par", p_par, 1.0), (s, "perp", p_perp, 1.0)]
    targets = [t for t in targets if np.isfinite(t[2])]
    if not targets:
        raise ValueError(f"{suite.directory}/suite.toml: no polarization data to fit the "
                         "dipole to; add [polarization] or P columns to the [path] file")
    fractions = sorted({t[0] for t in targets})
    geometry = {}  # fraction -> (state, neighbour lists, area), built once
    for s in fractions:
        state = rigid.state(s, rigid.relax(s)[0])
        lists = {}
        for key, request in dipole.requests.items():
            lists[key] = NeighborList(request.cutoff, skin=0.0, mode=request.mode)
            lists[key].build(state.positions[0], state.cell, state.layer)
        geometry[s] = (state, lists, in_plane_area(state.cell))

    def polarization(s):
        state, lists, area = geometry[s]
        p = dipole.compute(state.positions[0], state.cell, state.species, state.layer, lists)
        return dipole_per_area_to_pC_per_m(p.dipole, area)

    def residuals(x):
        _set(dipole, x)
        cache = {s: polarization(s) for s in fractions}
        return np.array([w * ((cache[s] @ u if c == "par" else cache[s][2]) - value)
                         for s, c, value, w in targets])

    found = least_squares(residuals, START, bounds=(LOWER, UPPER), x_scale="jac")
    _set(dipole, found.x)
    unweighted = residuals(found.x) / np.array([t[3] for t in targets])
    x = [float(v) for v in found.x]
    parameters.update({"perp_amplitudes_eA": [x[0], x[2]], "perp_widths_A": [x[1], x[3]],
                       "par_amplitudes_e": [x[4], x[6]], "par_widths_A": [x[5], x[7]]})
    parameters["fit"] = {
        "method": "scipy.optimize.least_squares, slidesim fit (slidesim/validation/fit_dipole.py)",
        "suite": suite.name,
        "geometry": f"rigid flat 1x1 bilayer, a = {rigid.lattice} A, distance relaxed by the "
                    "energy model at each sliding vector",
        "max_residual_pC_per_m": float(np.abs(unweighted).max()),
    }
    return parameters
