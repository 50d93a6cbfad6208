"""Machine-learned models from TorchScript files (docs/ml_models.md); needs the `ml` extra.

``TorchScriptTerm(path, species_names, device="auto", dtype="float64")`` is a force term and,
through ``born_charge_source()``, a Born-charge source for the field term;
:func:`slidesim.ml.contract.check_model_file` checks a file against the contract.
"""


def __getattr__(name):
    # torch is imported only when a model is used: `import slidesim.ml` stays cheap
    if name in ("TorchScriptTerm", "TorchScriptBornCharges", "MLResult"):
        from slidesim.ml import torch_model

        return getattr(torch_model, name)
    if name in ("check_model_file", "save_model", "ContractError"):
        from slidesim.ml import contract

        return getattr(contract, name)
    raise AttributeError(f"module 'slidesim.ml' has no attribute {name!r}")
