"""One adapter per outbound channel: the wire protocol of each provider, nothing else."""
