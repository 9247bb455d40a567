"""The unit tree and its counters (Permission.MANAGE_UNITS); every change is audited."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forms.admin import LETTERHEAD_FIELDS, UNIT_KIND_LABELS, ActionForm, CounterForm, UnitForm, UploadForm
from survey.access import descendants
from survey.admin import bp
from survey.admin.uploads import read_upload
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import csrf, db
from survey.intake.tokens import survey_url
from survey.letterhead import letterhead_for
from survey.models import Counter, Survey, Unit
from survey.permissions import Permission, requires
from survey.services import audit, imports, undo

KIND_LABELS = dict(UNIT_KIND_LABELS)


def unit_tree() -> list[tuple[Unit, int]]:
    """Every unit with its depth, parents before children, siblings by code."""
    units = db.session.scalars(select(Unit).options(selectinload(Unit.counters)).order_by(Unit.code)).all()
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    ordered: list[tuple[Unit, int]] = []
    stack = [(unit, 0) for unit in reversed(children[None])]
    while stack:
        unit, depth = stack.pop()
        ordered.append((unit, depth))
        stack.extend((child, depth + 1) for child in reversed(children[unit.id]))
    return ordered


def _unit_or_404(unit_id: int) -> Unit:
    return db.get_or_404(Unit, unit_id)


def _counter_or_404(counter_id: int) -> Counter:
    return db.get_or_404(Counter, counter_id)


@bp.get("/don-vi")
@requires(Permission.MANAGE_UNITS)
def units():
    standing = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    qr_urls = {}
    if standing is not None:
        qr_urls = {c.id: survey_url(c.id, standing.id, c.token_version)
                   for c in db.session.scalars(select(Counter).where(Counter.active.is_(True)))}
    return render_template("admin/units.html", tree=unit_tree(), kinds=KIND_LABELS, qr_urls=qr_urls,
                           action=ActionForm(), upload=UploadForm(), standing=standing)


@bp.post("/phieu-rut-gon")
@requires(Permission.MANAGE_UNITS)
def standing_form_length():
    """The standing survey's length: full (every item) or short (one item per component)."""
    standing = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    if standing is None or not ActionForm().validate_on_submit():
        abort(400)
    standing.short_form = request.form.get("rut_gon") == "1"
    audit.record("survey_short_form", target=f"survey:{standing.id}", short_form=standing.short_form)
    db.session.commit()
    flash(_("Phiếu khảo sát thường xuyên: đã chuyển sang phiếu rút gọn (mỗi nhóm tiêu chí một câu).")
          if standing.short_form else _("Phiếu khảo sát thường xuyên: đã chuyển về phiếu đầy đủ."))
    return redirect(url_for("admin.units"))


def _parent_choices(editing: Unit | None) -> list[tuple[str, str]]:
    # A unit cannot move below itself: its own subtree is left out of the choices.
    excluded = descendants({editing.id}) if editing is not None and editing.id else set()
    return [("", _("(không có — cấp tỉnh)"))] + [
        (str(unit.id), f"{'— ' * depth}{unit.code} · {unit.name}")
        for unit, depth in unit_tree() if unit.id not in excluded
    ]


def _save_unit(form: UnitForm, unit: Unit | None) -> Unit | None:
    """Apply a validated form; None (with form errors set) when a rule across fields fails."""
    code = form.code.data.strip()
    clash = db.session.scalar(select(Unit).where(Unit.code == code))
    if clash is not None and clash is not unit:
        form.code.errors.append(_("Đã có đơn vị mã %(code)s.", code=code))
        return None
    parent_id = int(form.parent_id.data) if form.parent_id.data else None
    if form.kind.data == "province" and parent_id is not None:
        form.parent_id.errors.append(_("Đơn vị cấp tỉnh không có đơn vị cấp trên."))
        return None
    if form.kind.data != "province" and parent_id is None:
        form.parent_id.errors.append(_("Vui lòng chọn đơn vị cấp trên."))
        return None
    created = unit is None
    if unit is None:
        unit = Unit()
        db.session.add(unit)
    names = ("code", "name", "kind", "parent_id", *LETTERHEAD_FIELDS)
    before = {name: getattr(unit, name) for name in names}
    unit.code, unit.name, unit.kind, unit.parent_id = code, form.name.data.strip(), form.kind.data, parent_id
    unit.name_en = (form.name_en.data or "").strip() or None
    for name in LETTERHEAD_FIELDS:  # empty: the derived letterhead (survey/letterhead.py)
        setattr(unit, name, (getattr(form, name).data or "").strip() or None)
    db.session.flush()
    after = {name: getattr(unit, name) for name in names}
    details: dict[str, Any] = {"after": after} if created else {"before": before, "after": after}
    audit.record("unit_created" if created else "unit_updated", target=f"unit:{unit.id}", **details)
    db.session.commit()
    return unit


