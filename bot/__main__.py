"""`python -m bot` runs the `ftpcode` command."""

from bot.cli import main

raise SystemExit(main())
