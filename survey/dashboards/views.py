"""Dashboard views (to be written)."""
