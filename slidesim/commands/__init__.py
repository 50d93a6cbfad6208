"""The ``slidesim`` command line: every command, in one package, with one error path.

``slidesim.cli.main`` is the command group; each command lives in a module here (``run``,
``profile``, ``landscape``, ``coercive``, ``analyze``, ``validate``/``fit``, ``sweep``,
``model``) and is imported only when used, so ``slidesim --help`` starts fast. The commands
are thin: they parse options, call the library (slidesim.simulation, slidesim.analysis, ...) and
report. A problem the user can fix ends in :func:`fail`: one line, ``slidesim: error: ...``
on stderr, exit status 2; never a traceback.
"""

import sys
from contextlib import contextmanager

import click


def fail(message, code=2):
    """Print ``slidesim: error: MESSAGE`` on stderr and exit with ``code``."""
    click.echo(f"slidesim: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def user_errors(prefix=None, kinds=(ValueError, OSError)):
    """Turn the exceptions ``kinds`` (bad input, a missing or unreadable file) raised inside
    the block into :func:`fail`, with ``prefix: `` (e.g. the deck's path) before the message."""
    try:
        yield
    except kinds as err:
        fail(f"{prefix}: {err}" if prefix else str(err))
