"""`python -m tunelab` runs the CLI."""

import sys

try:
    from tunelab.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the CLI still loads: no traceback, as later
    print("interrupted.", file=sys.stderr)
    sys.exit(130)

main()
