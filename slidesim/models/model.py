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

    @property
    def energy_names(self):
        """Names of the per-term energies of a result (thermo columns ``e_<name>``)."""
        names = []
        for term in self.terms:
            if term.part_names:
                names.extend(term.part_names)
            elif term.reports_energy:
                names.append(term.name)
        return names

    def neighbor_lists(self, skin=1.0):
        """A fresh set of neighbour lists (one per distinct request) for one replica."""
        return {key: NeighborList(r.cutoff, skin=skin, mode=r.mode)
                for key, r in self.requests.items()}

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """Energy [eV], forces (N, 3) [eV/A], virial (6,) [eV] and per-term energies.

        ``neighbor_lists`` comes from :meth:`neighbor_lists`; they are updated here (rebuilt only
        when an atom moved more than half the skin).
        """
        return self.compute_batch([positions], cell, species, layer, [neighbor_lists])[0]

    def compute_batch(self, positions_list, cell, species, layer, neighbor_lists_list,
                      fields=None, update_lists=True):
        """:meth:`compute` for R replicas sharing cell, species and layers: R results.

        positions_list: R arrays (N, 3) [A]; neighbor_lists_list: R dicts from
        :meth:`neighbor_lists`; fields: (R, 3) [V/A] per-replica electric fields, or None (the
        field terms keep their own). Each term sees all replicas at once, so a machine-learned
        term evaluates them in one call; the results equal R calls of :meth:`compute`.
        update_lists: False when the caller has just updated the lists (the MD step does).
        """
        if len(positions_list) != len(neighbor_lists_list):
            raise ValueError(f"{len(positions_list)} replicas but {len(neighbor_lists_list)} "
                             "sets of neighbour lists")
        for positions, lists in zip(positions_list, neighbor_lists_list):
            for nl in lists.values():
                if update_lists:
                    nl.update(positions, cell, layer)
        results = [ModelResult(0.0, np.zeros_like(positions), np.zeros(6), {})
                   for positions in positions_list]
        for term in self.terms:
            term_lists = [{local: lists[_list_key(r)] for local, r in term.requests.items()}
                          for lists in neighbor_lists_list]
            parts = term.compute_batch(positions_list, cell, species, layer, term_lists, fields)
            for total, part in zip(results, parts):
                total.energy += part.energy
                total.forces += part.forces
                total.virial += part.virial
                if part.parts:
                    total.energies.update(part.parts)
                elif term.reports_energy:
                    total.energies[term.name] = part.energy
                total.extras.update(part.extras)
        return results
