"""Analytics: figures and reports over the event log and profiles."""
