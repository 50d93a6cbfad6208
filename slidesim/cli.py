"""The ``slidesim`` command group. The commands live in :mod:`slidesim.commands`, one module
each, and are imported only when used (fast start-up)."""

import importlib

import click

from slidesim import __version__


class LazyGroup(click.Group):
    """A group whose commands are imported only when used."""

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

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slidesim")
def main():
    """slidesim: molecular dynamics of sliding ferroelectric bilayers."""


if __name__ == "__main__":
    main()
