"""Parameter sweeps on Dask: a deck expanded over a grid of values, each combination a task.

See docs/sweeps.md. ``slidesim sweep DECK --set T=100:500:100 --seeds 3 --workers 2``.
"""

from slidesim.sweep.expand import (DeckTemplate, SweepError, SweepParameter, expand_grid,
                                   parse_set_option, parse_values, run_directory)
from slidesim.sweep.tasks import SweepTask, run_task
from slidesim.sweep.runner import Sweep, read_summary_table, write_aggregate
from slidesim.sweep.cluster import sweep_client

__all__ = ["DeckTemplate", "SweepError", "SweepParameter", "expand_grid", "parse_set_option",
           "parse_values", "run_directory", "SweepTask", "run_task", "Sweep",
           "read_summary_table", "write_aggregate", "sweep_client"]
