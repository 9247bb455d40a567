"""Integrity review: the rules that flag suspicious submissions, and Sở Nội vụ's quarantine review."""
