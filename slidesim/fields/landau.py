"""Landau model of field-driven sliding along BA -> SP -> AB (the seed paper's Eq. 3, 4, S6).

One cell of the bilayer slides along the straight path BA -> SP -> AB; t [A] is the distance
along the path measured from the saddle point SP (t = 0), negative on the BA side:
t_BA < 0 < t_AB = -t_BA, with t_BA = -|b - a| / 6. Per cell and at zero field

    eps0(t)   = e4 t^4 - 2 e4 t_BA^2 t^2 + e0                       [meV]
    p_par(t)  = p4 t^4 + p2 t^2 - p4 t_BA^4 - p2 t_BA^2              [e A]
    p_perp(t) = p3 t^3 - 3 p3 t_BA^2 t                               [e A]

p_par is the in-plane dipole along the sliding direction b - a (theta = 60 degrees
counterclockwise from +y); p_perp is the z dipole, positive at BA and negative at AB.

Sign convention of the fields (the paper's, made explicit):

* ``e_par`` [V/A] is the in-plane field component along the sliding direction b - a;
* ``e_perp`` [V/A] is the field component along **-z**, the direction that drives BA -> AB.

so that Eq. 3, eps = eps0 - E_par . p_par - E_perp . p_perp with the vector E_perp = -e_perp z,
reads

    eps(t) = eps0(t) - e_par p_par(t) + e_perp p_perp(t).

Coercive fields are returned as ``e_perp`` values, i.e. magnitudes along -z, as the paper
reports them (E0_perp,c = -4 e4 t_BA / (3 p3) = +2.86 V/A).

Two criteria give the critical e_perp for a given e_par >= 0:

* ``"analytic"``: the local minimum on the BA side disappears, i.e. d eps/dt <= 0 all along
  BA -> SP (eps' and eps'' vanish together; closed form Eq. S6). Because eps' is linear in
  e_perp and p_perp' <= 0 on the path, this is e_perp,c = max over t in (t_BA, 0] of the field
  that makes eps'(t) = 0.
* ``"numeric"``: eps(t) never rises above eps(t_BA) along BA -> AB. Likewise,
  e_perp,c = max over t in (t_BA, t_AB] of the field that makes eps(t) = eps(t_BA).

Both are clipped at 0: an in-plane field that alone removes the barrier needs no e_perp.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

#: meV per eV: energies are in meV, field x dipole (V/A x e A) is in eV
MEV_PER_EV = 1000.0

CRITERIA = ("analytic", "numeric")

# The paper's fit along BA -> SP -> AB (DFT, Fig. S3 and the text after Eq. 3), copied from
# shared/reference/paper_values.toml [path_fit].
PAPER_T_BA_A = -0.725
PAPER_E4_MEV_PER_A4 = 27.017
PAPER_E0_MEV = 7.41
PAPER_P4_E_PER_A3 = 5.82e-3
PAPER_P2_E_PER_A = -1.66e-2
PAPER_P3_E_PER_A2 = 9.13e-3


@dataclass(frozen=True)
class LandauPath:
    """Coefficients of Eq. 3; all methods take t [A] as a scalar or an array of any shape.

    Attributes:
        t_ba_A: position of BA on the path [A], negative (t_AB = -t_ba_A).
        e4_meV_per_A4: quartic energy coefficient [meV/A^4], positive (double well).
        e0_meV: energy at SP [meV] (the barrier, up to the tiny eps0(t_BA)).
        p4_e_per_A3, p2_e_per_A: in-plane dipole coefficients [e/A^3], [e/A].
        p3_e_per_A2: out-of-plane dipole coefficient [e/A^2], positive (P_perp(BA) > 0).
    """

    t_ba_A: float = PAPER_T_BA_A
    e4_meV_per_A4: float = PAPER_E4_MEV_PER_A4
    e0_meV: float = PAPER_E0_MEV
    p4_e_per_A3: float = PAPER_P4_E_PER_A3
    p2_e_per_A: float = PAPER_P2_E_PER_A
    p3_e_per_A2: float = PAPER_P3_E_PER_A2

    def __post_init__(self):
        if not self.t_ba_A < 0:
            raise ValueError(f"t_ba_A = {self.t_ba_A} A: BA must lie at negative t (t is "
                             "measured from SP towards AB)")
        if not self.e4_meV_per_A4 > 0:
            raise ValueError(f"e4 = {self.e4_meV_per_A4} meV/A^4: the zero-field energy must "
                             "be a double well (e4 > 0)")
        if not self.p3_e_per_A2 > 0:
            raise ValueError(f"p3 = {self.p3_e_per_A2} e/A^2: P_perp must be positive at BA "
                             "(p3 > 0); flip the sign of t or of the p_perp data")

    @property
    def t_ab_A(self):
        """Position of AB on the path [A]."""
        return -self.t_ba_A

    def zero_field_energy_meV(self, t):
        """eps0(t) [meV per cell]."""
        t = np.asarray(t, dtype=float)
        return self.e4_meV_per_A4 * (t**4 - 2 * self.t_ba_A**2 * t**2) + self.e0_meV

    def dipole_par_eA(self, t):
        """p_par(t) [e A per cell], along the sliding direction; zero at BA and AB."""
        t = np.asarray(t, dtype=float)
        tb2 = self.t_ba_A**2
        return self.p4_e_per_A3 * (t**4 - tb2**2) + self.p2_e_per_A * (t**2 - tb2)

    def dipole_perp_eA(self, t):
        """p_perp(t) [e A per cell], along +z; maximal at BA, minimal at AB."""
        t = np.asarray(t, dtype=float)
        return self.p3_e_per_A2 * (t**3 - 3 * self.t_ba_A**2 * t)

    def energy_meV(self, t, e_par, e_perp):
        """eps(t) of Eq. 3 [meV per cell] under e_par [V/A] (along b - a) and e_perp [V/A]
        (along -z)."""
        coupling_eV = -e_par * self.dipole_par_eA(t) + e_perp * self.dipole_perp_eA(t)
        return self.zero_field_energy_meV(t) + MEV_PER_EV * coupling_eV

    def vertical_coercive_field(self):
        """E0_perp,c = -4 e4 t_BA / (3 p3) [V/A]: the coercive field along -z at e_par = 0."""
        e4_eV = self.e4_meV_per_A4 / MEV_PER_EV
        return -4 * e4_eV * self.t_ba_A / (3 * self.p3_e_per_A2)

    def eq4_beta(self):
        """beta of Eq. 4 [(V/A)^-1/2]: E_perp,c ~ E0_perp,c (1 - beta sqrt(e_par)) for small e_par.

        beta = sqrt(-(p2 + 2 p4 t_BA^2) / (e4 t_BA^2)), i.e. set by the slope of p_par at BA,
        p_par'(t_BA) = 2 t_BA (p2 + 2 p4 t_BA^2). The paper prints -p2 + 2 p4 t_BA^2 under the
        root (1.26 instead of 0.86 (V/A)^-1/2 for its coefficients); that sign slip disagrees with
        its own Eq. S6, whose small-e_par expansion gives the form used here.
        """
        e4_eV, tb2 = self.e4_meV_per_A4 / MEV_PER_EV, self.t_ba_A**2
        return np.sqrt(-(self.p2_e_per_A + 2 * self.p4_e_per_A3 * tb2) / (e4_eV * tb2))

    def coercive_field_eq_s6(self, e_par):
        """Eq. S6 of the paper: the analytic-criterion E_perp,c [V/A] in closed form.

        Valid while 2 e4 t_BA^2 + p2 e_par > 0, i.e. while the SP is still a maximum at e_perp = 0
        (about e_par < 1.71 V/A for the paper's coefficients); NaN beyond.
        """
        e_par = np.asarray(e_par, dtype=float)
        e4_eV, tb = self.e4_meV_per_A4 / MEV_PER_EV, self.t_ba_A
        p4, p2, p3 = self.p4_e_per_A3, self.p2_e_per_A, self.p3_e_per_A2
        denominator = 2 * e4_eV * tb**2 + p2 * e_par
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(denominator > 0, 3 * (e4_eV - p4 * e_par) * tb**2 / denominator, np.nan)
            m = 0.75 + 1.5 * x + 0.25 * np.sqrt(36 * x**2 - 60 * x + 9)
            return denominator / (-3 * tb * p3) * np.sqrt(8 * x / (m * (m - 2)))

    # -- the two criteria, each as "the e_perp that balances the path at t" ------------------

    def _slope_balance_field(self, t, e_par):
        """e_perp [V/A] making d eps/dt = 0 at t in (t_BA, 0]; -inf at t_BA if e_par > 0."""
        t = np.asarray(t, dtype=float)
        e4_eV, tb = self.e4_meV_per_A4 / MEV_PER_EV, self.t_ba_A
        p3 = self.p3_e_per_A2
        # eps0' / (-p_perp') after cancelling the common factor (t^2 - t_BA^2)
        field = -4 * e4_eV * t / (3 * p3)
        if e_par != 0:
            with np.errstate(divide="ignore"):
                in_plane = (2 * t * (2 * self.p4_e_per_A3 * t**2 + self.p2_e_per_A)
                            / (3 * p3 * (t**2 - tb**2)))
            field = field + e_par * np.where(np.isclose(t, tb, rtol=0, atol=1e-12),
                                             -np.inf, in_plane)
        return field

    def _energy_balance_field(self, t, e_par):
        """e_perp [V/A] making eps(t) = eps(t_BA) at t in (t_BA, t_AB]; -inf at t_BA if e_par>0."""
        t = np.asarray(t, dtype=float)
        e4_eV, tb = self.e4_meV_per_A4 / MEV_PER_EV, self.t_ba_A
        p3 = self.p3_e_per_A2
        # eps0(t) - eps0(t_BA) = e4 (t - t_BA)^2 (t + t_BA)^2 and
        # p_perp(t_BA) - p_perp(t) = -p3 (t - t_BA)^2 (t + 2 t_BA): cancel (t - t_BA)^2
        field = e4_eV * (t + tb)**2 / (-p3 * (t + 2 * tb))
        if e_par != 0:
            with np.errstate(divide="ignore"):
                in_plane = ((t + tb) * (self.p4_e_per_A3 * (t**2 + tb**2) + self.p2_e_per_A)
                            / (p3 * (t - tb) * (t + 2 * tb)))
            field = field + e_par * np.where(np.isclose(t, tb, rtol=0, atol=1e-12),
                                             -np.inf, in_plane)
        return field

    def coercive_field(self, e_par, criterion="analytic", samples=2001):
        """E_perp,c [V/A, along -z] for one in-plane field e_par >= 0 [V/A, along b - a].

        criterion: "analytic" (local minimum on the BA side disappears, Eq. S6) or "numeric"
        (eps(t) <= eps(t_BA) along BA -> AB). The path is sampled at ``samples`` points and the
        best one refined with scipy's bounded scalar minimiser.
        Returns (E_perp,c [V/A], t* [A]): the field and where on the path it is decided.
        """
        if criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {criterion!r}: use one of {', '.join(CRITERIA)}")
        e_par = float(e_par)
        if not e_par >= 0:
            raise ValueError(f"e_par = {e_par} V/A: the in-plane field is measured along the "
                             "sliding direction b - a and must be >= 0 (a field against the "
                             "sliding only raises the barrier)")
        if criterion == "analytic":
            balance, t_end = self._slope_balance_field, 0.0
        else:
            balance, t_end = self._energy_balance_field, self.t_ab_A
        t = np.linspace(self.t_ba_A, t_end, samples)
        values = balance(t, e_par)
        best = int(np.argmax(values))
        lo, hi = t[max(best - 1, 0)], t[min(best + 1, samples - 1)]
        refined = minimize_scalar(lambda s: -float(balance(s, e_par)), bounds=(lo, hi),
                                  method="bounded", options={"xatol": 1e-12})
        t_star, field = t[best], float(values[best])
        if refined.success and -refined.fun > field:
            t_star, field = float(refined.x), float(-refined.fun)
        return max(field, 0.0), float(t_star)

    def coercive_curve(self, e_par_values, criterion="analytic"):
        """E_perp,c [V/A] for each e_par [V/A]; array of the shape of ``e_par_values``."""
        e_par_values = np.asarray(e_par_values, dtype=float)
        flat = [self.coercive_field(e, criterion)[0] for e in e_par_values.ravel()]
        return np.array(flat).reshape(e_par_values.shape)


@dataclass(frozen=True)
class MinimumTotalField:
    """The smallest total coercive field |E_t,c| = sqrt(e_par^2 + E_perp,c^2) on one curve.

    Attributes:
        criterion: "analytic" or "numeric".
        e_par, e_perp, e_total: components and magnitude at the minimum [V/A].
        dip_angle_deg: angle of the field below the plane, atan(e_perp / e_par) [degree]
            (the field points downwards; the paper calls this the dip angle).
        vertical_field: E_perp,c at e_par = 0 under the same criterion [V/A].
        reduction_pct: 100 (1 - e_total / vertical_field) [%].
    """

    criterion: str
    e_par: float
    e_perp: float
    e_total: float
    dip_angle_deg: float
    vertical_field: float
    reduction_pct: float


def minimum_total_field(path, criterion="analytic", e_par_max=2.0, points=201):
    """Minimise |E_t,c| over e_par in [0, e_par_max] [V/A] on a grid of ``points`` values,
    refined with scipy's bounded scalar minimiser. Returns a MinimumTotalField."""
    if not e_par_max > 0 or points < 3:
        raise ValueError("need e_par_max > 0 V/A and at least 3 points")

    def total(e_par):
        return float(np.hypot(e_par, path.coercive_field(e_par, criterion)[0]))

    grid = np.linspace(0.0, e_par_max, points)
    totals = np.array([total(e) for e in grid])
    best = int(np.argmin(totals))
    if best == points - 1:
        raise ValueError(f"the total coercive field still decreases at e_par = {e_par_max} V/A: "
                         "scan further (a larger e_par_max)")
    lo, hi = grid[max(best - 1, 0)], grid[best + 1]
    refined = minimize_scalar(total, bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-10})
    e_par = float(refined.x) if refined.fun <= totals[best] else float(grid[best])
    e_perp = path.coercive_field(e_par, criterion)[0]
    e_total = float(np.hypot(e_par, e_perp))
    vertical = path.coercive_field(0.0, criterion)[0]
    return MinimumTotalField(criterion=criterion, e_par=e_par, e_perp=e_perp, e_total=e_total,
                             dip_angle_deg=float(np.degrees(np.arctan2(e_perp, e_par))),
                             vertical_field=vertical,
                             reduction_pct=100.0 * (1.0 - e_total / vertical))
