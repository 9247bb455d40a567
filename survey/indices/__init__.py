"""Indices: stored responses to estimates (rollup fold and read, index tables, report inputs,
counts, comments, exports)."""
