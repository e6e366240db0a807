"""Entry point for ``python -m jobrunner``."""

from jobrunner.cli import main

raise SystemExit(main())
