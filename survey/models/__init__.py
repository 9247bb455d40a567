"""The data model (DESIGN.md §3). Import models from here."""
from survey.models.accounts import ROLES, ApiToken, AuditLog, User
from survey.models.campaigns import CampaignTarget
from survey.models.integrity import ClientSalt, DossierLink, UsedDossier
from survey.models.loop import (
                               CaseEvent,
                               DigestSent,
                               EvidenceFile,
                               FeedbackCase,
                               ProgressReport,
                               RemediationTask,
                               TaskNote,
                               TrackerCriterion,
                               TrackerImport,
)
from survey.models.responses import Answer, Response, ResponseScore, ServiceVolume
from survey.models.rollups import RollupCell, RollupLate, RollupMeasure, RollupState, RollupStratum
from survey.models.surveys import Question, Survey, SurveyVersion
from survey.models.units import Counter, Unit

__all__ = [
    "CaseEvent",
    "DigestSent",
    "EvidenceFile",
    "FeedbackCase",
    "ProgressReport",
    "RemediationTask",
    "TaskNote",
    "TrackerCriterion",
    "TrackerImport",
    "ROLES",
    "Answer",
    "ResponseScore",
    "ApiToken",
    "AuditLog",
    "CampaignTarget",
    "ClientSalt",
    "DossierLink",
    "UsedDossier",
    "User",
    "Counter",
    "Question",
    "Response",
    "RollupCell",
    "RollupMeasure",
    "RollupLate",
    "RollupState",
    "RollupStratum",
    "ServiceVolume",
    "Survey",
    "SurveyVersion",
    "Unit",
]
