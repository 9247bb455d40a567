"""Feedback cases (phản ánh, kiến nghị; issue 13 item 3): a citizen asks for a reply, the unit
answers, the citizen rates how it was handled.

- intake: after a response is stored, open a case when the citizen ticked "Tôi muốn được trả
  lời" and has something to say (a 1-2 rating or a comment); the response never points at it;
- cases: codes, private tokens, the workflow steps (each writes a CaseEvent and an audit row);
- contact: the optional phone or e-mail, encrypted (Fernet), purged when the case closes;
- citizen: /phan-anh/<token>, the citizen's page (blueprint "case", public, rate limited);
- officials: /quan-ly/phan-anh/, the unit's list and case page (blueprint "feedback",
  HANDLE_FEEDBACK, own units only);
- metrics: on-time share and follow-up satisfaction with analysis/ intervals, for other pages;
- demo: seed_feedback_demo() for `flask seed-demo-responses`.
"""
from flask import Blueprint

# Citizens: public (survey/permissions.py PUBLIC_BLUEPRINTS), no session needed, never cached.
case_bp = Blueprint("case", __name__, url_prefix="/phan-anh")
# Officials: every route behind the gate with HANDLE_FEEDBACK (BLUEPRINT_PERMISSIONS).
bp = Blueprint("feedback", __name__, url_prefix="/quan-ly/phan-anh")

from survey.feedback import citizen, officials  # noqa: E402,F401
