"""The demo province's closed thematic campaign, so a new user sees a thematic report at once.

A survey on administrative reform in four communes and wards with SIPAS A and B items, a
question of every custom type (question_bank.CUSTOM_TYPES) and demographics, and a few hundred
responses whose answers depend on age band and area (so the breakdowns and their tests have
something to find).  Deterministic and re-runnable like demo_responses: its responses carry
the demo key prefix and are replaced; the campaign itself is made once (code DEMO_CODE).
"""
from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from survey.catalog.periods import VIETNAM
from survey.catalog.question_bank import CustomQuestion
from survey.extensions import db
from survey.intake.anonymity import to_the_hour
from survey.models import Survey, SurveyVersion, Unit
from survey.services import campaigns
from survey.services.demo_responses import DEMO_KEY, NewResponse, insert_responses

DEMO_CODE = "CD-DEMO-CCHC"
TITLE = "Khảo sát chuyên đề về cải cách hành chính và dịch vụ công trực tuyến"
PURPOSE = ("Tìm hiểu mức độ hài lòng và thói quen sử dụng dịch vụ công trực tuyến của người dân "
           "ở bốn xã, phường, để xây dựng kế hoạch cải cách hành chính năm sau.")
UNIT_CODES = ("00157", "00163", "00178", "00193")
PER_UNIT = 80
A_ITEMS = ("A3.1", "A3.3", "A4.1", "A6.1", "A6.2")
B_ITEMS = ("B1.1", "B2.1", "B3.1")
CUSTOM = (
    CustomQuestion("", "likert5", "Ông/Bà hài lòng ở mức nào với Cổng dịch vụ công của tỉnh?",
                   "How satisfied are you with the province's public service portal?", required=True),
    CustomQuestion("", "yesno", "Ông/Bà đã từng nộp hồ sơ trực tuyến chưa?",
                   "Have you ever submitted a dossier online?", required=True),
    CustomQuestion("", "choice", "Ông/Bà thường biết thông tin về thủ tục hành chính qua kênh nào nhất?",
                   "Where do you usually learn about administrative procedures?", choices=(
                       ("Cổng dịch vụ công", "Public service portal"),
                       ("Bộ phận Một cửa", "One-stop counter"),
                       ("Loa phát thanh, tổ dân phố", "Loudspeakers, neighbourhood meetings"),
                       ("Mạng xã hội (Zalo, Facebook)", "Social media (Zalo, Facebook)"))),
    CustomQuestion("", "multi", "Điều gì khiến Ông/Bà chưa nộp hồ sơ trực tuyến?",
                   "What keeps you from submitting online?", choices=(
                       ("Không biết cách làm", "Do not know how"),
                       ("Không có máy tính, điện thoại thông minh", "No computer or smartphone"),
                       ("Thanh toán trực tuyến khó", "Online payment is hard"),
                       ("Muốn gặp trực tiếp cán bộ", "Prefer to meet the official"))),
    CustomQuestion("", "text", "Ông/Bà có đề xuất gì để cải cách hành chính tốt hơn?",
                   "What would you suggest to improve administrative reform?"),
)
SUGGESTIONS = (
    "Nên hướng dẫn người lớn tuổi cách nộp hồ sơ trên điện thoại.",
    "Cổng dịch vụ công hay bị chậm vào buổi sáng.",
    "Cần thêm cán bộ hỗ trợ tại Bộ phận Một cửa.",
    "Gọi cho tôi số 0912 345 678 để góp ý thêm.",
    "Thông báo kết quả qua Zalo sẽ tiện hơn.",
    "Giảm bớt giấy tờ phải nộp bản sao.",
)
AGES = ("18-29", "30-44", "45-59", "60+")


