"""The digest e-mail: Vietnamese plain text with a simple HTML alternative, sent with the
standard library's smtplib, or written to the log when MAIL_SERVER is not set.

Configuration (survey/config.py): MAIL_SERVER, MAIL_PORT, MAIL_USERNAME, MAIL_PASSWORD,
MAIL_USE_TLS (STARTTLS), MAIL_FROM. No citizen text goes into a digest: cases are named by
their code, so nothing needs redacting and nothing personal leaves the server by e-mail.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Mapping

from markupsafe import escape

from analysis.report.format_vi import format_date, format_percent, period_label
from survey.catalog.instrument import COMPONENTS
from survey.catalog.periods import previous
from survey.progress.digest import CASE_DAYS, Digest, Fall
from survey.progress.document import points, points_ci

log = logging.getLogger(__name__)
SENDER_NAME = "Hệ thống khảo sát sự hài lòng"


def _fall_line(f: Fall) -> str:
    what = "Chỉ số hài lòng chung" if f.measure == "overall" else \
        f"{f.measure}. {COMPONENTS.get(f.measure, (f.measure,))[0]}"
    return (f"{f.unit_name}, {what}: {format_percent(f.current.estimate)} (kỳ trước "
            f"{format_percent(f.previous.estimate)}; thay đổi {points(f.change)}, {points_ci(f.change)})")


def sections(d: Digest) -> list[tuple[str, list[str]]]:
    """(heading, lines) in the order of the e-mail; an empty list reads "Không có."."""
    names = d.unit_names
    return [
        ("Phiếu đánh giá thấp mới (có câu trả lời mức 1–2)",
         [f"{unit}: {n} phiếu" for unit, n in d.low_ratings]),
        ("Phản ánh, kiến nghị mới",
         [f"{c.code} ({names.get(c.unit_id, '')})" for c in d.new_cases]),
        (f"Phản ánh sắp đến hạn trả lời (trong {CASE_DAYS} ngày)",
         [f"{c.code} ({names.get(c.unit_id, '')}), hạn {format_date(c.due_date)}" for c in d.near_deadline]),
        ("Nhiệm vụ khắc phục quá hạn",
         [f"“{t.action}” ({names.get(t.unit_id, '')}), hạn {format_date(t.deadline)}" for t in d.overdue_tasks]),
        ((f"Chỉ số giảm có ý nghĩa thống kê trong {period_label(d.period).lower()} so với "
          f"{period_label(previous(d.period)).lower()}"),
         [_fall_line(f) for f in d.falls]),
    ]


def compose(d: Digest, config: Mapping[str, Any]) -> EmailMessage:
    yesterday = format_date(d.day - timedelta(days=1))
    link = f"{str(config.get('PUBLIC_BASE_URL') or '').rstrip('/')}/quan-ly/"
    parts = sections(d)
    intro = (f"Tin tổng hợp về các đơn vị của anh/chị trong ngày {yesterday} "
             f"(phản ánh đến hạn và nhiệm vụ quá hạn tính đến ngày {format_date(d.day)}).")
    footer = "Thư được gửi tự động mỗi ngày từ hệ thống khảo sát sự hài lòng; vui lòng không trả lời thư này."
    text = [f"Kính gửi {d.user.name},", "", intro, ""]
    for i, (heading, lines) in enumerate(parts, 1):
        text.append(f"{i}. {heading}:")
        text += [f"   - {line}" for line in lines] or ["   Không có."]
        text.append("")
    text += [f"Xem chi tiết: {link}", "", footer]
    html = [f"<p>Kính gửi {escape(d.user.name)},</p>", f"<p>{escape(intro)}</p>"]
    for i, (heading, lines) in enumerate(parts, 1):
        html.append(f"<h3>{i}. {escape(heading)}</h3>")
        html.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
                    if lines else "<p>Không có.</p>")
    html += [f'<p><a href="{escape(link)}">Xem chi tiết</a></p>', f"<p><small>{escape(footer)}</small></p>"]

    message = EmailMessage()
    message["Subject"] = f"Tin tổng hợp ngày {format_date(d.day)}: khảo sát sự hài lòng"
    message["From"] = formataddr((SENDER_NAME, config.get("MAIL_FROM") or "noreply@localhost"))
    message["To"] = d.user.email
    message["Message-ID"] = make_msgid(domain="khaosat")
    message.set_content("\n".join(text))
    message.add_alternative("<!DOCTYPE html><html lang=\"vi\"><meta charset=\"utf-8\"><body>"
                            + "\n".join(html) + "</body></html>", subtype="html")
    return message


def plain_text(message: EmailMessage) -> str:
    """The plain-text part of a composed digest (the log and the dry run print it)."""
    body = message.get_body(("plain",))
    assert body is not None  # compose() always sets the plain part
    return body.get_content()


def deliver(message: EmailMessage, config: Mapping[str, Any]) -> str:
    """"sent" through SMTP, or "printed" to the log when MAIL_SERVER is unset."""
    server = config.get("MAIL_SERVER")
    if not server:
        log.warning("MAIL_SERVER chưa được đặt: thư không được gửi, nội dung ghi ra nhật ký.\n"
                    "To: %s\nSubject: %s\n\n%s", message["To"], message["Subject"],
                    plain_text(message))
        return "printed"
    port = int(config.get("MAIL_PORT") or (587 if config.get("MAIL_USE_TLS") else 25))
    with smtplib.SMTP(server, port, timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    return "sent"
