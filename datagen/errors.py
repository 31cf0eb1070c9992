"""Exceptions the user sees as one line (click prints ``Error: <message>`` and exits with status 1)."""
from __future__ import annotations

import click


class DatagenError(click.ClickException):
    """Base of every user-facing error of datagen; the message names the offending file or value."""


class DatasetError(DatagenError):
    """A dataset file that does not follow format v1 (docs/format.md), or a bad write to one."""