@bp.route("/don-vi/moi", methods=["GET", "POST"])
@requires(Permission.MANAGE_UNITS)
def unit_new():
    form = UnitForm()
    form.parent_id.choices = _parent_choices(None)
    if request.method == "GET" and request.args.get("parent", "").isdigit():
        form.parent_id.data = request.args["parent"]
        form.kind.data = "commune"
    if form.validate_on_submit() and (unit := _save_unit(form, None)) is not None:
        flash(_("Đã thêm đơn vị %(name)s.", name=unit.name))
        return redirect(url_for("admin.units"))
    status = 422 if form.errors or any(f.errors for f in form) else 200
    return render_template("admin/unit_form.html", form=form, unit=None, letterhead=None), status


@bp.route("/don-vi/<int:unit_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_UNITS)
def unit_edit(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = UnitForm(obj=unit if request.method == "GET" else None)
    form.parent_id.choices = _parent_choices(unit)
    if request.method == "GET":
        form.parent_id.data = str(unit.parent_id) if unit.parent_id else ""
    if form.validate_on_submit() and _save_unit(form, unit) is not None:
        flash(_("Đã lưu đơn vị %(name)s.", name=unit.name))
        return redirect(url_for("admin.units"))
    status = 422 if any(f.errors for f in form) else 200
    return render_template("admin/unit_form.html", form=form, unit=unit,
                           letterhead=letterhead_for(unit)), status


def _next_counter_code(unit: Unit) -> str:
    taken = set(db.session.scalars(select(Counter.code)))
    number = len(unit.counters) + 1
    while f"{unit.code}-Q{number}" in taken:
        number += 1
    return f"{unit.code}-Q{number}"


@bp.route("/don-vi/<int:unit_id>/quay-moi", methods=["GET", "POST"])
@requires(Permission.MANAGE_UNITS)
def counter_new(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = CounterForm()
    if form.validate_on_submit():
        code = (form.code.data or "").strip() or _next_counter_code(unit)
        if db.session.scalar(select(Counter.id).where(Counter.code == code)) is not None:
            form.code.errors.append(_("Đã có quầy mã %(code)s.", code=code))
        else:
            counter = Counter(unit=unit, code=code, name=form.name.data.strip(), active=True, token_version=1)
            db.session.add(counter)
            db.session.flush()
            audit.record("counter_created", target=f"counter:{counter.id}", code=code, unit_id=unit.id)
            db.session.commit()
            flash(_("Đã thêm quầy %(code)s. In mã QR của quầy để dán tại quầy.", code=code))
            return redirect(url_for("admin.units"))
    status = 422 if any(f.errors for f in form) else 200
    return render_template("admin/counter_form.html", form=form, unit=unit), status


def _confirmed(title: str, message: str, button: str):
    """None once the official confirmed (POST with xac_nhan=1 and a valid CSRF token); else the
    confirmation page, which works without JavaScript. A POST without a valid token is refused."""
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        if request.form.get("xac_nhan") == "1":
            return None
    return render_template("officials/confirm.html", title=title, message=message, button=button,
                           action=request.path, back=url_for("admin.units"),
                           undo_note=_("Có thể hoàn tác trong vòng 10 phút sau khi làm."))


@bp.route("/quay/<int:counter_id>/ngung", methods=["GET", "POST"])
@requires(Permission.MANAGE_UNITS)
def counter_retire(counter_id: int):
    counter = _counter_or_404(counter_id)
    if not counter.active:
        return redirect(url_for("admin.units"))
    page = _confirmed(_("Ngừng quầy %(code)s?", code=counter.code),
                      _("Mã QR của quầy %(name)s sẽ không mở được phiếu nữa; các phiếu đã thu vẫn được giữ.",
                        name=counter.name), _("Ngừng quầy"))
    if page is not None:
        return page
    # Responses stay: they belong to the unit's results; only new scans are refused (410).
    counter.active = False
    counter.retired_at = datetime.now(timezone.utc)
    audit.record("counter_retired", target=f"counter:{counter.id}", code=counter.code)
    db.session.commit()
    flash(_("Đã ngừng quầy %(code)s; mã QR của quầy không còn mở được phiếu.", code=counter.code))
    flash(url_for("admin.counter_undo", counter_id=counter.id, thao_tac="counter_retired"), "undo")
    return redirect(url_for("admin.units"))


@bp.route("/quay/<int:counter_id>/doi-ma", methods=["GET", "POST"])
@requires(Permission.MANAGE_UNITS)
def counter_rotate(counter_id: int):
    counter = _counter_or_404(counter_id)
    page = _confirmed(_("Đổi mã QR của quầy %(code)s?", code=counter.code),
                      _("Các mã QR đã in của quầy %(name)s sẽ không dùng được nữa; cần in và dán mã mới.",
                        name=counter.name), _("Đổi mã QR"))
    if page is not None:
        return page
    counter.token_version += 1
    audit.record("counter_token_rotated", target=f"counter:{counter.id}", code=counter.code,
                 token_version=counter.token_version)
    db.session.commit()
    flash(_("Đã đổi mã QR của quầy %(code)s; các mã QR đã in trước đây không còn dùng được. "
            "Hãy in mã QR mới.", code=counter.code))
    flash(url_for("admin.counter_undo", counter_id=counter.id, thao_tac="counter_token_rotated"), "undo")
    return redirect(url_for("admin.units"))


@bp.post("/quay/<int:counter_id>/hoan-tac")
@requires(Permission.MANAGE_UNITS)
def counter_undo(counter_id: int):
    """Brings back the state before a retirement or a QR rotation (?thao_tac=), within undo.UNDO_WINDOW."""
    counter = _counter_or_404(counter_id)
    action = request.args.get("thao_tac", "")
    if action not in ("counter_retired", "counter_token_rotated") or not ActionForm().validate_on_submit():
        abort(400)
    target = f"counter:{counter.id}"
    if not undo.can_undo(action, target):
        flash(_("Không hoàn tác được: đã quá 10 phút hoặc đã có thay đổi khác."), "error")
        return redirect(url_for("admin.units"))
    if action == "counter_retired":
        counter.active, counter.retired_at = True, None
        flash(_("Đã hoàn tác: quầy %(code)s hoạt động trở lại.", code=counter.code))
    else:  # the codes printed before the rotation work again
        counter.token_version -= 1
        flash(_("Đã hoàn tác: mã QR cũ của quầy %(code)s dùng được trở lại.", code=counter.code))
    audit.record(undo.undone(action), target=target, code=counter.code, token_version=counter.token_version)
    db.session.commit()
    return redirect(url_for("admin.units"))


@bp.route("/don-vi/nhap", methods=["GET", "POST"])
@csrf.exempt  # parsed below after raising the size limit; UploadForm checks the CSRF token itself
@requires(Permission.MANAGE_UNITS)
def units_import():
    form, data = read_upload()
    errors, result = [], None
    if data is not None:
        try:
            rows = imports.parse_units_csv(data)
            result = imports.apply_units(rows)
        except imports.ImportRejected as rejected:
            db.session.rollback()
            errors = rejected.errors
        else:
            audit.record("units_imported", target=form.file.data.filename or None, via="web",
                         created=result.created, updated=result.updated)
            db.session.commit()
    status = 422 if errors or any(f.errors for f in form) else 200
    return render_template("admin/import_units.html", form=form, errors=errors, result=result), status
