"""Reading an uploaded CSV under the upload size limit, with the form's own CSRF check."""
from __future__ import annotations

from flask import request

from forms.admin import UploadForm
from survey.services.imports import UPLOAD_MAX_BYTES


def read_upload() -> tuple[UploadForm, bytes | None]:
    """The upload form and the file's bytes when a valid POST carried one, else None.

    The view must be csrf.exempt: the global CSRF check parses the body under the app-wide limit
    (sized for the citizen form) before the view could raise it; UploadForm checks CSRF instead.
    """
    if request.method == "POST":
        request.max_content_length = UPLOAD_MAX_BYTES
    form = UploadForm()
    if form.validate_on_submit():
        return form, form.file.data.read()
    return form, None
