"""Cash rewards (红包): a ledger of rewards decided before any money moves, and the providers that pay them."""
