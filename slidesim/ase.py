"""slidesim's models as an ASE calculator.

    from slidesim.ase import SlidesimCalculator
    atoms.calc = SlidesimCalculator()            # the bn-ilp model
    atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

Layer ids come from an atoms array named ``layer`` if present, else from z (split at the widest
gap between heights). The cell must be periodic along a and b; c is open (its length only enters
the volume ASE divides the stress by).
"""

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from slidesim.io.structures import layers_from_z
from slidesim.models import build_model


class SlidesimCalculator(Calculator):
    """Energy [eV], forces [eV/A] and stress [eV/A^3] of a slidesim model.

    model: model name (default "bn-ilp"); skin: neighbour-list skin [A] kept between calls, so
    that ASE dynamics rebuild lists only when atoms moved more than skin/2; further keyword
    options go to the model (e.g. ``tersoff=`` and ``ilp=`` parameter files for bn-ilp).
    ``results["energies"]`` holds the energy of each force term.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model="bn-ilp", skin=1.0, **model_options):
        super().__init__()
        self.model_name = model
        self.skin = skin
        self.model_options = model_options
        self._model = None
        self._key = None

    def _setup(self, atoms):
        symbols = atoms.get_chemical_symbols()
        species_names = tuple(dict.fromkeys(symbols))
        key = (tuple(symbols), len(atoms))
        if key != self._key:
            from slidesim.state import State

            state = State(atoms.positions, None, atoms.cell.array,
                          [species_names.index(s) for s in symbols], species_names,
                          atoms.get_masses(), self._layers(atoms))
            self._model = build_model(self.model_name, species_names, state, **self.model_options)
            self._lists = self._model.neighbor_lists(self.skin)
            self._species = np.array([species_names.index(s) for s in symbols], np.int64)
            self._key = key

    @staticmethod
    def _layers(atoms):
        if "layer" in atoms.arrays:
            return np.asarray(atoms.arrays["layer"], np.int64)
        return layers_from_z(atoms.positions[:, 2])

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        if not (atoms.pbc[0] and atoms.pbc[1]):
            raise ValueError("slidesim models need a cell periodic along a and b (pbc = T T F)")
        self._setup(atoms)
        result = self._model.compute(np.ascontiguousarray(atoms.positions, dtype=np.float64),
                                     np.ascontiguousarray(atoms.cell.array, dtype=np.float64),
                                     self._species, self._layers(atoms), self._lists)
        w = result.virial  # xx yy zz xy xz yz, W = sum r F
        volume = atoms.get_volume()
        # ASE: stress = (1/V) dE/d(strain) = -W / V, Voigt order xx yy zz yz xz xy
        stress = -np.array([w[0], w[1], w[2], w[5], w[4], w[3]]) / volume
        self.results = {"energy": result.energy, "free_energy": result.energy,
                        "forces": result.forces, "stress": stress,
                        "energies": dict(result.energies)}
