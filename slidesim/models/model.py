"""A model: additive force terms sharing neighbour lists."""

import numpy as np

from slidesim.models.base import ModelResult
from slidesim.neighbors import NeighborList


#: a term shares a longer list of its pair mode while its cutoff is at least this fraction of
#: the list's: every term tests its own cutoff inside its kernel, so a longer list costs only
#: the loop over the extra pairs. Shorter requests get their own list (the registry dipole's
#: 6.8 A interlayer pairs beside the ILP's 16 A: 57 instead of 324 entries per atom).
SHARE_FRACTION = 0.6


def _plan_lists(requests):
    """{key: NeighborRequest} of the lists to build for ``requests``: per pair mode, the longest
    cutoff under the mode's name, and a list of its own ("<mode> <cutoff> A") for each cutoff
    below SHARE_FRACTION of every list planned so far."""
    planned = {}
    for request in sorted(requests, key=lambda r: (r.mode, -r.cutoff)):
        lists = [p for p in planned.values() if p.mode == request.mode]
        if any(request.cutoff >= SHARE_FRACTION * p.cutoff for p in lists):
            continue
        key = request.mode if not lists else f"{request.mode} {request.cutoff:g} A"
        planned[key] = request
    return planned


def _list_for(request, lists):
    """The shortest list in ``lists`` (key -> NeighborList) of the request's mode that reaches
    its cutoff."""
    best = None
    for nl in lists.values():
        if nl.mode == request.mode and nl.cutoff >= request.cutoff and (
                best is None or nl.cutoff < best.cutoff):
            best = nl
    if best is None:
        raise KeyError(f"no {request.mode} neighbour list reaches {request.cutoff:g} A; build "
                       "the lists with Model.neighbor_lists()")
    return best


class Model:
    """Sum of :class:`~slidesim.models.base.ForceTerm` objects.

    name: the model's name (e.g. "bn-ilp"); terms: list of force terms; species_names: element
    symbols in the order of the species indices the terms expect.
    Terms share the neighbour lists of a pair mode (intralayer, interlayer, all): one at the
    largest cutoff any of them asks for, and one of its own for a term whose cutoff is much
    shorter (below SHARE_FRACTION of it); each term reads the shortest list that reaches its
    cutoff.
    """

    def __init__(self, name, terms, species_names):
        self.name = name
        self.terms = list(terms)
        self.species_names = tuple(species_names)
        self.requests = _plan_lists([request for term in self.terms
                                     for request in term.requests.values()])

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
            term_lists = [{local: _list_for(r, lists) for local, r in term.requests.items()}
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
