"""exp and the inverse cube root in plain arithmetic, so that loops calling them vectorise.

glibc's ``exp`` and ``cbrt`` are calls LLVM cannot turn into SIMD instructions (numba's LLVM
has no vector math library here), so a loop that calls them runs one element at a time. The
functions below use only multiplications, additions, ``floor`` and bit casts, which LLVM
vectorises (AVX2: 4 doubles, AVX-512: 8). Both are accurate to about an ulp over the range the
interlayer kernels use (``tests/test_vecmath.py`` measures it against NumPy).

They are compiled with their own fastmath flags (no ``reassoc``): the Cody-Waite reduction of
:func:`exp` must keep its order of operations, and LLVM keeps per-instruction flags when it
inlines these into a caller compiled with :data:`slidesim.kernels.FASTMATH`.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

#: fastmath flags of this module: FASTMATH without "reassoc" (see the module docstring)
EXACT_ORDER = {"nsz", "arcp", "contract"}

LOG2E = 1.4426950408889634
#: ln 2 split in a high part with trailing zero bits (so k * LN2_HI is exact for |k| < 2^11)
#: and the rest (Cody and Waite)
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
#: exp(x) overflows to inf above this and is subnormal below EXP_MIN (returned as 0 here)
EXP_MAX = 709.782712893384
EXP_MIN = -708.3964185322641
#: 0x553ef0ff289dd796 as a float64 [1]: the bits of x^(-1/3) are about this minus bits(x) / 3
INV_CBRT_MAGIC = float(0x553ef0ff289dd796)


@intrinsic
def int64_bits_as_float64(typingctx, value):
    """The float64 whose bit pattern is the int64 ``value`` (a register move, vectorisable)."""
    signature = types.float64(types.int64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return signature, codegen


@intrinsic
def float64_bits_as_int64(typingctx, value):
    """The int64 whose bit pattern is the float64 ``value``."""
    signature = types.int64(types.float64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return signature, codegen


@njit(cache=True, fastmath=EXACT_ORDER)
def exp(x):
    """e^x for float64 x, within 1 ulp of glibc's exp; inf above EXP_MAX, 0 below EXP_MIN
    (where glibc returns a subnormal number, < 2.3e-308), NaN for NaN.

    x = k ln2 + r with k = round(x / ln2) and |r| <= ln2 / 2 (Cody-Waite, two parts of ln2),
    e^r from its Taylor series to r^13 (truncation < 5e-18 relative), times 2^k built from k's
    bits."""
    xc = EXP_MIN if x < EXP_MIN else x        # written so that NaN passes through
    xc = EXP_MAX if xc > EXP_MAX else xc
    kf = np.floor(xc * LOG2E + 0.5)
    r = xc - kf * LN2_HI
    r = r - kf * LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^k as 2^(k - k//2) 2^(k//2): each factor stays a normal number up to k = 1024
    k = np.int64(kf)
    k_half = k >> 1
    value = (p * int64_bits_as_float64((k_half + 1023) << 52)
             * int64_bits_as_float64((k - k_half + 1023) << 52))
    if x > EXP_MAX:
        value = np.inf
    if x < EXP_MIN:
        value = 0.0
    return value


@njit(cache=True, fastmath=EXACT_ORDER)
def inv_cbrt(x):
    """x^(-1/3) for a normal positive float64 x, to a few ulp.

    A start from the bit pattern (relative error < 4 %) and four Newton steps
    y += y (1 - x y^3) / 3, each of which squares the relative error."""
    y = int64_bits_as_float64(np.int64(INV_CBRT_MAGIC - float(float64_bits_as_int64(x)) / 3.0))
    for _ in range(4):
        y = y + y * (1.0 - x * y * y * y) * (1.0 / 3.0)
    return y
