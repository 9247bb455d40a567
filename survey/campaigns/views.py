"""Campaign views (to be written)."""
