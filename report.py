"""Report on finished runs: `python report.py outputs/multirun/<date>/<time> [--out DIR]`."""

import sys

from attention_nmt.report.cli import main

if __name__ == "__main__":
    sys.exit(main())
