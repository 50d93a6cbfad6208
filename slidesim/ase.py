"""slidesim's models as an ASE calculator, in a uniform electric field if asked.

    from slidesim.ase import SlidesimCalculator
    atoms.calc = SlidesimCalculator()                         # the bn-ilp model, no field
    atoms.calc = SlidesimCalculator("bn-dft", field=(0.0, 0.2, -0.5))   # E [V/A]
    atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    atoms.calc.get_property("dipole"), atoms.calc.get_property("born_charges")

With a field the calculator couples it as slidesim's MD does, through the same code
(:class:`slidesim.fields.coupling.FieldCoupling`): energy U - E.P [eV], forces
F_i,beta + sum_alpha E_alpha Z[i, alpha, beta] [eV/A], and the virial of -E.P in the stress where
the dipole source gives it. For a fixed field, U - E.P is the energy the MD conserves (plus the
kinetic energy), so ASE's optimisers, NEB and MD see the same energy surface.

Born charges and dipole come from the model where it predicts them (a machine-learned model
with ``born_charges`` in its outputs), else from the registry dipole fitted to the model
(``born_charges="registry"``, the deck's ``born_charges registry``): bn-ilp, bn-dft and
mos2-ilp have one. A model that gives Z but no P (such as the example TorchScript model) has its
P integrated from Z along the successive configurations the calculator sees, as the MD does, so
only changes of P are meaningful; images of a NEB should then use ``born_charges="registry"``.

Results: ``energy``, ``free_energy`` [eV], ``forces`` (N, 3) [eV/A], ``stress`` (6,) [eV/A^3],
``dipole`` (3,) [e A] (the stress takes the symmetric part of the field's virial, the
derivative with respect to a symmetric strain), ``born_charges`` (N, 3, 3) [e] with Z[i, alpha, beta] = dP_alpha /
dr_i,beta, and ``term_energies`` {term: energy [eV]} (``field`` is -E.P). ASE's ``energies``
key (per-atom energies) is not set: slidesim's terms do not split their energies by atom.

Layer ids come from an atoms array named ``layer`` if present, else from z (split at the widest
gap between heights). The cell must be periodic along a and b; c is open (its length only enters
the volume ASE divides the stress by).

:func:`read_frames` reads a slidesim trajectory into Atoms with velocities, and forces [eV/A]
and energy in a single-point calculator (ASE's own netCDF reader leaves forces in kcal/mol/A).
"""

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from slidesim.io.structures import layers_from_z
from slidesim.models import build_model

#: how the Born charges are found (``born_charges=``)
BORN_CHARGE_SOURCES = (None, "model", "registry", "none")


