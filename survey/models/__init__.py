"""The data model (DESIGN.md §3). Import models from here."""
from survey.models.units import Counter, Unit
from survey.models.surveys import Question, Survey, SurveyVersion
from survey.models.responses import Answer, Response, ServiceVolume

__all__ = [
    "Answer",
    "Counter",
    "Question",
    "Response",
    "ServiceVolume",
    "Survey",
    "SurveyVersion",
    "Unit",
]
