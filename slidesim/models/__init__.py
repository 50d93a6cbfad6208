"""Force fields of slidesim: additive force terms combined into a named model.

``build_model(name, species_names, state=None, **options)`` returns a
:class:`~slidesim.models.model.Model`. The models, and what each implies for a bilayer (lattice
constant, interlayer distance, registry-dipole parameters), are in the catalog,
:mod:`slidesim.models.catalog` (``model_entry(name)``).
"""

import inspect

from slidesim.models.catalog import CATALOG, PARAMS_DIR, ModelEntry, model_entry  # noqa: F401

#: model name -> factory(species_names, state=None, **options), from the catalog
MODELS = {name: entry.factory for name, entry in CATALOG.items()}

# Deprecated: kept only until slidesim/simulation.py asks model_entry(name) itself; new code
# must use model_entry(name).lattice / .distance / .dipole. Derived from the catalog.
MODEL_DEFAULTS = {name: {"lattice": entry.lattice, "distance": entry.distance,
                         "dipole": entry.dipole}
                  for name, entry in CATALOG.items()
                  if entry.lattice is not None or entry.distance is not None}


def build_model(name, species_names, state=None, **options):
    """The model called ``name`` for atoms of ``species_names``; options as in docs/models.md."""
    factory = model_entry(name).factory
    accepted = [p for p in inspect.signature(factory).parameters
                if p not in ("species_names", "state", "options")]
    unknown = [key for key in options if key not in accepted]
    if unknown:
        raise ValueError(f"model '{name}' has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {', '.join(accepted) or 'none'}")
    return factory(species_names, state=state, **options)
