"""siyu (私域): one package for a brand's private-domain customer operations."""

__version__ = "0.1.0"
