"""Observables computed during a run: the sliding vector of a bilayer."""

import numpy as np


def _minimum_image_2d(delta, cell):
    """Fold in-plane displacement vectors (..., 3) to their shortest periodic image."""
    inv = np.linalg.inv(cell[:2, :2])
    frac = delta[..., :2] @ inv
    frac -= np.round(frac)
    out = np.zeros_like(delta)
    out[..., :2] = frac @ cell[:2, :2]
    out[..., 2] = delta[..., 2]
    return out


class SlidingVector:
    """Sliding vector t [A] of the top layer relative to AA stacking, continuous in time.

    At construction, t is found from the registry of the two layers: each top atom of the first
    species is paired with the nearest bottom atom of the same species (shortest periodic image),
    and the in-plane displacements are averaged, choosing for every atom the image closest to the
    first atom's. Afterwards t follows the difference of the layers' mean unwrapped positions, so
    its time series has no jumps. t is defined modulo lattice vectors of the monolayer.
    """

    def __init__(self, positions, cell, species, layer):
        self.top = np.flatnonzero(layer == 1)
        self.bottom = np.flatnonzero(layer == 0)
        if len(self.top) == 0 or len(self.bottom) == 0:
            raise ValueError("a sliding vector needs atoms in layer 0 and layer 1")
        s = species[self.top[0]]
        top = self.top[species[self.top] == s]
        bottom = self.bottom[species[self.bottom] == s]
        if len(bottom) == 0:
            raise ValueError("the bottom layer has none of the top layer's first species")
        first = _minimum_image_2d(positions[bottom] - positions[top[0]], cell)
        d0 = -first[np.argmin(np.einsum("ij,ij->i", first[:, :2], first[:, :2]))]
        total = np.zeros(3)
        for start in range(0, len(top), 256):
            chunk = top[start:start + 256]
            disp = -_minimum_image_2d(positions[bottom][None] - positions[chunk][:, None], cell)
            # among the images of each atom, the one closest to the first atom's displacement
            gap = disp[..., :2] - d0[:2]
            best = np.argmin(np.einsum("abk,abk->ab", gap, gap), axis=1)
            total += disp[np.arange(len(chunk)), best].sum(axis=0)
        t0 = total / len(top)
        t0[2] = 0.0
        self.offset = t0 - self._mean_difference(positions)

    def _mean_difference(self, positions):
        diff = positions[self.top].mean(axis=0) - positions[self.bottom].mean(axis=0)
        diff[2] = 0.0
        return diff

    def __call__(self, positions):
        """t (3,) [A] for positions (N, 3) [A] (unwrapped, as the engine keeps them)."""
        return self._mean_difference(positions) + self.offset
