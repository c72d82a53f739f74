"""`python -m tunelab` runs the CLI."""

from tunelab.cli.main import main

main()
