"""The registry dipole model of an h-BN bilayer: polarization P(R) and Born charges Z_i(R).

P is the sum of two pair terms (the numba kernel :func:`slidesim.kernels.dipole.registry_dipole`
holds the formulas):

- a *registry* part from interlayer pairs, which depends on how the top layer sits on the
  bottom one. It carries the sliding ferroelectricity: P_perp = +-2.078 pC/m in BA/AB, zero in
  AA and SP, P_par = 2.091 pC/m along the sliding direction at SP (paper, Fig. 1c). Its
  parameters are fitted by ``validation/fit_registry_dipole.py`` to the paper's targets and to
  the path fits of its Eq. 3; they ship in ``slidesim/fields/params/bn_registry_dipole.json``.
- a *monolayer* part from intralayer B-N bonds: each bond carries the dipole q (r_B - r_N) with
  q = Z*_B / 3, so every B atom (three bonds) has the constant Born charge Z*_B and every N atom
  -Z*_B (each layer is neutral by construction), and the part vanishes for the ideal lattice.

Both depend only on differences of positions: sum_i Z_i = 0 (acoustic sum rule) exactly.
"""

import json
import os
from dataclasses import dataclass

import numba
import numpy as np

from slidesim import units
from slidesim.geometry import in_plane_area
from slidesim.kernels import dipole as dipole_kernels
from slidesim.models.base import NeighborRequest

PARAMS_DIR = os.path.join(os.path.dirname(__file__), "params")
#: the fitted h-BN parameters shipped with slidesim
DEFAULT_PARAMETERS = os.path.join(PARAMS_DIR, "bn_registry_dipole.json")


@dataclass
class DipoleResult:
    """Dipole of one configuration.

    dipole (3,) [e A]; born_charges (N, 3, 3) [e], Z[i, alpha, beta] = dP_alpha / dr_i,beta;
    dipole_virial (3, 3, 3) [e A^2], D[alpha, a, b] = sum over pairs r_a dp_alpha / dr_b (the
    field energy -E.P then has the virial W_ab = E_alpha D[alpha, a, b]).
    """

    dipole: np.ndarray
    born_charges: np.ndarray
    dipole_virial: np.ndarray


#: area [A^2] of the periodic plane spanned by the cell rows a and b (|a x b|_z)
sheet_area = in_plane_area


def polarization_pC_per_m(dipole, cell):
    """2D polarization (3,) [pC/m] of a dipole (3,) [e A] in a cell (3, 3) [A] (per a x b area)."""
    return units.dipole_per_area_to_pC_per_m(np.asarray(dipole, dtype=np.float64),
                                             in_plane_area(cell))


def load_parameters(parameters=None):
    """The parameter dict: a dict as given, a JSON file path, or the shipped h-BN fit (None)."""
    if parameters is None:
        parameters = DEFAULT_PARAMETERS
    if isinstance(parameters, (str, os.PathLike)):
        if not os.path.exists(parameters):
            raise FileNotFoundError(f"registry dipole parameters {parameters} not found; "
                                    "regenerate them with validation/fit_registry_dipole.py")
        with open(parameters) as handle:
            return json.load(handle)
    return dict(parameters)


def _pair_matrix(pair_values, species_names, what):
    """(S, S) antisymmetric matrix from {"B-N": w} (w for the first species on top)."""
    index = {name: k for k, name in enumerate(species_names)}
    matrix = np.zeros((len(species_names), len(species_names)))
    for key, value in pair_values.items():
        first, second = key.split("-")
        if first == second:
            raise ValueError(f"{what}: like-species pair {key} must have zero weight "
                             "(the layer-swap symmetry forbids it)")
        if first in index and second in index:
            matrix[index[first], index[second]] = float(value)
            matrix[index[second], index[first]] = -float(value)
    return matrix


