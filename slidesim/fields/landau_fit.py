"""Fit the Landau path model of Eq. 3 to a sliding landscape along BA -> SP -> AB (Fig. S3).

The landscape is a CSV file (as ``slidesim landscape`` writes it) with at least the columns

=============  ========  ======================================================================
column         unit      meaning
=============  ========  ======================================================================
t_A            A         distance along the straight path BA -> SP -> AB from SP, BA side < 0
energy_meV     meV       energy per cell at zero field (any reference; e0 absorbs it)
p_par_eA       e A       in-plane dipole per cell along the sliding direction b - a
p_perp_eA      e A       out-of-plane dipole per cell along +z (positive at BA)
=============  ========  ======================================================================

Other columns are ignored. As in the paper (SM section SIII), the constraints are built into the
functional forms: eps0 is minimal at BA and AB, p_par vanishes there and p_perp is extremal there.
t_BA is fitted together with e4 and e0 unless it is given (e.g. -a / (2 sqrt 3) for lattice a).
"""

import csv

import numpy as np
from scipy.optimize import curve_fit

from slidesim.fields.landau import LandauPath

LANDSCAPE_COLUMNS = ("t_A", "energy_meV", "p_par_eA", "p_perp_eA")


def read_landscape_csv(path):
    """Read the four LANDSCAPE_COLUMNS of a CSV file; returns a dict of float arrays [n_points]."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(row for row in handle if not row.lstrip().startswith("#")))
    except OSError as err:
        raise ValueError(f"cannot read landscape CSV {path}: {err.strerror}") from err
    header = rows[0].keys() if rows else []
    missing = [name for name in LANDSCAPE_COLUMNS if name not in header]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; a landscape CSV needs "
                         f"{', '.join(LANDSCAPE_COLUMNS)} (t from SP [A], energy per cell [meV], "
                         "dipoles per cell [e A])")
    try:
        data = {name: np.array([float(row[name]) for row in rows]) for name in LANDSCAPE_COLUMNS}
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: a value is not a number ({err})") from err
    return data


def _r_squared(observed, predicted):
    residual = np.sum((observed - predicted) ** 2)
    spread = np.sum((observed - observed.mean()) ** 2)
    return float(1.0 - residual / spread) if spread > 0 else float("nan")


def _energy_form(t, e4, e0, tb):
    return e4 * (t**4 - 2 * tb**2 * t**2) + e0


def _fit_energy(t, energy, t_ba_A):
    """(e4 [meV/A^4], e0 [meV], t_BA [A]) fitted to the zero-field energy; t_BA fixed if given."""
    depth = max(np.ptp(energy), 1e-6)
    if t_ba_A is None:
        # start from the lowest point on the BA side
        guess_tb = -min(np.abs(t).max(), np.abs(t[np.argmin(np.where(t < 0, energy, np.inf))]))
        (e4, e0, tb), _ = curve_fit(_energy_form, t, energy,
                                    p0=(depth / guess_tb**4, energy.max(), guess_tb))
        return e4, e0, -abs(tb)
    tb = float(t_ba_A)
    if not tb < 0:
        raise ValueError(f"t_ba_A = {tb} A: BA lies at negative t")
    (e4, e0), _ = curve_fit(lambda t, e4, e0: _energy_form(t, e4, e0, tb), t, energy,
                            p0=(depth / tb**4, energy.max()))
    return e4, e0, tb


def fit_landau_path(t_A, energy_meV, p_par_eA, p_perp_eA, t_ba_A=None):
    """Least-squares fit of e4, e0 (and t_BA), p4, p2, p3 of Eq. 3.

    Args:
        t_A, energy_meV, p_par_eA, p_perp_eA: arrays [n_points] in A, meV, e A, e A (per cell).
        t_ba_A: BA position [A] (negative); fitted from the energy when None.
    Returns:
        (LandauPath, r_squared): the fitted model and the coefficient of determination R^2 of
        each fit, a dict with keys "energy", "p_par", "p_perp".
    """
    t, energy = np.asarray(t_A, float), np.asarray(energy_meV, float)
    p_par, p_perp = np.asarray(p_par_eA, float), np.asarray(p_perp_eA, float)
    if not (t.shape == energy.shape == p_par.shape == p_perp.shape) or t.ndim != 1:
        raise ValueError("t, energy, p_par and p_perp must be 1-D arrays of the same length")
    if t.size < 6:
        raise ValueError(f"only {t.size} landscape points: sample at least 6 along BA -> AB")
    if not all(np.all(np.isfinite(x)) for x in (t, energy, p_par, p_perp)):
        raise ValueError("the landscape contains NaN or infinite values")
    if not (t.min() < 0 < t.max()):
        raise ValueError("the landscape must cover both sides of SP (t < 0 towards BA, "
                         "t > 0 towards AB)")
    try:
        e4, e0, tb = _fit_energy(t, energy, t_ba_A)
    except RuntimeError as err:  # curve_fit did not converge
        raise ValueError(f"the landscape energy does not fit eps0(t) of Eq. 3: {err}") from err
    # the dipole forms are linear in their coefficients once t_BA is known
    par_design = np.column_stack([t**4 - tb**4, t**2 - tb**2])
    (p4, p2), *_ = np.linalg.lstsq(par_design, p_par, rcond=None)
    perp_design = t**3 - 3 * tb**2 * t
    p3 = float(perp_design @ p_perp / (perp_design @ perp_design))
    path = LandauPath(t_ba_A=float(tb), e4_meV_per_A4=float(e4), e0_meV=float(e0),
                      p4_e_per_A3=float(p4), p2_e_per_A=float(p2), p3_e_per_A2=p3)
    r_squared = {"energy": _r_squared(energy, path.zero_field_energy_meV(t)),
                 "p_par": _r_squared(p_par, path.dipole_par_eA(t)),
                 "p_perp": _r_squared(p_perp, path.dipole_perp_eA(t))}
    return path, r_squared


def fit_landscape_csv(path, t_ba_A=None):
    """read_landscape_csv + fit_landau_path; returns (LandauPath, r_squared)."""
    data = read_landscape_csv(path)
    return fit_landau_path(data["t_A"], data["energy_meV"], data["p_par_eA"],
                           data["p_perp_eA"], t_ba_A=t_ba_A)
