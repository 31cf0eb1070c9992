"""The `datagen` command line: parses options and calls the library (see README.md for examples)."""
from __future__ import annotations

import logging
from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="psgan-toolkit")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Synthetic pose-conditioned character data: render, import, inspect (dataset format v1)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


# ---- foundation: info / validate / preview ---------------------------------------------------

@main.command()
@click.argument("file", type=_EXISTING_FILE)
def info(file: Path) -> None:
    """Summarise a dataset: counts, sizes, pyramid levels, keypoint set, costumes, clips, visibility.

    \b
    Example:  datagen info data.h5
    """
    from datagen.info import dataset_summary, format_summary

    click.echo(format_summary(dataset_summary(file)))


@main.command()
@click.argument("file", type=_EXISTING_FILE)
@click.option("--quick", is_flag=True, help="Check the pyramid and projection on a sample of rows only.")
def validate(file: Path, quick: bool) -> None:
    """Check every invariant of dataset format v1; exit 1 naming the first broken one.

    \b
    Example:  datagen validate data.h5
    """
    from datagen.validate import validate_dataset

    n = validate_dataset(file, quick=quick, progress=True)
    click.echo(f"{file}: valid pose-dataset v1, {n} rows")


@main.command()
@click.argument("file", type=_EXISTING_FILE)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PNG file to write.")
@click.option("--n", "count", type=click.IntRange(1, 1024), default=16, show_default=True,
              help="Number of rows (evenly spaced over the file) when --rows is not given.")
@click.option("--rows", type=str, default=None, help="Comma-separated row indices, e.g. 0,5,9.")
@click.option("--size", type=click.IntRange(16, 2048), default=256, show_default=True,
              help="Side of each tile in pixels.")
@click.option("--cols", type=click.IntRange(1, 64), default=None, help="Image/pose pairs per sheet row.")
def preview(file: Path, out: Path, count: int, rows: str | None, size: int, cols: int | None) -> None:
    """Write a contact sheet: each image beside its pose drawn as a coloured skeleton on white.

    \b
    Example:  datagen preview data.h5 -o sheet.png --n 8
    """
    from datagen.preview import parse_rows, write_contact_sheet

    write_contact_sheet(file, out, rows=parse_rows(rows), count=count, tile=size, cols=cols)
    click.echo(f"wrote {out}")


# ---- render / merge (issue 3) ------------------------------------------------------------------


# ---- import / export (issue 5) -----------------------------------------------------------------


if __name__ == "__main__":
    main()
