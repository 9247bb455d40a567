"""The officials' menu, built from the permission table: an area shows to whoever may open it.

Each entry names only its endpoint and label; who sees it is the permission that endpoint
declares (survey.permissions.requires), the same one the gate checks. So an area is added by
defining its view, and the menu can never offer a page the gate would refuse.
"""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey.gate import route_requirement
from survey.permissions import Permission, allows

MENU: tuple[tuple[str, LazyString], ...] = (
    ("officials.home", _l("Đơn vị của tôi")),
    ("dashboards.index", _l("Bảng điều khiển")),
    ("links.index", _l("Phiếu theo hồ sơ")),
    ("remediation.index", _l("Khắc phục")),
    ("feedback.index", _l("Phản ánh, kiến nghị")),
    ("progress.index", _l("Báo cáo 6 tháng")),
    ("dashboards.overview", _l("Toàn tỉnh")),
    ("dashboards.province", _l("So sánh đơn vị")),
    ("campaigns.index", _l("Khảo sát chuyên đề")),
    ("review.index", _l("Kiểm duyệt phiếu")),
    ("tracker.index", _l("Theo dõi tiêu chí")),
    ("admin.units", _l("Đơn vị và quầy")),
    ("admin.data", _l("Dữ liệu")),
    ("admin.users", _l("Tài khoản")),
    ("admin.tokens", _l("Khóa API")),
)


def can(permission: Permission | str) -> bool:
    """Whether the signed-in user holds `permission` (templates: `can("IMPORT_VOLUMES")`)."""
    if not current_user.is_authenticated:
        return False
    if isinstance(permission, str) and not isinstance(permission, Permission):
        permission = Permission[permission]  # a misspelt name fails loudly, never hides silently
    return allows(current_user.role, permission)


def nav_links() -> list[tuple[str, str]]:
    """(URL, label in the reader's language) of every area the user may open."""
    if not current_user.is_authenticated or current_user.must_change_password:
        return []
    links = []
    for endpoint, label in MENU:
        requirement = route_requirement(current_app, endpoint)
        if requirement is not None and allows(current_user.role, requirement):
            links.append((url_for(endpoint), str(label)))
    return links
