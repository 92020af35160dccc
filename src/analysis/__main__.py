"""`python -m analysis` is the `stalking-outcomes` command."""

from analysis.cli import main

raise SystemExit(main())
