"""Words for the loop's stored codes (survey/models/loop.py), Vietnamese first, English second.

One table per code list, used by pages, PDFs, DOCX, XLSX and e-mails alike.
"""
from __future__ import annotations

# code -> (Vietnamese, English)
TASK_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "not_started": ("Chưa bắt đầu", "Not started"),
    "in_progress": ("Đang thực hiện", "In progress"),
    "done": ("Hoàn thành", "Done"),
}
OVERDUE_LABEL = ("Quá hạn", "Overdue")  # derived: RemediationTask.overdue_on(today)

CAUSE_LABELS: dict[str, tuple[str, str]] = {
    "subjective": ("Nguyên nhân chủ quan", "Internal cause"),
    "objective": ("Nguyên nhân khách quan", "External cause"),
}

CRITERION_KIND_LABELS: dict[str, tuple[str, str]] = {
    "item": ("Câu hỏi", "Item"),
    "component": ("Lĩnh vực", "Component"),
    "overall": ("Chỉ số chung", "Overall index"),
    "tracker": ("Tiêu chí PAR INDEX / SIPAS", "PAR INDEX / SIPAS criterion"),
}

CASE_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "received": ("Đã tiếp nhận", "Received"),
    "classified": ("Đã phân loại", "Classified"),
    "assigned": ("Đã giao xử lý", "Assigned"),
    "answered": ("Đã trả lời", "Answered"),
    "published": ("Đã công khai", "Published"),
    "closed": ("Đã đóng", "Closed"),
}


def in_lang(words: tuple[str, str], lang: str | None = None) -> str:
    """One (Vietnamese, English) pair in `lang`; None: the reader's (survey.i18n.current_lang)."""
    if lang is None:
        from survey.i18n import current_lang

        lang = current_lang()
    return words[1 if lang == "en" else 0]


def label(table: dict[str, tuple[str, str]], code: str | None, lang: str | None = None) -> str:
    """The word for `code` in `lang` ("vi" or "en"; None: the reader's); an unknown code is
    shown as is."""
    if code is None:
        return ""
    words = table.get(code)
    return code if words is None else in_lang(words, lang)


# What a feedback case is about, chosen by the official who classifies it.
CASE_CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "procedure": ("Thủ tục, hồ sơ, giấy tờ", "Procedure and documents"),
    "timeliness": ("Thời gian giải quyết, trả kết quả", "Processing time"),
    "conduct": ("Thái độ, tác phong công chức", "Staff conduct"),
    "fees": ("Phí, lệ phí", "Fees and charges"),
    "facilities": ("Cơ sở vật chất, trang thiết bị", "Premises and equipment"),
    "online": ("Dịch vụ công trực tuyến", "Online public services"),
    "other": ("Nội dung khác", "Other"),
}
LATE_LABEL = ("Quá hạn", "Overdue")  # derived: FeedbackCase.late_on(today)
