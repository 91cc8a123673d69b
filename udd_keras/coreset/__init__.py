"""coreset."""
