"""Simulation output and restart files: netCDF trajectories, thermo CSV, checkpoints, extxyz."""
