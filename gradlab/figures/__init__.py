"""Publication figures (placeholder)."""
