"""Catalog: reference data (the SIPAS instrument, the question bank, periods and labels)."""
