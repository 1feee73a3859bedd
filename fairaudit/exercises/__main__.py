import sys

from fairaudit.exercises._copies import main

sys.exit(main())
