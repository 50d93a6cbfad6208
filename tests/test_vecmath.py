"""slidesim.kernels.vecmath: exp and the inverse cube root in plain arithmetic, against NumPy
(glibc) and long-double arithmetic."""

import numba
import numpy as np

from slidesim.kernels import vecmath


@numba.njit
def _exps(x):
    out = np.empty_like(x)
    for k in range(x.shape[0]):
        out[k] = vecmath.exp(x[k])
    return out


@numba.njit
def _inv_cbrts(x):
    out = np.empty_like(x)
    for k in range(x.shape[0]):
        out[k] = vecmath.inv_cbrt(x[k])
    return out


def test_exp_within_an_ulp_of_numpy():
    rng = np.random.default_rng(3)
    x = np.concatenate([np.linspace(vecmath.EXP_MIN, vecmath.EXP_MAX, 400_001),
                        rng.uniform(-60.0, 5.0, 400_000), rng.normal(0.0, 1e-3, 10_000),
                        [0.0, -0.0, 1.0, -1.0, 0.5 * np.log(2.0), -0.5 * np.log(2.0)]])
    ours, reference = _exps(x), np.exp(x)
    assert (np.abs(ours - reference) / np.spacing(reference)).max() <= 1.0
    exact = np.exp(x.astype(np.longdouble))
    assert (np.abs(ours - exact) / np.spacing(reference)).max() <= 1.0
    assert _exps(np.array([0.0]))[0] == 1.0


def test_exp_at_the_ends_of_its_range_and_nan():
    x = np.array([np.nan, np.inf, -np.inf, 710.0, 1e300, -708.5, -1e300])
    ours = _exps(x)
    assert np.isnan(ours[0])
    assert ours[1] == np.inf and ours[3] == np.inf and ours[4] == np.inf
    assert ours[2] == 0.0 and ours[5] == 0.0 and ours[6] == 0.0   # NumPy: subnormal or 0


def test_inv_cbrt_within_two_ulp():
    rng = np.random.default_rng(4)
    x = np.concatenate([np.exp(rng.uniform(-700.0, 700.0, 300_000)),
                        rng.uniform(0.1, 6000.0, 300_000) ** 3,
                        [1.0, 8.0, 27.0, 0.125, 4096.0 + 2.97]])
    ours = _inv_cbrts(x)
    reference = 1.0 / np.cbrt(x)
    exact = 1.0 / np.cbrt(x.astype(np.longdouble))
    ulp = np.spacing(reference)
    assert (np.abs(ours - reference) / ulp).max() <= 2.0
    assert (np.abs(ours - exact) / ulp).max() <= 2.0
    assert np.isnan(_inv_cbrts(np.array([np.nan]))[0])


def test_bit_casts_round_trip():
    @numba.njit
    def round_trip(v):
        return vecmath.int64_bits_as_float64(vecmath.float64_bits_as_int64(v))
    for v in (1.0, -2.5, 1e-300, np.pi):
        assert round_trip(v) == v
    assert np.isnan(round_trip(np.nan))
