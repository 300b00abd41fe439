"""`python -m attention_nmt.report ...`, the same as `python report.py ...`."""

import sys

from attention_nmt.report.cli import main

sys.exit(main())
