"""``python -m vidmatte …`` runs the ``vidmatte`` command (the same as the console script)."""

import sys

from vidmatte_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
