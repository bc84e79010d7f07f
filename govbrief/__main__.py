import sys

from govbrief.cli import main

sys.exit(main())