class SlidesimCalculator(Calculator):
    """Energy [eV], forces [eV/A], stress [eV/A^3], dipole [e A] and Born charges [e] of a
    slidesim model, in a uniform electric field.

    model: model name (default "bn-ilp"); field: (Ex, Ey, Ez) [V/A] or None (no field);
    born_charges: None (the model's own if it predicts them, else the registry dipole fitted to
    it, else none), "model", "registry" or "none"; skin: neighbour-list skin [A] kept between
    calls, so that ASE dynamics rebuild lists only when atoms moved more than skin/2; further
    keyword options go to the model (e.g. ``path=`` of a torchscript model, ``tersoff=`` and
    ``ilp=`` parameter files for bn-ilp).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "dipole",
                              "born_charges"]

    def __init__(self, model="bn-ilp", field=None, born_charges=None, skin=1.0,
                 **model_options):
        super().__init__()
        if born_charges not in BORN_CHARGE_SOURCES:
            raise ValueError(f"born_charges must be one of {BORN_CHARGE_SOURCES}, got "
                             f"{born_charges!r}")
        self.model_name = model
        self.field = None if field is None else _field_vector(field)
        self.born_charges = born_charges
        self.skin = skin
        self.model_options = model_options
        self._model = None
        self._key = None

    def _setup(self, atoms):
        from slidesim.fields.coupling import FieldCoupling
        from slidesim.state import State

        symbols = atoms.get_chemical_symbols()
        species_names = tuple(dict.fromkeys(symbols))
        key = (tuple(symbols), len(atoms))
        if key != self._key:
            species = np.array([species_names.index(s) for s in symbols], np.int64)
            state = State(atoms.positions, None, atoms.cell.array, species, species_names,
                          atoms.get_masses(), self._layers(atoms))
            model = build_model(self.model_name, species_names, state, **self.model_options)
            self._model = self._with_born_charges(model, species_names)
            self._lists = self._model.neighbor_lists(self.skin)
            self._species = species
            # the field's state between calls: P, E and their positions, as in the MD
            self._state = state
            self._coupling = FieldCoupling()
            self._previous = None
            self._key = key

    def _with_born_charges(self, model, species_names):
        """``model`` with a registry-dipole term added when that is the Born charges' source."""
        from slidesim.catalog import model_entry
        from slidesim.fields.coupling import DipoleTerm
        from slidesim.fields.dipole import RegistryDipole
        from slidesim.models.model import Model

        predicts = any(getattr(term, "has_born_charges", False) for term in model.terms)
        source = self.born_charges
        if source == "model" and not predicts:
            raise ValueError(f"born_charges='model': model '{self.model_name}' predicts no Born "
                             "charges; use born_charges='registry'")
        if source is None:
            source = "model" if predicts else "registry"
        if source != "registry":
            self._has_dipole_source = source == "model"
            return model
        try:
            dipole = RegistryDipole(species_names, model_entry(self.model_name).dipole)
        except (ValueError, FileNotFoundError) as err:
            if self.born_charges == "registry" or self.field is not None:
                raise ValueError(f"model '{self.model_name}' has no registry dipole for "
                                 f"{', '.join(species_names)} ({err}); a field needs Born "
                                 "charges") from None
            self._has_dipole_source = False
            return model
        self._has_dipole_source = True
        return Model(model.name, model.terms + [DipoleTerm(dipole)], species_names)

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
        positions = np.ascontiguousarray(atoms.positions, dtype=np.float64)
        cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
        state = self._state
        old_positions = state.positions.copy()
        state.positions[0] = positions
        state.cell = cell
        result = self._model.compute(positions, cell, self._species, self._layers(atoms),
                                     self._lists)
        if self.field is not None:
            previous = None if self._previous is None else [self._previous]
            self._coupling.apply([result], state, [self.field], previous,
                                 None if previous is None else old_positions)
            self._previous = result
        w = result.virial.copy()  # xx yy zz xy xz yz, W = sum r F
        dipole_virial = result.extras.get("dipole_virial")
        if self.field is not None and dipole_virial is not None:
            # a field exerts a torque on a dipole: its virial W_ab = E_alpha D[alpha, a, b] is
            # not symmetric, and the coupling keeps W_ab (a < b); the derivative with respect
            # to a symmetric strain, which ASE's stress is, needs (W_ab + W_ba) / 2
            full = np.einsum("a,akl->kl", self.field, dipole_virial)
            for k, (a, b) in zip((3, 4, 5), ((0, 1), (0, 2), (1, 2))):
                w[k] += 0.5 * (full[b, a] - full[a, b])
        volume = atoms.get_volume()
        # ASE: stress = (1/V) dE/d(strain) = -W / V, Voigt order xx yy zz yz xz xy
        stress = -np.array([w[0], w[1], w[2], w[5], w[4], w[3]]) / volume
        self.results = {"energy": result.energy, "free_energy": result.energy,
                        "forces": result.forces, "stress": stress,
                        "term_energies": dict(result.energies)}
        if "born_charges" in result.extras:
            self.results["born_charges"] = np.array(result.extras["born_charges"])
            dipole = result.extras.get("dipole")
            if dipole is None and self.field is not None:
                dipole = state.dipole[0]  # integrated from Z along the calls (module docstring)
            if dipole is not None:
                self.results["dipole"] = np.array(dipole, dtype=np.float64)


def _field_vector(field):
    vector = np.asarray(field, dtype=np.float64).reshape(-1)
    if vector.shape != (3,) or not np.all(np.isfinite(vector)):
        raise ValueError(f"field must be three finite numbers (Ex, Ey, Ez) [V/A], got {field!r}")
    return vector


def read_frames(path, index=slice(None)):
    """Frames of a slidesim trajectory ``path`` as ASE Atoms, in ASE's units.

    Each Atoms has slidesim's masses, velocities (where stored), the ``layer`` array, info
    ``time`` [ps], ``step``, ``temperature`` [K] and ``electric_field`` [V/A], pbc (T, T, F), and
    a single-point calculator with the potential energy [eV] and the forces [eV/A] (where
    stored). index: an int or a slice of frames.
    """
    from ase import Atoms
    from ase import units as ase_units
    from ase.calculators.singlepoint import SinglePointCalculator

    from slidesim.io.trajectory import read_trajectory

    data = read_trajectory(path)
    frames = np.arange(len(data["step"]))[index]
    single = np.ndim(frames) == 0
    images = []
    masses = data.get("masses")
    for k in np.atleast_1d(frames):
        atoms = Atoms(numbers=data["atomic_numbers"], positions=data["coordinates"][k],
                      cell=data["cell"][k], pbc=(True, True, False))
        if masses is not None:
            atoms.set_masses(masses)
        if "velocities" in data:  # A/ps -> A / (A sqrt(amu/eV))
            atoms.set_velocities(data["velocities"][k] / (1000.0 * ase_units.fs))
        atoms.set_array("layer", data["layer"].copy())
        atoms.info.update(time=float(data["time"][k]), step=int(data["step"][k]),
                          temperature=float(data["temperature"][k]),
                          electric_field=data["electric_field"][k].copy())
        results = {"energy": float(data["potential_energy"][k])}
        if "forces" in data:
            results["forces"] = data["forces"][k].copy()
        atoms.calc = SinglePointCalculator(atoms, **results)
        images.append(atoms)
    return images[0] if single else images
