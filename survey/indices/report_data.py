"""Report inputs from the database: the plain dataclasses analysis.report renders.

Queries and estimates come from indices/aggregates; this module only assembles them, so the
numbers in a PDF are the same as on the dashboard.  A unit's report is of a unit the caller has
already found in its scope (access.unit_or_404, or an operator's --unit); the province report
is for the roles that compare units (Permission.COMPARE_UNITS) and the CLI.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import AbstractSet, cast

from sqlalchemy import func, select

from analysis import Estimate, independent_difference
from analysis.report.language import N_
from analysis.report.model import (
    ChangeRow,
    ComponentRow,
    HeatRow,
    ItemRow,
    MethodsInfo,
    PosterData,
    ProvinceReportData,
    TargetProgress,
    ThematicReportData,
    TrendPoint,
    UnitReportData,
    ci_method_text,
)
from analysis.report.ranking import rank_units
from survey import i18n
from survey.catalog.instrument import COMPONENTS, PRIVACY_VI, STANDING_CODE
from survey.catalog.periods import VIETNAM, last_periods, previous
from survey.extensions import db
from survey.indices import aggregates, drill, windows
from survey.indices import comments as comment_reader
from survey.intake.tokens import survey_url
from survey.letterhead import letterhead_for
from survey.links.service import verified_count
from survey.models import Counter, ServiceVolume, Survey, Unit
from survey.short_links import short_url

# Vietnamese, marked for the catalogue: the report templates translate them (`| tr`).
UNIT_KINDS_VI = {
    "province": N_("Ủy ban nhân dân tỉnh"),
    "agency": N_("Cơ quan chuyên môn thuộc UBND tỉnh"),
    "commune": N_("Ủy ban nhân dân xã"),
    "ward": N_("Ủy ban nhân dân phường"),
    "centre": N_("Trung tâm Phục vụ hành chính công"),
}
TREND_PERIODS = 4
COMMENT_SAMPLE = 30


def period_change(current: Estimate | None, before: Estimate | None) -> Estimate | None:
    """Change between two periods: analysis.independent_difference (t on df_a + df_b)."""
    if current is None or before is None:
        return None
    return independent_difference(current, before)


def _province(unit: Unit) -> Unit:
    while unit.parent is not None:
        unit = unit.parent
    return unit


def _survey_title(survey_code: str, lang: str = "vi") -> str:
    vi, en = db.session.execute(select(Survey.title_vi, Survey.title_en)
                                .where(Survey.code == survey_code)).one_or_none() or (None, None)
    return (en if lang == "en" and en else vi) or survey_code


def _name(unit: Unit, lang: str) -> str:
    """A unit's English name where it has one (Unit.name_en), its official name otherwise."""
    return unit.name_en if lang == "en" and unit.name_en else unit.name


def _tr(lang: str, text: str, **variables: str) -> str:
    """gettext in the report's language (the caller's choice, not the request's)."""
    out = i18n.translations(lang).gettext(text)
    return out % variables if variables else out


INDEX_ESTIMATES = N_("chỉ số chung và chỉ số thành phần")
ITEM_ESTIMATES = N_("tỷ lệ hài lòng từng tiêu chí")
CHANGE_ESTIMATES = N_("thay đổi so với kỳ trước")
GAP_ESTIMATES = N_("chênh lệch so với toàn tỉnh")
WEIGHTED_TEXT = N_("Mỗi phiếu được gia quyền theo số hồ sơ đơn vị đã giải quyết trong từng lĩnh vực, "
                   "nên kết quả mô tả người trả lời được điều chỉnh theo khối lượng dịch vụ.")
UNWEIGHTED_TEXT = N_("Chưa có số liệu hồ sơ: ước lượng chưa gia quyền.")
THEMATIC_WEIGHTS_TEXT = N_("Kết quả gộp các đơn vị được khảo sát; mỗi phiếu được gia quyền theo số hồ "
                           "sơ của đơn vị khi có số liệu, nếu chưa có thì mỗi phiếu có trọng số như nhau.")


def _ci_text(lang: str, groups: list[tuple[str, list[Estimate | None]]]) -> str:
    return ci_method_text([(_tr(lang, what), estimates) for what, estimates in groups], lang)


def _methods(unit_ids: AbstractSet[int] | None, period: str, summary_weighted: bool, responses: int,
             ci_method: str, lang: str = "vi") -> MethodsInfo:
    query = select(func.coalesce(func.sum(ServiceVolume.dossiers), 0)).where(ServiceVolume.period == period)
    if unit_ids is not None:
        query = query.where(ServiceVolume.unit_id.in_(unit_ids))
    dossiers = int(db.session.scalar(query) or 0)
    text = _tr(lang, WEIGHTED_TEXT if summary_weighted else UNWEIGHTED_TEXT)
    return MethodsInfo(weights_description=text, responses=responses, dossiers=dossiers,
                       ci_method=ci_method)


