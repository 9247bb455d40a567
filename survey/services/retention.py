"""Retention periods, applied by `flask purge` (cron). Rules and their reasons: docs/anonymity.md.

Each rule deletes (or blanks) only what is older than its period, measured from `now`, so a run
is idempotent: a second run at once finds nothing. Periods are in days, from the app config
(survey/config.py); a rule can be dry-run (counted, nothing changed).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update

from survey.catalog.periods import in_vietnam
from survey.extensions import db
from survey.models import Answer, AuditLog, FeedbackCase, Response, ResponseScore
from survey.models.integrity import ClientSalt, DossierLink


@dataclass(frozen=True)
class Retention:
    """Days each kind of row is kept (config keys RETAIN_*)."""

    failed_login_days: int
    dossier_link_days: int
    client_hash_days: int
    rejected_days: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Retention:
        return cls(failed_login_days=int(config["RETAIN_FAILED_LOGIN_DAYS"]),
                   dossier_link_days=int(config["RETAIN_DOSSIER_LINK_DAYS"]),
                   client_hash_days=int(config["RETAIN_CLIENT_HASH_DAYS"]),
                   rejected_days=int(config["RETAIN_REJECTED_DAYS"]))


@dataclass
class PurgeReport:
    # rule name -> rows deleted (or blanked); in rule order, for the operator's printout.
    removed: dict[str, int] = field(default_factory=dict)


def purge(retention: Retention, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Apply every retention rule in one transaction (committed unless `dry_run`)."""
    now = now or datetime.now(timezone.utc)
    report = PurgeReport()
    today = in_vietnam(now).date().isoformat()

    # The salt of a past day: without it nobody, the server included, can recompute which client
    # address gave a stored client hash. Days are Vietnam days, as intake names them.
    report.removed["client_salt"] = _apply(
        delete(ClientSalt).where(ClientSalt.day < today), dry_run)

    # A stored client hash still ties together responses from one phone on one day, which the
    # stuffing signals and an analyst's review need for a while, not forever. Quarantined
    # responses keep it while they wait for a decision.
    report.removed["response.client_hash"] = _apply(
        update(Response).where(Response.client_hash.is_not(None), Response.status != "quarantined",
                               Response.submitted_at < now - timedelta(days=retention.client_hash_days))
        .values(client_hash=None), dry_run)

    # Failed sign-ins carry a stranger's address (IP) and a pseudonym of what they typed.
    report.removed["login_failed"] = _apply(
        delete(AuditLog).where(AuditLog.action == "login_failed",
                               AuditLog.at < now - timedelta(days=retention.failed_login_days)), dry_run)

    # A link says which dossier was sent a survey and whether it was answered; once it is dead
    # (used, or expired) it only helps to narrow down who wrote a verified response. used_dossier
    # stays: it enforces one response per dossier and names no response.
    link_cutoff = now - timedelta(days=retention.dossier_link_days)
    report.removed["dossier_link"] = _apply(
        delete(DossierLink).where(or_(DossierLink.expires_at < link_cutoff,
                                      and_(DossierLink.used.is_(True), DossierLink.created_at < link_cutoff))),
        dry_run)

    # Rejected responses are in no figure, the rollup's sums included: rejecting a folded
    # response subtracted its sums (indices/rollups.unfold), so deleting it changes none.
    deletable = select(Response.id).where(
        Response.status == "rejected", Response.submitted_at < now - timedelta(days=retention.rejected_days))
    # Answers first and explicitly: SQLite enforces ON DELETE CASCADE only with a pragma.
    _apply(delete(Answer).where(Answer.response_id.in_(deletable)), dry_run)
    _apply(delete(ResponseScore).where(ResponseScore.response_id.in_(deletable)), dry_run)
    report.removed["rejected_response"] = _apply(
        delete(Response).where(Response.id.in_(deletable)), dry_run,
        count=select(func.count()).select_from(deletable.subquery()))

    # A feedback case's contact was left for the reply only: closing the case clears it, and this
    # clears any closed case that still holds one (closed before the rule existed, or by hand).
    report.removed["feedback_case.contact"] = _apply(
        update(FeedbackCase).where(FeedbackCase.contact_encrypted.is_not(None), FeedbackCase.status == "closed")
        .values(contact_encrypted=None), dry_run)

    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


def _apply(statement, dry_run: bool, count=None) -> int:
    """Run a DELETE/UPDATE and return its row count; in a dry run only count what it would touch."""
    if dry_run:
        if count is None:
            table = statement.table
            count = select(func.count()).select_from(table).where(statement.whereclause)
        return int(db.session.scalar(count) or 0)
    result = db.session.execute(statement, execution_options={"synchronize_session": False})
    return cast(CursorResult, result).rowcount
