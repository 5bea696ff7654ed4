"""The HTTP application: ingest (/v1), management API (/api), console (/)."""
