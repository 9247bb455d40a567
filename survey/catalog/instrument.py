"""The SIPAS instrument (DESIGN.md §4) as data, and questionnaire versioning.

Item codes are stable across versions: analysis joins on Question.code, never on Question.id.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from sqlalchemy import exists, select

from survey.extensions import db
from survey.models import Question, Response, Survey, SurveyVersion


@dataclass(frozen=True)
class QuestionSpec:
    code: str
    component: str | None
    text_vi: str
    text_en: str
    type: str = "likert5"
    required: bool = False
    allows_na: bool = False
    choices: tuple | None = None
    max_length: int | None = None


COMPONENTS: dict[str, tuple[str, str]] = {
    "A1": ("Tiếp cận dịch vụ", "Access to the service"),
    "A2": ("Thủ tục hành chính", "Administrative procedures"),
    "A3": ("Công chức trực tiếp giải quyết công việc", "Staff"),
    "A4": ("Kết quả giải quyết thủ tục hành chính", "Results"),
    "A5": ("Tiếp nhận, xử lý phản ánh, kiến nghị", "Feedback handling"),
    "A6": ("Dịch vụ công trực tuyến", "Online public services"),
}

# Service fields (lĩnh vực) of the provincial one-stop system; with unit and period they form
# the weighting stratum, matching ServiceVolume.field.
SERVICE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("dat-dai", "Đất đai", "Land"),
    ("ho-tich", "Hộ tịch", "Civil status"),
    ("chung-thuc", "Chứng thực", "Certification"),
    ("kinh-doanh", "Đăng ký kinh doanh, đầu tư", "Business registration"),
    ("xay-dung", "Xây dựng", "Construction"),
    ("xa-hoi", "Lao động, người có công và xã hội", "Labour and social affairs"),
    ("khac", "Lĩnh vực khác", "Other"),
)


def _q(code, component, vi, en, required=True, na=False) -> QuestionSpec:
    return QuestionSpec(code, component, vi, en, required=required, allows_na=na)


SIPAS_STANDING: tuple[QuestionSpec, ...] = (
    _q("A1.1", "A1", "Dễ tìm nơi nộp hồ sơ, nhận kết quả", "Easy to find where to submit and collect"),
    _q("A1.2", "A1", "Khu vực chờ có đủ chỗ ngồi, sạch sẽ, thoáng mát",
       "Waiting area has enough seats, is clean and airy"),
    _q("A1.3", "A1", "Trang thiết bị (máy lấy số, máy tra cứu…) hoạt động tốt, dễ sử dụng",
       "Equipment (queue ticket, lookup kiosk…) works and is easy to use", na=True),
    _q("A2.1", "A2", "Thủ tục được niêm yết công khai, đầy đủ, chính xác",
       "The procedure is publicly posted, complete and accurate"),
    _q("A2.2", "A2", "Chỉ phải nộp các giấy tờ đúng quy định",
       "Only the documents prescribed were asked for"),
    _q("A2.3", "A2", "Phí, lệ phí phải nộp đúng quy định", "Fees were as prescribed", na=True),
    _q("A2.4", "A2", "Thời hạn giải quyết đúng quy định", "The time limit was as prescribed"),
    _q("A3.1", "A3", "Công chức lịch sự khi tiếp nhận, giải quyết hồ sơ",
       "Staff were polite"),
    _q("A3.2", "A3", "Công chức chú ý lắng nghe ý kiến của Ông/Bà", "Staff listened to you"),
    _q("A3.3", "A3", "Công chức trả lời, giải thích đầy đủ, dễ hiểu",
       "Staff explained fully and understandably"),
    _q("A3.4", "A3", "Công chức hướng dẫn kê khai hồ sơ tận tình, chu đáo",
       "Staff guided you in filling in the dossier"),
    _q("A3.5", "A3", "Công chức tuân thủ quy định (không đòi thêm giấy tờ, không gây phiền hà)",
       "Staff followed the rules (no extra papers, no harassment)"),
    _q("A4.1", "A4", "Nhận kết quả đúng hẹn", "Result returned on the promised date", na=True),
    _q("A4.2", "A4", "Kết quả đúng quy định, thông tin chính xác, đầy đủ",
       "Result correct and complete", na=True),
    _q("A4.3", "A4", "Khi trễ hẹn, được xin lỗi và hẹn lại ngày trả kết quả",
       "When late, you got an apology and a new date", na=True),
    _q("A5.1", "A5", "Có nơi, có cách để góp ý, phản ánh, kiến nghị",
       "There is a channel to give feedback", required=False, na=True),
    _q("A5.2", "A5", "Góp ý, phản ánh dễ thực hiện", "Giving feedback is easy",
       required=False, na=True),
    _q("A5.3", "A5", "Phản ánh, kiến nghị được tiếp nhận, xử lý tích cực",
       "Feedback is handled actively", required=False, na=True),
    _q("A5.4", "A5", "Được thông báo kết quả xử lý kịp thời",
       "You were told the outcome in time", required=False, na=True),
    _q("A6.1", "A6", "Dễ tìm và nộp hồ sơ trực tuyến", "Easy to find and submit online",
       required=False, na=True),
    _q("A6.2", "A6", "Thanh toán trực tuyến thuận tiện", "Online payment works",
       required=False, na=True),
    _q("A6.3", "A6", "Dễ tra cứu tình trạng giải quyết hồ sơ", "Easy to track the dossier",
       required=False, na=True),
    _q("A6.4", "A6", "Nhận kết quả điện tử thuận tiện", "Electronic result is convenient",
       required=False, na=True),
    _q("OVERALL", "OVERALL",
       "Nhìn chung, Ông/Bà hài lòng ở mức nào với việc giải quyết thủ tục hành chính?",
       "Overall, how satisfied are you with how your procedure was handled?"),
    QuestionSpec("COMMENT", None, "Ý kiến khác để cơ quan phục vụ tốt hơn (không bắt buộc)",
                 "Anything else that would help us serve you better (optional)",
                 type="text", max_length=1000),
)

STANDING_CODE = "SIPAS"
PRIVACY_VI = (
    "Phiếu khảo sát ẩn danh: không thu thập họ tên, số điện thoại hay thông tin định danh "
    "(Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân)."
)


def _spec_of(question: Question) -> QuestionSpec:
    return QuestionSpec(
        question.code, question.component, question.text_vi, question.text_en or "",
        question.type, question.required, question.allows_na,
        tuple(tuple(c.items()) for c in question.choices) if question.choices else None,
        question.max_length,
    )


def _has_answers(version: SurveyVersion) -> bool:
    return db.session.scalar(
        select(exists().where(Response.survey_version_id == version.id))
    ) or False


def publish_questions(survey: Survey, specs: tuple[QuestionSpec, ...] | list[QuestionSpec]) -> SurveyVersion:
    """Make `specs` the survey's current questionnaire.

    Unchanged questions: nothing happens. A version nobody answered is edited in place; a frozen
    (answered) one is never touched: a new version is created and old responses keep theirs.
    """
    current = survey.current_version
    if current is not None and [_spec_of(q) for q in current.questions] == list(specs):
        return current
    if current is not None and not current.frozen and not _has_answers(current):
        current.questions.clear()
        db.session.flush()
        version = current
    else:
        version = SurveyVersion(
            survey=survey,
            number=(current.number + 1) if current else 1,
            created_at=datetime.now(timezone.utc),
        )
        db.session.add(version)
    for position, spec in enumerate(specs, start=1):
        fields = asdict(spec)
        if spec.choices is not None:
            fields["choices"] = [dict(c) for c in spec.choices]
        version.questions.append(Question(position=position, **fields))
    db.session.flush()
    return version


def freeze(version: SurveyVersion) -> None:
    if not version.frozen:
        version.frozen = True


__all__ = [
    "COMPONENTS",
    "PRIVACY_VI",
    "QuestionSpec",
    "SERVICE_FIELDS",
    "SIPAS_STANDING",
    "STANDING_CODE",
    "publish_questions",
    "freeze",
]
