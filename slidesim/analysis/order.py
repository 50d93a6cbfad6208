"""The order parameter psi(t) = exp(i G . t) of a sliding vector t (the paper's Eq. 2).

G = m a* + n b* is a reciprocal lattice vector of the primitive (monolayer) lattice, so psi is
unchanged by t -> t + R for any lattice vector R: whole-lattice slides are invisible to it.
With t = f1 a + f2 b, G . t = 2 pi (m f1 + n f2). For the paper's G = a* - b*:
psi(t_BA) = exp(-4 pi i/3), Im psi = +sqrt(3)/2; psi(t_AB) = exp(-8 pi i/3), Im psi = -sqrt(3)/2;
Re psi = -1/2 in both; psi(AA) = psi(SP) = 1.
"""

import re
from dataclasses import dataclass

import numpy as np

#: Im psi of BA stacking for the paper's G = a* - b*
IM_PSI_BA = np.sqrt(3.0) / 2.0

_TERM = re.compile(r"([+-]?)\s*(\d*)\s*\*?\s*([ab])\*")


class OrderParameterError(ValueError):
    """A reciprocal vector that cannot be parsed; the message shows the accepted form."""


@dataclass(frozen=True)
class ReciprocalVector:
    """G = m a* + n b* (integers m, n), named as written, e.g. ``a*-b*``."""

    m: int
    n: int

    @property
    def name(self):
        parts = []
        for coefficient, symbol in ((self.m, "a*"), (self.n, "b*")):
            if coefficient == 0:
                continue
            sign = "-" if coefficient < 0 else ("+" if parts else "")
            size = "" if abs(coefficient) == 1 else str(abs(coefficient))
            parts.append(f"{sign}{size}{symbol}")
        return "".join(parts) or "0"

    def vector(self, lattice):
        """G (2,) [1/A] for a :class:`~slidesim.analysis.lattice.HexLattice`."""
        return self.m * lattice.reciprocal[0] + self.n * lattice.reciprocal[1]

    def phase(self, fractional):
        """G . t [rad] (...,) for fractional sliding vectors (..., 2): 2 pi (m f1 + n f2)."""
        fractional = np.asarray(fractional, dtype=np.float64)
        return 2.0 * np.pi * (self.m * fractional[..., 0] + self.n * fractional[..., 1])

    def psi(self, fractional):
        """psi = exp(i G . t) (...,) complex128 for fractional sliding vectors (..., 2)."""
        return np.exp(1j * self.phase(fractional))


def parse_reciprocal(text):
    """Parse ``G=a*-b*``, ``a*-b*``, ``2a*+b*``, ``-b*``, ``2*a* + 3*b*`` into a
    :class:`ReciprocalVector`."""
    usage = ("write G as an integer combination of a* and b*, e.g. 'G=a*-b*' or 'G=2a*+b*'")
    spec = str(text).strip()
    if spec.upper().startswith("G="):
        spec = spec[2:]
    spec = spec.replace(" ", "")
    if not spec:
        raise OrderParameterError(f"empty reciprocal vector: {usage}")
    coefficients = {"a": 0, "b": 0}
    position = 0
    for match in _TERM.finditer(spec):
        if match.start() != position or (position > 0 and not match.group(1)):
            raise OrderParameterError(f"cannot read {text!r}: {usage}")
        sign = -1 if match.group(1) == "-" else 1
        size = int(match.group(2)) if match.group(2) else 1
        coefficients[match.group(3)] += sign * size
        position = match.end()
    if position != len(spec):
        raise OrderParameterError(f"cannot read {text!r}: {usage}")
    vector = ReciprocalVector(coefficients["a"], coefficients["b"])
    if vector.m == 0 and vector.n == 0:
        raise OrderParameterError(f"{text!r} is G = 0, for which psi = 1 always: {usage}")
    return vector


#: the paper's order parameter (Fig. 2)
PAPER_G = ReciprocalVector(1, -1)