def unit_report_data(unit: Unit, period: str, survey_code: str = STANDING_CODE, lang: str = "vi"
                     ) -> UnitReportData:
    """`unit` is one the caller found in its scope (access.unit_or_404) or named on the CLI.

    `lang` "en": item wordings, component names and labels in English (the PDF's language)."""
    with i18n.using(lang):
        return _unit_report_data(unit, period, survey_code, lang)


def _unit_report_data(unit: Unit, period: str, survey_code: str, lang: str) -> UnitReportData:
    # One read for the period, the one before and the trend (which includes both).
    trend_periods = last_periods(period, TREND_PERIODS)
    rows = aggregates.unit_rows(unit.id, trend_periods, survey_code)
    summary = aggregates.unit_summary(unit.id, period, survey_code, rows=rows)
    earlier = previous(period)
    before = aggregates.unit_summary(unit.id, earlier, survey_code, rows=rows).overall
    change = period_change(summary.overall, before)
    # The dashboard's figures against the province (indices/drill.standing), not re-derived.
    standing = drill.standing(unit.id, windows.half(period), survey_code)
    ci_method = _ci_text(lang, [
        (INDEX_ESTIMATES, [summary.overall, *(ind for _c, _n, ind in summary.components),
                           standing.province]),
        (ITEM_ESTIMATES, [i.rate for i in summary.items]),
        (CHANGE_ESTIMATES, [change]), (GAP_ESTIMATES, [standing.gap])])
    return UnitReportData(
        unit_name=_name(unit, lang),
        unit_kind=UNIT_KINDS_VI.get(unit.kind, unit.kind),
        province_name=_name(_province(unit), lang),
        period=period,
        survey_title=_survey_title(survey_code, lang),
        response_count=summary.responses,
        overall=summary.overall,
        overall_previous=before,
        previous_period=earlier,
        overall_change=change,
        components=tuple(ComponentRow(code=code, name=name, estimate=est)
                         for code, name, est in summary.components if code in COMPONENTS),
        items=tuple(ItemRow(code=i.code, text=i.text, rate=i.rate, mean=i.score,
                            component=i.component or "") for i in summary.items),
        trend=tuple(TrendPoint(period=p, estimate=est)
                    for p, est in aggregates.trend(unit.id, trend_periods, survey_code, rows=rows)),
        comments=tuple(comment_reader.latest(None, survey_code, unit_ids={unit.id}, period=period,
                                             limit=COMMENT_SAMPLE)),
        methods=_methods({unit.id}, period, summary.weighted, summary.responses, ci_method, lang),
        unit_code=unit.code,
        generated_at=datetime.now(VIETNAM),
        verified_count=verified_count({unit.id}, period, survey_code),
        verified_overall=aggregates.unit_summary(unit.id, period, survey_code,
                                                 verified_only=True).overall,
        letterhead=letterhead_for(unit),
        province_overall=standing.province,
        province_rank=standing.unit,
        units_ranked=standing.units,
        province_gap=standing.gap,
    )


def province_report_data(period: str, survey_code: str = STANDING_CODE, appendix: bool = True,
                         lang: str = "vi") -> ProvinceReportData:
    with i18n.using(lang), drill.shared_ranking():  # the appendix's units: one province read
        return _province_report_data(period, survey_code, appendix, lang)


def _province_report_data(period: str, survey_code: str, appendix: bool, lang: str
                          ) -> ProvinceReportData:
    rows = aggregates.index_rows(period, None, survey_code, stats=("overall", "component"))
    before = {r.unit_id: r.est
              for r in aggregates.index_rows(previous(period), None, survey_code, stats=("overall",))}
    overall = {r.unit_id: r for r in rows if r.stat == "overall"}
    comp = {(r.unit_id, r.measure): r.est for r in rows if r.stat == "component"}
    units = db.session.scalars(select(Unit).where(Unit.id.in_(overall.keys())).order_by(Unit.code)).all()
    province = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
    ranked = rank_units([(_name(u, lang), overall[u.id].est, overall[u.id].responses) for u in units])
    from survey.indices.pooled import pooled_rows

    province_wide = pooled_rows(survey_code, [period], None).get(("overall", "overall")) if overall else None
    changes = tuple(ChangeRow(unit_name=_name(u, lang), current=overall[u.id].est, previous=before.get(u.id),
                              change=period_change(overall[u.id].est, before.get(u.id)))
                    for u in units)
    ci_method = _ci_text(lang, [
        (INDEX_ESTIMATES, [province_wide, *(r.est for r in overall.values()), *comp.values()]),
        (CHANGE_ESTIMATES, [c.change for c in changes])])
    return ProvinceReportData(
        province_name=_name(province, lang) if province else "",
        period=period,
        survey_title=_survey_title(survey_code, lang),
        units=tuple(ranked),
        heat=tuple(HeatRow(unit_name=_name(u, lang), values=tuple(comp.get((u.id, c)) for c in COMPONENTS))
                   for u in units),
        changes=changes,
        appendix=tuple(_unit_report_data(u, period, survey_code, lang) for u in units) if appendix else (),
        overall=province_wide,
        response_count=sum(r.responses for r in overall.values()),
        previous_period=previous(period),
        methods=_methods(None, period, all(r.weighted for r in overall.values()) if overall else False,
                         sum(r.responses for r in overall.values()), ci_method, lang),
        generated_at=datetime.now(VIETNAM),
        letterhead=letterhead_for(province) if province else None,
    )


