"""Validation of models against DFT reference suites, fitting, and their reports.

``load_suite(directory)`` reads a suite (suite.toml + data files), ``evaluate(suite, model)``
compares a model with it; the commands are in :mod:`slidesim.commands.validate`.
"""

from slidesim.validation.evaluate import Check, Evaluation, evaluate
from slidesim.validation.suite import Suite, SuiteError, load_suite

__all__ = ["Check", "Evaluation", "Suite", "SuiteError", "evaluate", "load_suite"]
