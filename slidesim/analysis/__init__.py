"""Trajectory analysis: order parameter, Curie temperature, switching statistics."""