def posters_for(unit: Unit, survey_code: str = STANDING_CODE) -> list[PosterData]:
    """One poster per active counter of the unit, with its signed URL and a typeable short link."""
    survey = cast(Survey, db.session.scalar(select(Survey).where(Survey.code == survey_code)))
    counters = db.session.scalars(select(Counter).where(Counter.unit_id == unit.id, Counter.active)
                                  .order_by(Counter.code)).all()
    letterhead = letterhead_for(unit)
    return [PosterData(unit_name=unit.name, counter_name=c.name,
                       url=survey_url(c.id, survey.id, c.token_version),
                       short_url=short_url(c.code, c.token_version), privacy_line=survey.privacy_vi or PRIVACY_VI,
                       letterhead=letterhead)
            for c in counters]


def campaign_posters(survey: Survey) -> list[PosterData]:
    """One poster per target unit of a campaign: its unit link (no counter, no short link)."""
    from survey.intake.tokens import unit_survey_url
    from survey.services import campaigns

    posters = []
    for target in campaigns.targets_of(survey):
        url = unit_survey_url(target.unit_id, survey.id)
        posters.append(PosterData(unit_name=target.unit.name, counter_name=survey.title_vi, url=url,
                                  short_url=url, privacy_line=survey.privacy_vi or PRIVACY_VI,
                                  letterhead=letterhead_for(target.unit)))
    return posters


def thematic_report_data(survey: Survey, lang: str = "vi") -> ThematicReportData:
    """A thematic campaign pooled over its target units and the periods it ran in."""
    with i18n.using(lang):
        return _thematic_report_data(survey, lang)


def _thematic_report_data(survey: Survey, lang: str) -> ThematicReportData:
    from survey.indices import pooled
    from survey.indices.thematic import campaign_results
    from survey.services import campaigns

    targets = campaigns.progress(survey)
    unit_ids = {t.unit.id for t in targets}
    periods = pooled.campaign_periods(survey.id)
    rows = pooled.pooled_rows(survey.code, periods, unit_ids or None)
    own = campaign_results(survey, periods, unit_ids or None)
    texts = aggregates.question_texts(survey.code)
    items = []
    for (stat, code), est in sorted(rows.items()):
        text, component = texts.get(code, (code, None))
        if stat == "rate" and component not in ("OVERALL", None, "DEMO"):
            items.append(ItemRow(code=code, text=text, rate=est,
                                 mean=rows.get(("score", code)), component=component))
    components = tuple(ComponentRow(code=code, name=_component_name(code, lang), estimate=est)
                       for (stat, code), est in sorted(rows.items()) if stat == "component")
    responses = sum(t.responses for t in targets)
    province = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
    return ThematicReportData(
        campaign_title=(survey.title_en if lang == "en" and survey.title_en else survey.title_vi),
        purpose=survey.purpose or "",
        opens_on=cast(date, campaigns.local_day(survey.opens_at)),
        closes_on=cast(date, campaigns.local_day(survey.closes_at, exclusive_end=True)),
        organizer=(_tr(lang, N_("Sở Nội vụ %(province)s"), province=_name(province, lang)) if province
                   else _tr(lang, N_("Sở Nội vụ"))),
        response_count=responses,
        overall=rows.get(("overall", "overall")),
        components=components,
        items=tuple(items),
        targets=tuple(TargetProgress(unit_name=_name(t.unit, lang), responses=t.responses, quota=t.quota or 0)
                      for t in targets),
        # The comment box only: the campaign's open questions are listed with their question.
        comments=tuple(comment_reader.latest(None, survey.code, limit=COMMENT_SAMPLE, codes={"COMMENT"})),
        questions=own.questions,
        index_breakdowns=own.index_breakdowns,
        methods=MethodsInfo(
            weights_description=_tr(lang, THEMATIC_WEIGHTS_TEXT),
            responses=responses, dossiers=0, ci_method=_ci_text(lang, [
                (INDEX_ESTIMATES, [rows.get(("overall", "overall")),
                                   *(c.estimate for c in components)]),
                (ITEM_ESTIMATES, [i.rate for i in items])])),
        generated_at=datetime.now(VIETNAM),
    )


def _component_name(code: str, lang: str = "vi") -> str:
    from survey.catalog.question_bank import B_COMPONENTS

    names = {**COMPONENTS, **B_COMPONENTS}.get(code)
    return code if names is None else names[1 if lang == "en" else 0]
