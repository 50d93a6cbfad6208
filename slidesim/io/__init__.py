"""Simulation output and restart files: netCDF trajectories, thermo CSV, checkpoints, extxyz."""

import os as _os


def give_default_mode(path_or_fd):
    """Give a file made by ``tempfile.mkstemp`` (mode 0600) the mode a plain ``open`` would
    (0666 less the umask), so that outputs rewritten atomically keep their usual permissions."""
    umask = _os.umask(0)
    _os.umask(umask)
    mode = 0o666 & ~umask
    if isinstance(path_or_fd, int):
        _os.fchmod(path_or_fd, mode)
    else:
        _os.chmod(path_or_fd, mode)
