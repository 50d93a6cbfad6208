"""Rigid flat bilayers of a model object for validation and fitting.

The scanner is :class:`slidesim.rigid.RigidBilayer` (shared with ``slidesim profile`` and
``slidesim landscape``); it is re-exported here for the validation modules.
"""

from slidesim.rigid import DISTANCE_BRACKET, RigidBilayer, default_dipole  # noqa: F401
