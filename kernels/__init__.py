"""Numba kernels of slidesim on plain arrays (imported as ``slidesim.kernels``).

Rules for everything in this package: ``@njit(cache=True)`` functions over NumPy arrays and
scalars only; explicit loops; outputs preallocated by the caller or returned fresh; parallel
loops (``prange``) write only to their own index; fastmath only with the flags in
``FASTMATH`` (no ``nnan``/``ninf``, so NaN checks keep working).
"""

#: fastmath flags allowed in slidesim kernels: keep NaN/Inf semantics intact
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
