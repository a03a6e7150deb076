"""`python -m lakestack` runs the CLI."""

from lakestack.cli import run

run()
