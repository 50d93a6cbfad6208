"""The ``slidesim`` command group. The commands live in :mod:`slidesim.commands`, one module
each, and are imported only when used (fast start-up)."""

import importlib
import sys
import warnings
from contextlib import contextmanager

import click

from slidesim import __version__


class OneLineError(click.ClickException):
    """A command-line mistake reported as ``slidesim: error: ...``, one line, like every other
    error of slidesim (click's own report is a usage block over several lines)."""

    exit_code = 2

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None):
        click.echo(f"slidesim: error: {self.message}", err=True)


@contextmanager
def one_line_errors():
    """Turn click's usage errors (bad options, missing arguments, unknown commands) raised
    inside the block into :class:`OneLineError`; plain ``slidesim`` still prints its help."""
    try:
        yield
    except (OneLineError, getattr(click.exceptions, "NoArgsIsHelpError", OneLineError)):
        raise
    except click.ClickException as err:
        message = " ".join(err.format_message().split())
        ctx = getattr(err, "ctx", None)
        if ctx is not None:
            command = " ".join(["slidesim"] + ctx.command_path.split()[1:])
            message += f" (see '{command} --help')"
        raise OneLineError(message, err.exit_code) from None


class LazyGroup(click.Group):
    """A group whose commands are imported only when used; click's usage errors, of the group
    and of every command under it, are one line (:func:`one_line_errors`)."""

    #: command name -> "module:attribute"
    lazy = {
        "analyze": "slidesim.commands.analyze:analyze",
        "coercive": "slidesim.commands.coercive:coercive",
        "export": "slidesim.commands.export:export",
        "fit": "slidesim.commands.validate:fit",
        "landscape": "slidesim.commands.landscape:landscape_command",
        "model": "slidesim.commands.model:model",
        "neb": "slidesim.commands.neb:neb",
        "profile": "slidesim.commands.profile:profile",
        "run": "slidesim.commands.run:run",
        "sweep": "slidesim.commands.sweep:sweep",
        "validate": "slidesim.commands.validate:validate",
    }

    def make_context(self, info_name, args, parent=None, **extra):
        with one_line_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        with one_line_errors():
            return super().invoke(ctx)

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


def show_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` of the command line: ``slidesim: warning: ...`` on one line,
    like the errors, instead of Python's file, line and source line."""
    text = " ".join(str(message).split())
    try:
        print(f"slidesim: warning: {text}", file=file if file is not None else sys.stderr,
              flush=True)
    except (OSError, ValueError):
        pass   # a closed or full stream: a warning is not worth a crash


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slidesim")
def main():
    """slidesim: molecular dynamics of sliding ferroelectric bilayers."""
    # not while warnings are recorded (warnings.catch_warnings(record=True), as pytest does)
    printer = getattr(warnings, "_showwarnmsg_impl", None)
    if printer is None or getattr(printer, "__name__", "") == "_showwarnmsg_impl":
        warnings.showwarning = show_warning


if __name__ == "__main__":
    main()
