"""Entry point: ``python -m analysis estimate FILE.csv --y COL ...`` (see analysis.cli)."""
import sys

from .cli import main

sys.exit(main())
