import sys

from govbrief.cli import main

if __name__ == "__main__":  # not when a multiprocessing child imports the main module
    sys.exit(main())
