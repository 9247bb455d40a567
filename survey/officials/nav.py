"""The officials' menu: each area lists its entry endpoint and who may use it.

An entry shows only when its endpoint exists and the user's role may use it, so an area can be
added by defining its view, without touching the base template.
"""
from __future__ import annotations

from flask import current_app, url_for
from flask_login import current_user

ALL = ("admin", "analyst", "official")
MENU: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("officials.home", "Đơn vị của tôi", ALL),
    ("dashboards.index", "Bảng điều khiển", ALL),
    ("links.index", "Phiếu theo hồ sơ", ALL),
    ("dashboards.province", "So sánh đơn vị", ("admin", "analyst")),
    ("campaigns.index", "Khảo sát chuyên đề", ("admin", "analyst")),
    ("review.index", "Kiểm duyệt phiếu", ("admin", "analyst")),
    ("admin.units", "Đơn vị và quầy", ("admin",)),
    ("admin.data", "Dữ liệu", ALL),
    ("admin.users", "Tài khoản", ("admin",)),
    ("admin.tokens", "Khóa API", ALL),
)


def nav_links() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    return [
        (url_for(endpoint), label)
        for endpoint, label, roles in MENU
        if endpoint in current_app.view_functions and current_user.role in roles
    ]
