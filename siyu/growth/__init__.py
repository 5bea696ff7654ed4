"""Growth: fission campaigns, anti-fraud, and staff / KOC distribution with commissions."""
