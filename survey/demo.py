"""A believable demo province: provincial centre, communes and wards, counters, the SIPAS survey."""
from __future__ import annotations

from sqlalchemy import select

from survey.catalog.instrument import PRIVACY_VI, SIPAS_STANDING, STANDING_CODE, publish_questions
from survey.extensions import db
from survey.models import Counter, Survey, Unit

PROVINCE = ("01", "Tỉnh Hòa Bình Xanh", "Hoa Binh Xanh Province")

# (code, kind, name, English name, counters) — codes in the style of mã đơn vị hành chính.
UNITS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("01-TTPVHCC", "centre", "Trung tâm Phục vụ hành chính công tỉnh",
     "Provincial Public Administrative Service Centre",
     ("Quầy 1 – Đất đai, tài nguyên môi trường", "Quầy 2 – Đăng ký kinh doanh, đầu tư",
      "Quầy 3 – Xây dựng, giao thông", "Quầy 4 – Tư pháp, hộ tịch")),
    ("00157", "ward", "Phường Đồng Tiến", "Dong Tien Ward",
     ("Quầy 1 – Hộ tịch, chứng thực", "Quầy 2 – Đất đai, xây dựng", "Quầy 3 – Lao động, xã hội")),
    ("00163", "ward", "Phường Thống Nhất", "Thong Nhat Ward",
     ("Quầy 1 – Hộ tịch, chứng thực", "Quầy 2 – Đất đai, xây dựng")),
    ("00178", "commune", "Xã Mường Khến", "Muong Khen Commune",
     ("Quầy 1 – Tiếp nhận và trả kết quả", "Quầy 2 – Hộ tịch, chứng thực")),
    ("00193", "commune", "Xã Yên Thủy", "Yen Thuy Commune",
     ("Quầy 1 – Hộ tịch, chứng thực", "Quầy 2 – Đất đai", "Quầy 3 – Chính sách xã hội")),
    ("00205", "commune", "Xã Đà Bắc", "Da Bac Commune",
     ("Quầy 1 – Tiếp nhận và trả kết quả", "Quầy 2 – Đất đai, xây dựng")),
    ("00217", "commune", "Xã Lạc Sơn", "Lac Son Commune",
     ("Quầy 1 – Hộ tịch", "Quầy 2 – Chứng thực", "Quầy 3 – Đất đai, xây dựng", "Quầy 4 – Lao động, xã hội")),
)


# Demo accounts: (e-mail, name, role, unit code, password). For the demo database only.
DEMO_USERS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("quantri@demo.gov.vn", "Quản trị hệ thống", "admin", None, "quantri-demo-2026"),
    ("sonoivu@demo.gov.vn", "Chuyên viên Sở Nội vụ", "analyst", None, "sonoivu-demo-2026"),
    ("dongtien@demo.gov.vn", "Cán bộ Phường Đồng Tiến", "official", "00157", "dongtien-demo-2026"),
    ("muongkhen@demo.gov.vn", "Cán bộ Xã Mường Khến", "official", "00178", "muongkhen-demo-2026"),
)


def seed_demo() -> dict[str, int]:
    """Create the demo province once; running it again changes nothing."""
    province = db.session.scalar(select(Unit).where(Unit.code == PROVINCE[0]))
    if province is None:
        province = Unit(kind="province", code=PROVINCE[0], name=PROVINCE[1], name_en=PROVINCE[2])
        db.session.add(province)
    for code, kind, name, name_en, counters in UNITS:
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            unit = Unit(kind=kind, code=code, name=name, name_en=name_en, parent=province)
            db.session.add(unit)
            for number, counter_name in enumerate(counters, start=1):
                unit.counters.append(Counter(code=f"{code}-Q{number}", name=counter_name, active=True,
                                             token_version=1))
    ensure_standing_survey()
    db.session.flush()
    _demo_users()
    db.session.commit()
    return {
        "units": db.session.query(Unit).count(),
        "counters": db.session.query(Counter).count(),
    }


def ensure_standing_survey() -> Survey:
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    if survey is None:
        survey = Survey(
            code=STANDING_CODE,
            title_vi="Khảo sát sự hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan hành chính nhà nước",
            title_en="Citizen satisfaction with the service of state administrative bodies",
            kind="standing",
            status="open",
            privacy_vi=PRIVACY_VI,
        )
        db.session.add(survey)
        db.session.flush()
    publish_questions(survey, SIPAS_STANDING)
    return survey


def _demo_users() -> None:
    from survey.models import User
    from survey.services.accounts import create_user

    for email, name, role, unit_code, password in DEMO_USERS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            create_user(email, name, role, password, unit_code)
