"""``python -m fairaudit``: the same as the ``fairaudit`` command."""

import sys

from fairaudit.cli import main

sys.exit(main())
