"""Exceptions the user sees as one line (click prints ``Error: <message>`` and exits with status 1)."""
from __future__ import annotations

import click


class PsganError(click.ClickException):
    """Base of every user-facing error of psgan; the message names the offending file or value."""
