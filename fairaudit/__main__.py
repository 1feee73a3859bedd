"""``python -m fairaudit``: the ``fairaudit`` command, and the workshop's commands.

``setup``, ``lab``, ``reset``, ``workshop`` and ``wheelhouse`` (see :mod:`fairaudit._workshop`)
run before anything is installed; everything else is the ``fairaudit`` command.
"""

import sys

from fairaudit._workshop import COMMANDS

if set(sys.argv[1:]) & set(COMMANDS):
    from fairaudit._workshop import main
else:
    from fairaudit.cli import main

sys.exit(main())
