"""``python -m commercetools_customers_mcp`` runs the command line."""

from .cli import main

raise SystemExit(main())
