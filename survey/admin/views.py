"""Admin views (to be written)."""
