"""Intake: the citizen's submission from QR token to stored response (token, counter lookup,
answers check, page cache, store, connection handling, anonymity)."""
