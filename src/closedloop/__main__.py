"""``python -m closedloop``: the command line (``python -m closedloop --help``)."""

from closedloop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
