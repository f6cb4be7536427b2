"""``python -m closedloop``: the command line."""

from closedloop.cli import main

raise SystemExit(main())
