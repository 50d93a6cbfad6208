"""Force fields of slidesim: additive force terms combined into a named model.

``build_model(name, species_names, state=None, **options)`` returns a
:class:`~slidesim.models.model.Model`. The models, and what each implies for a bilayer (lattice
constant, interlayer distance, registry-dipole parameters), are in the catalog,
:mod:`slidesim.catalog` (``model_entry(name)``).
"""

import inspect

from slidesim.catalog import CATALOG, PARAMS_DIR, ModelEntry, model_entry  # noqa: F401


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
