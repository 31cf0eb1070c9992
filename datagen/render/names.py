"""Costume and clip names given on the command line: matched case-insensitively, a typo answered with
"did you mean"."""
from __future__ import annotations

import difflib


def match_names(available: list[str], wanted: list[str], what: str, where: str) -> list[str]:
    """The names of ``available`` that ``wanted`` asks for, in ``available``'s order.

    An exact name wins; otherwise a name that differs only in case (when exactly one does). An unknown
    name raises ValueError naming ``where``, the closest names ("did you mean") and the ones there are.
    """
    exact = set(available)
    folded: dict[str, list[str]] = {}
    for name in available:
        folded.setdefault(name.casefold(), []).append(name)
    chosen, unknown = set(), []
    for name in wanted:
        if name in exact:
            chosen.add(name)
        elif len(folded.get(name.casefold(), [])) == 1:
            chosen.add(folded[name.casefold()][0])
        else:
            unknown.append(name)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
            if close:
                hints.append(f"{name!r}: did you mean {' or '.join(repr(n) for c in close for n in folded[c])}?")
        hint = f"; {'; '.join(hints)}" if hints else ""
        raise ValueError(f"{where}: no {what} named {', '.join(map(repr, unknown))}{hint} "
                         f"(the rig has: {', '.join(available) or 'none'})")
    return [n for n in available if n in chosen]
