"""Uploading and downloading evidence files (hồ sơ kiểm chứng) of a task.

Upload: the app-wide body limit is sized for the citizen form, so this route raises it for its
own request to EVIDENCE_MAX_BYTES (plus the multipart envelope) before the body is parsed, and is
csrf.exempt for that reason only: EvidenceForm checks the CSRF token itself. A bigger body is a
413 with the task page and a clear message; a refused type stores nothing.

Download: always an attachment, with the content type found in the bytes at upload, nosniff and
a sandbox CSP, so nothing uploaded is ever rendered as a page of this site.
"""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from forms.remediation import EvidenceForm
from survey.access import visible_unit_ids
from survey.extensions import csrf, db
from survey.models.loop import EvidenceFile
from survey.permissions import Permission, requires
from survey.remediation import bp, files, queries, service
from survey.remediation.views import _show, task_or_404

ENVELOPE = 64 * 1024  # multipart boundaries, the CSRF token and the file name around the bytes


def max_bytes() -> int:
    return int(current_app.config["EVIDENCE_MAX_BYTES"])


def evidence_dir() -> Path:
    return Path(current_app.config["EVIDENCE_DIR"])


def too_large_message() -> str:
    return _("Tệp vượt quá giới hạn %(mb)s MB; hãy nén ảnh hoặc tách thành nhiều tệp nhỏ hơn.",
             mb=max_bytes() // (1024 * 1024))


@bp.post("/<int:task_id>/ho-so")
@csrf.exempt  # parsed after raising the size limit; EvidenceForm checks the CSRF token itself
@requires(Permission.MANAGE_REMEDIATION)
def upload(task_id: int):
    task = task_or_404(task_id)  # scope first: another unit's task is 404 before its body is read
    request.max_content_length = max_bytes() + ENVELOPE
    try:
        form = EvidenceForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _show(task, 413, too_large_message())
    if not valid:
        message = "; ".join(str(m) for ms in form.errors.values() for m in ms)
        return _show(task, 400, message or _("Không đọc được tệp gửi lên."))
    upload_file = form.file.data
    data = upload_file.read(max_bytes() + 1)
    if len(data) > max_bytes():
        return _show(task, 413, too_large_message())
    directory = evidence_dir()
    try:
        evidence = service.attach_evidence(task, data, upload_file.filename, directory,
                                           current_user.id, current_app.config["EVIDENCE_MAX_UNZIPPED"])
    except files.Refused as refused:
        db.session.rollback()
        return _show(task, 422, str(refused))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        service.remove_orphan(evidence, directory)
        raise
    flash(_("Đã lưu hồ sơ kiểm chứng %(name)s.", name=evidence.original_name), "ok")
    return redirect(url_for("remediation.show", task_id=task.id), code=303)


@bp.get("/ho-so/<int:evidence_id>")
@requires(Permission.MANAGE_REMEDIATION)
def download(evidence_id: int):
    evidence = db.session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.task_id is None \
            or queries.visible_task(visible_unit_ids(current_user), evidence.task_id) is None:
        abort(404)
    path = files.path_of(evidence_dir(), evidence.stored_name)
    if not path.is_file():
        current_app.logger.error("evidence file missing: %s", evidence.stored_name)
        abort(404)
    response = send_file(path, mimetype=evidence.content_type, as_attachment=True,
                         download_name=evidence.original_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response

