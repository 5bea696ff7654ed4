"""Loyalty: tier ladders by growth value, the points ledger and its lots (issue 7)."""
