"""The sliding vector of a bilayer: one definition for the run and for `slidesim analyze`.

One definition serves the run (``sliding_vector`` in thermo and trajectory files) and
``slidesim analyze`` (:mod:`slidesim.analysis.reader`): t is the difference of the two layers'
centres of mass (top minus bottom, in the plane) plus the registry offset found from the starting
structure. The centre of mass of a layer is what the sliding moves; intralayer optical phonons
(B against N) leave it in place, so t carries no phonon noise of that kind.
"""

import numpy as np

from slidesim.analysis.lattice import LatticeError, infer_lattice
from slidesim.geometry import minimum_image_in_plane

#: margin [fraction of a lattice vector] of the canonical cell of registry sliding vectors
_FOLD_MARGIN = 1e-6


def layer_weights(masses, layer):
    """Weights (N,) float64: each atom's mass over the total mass of its layer (0 bottom, 1 top);
    0 for atoms of any other layer id. masses (N,) [amu]; layer (N,) int."""
    masses = np.asarray(masses, dtype=np.float64)
    layer = np.asarray(layer)
    if masses.shape != layer.shape:
        raise ValueError(f"masses {masses.shape} and layer ids {layer.shape} must have one entry "
                         "per atom")
    if not np.all(masses > 0):
        raise ValueError("the sliding vector needs positive masses [amu] for every atom")
    weights = np.zeros(len(masses))
    for k in (0, 1):
        members = layer == k
        weights[members] = masses[members] / masses[members].sum()
    return weights


def registry_sliding_vector(positions, cell, species, layer):
    """Sliding vector t (3,) [A] (t_z = 0) of the top layer relative to AA, from the registry.

    Each top atom of the first top species is paired with the nearest bottom atom of the same
    species (shortest periodic image), and the in-plane displacements are averaged, choosing for
    every atom the image closest to the first atom's. t is defined modulo lattice vectors of the
    monolayer; of its images the one with fractional coordinates f1 in (-1, 0], f2 in [0, 1) of
    the primitive lattice (inferred from the bottom layer) is returned, where the stackings'
    own vectors s (b - a) lie. In BA and AB three images are equally near, so without this rule
    round-off (float32 files against the float64 run) would choose between them.
    positions (N, 3) [A]; cell (3, 3) [A]; species, layer (N,) int.
    """
    top = np.flatnonzero(layer == 1)
    bottom = np.flatnonzero(layer == 0)
    if len(top) == 0 or len(bottom) == 0:
        raise ValueError("a sliding vector needs atoms in layer 0 and layer 1")
    s = species[top[0]]
    top = top[species[top] == s]
    bottom = bottom[species[bottom] == s]
    if len(bottom) == 0:
        raise ValueError("the bottom layer has none of the top layer's first species")
    first = minimum_image_in_plane(positions[bottom] - positions[top[0]], cell)
    d0 = -first[np.argmin(np.einsum("ij,ij->i", first[:, :2], first[:, :2]))]
    total = np.zeros(3)
    for start in range(0, len(top), 256):
        chunk = top[start:start + 256]
        disp = -minimum_image_in_plane(positions[bottom][None] - positions[chunk][:, None], cell)
        # among the images of each atom, the one closest to the first atom's displacement
        gap = disp[..., :2] - d0[:2]
        best = np.argmin(np.einsum("abk,abk->ab", gap, gap), axis=1)
        total += disp[np.arange(len(chunk)), best].sum(axis=0)
    t0 = total / len(top)
    t0[2] = 0.0
    return _canonical_image(t0, positions, cell, species, np.flatnonzero(layer == 0))


def _canonical_image(t, positions, cell, species, bottom):
    """t (3,) [A] moved by a primitive lattice vector into f1 in (-1, 0], f2 in [0, 1) (with a
    margin of 1e-6); unchanged when the primitive lattice cannot be inferred."""
    try:
        vectors = infer_lattice(positions, cell, species, bottom).vectors
    except LatticeError:
        return t
    f1, f2 = t[:2] @ np.linalg.inv(vectors)
    f1 -= np.ceil(f1 - _FOLD_MARGIN)
    f2 -= np.floor(f2 + _FOLD_MARGIN)
    out = t.copy()
    out[:2] = np.array([f1, f2]) @ vectors
    return out


class SlidingVector:
    """Sliding vector t [A] of the top layer relative to AA stacking, continuous in time.

    At construction, t is found from the registry of the two layers
    (:func:`registry_sliding_vector`). Afterwards t follows the difference of the layers'
    centres of mass (mass-weighted means of the unwrapped positions), so its time series has no
    jumps: t(x) = c_top(x) - c_bottom(x) + offset, in the plane. t is defined modulo lattice
    vectors of the monolayer.

    positions (N, 3) [A] of the starting structure; cell (3, 3) [A]; species, layer (N,) int;
    masses (N,) [amu].

    Attributes: weights (N,) (:func:`layer_weights`); offset (3,) [A], t minus the centre
    difference, fixed at construction.
    """

    def __init__(self, positions, cell, species, layer, masses):
        layer = np.asarray(layer)
        self.top = np.flatnonzero(layer == 1)
        self.bottom = np.flatnonzero(layer == 0)
        self.weights = layer_weights(masses, layer)
        t0 = registry_sliding_vector(positions, cell, species, layer)
        self.offset = t0 - self.centre_difference(positions)

    def centre_difference(self, positions):
        """In-plane difference (3,) [A] (z = 0) of the top and bottom layers' centres of mass,
        positions (N, 3) [A]."""
        w = self.weights
        diff = (w[self.top, None] * positions[self.top]).sum(axis=0) \
            - (w[self.bottom, None] * positions[self.bottom]).sum(axis=0)
        diff[2] = 0.0
        return diff

    def __call__(self, positions):
        """t (3,) [A] for positions (N, 3) [A] (unwrapped, as the engine keeps them)."""
        return self.centre_difference(positions) + self.offset
