"""Messages: templates, contact policies, the outbox and delivery."""
