"""Reading a comment unredacted: an administrator's action, one audit row per read.

Everywhere else a comment is shown redacted (indices/comments). An administrator may need the
original, e.g. to call back a citizen who asked for it or to answer a complaint; the read is a
POST naming the response and a reason, written to the audit log in the same transaction.
"""
from __future__ import annotations

from flask import render_template

from forms.admin import RawCommentForm
from survey.admin import bp
from survey.extensions import db
from survey.indices import comments
from survey.permissions import Permission, requires
from survey.services import audit


@bp.route("/y-kien-nguyen-van", methods=["GET", "POST"])
@requires(Permission.READ_RAW_COMMENTS)
def comment_raw():
    form = RawCommentForm()
    texts = None
    if form.validate_on_submit():
        texts = comments.raw_texts(form.response_id.data)
        audit.record("comment_raw_read", target=f"response:{form.response_id.data}",
                     reason=form.reason.data.strip(), found=len(texts))
        db.session.commit()
    status = 422 if form.errors else 200
    return render_template("admin/comment_raw.html", form=form, texts=texts), status
