"""An IPython extension for the project's kernel: a ``NameError`` says which cells to run.

After a kernel restart (or when cells are run out of order) an exercise's check cell
fails on a name that a cell above defines. The traceback stays; below it, one line
names the likely fix: run the cells above first, or the defined name it resembles.
``make setup`` loads it into the ``fairaudit`` kernel (``--ext=fairaudit.exercises``).
"""

from __future__ import annotations

import difflib
import re


def name_error_hint(error: NameError, defined) -> str:
    """The line printed under a ``NameError``: the likely fix."""
    name = getattr(error, "name", None)
    if not name:
        found = re.search(r"name '([^']+)'", str(error))
        name = found.group(1) if found else "this name"
    public = [n for n in defined if not n.startswith("_")]
    similar = difflib.get_close_matches(name, public, n=1, cutoff=0.8)
    if similar:
        return f"Hint: `{name}` is not defined; did you mean `{similar[0]}`?"
    return (
        f"Hint: `{name}` is not defined yet. If a cell above defines it, run the cells above "
        "first (Run > Run All Above Selected Cell): after a kernel restart every cell must run "
        "again."
    )


def load_ipython_extension(ipython) -> None:
    """Show the usual traceback of a ``NameError``, then :func:`name_error_hint`."""

    def handler(shell, etype, evalue, tb, tb_offset=None):
        shell.showtraceback((etype, evalue, tb), tb_offset=tb_offset)
        print(name_error_hint(evalue, shell.user_ns))

    ipython.set_custom_exc((NameError,), handler)
