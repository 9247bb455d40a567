"""Stuffing signals checked at submission (DESIGN.md §7). Stub: the rules land with the review work."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SubmissionContext:
    counter_id: int | None
    unit_id: int
    survey_id: int
    client_hash: str | None
    answers_fingerprint: str
    now: datetime


def submission_flags(ctx: SubmissionContext) -> list[str]:
    """Reason codes that quarantine this submission (none yet)."""
    return []
