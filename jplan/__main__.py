"""`python -m jplan` runs the command-line interface (the same as the `jplan` command)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
