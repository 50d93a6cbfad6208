"""The schedule of a run: which stage runs when, and its target temperature and field.

A deck's stages run one after the other; stage k holds ``n_steps`` steps. Within a stage,
step j (j = 1 .. n_steps) takes the state from ``stage_step = j - 1`` to ``j``. The schedule
answers, for any point of it, the values *at the end* of that many steps of the stage:

- ``temperature(stage, j)`` [K]: the thermostat's target while taking step j; a ramp
  ``t_start -> t_stop`` reaches ``t_stop`` exactly at the stage's last step, as LAMMPS's
  ``fix nvt temp Tstart Tstop`` does;
- ``field(stage, j)`` [V/A] (3,): the field after j steps (start value + rate x time); the
  forces of step j are computed in it.

:meth:`Schedule.now` gives the values at a state's current position (the start of a run or a
restart), :meth:`Schedule.next` those of the step the state is about to take; no caller adds or
subtracts one.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Targets:
    """Temperature [K] and field (3,) [V/A] of one point of the schedule, and its stage."""

    temperature: float
    field: np.ndarray
    stage: object


class Schedule:
    """stages: the deck's :class:`~slidesim.deck.Stage` list; timestep [ps]."""

    def __init__(self, stages, timestep):
        self.stages = list(stages)
        self.timestep = float(timestep)
        self.total_steps = sum(stage.n_steps for stage in self.stages)

    def temperature(self, stage, j):
        """Target temperature [K] after j steps of ``stage`` (the Stage object)."""
        if stage.n_steps == 0:  # a minimisation stage: no MD steps, no ramp
            return stage.t_start
        return stage.t_start + (stage.t_stop - stage.t_start) * j / stage.n_steps

    def field(self, stage, j):
        """Field (3,) [V/A] after j steps of ``stage``."""
        return np.array(stage.field, dtype=np.float64) + np.array(
            stage.field_rate, dtype=np.float64) * (j * self.timestep)

    def _at(self, stage_index, j):
        stage = self.stages[stage_index]
        return Targets(self.temperature(stage, j), self.field(stage, j), stage)

    def now(self, state):
        """Targets at the state's current point (its last completed step)."""
        return self._at(min(state.stage, len(self.stages) - 1), state.stage_step)

    def next(self, state):
        """Targets of the step the state is about to take."""
        return self._at(state.stage, state.stage_step + 1)

    def finished(self, state):
        return state.stage >= len(self.stages)

    def remaining_steps(self, state):
        """Steps left to the end of the schedule (stages that stop early count in full)."""
        done = sum(stage.n_steps for stage in self.stages[:state.stage]) + state.stage_step
        return self.total_steps - done

    def advance(self, state):
        """Count the step just taken."""
        state.step += 1
        state.time = state.step * self.timestep
        state.stage_step += 1

    def stage_complete(self, state):
        """True when the running stage has run all its steps."""
        return state.stage_step >= self.stages[state.stage].n_steps

    def next_stage(self, state):
        """Move on to the next stage (at the end of one, or when its stop condition holds)."""
        state.stage += 1
        state.stage_step = 0
