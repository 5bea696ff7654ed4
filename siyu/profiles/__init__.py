"""Profiles: traits, rollups, tags, consent, timelines and erasure."""
