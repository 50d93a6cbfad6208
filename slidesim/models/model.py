"""A model: additive force terms sharing neighbour lists."""

import numpy as np

from slidesim.models.base import ModelResult
from slidesim.neighbors import NeighborList


def _list_key(request):
    # one list per pair mode, at the largest cutoff any term asks for: every term tests its
    # own cutoff inside its kernel, so a longer list costs a little memory, not correctness
    return request.mode


class Model:
    """Sum of :class:`~slidesim.models.base.ForceTerm` objects.

    name: the model's name (e.g. "bn-ilp"); terms: list of force terms; species_names: element
    symbols in the order of the species indices the terms expect.
    Terms share one neighbour list per pair mode (intralayer, interlayer, all), built at the
    largest cutoff any of them asks for.
    """

    def __init__(self, name, terms, species_names):
        self.name = name
        self.terms = list(terms)
        self.species_names = tuple(species_names)
        self.requests = {}
        for term in self.terms:
            for request in term.requests.values():
                key = _list_key(request)
                if key not in self.requests or request.cutoff > self.requests[key].cutoff:
                    self.requests[key] = request

    @property
    def term_names(self):
        return [term.name for term in self.terms]

    def neighbor_lists(self, skin=1.0):
        """A fresh set of neighbour lists (one per distinct request) for one replica."""
        return {key: NeighborList(r.cutoff, skin=skin, mode=r.mode)
                for key, r in self.requests.items()}

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """Energy [eV], forces (N, 3) [eV/A], virial (6,) [eV] and per-term energies.

        ``neighbor_lists`` comes from :meth:`neighbor_lists`; they are updated here (rebuilt only
        when an atom moved more than half the skin).
        """
        for nl in neighbor_lists.values():
            nl.update(positions, cell, layer)
        energy = 0.0
        forces = np.zeros_like(positions)
        virial = np.zeros(6)
        energies = {}
        for term in self.terms:
            lists = {local: neighbor_lists[_list_key(r)] for local, r in term.requests.items()}
            result = term.compute(positions, cell, species, layer, lists)
            energy += result.energy
            forces += result.forces
            virial += result.virial
            energies[term.name] = result.energy
        return ModelResult(energy, forces, virial, energies)
