"""How every command of the toolkit ends (README, "Exit codes"), shared by both command lines (datagen and
psgan): one ``Error:`` line, status 1 for a job that could not be done, 2 for a usage error, 130 for
Ctrl-C; and the finite-float option type.
"""
from __future__ import annotations

import math
import sys

import click

from datagen.format.outputs import describe_os_error

INTERRUPTED = 130   # the shell's status for SIGINT (128 + 2)


class Finite(click.FloatRange):
    """A float option that must be finite (click's FloatRange lets nan through every bound)."""

    name = "finite float"

    def _describe_range(self) -> str:
        if self.min is None and self.max is None:
            return "finite"
        return super()._describe_range()

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value} is not a finite number", param, ctx)
        return value


class OneLineGroup(click.Group):
    """A command group whose every failure is one line on stderr.

    Library errors (``click.ClickException`` subclasses) exit 1; usage errors (an unknown option, a value
    outside its type) exit 2 with the ``Error:`` line alone, without click's usage block; an OSError
    that no library function turned into an error still ends as one line naming the path; Ctrl-C exits
    130 with ``Aborted!`` (a command may say more first, as ``datagen render`` does).
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OSError as e:
            where = e.filename or "input/output"
            raise click.ClickException(f"{where}: {describe_os_error(e)}") from None

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.UsageError as e:
            e.ctx = None
            e.show()
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("Aborted!", err=True)
            sys.exit(INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else 0)
