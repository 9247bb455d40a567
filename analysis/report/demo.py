"""Deterministic demo report data: for previews, the benchmark and layout checks.

Numbers are made up (seeded), shaped like the estimators' output. The
question wording follows the SIPAS instrument in DESIGN.md §4.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from ..estimate import Estimate, is_reliable
from ..estimators import independent_difference
from ..indices import MAX_HALF_WIDTH
from .model import (
    SIPAS_COMPONENTS,
    Breakdown,
    ChangeRow,
    ChoiceShare,
    Comment,
    ComponentRow,
    GroupRow,
    GroupTest,
    HeatRow,
    ItemRow,
    MethodsInfo,
    PosterData,
    ProvinceReportData,
    QuestionResult,
    TargetProgress,
    ThematicReportData,
    TrendPoint,
    UnitReportData,
    ci_method_text,
)
from .ranking import rank_units

__all__ = ["SIPAS_ITEMS", "demo_unit", "demo_province", "demo_thematic",
           "demo_posters"]

SIPAS_ITEMS: tuple[tuple[str, str], ...] = (
    ("A1.1", "Dễ dàng tìm được nơi tiếp nhận hồ sơ và trả kết quả"),
    ("A1.2", "Nơi ngồi chờ có đủ chỗ ngồi, sạch sẽ, thoáng mát"),
    ("A1.3", "Trang thiết bị phục vụ người dân hoạt động tốt, dễ sử dụng"),
    ("A2.1", "Thủ tục hành chính được niêm yết công khai, đầy đủ và chính xác"),
    ("A2.2", "Chỉ phải nộp đúng các giấy tờ theo quy định"),
    ("A2.3", "Phí, lệ phí phải nộp đúng theo quy định"),
    ("A2.4", "Thời hạn giải quyết đúng theo quy định"),
    ("A3.1", "Công chức có thái độ lịch sự khi tiếp nhận và giải quyết hồ sơ"),
    ("A3.2", "Công chức chú ý lắng nghe ý kiến của Ông/Bà"),
    ("A3.3", "Công chức trả lời, giải thích đầy đủ, dễ hiểu"),
    ("A3.4", "Công chức hướng dẫn kê khai hồ sơ tận tình, chu đáo"),
    ("A3.5", "Công chức tuân thủ đúng quy định, không yêu cầu thêm giấy tờ, không gây phiền hà"),
    ("A4.1", "Nhận kết quả đúng hẹn"),
    ("A4.2", "Kết quả đúng quy định, có thông tin đầy đủ, chính xác"),
    ("A4.3", "Được xin lỗi và hẹn lại ngày trả khi hồ sơ bị trễ hạn"),
    ("A5.1", "Có kênh để góp ý, phản ánh, kiến nghị"),
    ("A5.2", "Góp ý, phản ánh, kiến nghị dễ thực hiện"),
    ("A5.3", "Góp ý, phản ánh, kiến nghị được tiếp nhận, xử lý tích cực"),
    ("A5.4", "Được thông báo kết quả xử lý phản ánh, kiến nghị kịp thời"),
    ("A6.1", "Dễ dàng tìm và nộp hồ sơ trực tuyến"),
    ("A6.2", "Thanh toán trực tuyến thực hiện thuận lợi"),
    ("A6.3", "Theo dõi được tình trạng giải quyết hồ sơ trực tuyến"),
    ("A6.4", "Nhận kết quả điện tử thuận tiện"),
)

_COMMENTS = (
    "Cán bộ hướng dẫn rất nhiệt tình, tôi làm xong thủ tục trong buổi sáng.",
    "Chỗ ngồi chờ hơi ít vào giờ cao điểm, nên bố trí thêm ghế.",
    "Máy bấm số thứ tự hay bị lỗi, phải hỏi lại nhân viên.",
    "Nộp hồ sơ trực tuyến được nhưng thanh toán phí không thành công, phải ra quầy nộp tiền mặt.",
    "Kết quả trả đúng hẹn, cảm ơn bộ phận một cửa.",
    "Đề nghị niêm yết rõ hơn mức lệ phí chứng thực.",
    "Thời gian chờ lâu, hơn một tiếng mới đến lượt.",
    "Rất hài lòng với thái độ phục vụ.",
)


def fake_rate(rng: random.Random, p: float, n: int, deff: float = 1.4) -> Estimate | None:
    """A made-up share with a symmetric t-like interval, so its method is "mean"."""
    if n == 0:
        return None
    p = min(0.995, max(0.2, p))
    se = (p * (1 - p) * deff / max(n, 1)) ** 0.5
    lo, hi = max(0.0, p - 1.97 * se), min(1.0, p + 1.97 * se)
    return Estimate(p, se, lo, hi, n, n / deff, deff, max(1, n // 8), method="mean",
                    reliable=is_reliable(n, lo, hi))


def fake_mean(rng: random.Random, p: float, n: int) -> Estimate:
    m = 1 + 4 * (0.25 + 0.7 * p)
    se = 0.9 / max(n, 1) ** 0.5
    lo, hi = m - 1.97 * se, m + 1.97 * se
    return Estimate(m, se, lo, hi, n, n / 1.4, 1.4, max(1, n // 8), method="mean",
                    reliable=is_reliable(n, lo, hi, MAX_HALF_WIDTH["score"]))


def demo_unit(name: str = "Ủy ban nhân dân phường Hòa Khánh Bắc", *, n: int = 412, seed: int = 1,
              level: float = 0.85, comments: int = 30, periods: int = 5) -> UnitReportData:
    rng = random.Random(seed)
    items = []
    comp_p: dict[str, list[float]] = {}
    for code, text in SIPAS_ITEMS:
        p = level + rng.uniform(-0.12, 0.08)
        k = n if not code.startswith(("A5", "A6")) else n // 4  # fewer answer online/feedback items
        k = int(k * rng.uniform(0.85, 1.0)) if k else 0
        items.append(ItemRow(code, text, fake_rate(rng, p, k), fake_mean(rng, p, k) if k else None))
        comp_p.setdefault(code[:2], []).append(p)
    comps = [ComponentRow(c, SIPAS_COMPONENTS[c],
                          fake_rate(rng, sum(ps) / len(ps), n if c not in ("A5", "A6") else n // 4))
             for c, ps in comp_p.items()]
    overall = fake_rate(rng, level, n)
    year, half = 2026, 1
    trend = []
    for i in range(periods - 1, -1, -1):
        y, h = year - (i + (2 - half)) // 2, 1 + ((half - 1 - i) % 2)
        trend.append(TrendPoint(f"{y}-H{h}", fake_rate(rng, level - 0.01 * i + rng.uniform(-0.02, 0.02), n)))
    if n:
        trend[-1] = TrendPoint(trend[-1].period, overall)
    else:
        trend[-1] = TrendPoint(trend[-1].period, None)
    prev = trend[-2].estimate if len(trend) > 1 else None
    change = independent_difference(overall, prev) if overall and prev else None
    start = date(2026, 6, 28)
    cmts = [Comment(start - timedelta(days=3 * i), _COMMENTS[(i + seed) % len(_COMMENTS)])
            for i in range(min(comments, n))]
    return UnitReportData(
        unit_name=name, unit_kind="Ủy ban nhân dân phường", province_name="Ủy ban nhân dân thành phố Đà Nẵng",
        period="2026-H1", survey_title="Khảo sát thường xuyên sự hài lòng (SIPAS)",
        response_count=n, overall=overall, overall_previous=prev,
        previous_period=trend[-2].period if len(trend) > 1 else None, overall_change=change,
        components=tuple(comps) if n else (), items=tuple(items) if n else (), trend=tuple(trend),
        comments=tuple(cmts),
        methods=MethodsInfo("Trọng số = số hồ sơ đã giải quyết của lĩnh vực ÷ số phiếu của lĩnh vực.",
                            n, n * 23, strata=9, ci_method=ci_method_text([
                                ("chỉ số chung và chỉ số thành phần",
                                 [overall, *(c.estimate for c in comps)]),
                                ("tỷ lệ hài lòng từng tiêu chí", [i.rate for i in items]),
                                ("thay đổi so với kỳ trước", [change])])),
        unit_code="20200", generated_at=datetime(2026, 7, 2, 8, 30))


_PLACES = ("Hải Châu", "Thanh Khê", "Sơn Trà", "Ngũ Hành Sơn", "Liên Chiểu", "Cẩm Lệ", "Hòa Vang",
           "Hòa Khánh", "An Hải", "Hòa Cường", "Thạc Gián", "Hòa Xuân", "Bà Nà", "Hòa Tiến")


def demo_province(n_units: int = 14, seed: int = 7) -> ProvinceReportData:
    rng = random.Random(seed)
    entries, heat, changes, appendix = [], [], [], []
    codes = tuple(SIPAS_COMPONENTS.items())
    for i in range(n_units):
        name = f"Ủy ban nhân dân {'phường' if i % 3 else 'xã'} {_PLACES[i % len(_PLACES)]}" + (
            f" {i // len(_PLACES) + 1}" if i >= len(_PLACES) else "")
        n = rng.choice((12, 150, 240, 320, 400, 600)) if i % 6 else 18
        p = rng.uniform(0.72, 0.93)
        est = fake_rate(rng, p, n)
        entries.append((name, est, n))
        heat.append(HeatRow(name, tuple(fake_rate(rng, p + rng.uniform(-0.1, 0.06), n) for _ in codes)))
        prev = fake_rate(rng, p + (0.09 if i % 5 == 2 else rng.uniform(-0.04, 0.03)), n)
        changes.append(ChangeRow(name, est, prev, independent_difference(est, prev)
                                 if est and prev else None))
        if i < 4:
            appendix.append(demo_unit(name, n=n, seed=seed + i, level=p, comments=0, periods=2))
    return ProvinceReportData(
        province_name="Thành phố Đà Nẵng", period="2026-H1",
        survey_title="Khảo sát thường xuyên sự hài lòng (SIPAS)",
        units=tuple(rank_units(entries)), components=codes, heat=tuple(heat), changes=tuple(changes),
        appendix=tuple(appendix), overall=fake_rate(rng, 0.84, sum(e[2] for e in entries)),
        response_count=sum(e[2] for e in entries), previous_period="2025-H2",
        methods=MethodsInfo("Trọng số theo số hồ sơ đã giải quyết của từng đơn vị và lĩnh vực.",
                            sum(e[2] for e in entries), 48213, strata=n_units * 3),
        generated_at=datetime(2026, 7, 3, 9, 15))


def demo_thematic(seed: int = 3) -> ThematicReportData:
    rng = random.Random(seed)
    texts = (("B1.1", "Thông tin về chính sách hỗ trợ học phí được cung cấp đầy đủ, dễ hiểu"),
             ("B1.2", "Ông/Bà biết nơi hỏi thêm thông tin về chính sách"),
             ("B2.1", "Người dân có cơ hội tham gia góp ý khi xây dựng chính sách"),
             ("B2.2", "Ý kiến góp ý được ghi nhận và phản hồi"),
             ("B3.1", "Chính sách mang lại lợi ích thiết thực cho gia đình Ông/Bà"),
             ("B3.2", "Phản ánh về kết quả thực hiện chính sách được tiếp nhận và trả lời"))
    comps = (("B1", "Cung cấp thông tin"), ("B2", "Tham gia góp ý"), ("B3", "Kết quả, tác động"))
    items = [ItemRow(c, t, fake_rate(rng, rng.uniform(0.6, 0.9), 380), fake_mean(rng, 0.75, 380))
             for c, t in texts]
    return ThematicReportData(
        campaign_title="Khảo sát sự hài lòng về chính sách giáo dục năm học 2025–2026",
        purpose="Đánh giá việc cung cấp thông tin, tham gia góp ý và kết quả thực hiện chính sách miễn, giảm học phí.",
        opens_on=date(2026, 3, 1), closes_on=date(2026, 4, 30), organizer="Sở Nội vụ thành phố Đà Nẵng",
        response_count=1140, overall=fake_rate(rng, 0.78, 1140),
        components=tuple(ComponentRow(c, nm, fake_rate(rng, rng.uniform(0.65, 0.88), 380))
                         for c, nm in comps),
        items=tuple(items),
        targets=tuple(TargetProgress(f"Ủy ban nhân dân phường {p}", rng.randint(20, 160), 120)
                      for p in _PLACES[:9]),
        comments=tuple(Comment(date(2026, 4, 29) - timedelta(days=i), _COMMENTS[i % 8])
                       for i in range(6)),
        methods=MethodsInfo("Mẫu phân tầng theo phường; trọng số thiết kế = số hộ ÷ số hộ được chọn.",
                            1140, 0), generated_at=datetime(2026, 5, 2, 14, 0),
        questions=_demo_questions(rng))


def _demo_questions(rng: random.Random) -> tuple[QuestionResult, ...]:
    """A campaign's own questions, one of each kind but the open one, with a breakdown."""
    channels = ("Loa phát thanh", "Zalo của tổ dân phố", "Trang thông tin điện tử")
    areas = (("Thành thị", 520), ("Nông thôn", 480))
    test = GroupTest(statistic=6.2, ndf=1.9, ddf=330.0, p_value=0.0027, method="rao-scott",
                     chisq=14.1, n=1000, groups=2)
    shares = tuple(ChoiceShare(str(i), c, fake_rate(rng, p, 1000))
                   for i, (c, p) in enumerate(zip(channels, (0.45, 0.35, 0.2)), 1))
    rows = tuple(GroupRow(a, tuple(fake_rate(rng, p, n) for p in ps))
                 for (a, n), ps in zip(areas, ((0.3, 0.4, 0.3), (0.6, 0.3, 0.1))))
    by_area = Breakdown("AREA", "Khu vực sinh sống", channels, rows, test)
    return (
        QuestionResult("C1", "likert5", "Ông/Bà hài lòng với thủ tục xét miễn học phí ở mức nào?",
                       answered=1100, rate=fake_rate(rng, 0.72, 1100), mean=fake_mean(rng, 0.72, 1100)),
        QuestionResult("C2", "yesno", "Gia đình Ông/Bà đã được miễn, giảm học phí chưa?", answered=1120,
                       rate=fake_rate(rng, 0.41, 1120)),
        QuestionResult("C3", "choice", "Ông/Bà biết chính sách qua kênh nào nhất?", answered=1000,
                       shares=shares, breakdowns=(by_area,)),
        QuestionResult("C4", "text", "Ông/Bà có đề xuất gì thêm?", answered=2,
                       texts=(Comment(date(2026, 4, 20), "Nên thông báo sớm hơn."),
                              Comment(date(2026, 4, 18), "Thủ tục cần đơn giản hơn."))),
    )


def demo_posters(n: int = 3, unit: str = "Trung tâm Phục vụ hành chính công thành phố Đà Nẵng") -> list[PosterData]:
    return [PosterData(unit, f"Quầy số {i + 1} – Lĩnh vực {('Đất đai', 'Hộ tịch', 'Đầu tư', 'Xây dựng')[i % 4]}",
                       f"https://hailong.danang.gov.vn/q/{i + 1:04d}.eyJjIjo{i}fQ.sig{i:06d}",
                       f"hailong.danang.gov.vn/q/{i + 1:04d}") for i in range(n)]
