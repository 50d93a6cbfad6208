"""The ``slidesim`` command line: every command, in one package, with one error path.

``slidesim.cli.main`` is the command group; each command lives in a module here (``run``,
``profile``, ``landscape``, ``coercive``, ``analyze``, ``validate``/``fit``, ``sweep``,
``model``) and is imported only when used, so ``slidesim --help`` starts fast. The commands
are thin: they parse options, call the library (slidesim.simulation, slidesim.analysis, ...) and
report. A problem the user can fix ends in :func:`fail`: one line, ``slidesim: error: ...``
on stderr, exit status 2; never a traceback.
"""

import math
import os
import sys
from contextlib import contextmanager

import click


def fail(message, code=2):
    """Print ``slidesim: error: MESSAGE`` on stderr, on one line, and exit with ``code``."""
    click.echo(f"slidesim: error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


class FiniteFloat(click.FloatRange):
    """A float option in a range (as click.FloatRange) that is also finite: nan and inf, which
    pass a range check, are refused."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def writable_or_fail(path, option):
    """:func:`fail` unless the file ``path`` (given by ``option``) can be written: its folder
    exists or can be made, and files can be made there. Checked before any long computation."""
    from slidesim.outputs import output_problem

    problem = output_problem(os.path.dirname(os.path.abspath(path)))
    if problem:
        fail(f"{option} {path}: its folder {problem}")


#: a length, a field or a count of that kind: > 0 and finite
POSITIVE = FiniteFloat(min=0.0, min_open=True)


@contextmanager
def user_errors(prefix=None, kinds=(ValueError, OSError)):
    """Turn the exceptions ``kinds`` (bad input, a missing or unreadable file) raised inside
    the block into :func:`fail`, with ``prefix: `` (e.g. the deck's path) before the message."""
    try:
        yield
    except kinds as err:
        fail(f"{prefix}: {err}" if prefix else str(err))
