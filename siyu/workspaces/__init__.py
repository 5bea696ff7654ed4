"""Workspaces (one per brand), API keys, console users and roles."""