class RegistryDipole:
    """Dipole P [e A] and Born charges Z_i [e] of a bilayer from the registry dipole model.

    species_names: element symbol of each species index (h-BN: "B" and "N"; the parameters say
    which species they cover); parameters: None (shipped h-BN fit), a dict or a JSON path with
    the keys of ``slidesim/fields/params/bn_registry_dipole.json``; a dict may override single
    keys of the shipped fit, e.g. ``{"reference_distance_A": 3.2}``. A catalog model names its
    own file (``model_entry(name).dipole``; MoS2: ``mos2_registry_dipole.json``).

    ``monolayer_born_charges_e`` maps "cation-anion" to the cation's Born charge (in-plane x, y
    and out-of-plane z [e]); ``bonds_per_atom`` is the cation's bond count (h-BN 3, MoS2 6), so
    each bond carries Z / bonds_per_atom and the anion gets what its bonds give (S: -Z(Mo)/2).

    ``requests``: "inter" (interlayer pairs, the registry part) and "intra" (intralayer bonds).
    """

    def __init__(self, species_names, parameters=None):
        self.species_names = tuple(species_names)
        # a dict may override single keys of the shipped fit (the fitting script builds one
        # from scratch, before any file exists)
        shipped = isinstance(parameters, dict) and os.path.exists(DEFAULT_PARAMETERS)
        base = load_parameters(None) if shipped else {}
        self.parameters = {**base, **load_parameters(parameters)}
        p = self.parameters
        covered = set(p["species"])
        missing = [s for s in self.species_names if s not in covered]
        if missing:
            # WS2, MoSe2, WSe2 (tmd-ilp) have none: no published registry dipole was confirmed
            raise ValueError(f"registry dipole: no parameters for species {missing} (covered: "
                             f"{sorted(covered)}): no Born charges are fitted for this material, "
                             "so fields cannot act on it (docs/tmd.md); in Python, pass "
                             "parameters= that include them")
        self.perp_weights = _pair_matrix(p["perp_pair_weights"], self.species_names, "perp")
        self.par_weights = _pair_matrix(p["par_pair_weights"], self.species_names, "par")
        self.perp_amplitudes = np.array(p["perp_amplitudes_eA"], dtype=np.float64)
        self.perp_widths = np.array(p["perp_widths_A"], dtype=np.float64)
        self.par_amplitudes = np.array(p["par_amplitudes_e"], dtype=np.float64)
        self.par_widths = np.array(p["par_widths_A"], dtype=np.float64)
        if self.perp_amplitudes.shape != self.perp_widths.shape or \
                self.par_amplitudes.shape != self.par_widths.shape:
            raise ValueError("registry dipole: each Gaussian needs one amplitude and one width")
        if np.any(self.perp_widths <= 0) or np.any(self.par_widths <= 0):
            raise ValueError("registry dipole: Gaussian widths must be positive [A]")
        self.rho_on, self.rho_off = float(p["rho_on_A"]), float(p["rho_off_A"])
        self.z_on, self.z_off = float(p["z_on_A"]), float(p["z_off_A"])
        self.bond_on, self.bond_off = float(p["bond_on_A"]), float(p["bond_off_A"])
        for lo, hi, name in ((self.rho_on, self.rho_off, "rho"), (self.z_on, self.z_off, "z"),
                             (self.bond_on, self.bond_off, "bond")):
            if not 0.0 < lo < hi:
                raise ValueError(f"registry dipole: need 0 < {name}_on < {name}_off, got "
                                 f"{lo}, {hi}")
        self.decay = float(p["decay_per_A"])
        self.reference_distance = float(p["reference_distance_A"])
        #: (S, S, 3) [e] bond charges q[s, s', alpha]; Z*(s) = bonds_per_atom * q[s, s']
        self.bond_charges = np.zeros((len(self.species_names), len(self.species_names), 3))
        index = {name: k for k, name in enumerate(self.species_names)}
        for key, charge in p["monolayer_born_charges_e"].items():
            cation, anion = key.split("-")
            if cation in index and anion in index:
                q = np.asarray(charge, dtype=np.float64) / float(p["bonds_per_atom"])
                self.bond_charges[index[cation], index[anion]] = q
                self.bond_charges[index[anion], index[cation]] = -q
        self.inter_cutoff = float(np.hypot(self.rho_off, self.z_off))
        self.requests = {"inter": NeighborRequest(self.inter_cutoff, "interlayer"),
                         "intra": NeighborRequest(self.bond_off, "intralayer")}

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """:class:`DipoleResult` of one configuration.

        positions (N, 3) [A]; cell (3, 3) [A]; species, layer (N,) int; neighbor_lists: dict
        with the keys of ``requests`` (lists may be longer than asked for).
        """
        inter, intra = neighbor_lists["inter"], neighbor_lists["intra"]
        dipole, born, virial = dipole_kernels.registry_dipole(
            np.ascontiguousarray(positions, dtype=np.float64), np.asarray(species, np.int64),
            np.asarray(layer, np.int64), inter.offsets, inter.neighbors, inter.shifts,
            intra.offsets, intra.neighbors, intra.shifts, self.perp_weights, self.par_weights,
            self.perp_amplitudes, self.perp_widths, self.par_amplitudes, self.par_widths,
            self.rho_on, self.rho_off, self.decay, self.reference_distance, self.z_on,
            self.z_off, self.bond_charges, self.bond_on, self.bond_off,
            numba.get_num_threads())
        return DipoleResult(dipole, born, virial)
