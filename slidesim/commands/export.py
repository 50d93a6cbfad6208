"""``slidesim export``: write a deck's system and model for another program (LAMMPS).

Registered on the command group by :mod:`slidesim.cli`; the work is
:func:`slidesim.lammps_export.export_lammps` (docs/lammps.md).
"""

import os

import click

from slidesim.commands import fail, user_errors


@click.group("export")
def export():
    """Write a deck's system and model for another program (see docs/lammps.md)."""


@export.command("lammps")
@click.argument("deck", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "folder", required=True, type=click.Path(file_okay=False),
              help="Folder for system.data, in.lammps and the parameter files.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Export this checkpoint of the deck's run (e.g. out/checkpoint.npz, the "
                   "final state) instead of the deck's start.")
@click.option("--replica", type=click.IntRange(0), default=0, show_default=True,
              help="Which replica to export.")
@click.option("--efield/--no-efield", default=False, show_default=True,
              help="Write the stages' fields as active 'fix efield' lines. LAMMPS applies q E "
                   "with fixed point charges, not slidesim's Born-charge force Z^T E, so they "
                   "are commented out by default.")
def lammps(deck, folder, checkpoint, replica, efield):
    """Write DECK (its start, or --checkpoint) as a LAMMPS data file and input script that run
    the same model, thermostat and schedule: cd FOLDER && lmp -in in.lammps."""
    from slidesim.deck import DeckError, read_deck
    from slidesim.lammps_export import export_lammps

    if not os.path.exists(deck):
        fail(f"deck {deck} not found")
    if checkpoint is not None and not os.path.exists(checkpoint):
        fail(f"checkpoint {checkpoint} not found")
    try:
        parsed = read_deck(deck)
    except DeckError as err:
        fail(str(err))
    with user_errors(deck):
        written = export_lammps(parsed, folder, checkpoint=checkpoint, replica=replica,
                                efield=efield)
    click.echo(f"wrote {written['data']}, {written['input']} and the parameter files; run it "
               f"with: cd {folder} && lmp -in in.lammps")
    if any(stage.has_field for stage in parsed.stages):
        click.echo("note: LAMMPS cannot apply slidesim's Born-charge field force; see the "
                   "comments in in.lammps and docs/lammps.md", err=True)
