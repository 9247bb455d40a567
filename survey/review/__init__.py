"""Integrity review: the rules that flag suspicious submissions, and Sở Nội vụ's quarantine review.

The review pages are for Sở Nội vụ's analysts and administrators only: the app-wide gate
(survey/gate.py) checks REVIEW_QUARANTINE for the whole blueprint (permissions.BLUEPRINT_PERMISSIONS).
"""
from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/quan-ly/kiem-duyet", cli_group=None)


from survey.review import views  # noqa: E402,F401