def _campaign(opens: date, closes: date) -> Survey | None:
    survey = db.session.scalar(select(Survey).where(Survey.code == DEMO_CODE))
    if survey is not None:
        return survey
    units = db.session.scalars(select(Unit).where(Unit.code.in_(UNIT_CODES)).order_by(Unit.code)).all()
    if not units:
        return None
    survey = campaigns.create(campaigns.CampaignInput(
        title=TITLE, purpose=PURPOSE, opens_on=opens, closes_on=closes,
        targets=tuple(campaigns.Target(u.id, PER_UNIT) for u in units), a_codes=A_ITEMS,
        area="cai-cach-hanh-chinh", b_codes=B_ITEMS, custom=CUSTOM, demographics=True))
    survey.code = DEMO_CODE
    survey.status = "closed"
    db.session.commit()
    return survey


def _logit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _likert(rng: random.Random, p: float) -> int:
    if rng.random() < p:
        return 5 if rng.random() < 0.4 else 4
    return rng.choice((1, 2, 3, 3))


def seed_campaign_demo(period: str = "2026-H1", seed: int = 2026) -> dict[str, int]:
    """Make the closed demo campaign (once) and replace its responses; call after
    demo_responses.seed_demo_responses, which clears every demo response."""
    rng = random.Random(seed)
    year, half = int(period[:4]), period[-1]
    opens = date(year, 3 if half == "1" else 9, 2)
    closes = opens + timedelta(days=55)
    survey = _campaign(opens, closes)
    if survey is None:
        return {"responses": 0}
    version = survey.current_version
    assert isinstance(version, SurveyVersion)
    codes = {q.type: q.code for q in version.questions if campaigns.CUSTOM_CODE.match(q.code)}
    fixed = [q for q in version.questions if q.type == "likert5" and q.component is not None]
    rows: list[NewResponse] = []
    for u_index, target in enumerate(campaigns.targets_of(survey)):
        level = 0.4 + 0.35 * u_index
        for i in range(PER_UNIT - 6 * u_index):
            age = rng.choice(AGES)
            urban = rng.random() < (0.7 if u_index < 2 else 0.3)
            older = AGES.index(age) / 3
            person = rng.gauss(0, 0.7)
            answers: dict[str, int | str | None] = {}
            for q in fixed:
                answers[q.code] = _likert(rng, _logit(level + person - 0.5 * (q.component == "A6")))
            answers["OVERALL"] = _likert(rng, _logit(level + person))
            answers[codes["likert5"]] = _likert(rng, _logit(level + person - 0.8 * older))
            online = rng.random() < _logit(0.8 - 2.2 * older + 0.6 * urban)
            answers[codes["yesno"]] = int(online)
            if rng.random() < 0.95:
                weights = (3 + 3 * urban - 2 * older, 3, 1 + 3 * (not urban), 2 + 2 * (1 - older))
                answers[codes["choice"]] = str(rng.choices(range(1, 5), weights=weights)[0])
            if not online:
                ticked = [str(k) for k, p in enumerate((0.5, 0.2 + 0.3 * older, 0.3, 0.4), start=1)
                          if rng.random() < p] or ["4"]
                answers[codes["multi"]] = ";".join(ticked)
            if rng.random() < 0.15:
                answers[codes["text"]] = rng.choice(SUGGESTIONS)
            if rng.random() < 0.85:
                answers.update({"CONSENT": 1, "AGE": age, "SEX": rng.choice(("nam", "nu", "nu", "nam", "khac"))
                                if rng.random() < 0.03 else rng.choice(("nam", "nu")),
                                "AREA": "thanh-thi" if urban else "nong-thon"})
            else:
                answers["CONSENT"] = 0
            day = opens + timedelta(days=rng.randrange((closes - opens).days))
            moment = datetime(day.year, day.month, day.day, 8, tzinfo=VIETNAM) + timedelta(minutes=rng.randrange(540))
            rows.append(NewResponse(
                unit_id=target.unit_id, counter_id=None, period=period,
                submitted_at=to_the_hour(moment.astimezone(timezone.utc)), service_field=None,
                answers=answers, key=f"{DEMO_KEY}{DEMO_CODE}-{target.unit_id}-{i}", channel="link"))
    insert_responses(version.id, rows)
    db.session.commit()
    return {"responses": len(rows)}
