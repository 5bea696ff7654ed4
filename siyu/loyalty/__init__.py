"""Loyalty: tier ladders by growth value, the points ledger and its lots (issue 7)."""

from siyu.loyalty import journey_rewards as _journey_rewards  # noqa: F401 - registers the journeys' points step
