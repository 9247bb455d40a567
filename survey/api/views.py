"""API views (to be written)."""
