"""Ingest: the Segment-compatible tracking API, imports, and the pipeline every event goes through."""
