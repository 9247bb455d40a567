"""Feedback cases: the citizen's contact and rating forms, the officials' workflow forms."""
from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from forms.citizen import clean_text
from survey.catalog.loop_labels import CASE_CATEGORY_LABELS, CASE_STATUS_LABELS, label

REQUIRED = _l("Vui lòng nhập thông tin này.")
FOLLOWUP_QUESTION = _l("Bạn hài lòng thế nào với cách xử lý phản ánh?")
FOLLOWUP_CHOICES = (
    ("1", _l("Rất không hài lòng")),
    ("2", _l("Không hài lòng")),
    ("3", _l("Bình thường")),
    ("4", _l("Hài lòng")),
    ("5", _l("Rất hài lòng")),
)


# ---------------------------------------------------------------- citizens

class FollowupForm(FlaskForm):
    rating = RadioField(FOLLOWUP_QUESTION, choices=FOLLOWUP_CHOICES,
                        validators=[InputRequired(_l("Vui lòng chọn một mức đánh giá."))])

    def validate_rating(self, field) -> None:  # a forged value is an error, not a crash
        if field.data not in {value for value, _label in FOLLOWUP_CHOICES}:
            raise ValidationError(_l("Lựa chọn không hợp lệ, vui lòng chọn lại."))


class ContactForm(FlaskForm):
    contact = StringField(_l("Số điện thoại hoặc thư điện tử"), filters=[clean_text],
                          validators=[DataRequired(REQUIRED)])
    consent = BooleanField(_l("Tôi đồng ý để đơn vị lưu thông tin liên hệ này (đã mã hóa) để trả lời "
                              "phản ánh; thông tin được xóa khi phản ánh đóng."),
                           validators=[DataRequired(_l("Vui lòng đánh dấu đồng ý để lưu thông tin liên hệ."))])

    def validate_contact(self, field) -> None:
        # Imported here: survey.feedback's package imports its views, which import this module.
        from survey.feedback import contact

        if field.data and contact.normalise(field.data) is None:
            raise ValidationError(_l("Vui lòng nhập số điện thoại (9–12 chữ số) hoặc địa chỉ thư điện tử hợp lệ."))


# ---------------------------------------------------------------- officials

# Labels in the reader's language, worked out when a page is drawn (loop_labels holds both).
CATEGORY_CHOICES = [(code, LazyString(label, CASE_CATEGORY_LABELS, code)) for code in CASE_CATEGORY_LABELS]
STATUS_FILTER_CHOICES = ([("", _l("Tất cả"))]
                         + [(code, LazyString(label, CASE_STATUS_LABELS, code)) for code in CASE_STATUS_LABELS])


class ClassifyForm(FlaskForm):
    category = SelectField(_l("Loại phản ánh"), choices=CATEGORY_CHOICES)


class AssignForm(FlaskForm):
    # Choices (the unit's active accounts) are filled in by the view.
    assignee = SelectField("Giao cho", choices=[], coerce=str)


class DueForm(FlaskForm):
    due_date = DateField(_l("Hạn xử lý"), format="%Y-%m-%d",
                         validators=[InputRequired(_l("Vui lòng chọn ngày (dd/mm/yyyy)."))])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Nội dung trả lời người dân"), filters=[clean_text],
                           validators=[DataRequired(_l("Vui lòng nhập nội dung trả lời.")), Length(max=4000)])


class PublishForm(FlaskForm):
    public_answer = TextAreaField(_l("Nội dung công khai (không nêu tên, số điện thoại, địa chỉ)"),
                                  filters=[clean_text],
                                  validators=[DataRequired(_l("Vui lòng nhập nội dung công khai.")), Length(max=4000)])


class CloseForm(FlaskForm):
    note = StringField(_l("Ghi chú khi đóng (không bắt buộc)"), filters=[clean_text],
                       validators=[Optional(), Length(max=500)])
