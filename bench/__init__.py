"""trayapp's benchmark: figures against the budgets of DESIGN.md (see bench/README.md)."""
