"""trayapp's benchmark: figures against the budgets of docs/ARCHITECTURE.md (see bench/README.md)."""
