"""The officials' menu, built from the permission table: an area shows to whoever may open it.

Each entry names only its endpoint and label; who sees it is the permission that endpoint
declares (survey.permissions.requires), the same one the gate checks. So an area is added by
defining its view, and the menu can never offer a page the gate would refuse.
"""
from __future__ import annotations

from flask import current_app, url_for
from flask_login import current_user

from survey.gate import route_requirement
from survey.permissions import Permission, allows

MENU: tuple[tuple[str, str], ...] = (
    ("officials.home", "Đơn vị của tôi"),
    ("dashboards.index", "Bảng điều khiển"),
    ("links.index", "Phiếu theo hồ sơ"),
    ("remediation.index", "Khắc phục"),
    ("feedback.index", "Phản ánh, kiến nghị"),
    ("progress.index", "Báo cáo 6 tháng"),
    ("dashboards.overview", "Toàn tỉnh"),
    ("dashboards.province", "So sánh đơn vị"),
    ("campaigns.index", "Khảo sát chuyên đề"),
    ("review.index", "Kiểm duyệt phiếu"),
    ("tracker.index", "Theo dõi tiêu chí"),
    ("admin.units", "Đơn vị và quầy"),
    ("admin.data", "Dữ liệu"),
    ("admin.users", "Tài khoản"),
    ("admin.tokens", "Khóa API"),
)


def can(permission: Permission | str) -> bool:
    """Whether the signed-in user holds `permission` (templates: `can("IMPORT_VOLUMES")`)."""
    if not current_user.is_authenticated:
        return False
    if isinstance(permission, str) and not isinstance(permission, Permission):
        permission = Permission[permission]  # a misspelt name fails loudly, never hides silently
    return allows(current_user.role, permission)


def nav_links() -> list[tuple[str, str]]:
    if not current_user.is_authenticated or current_user.must_change_password:
        return []
    links = []
    for endpoint, label in MENU:
        requirement = route_requirement(current_app, endpoint)
        if requirement is not None and allows(current_user.role, requirement):
            links.append((url_for(endpoint), label))
    return links
