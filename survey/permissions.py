"""Who may do what: the one permission table, and how a route declares what it needs.

Every officials' route (pages and /api/v1 alike) declares one permission with `requires(...)`;
the gate (survey/gate.py) checks it for every request, and the menu (survey/officials/nav.py)
shows an area only to roles that hold its entry route's permission. Roles are spelled out here
and nowhere else: views, templates and the API ask `allows(role, permission)`.

Which *units* a role may read is a separate question (survey/access.py): an official
holds VIEW_UNIT, EXPORT_DATA and ISSUE_DOSSIER_LINKS for their own unit and the units below it
only; the province-wide roles hold theirs for every unit.

The table is plain data (no request needed), so the CLI, tests and documentation can read it.
"""
from __future__ import annotations

from enum import Enum
from typing import Callable, TypeVar

from survey.models.accounts import ROLES


class Permission(str, Enum):
    VIEW_UNIT = "view_unit"                      # a unit's dashboard, PDF report and QR posters
    COMPARE_UNITS = "compare_units"              # the province ranking and the province report
    RUN_CAMPAIGNS = "run_campaigns"              # thematic surveys and their reports
    IMPORT_VOLUMES = "import_volumes"            # service volumes, which set the weights
    MANAGE_UNITS = "manage_units"                # the unit tree, counters, QR rotation
    MANAGE_USERS = "manage_users"                # accounts, resets, every account's API keys
    EXPORT_DATA = "export_data"                  # CSV/XLSX downloads and the read API
    MANAGE_API_TOKENS = "manage_api_tokens"      # one's own API keys
    REVIEW_QUARANTINE = "review_quarantine"      # release or reject quarantined responses
    ISSUE_DOSSIER_LINKS = "issue_dossier_links"  # one-time per-dossier survey links
    READ_RAW_COMMENTS = "read_raw_comments"      # unredacted comment text (an audited action)
    MANAGE_REMEDIATION = "manage_remediation"    # own units' remediation tasks, evidence, 6-month report
    HANDLE_FEEDBACK = "handle_feedback"          # own units' feedback cases: classify, assign, answer
    MANAGE_TRACKER = "manage_tracker"            # import PAR INDEX / SIPAS results, the criteria tracker


ALL_ROLES = frozenset(ROLES)
PROVINCE_STAFF = frozenset({"admin", "analyst"})  # Sở Nội vụ and province IT
ADMIN_ONLY = frozenset({"admin"})

# Roles whose unit scope is the whole province (everyone else: own unit and below).
PROVINCE_WIDE = PROVINCE_STAFF

GRANTS: dict[Permission, frozenset[str]] = {
    Permission.VIEW_UNIT: ALL_ROLES,
    Permission.COMPARE_UNITS: PROVINCE_STAFF,
    Permission.RUN_CAMPAIGNS: PROVINCE_STAFF,
    Permission.IMPORT_VOLUMES: PROVINCE_STAFF,
    Permission.MANAGE_UNITS: ADMIN_ONLY,
    Permission.MANAGE_USERS: ADMIN_ONLY,
    Permission.EXPORT_DATA: ALL_ROLES,
    Permission.MANAGE_API_TOKENS: ALL_ROLES,
    Permission.REVIEW_QUARANTINE: PROVINCE_STAFF,
    Permission.ISSUE_DOSSIER_LINKS: ALL_ROLES,
    Permission.READ_RAW_COMMENTS: ADMIN_ONLY,
    Permission.MANAGE_REMEDIATION: ALL_ROLES,
    Permission.HANDLE_FEEDBACK: ALL_ROLES,
    Permission.MANAGE_TRACKER: PROVINCE_STAFF,
}

# What a refusal names (API 403 messages), in Vietnamese like every message officials read.
LABELS: dict[Permission, str] = {
    Permission.VIEW_UNIT: "xem kết quả đơn vị",
    Permission.COMPARE_UNITS: "so sánh, xếp hạng các đơn vị",
    Permission.RUN_CAMPAIGNS: "tổ chức khảo sát chuyên đề",
    Permission.IMPORT_VOLUMES: "nhập khối lượng hồ sơ",
    Permission.MANAGE_UNITS: "quản lý đơn vị và quầy",
    Permission.MANAGE_USERS: "quản lý tài khoản",
    Permission.EXPORT_DATA: "tải dữ liệu",
    Permission.MANAGE_API_TOKENS: "quản lý khóa API",
    Permission.REVIEW_QUARANTINE: "duyệt phiếu bị tạm giữ",
    Permission.ISSUE_DOSSIER_LINKS: "phát hành liên kết khảo sát theo hồ sơ",
    Permission.READ_RAW_COMMENTS: "đọc nguyên văn ý kiến",
    Permission.MANAGE_REMEDIATION: "quản lý nhiệm vụ khắc phục",
    Permission.HANDLE_FEEDBACK: "xử lý phản ánh, kiến nghị",
    Permission.MANAGE_TRACKER: "theo dõi tiêu chí chưa đạt điểm tối đa",
}

# ---------------------------------------------------------------- routes outside the permission check
# Everything else that is routed goes through the gate and must declare a permission.
# citizens: QR forms, short links, case links, the public results page
PUBLIC_BLUEPRINTS = frozenset({"public", "short", "case", "results"})
PUBLIC_ENDPOINTS = frozenset({
    "static",
    "auth.login",
    "auth.set_language",
    "api.openapi",  # the API's description; every other /api/v1 route needs a bearer token
})
# Signed in, any role, no permission, and reachable with a one-time password (that is what
# they are for: replacing it, or leaving). api.unknown answers 404 to a valid token only.
ACCOUNT_ENDPOINTS = frozenset({"auth.logout", "auth.change_password", "api.unknown"})

# A requirement is a Permission, or (routes still using the roles_required alias) a role set.
Requirement = Permission | frozenset
REQUIREMENT_ATTR = "required_permission"

# Blueprints whose every route needs one permission, declared here once for the whole blueprint
# (a route's own requires() takes precedence). A route of these blueprints added later is
# covered without a decorator.
BLUEPRINT_PERMISSIONS: dict[str, Permission] = {
    "links": Permission.ISSUE_DOSSIER_LINKS,  # officers' one-time dossier links (survey/links)
    "review": Permission.REVIEW_QUARANTINE,   # quarantined responses (survey/review)
    "feedback": Permission.HANDLE_FEEDBACK,   # feedback cases of own units (survey/feedback)
}
F = TypeVar("F", bound=Callable)  # a view function, returned unchanged by requires()

# A permission without roles or words is a mistake at import time, not at request time.
_incomplete = [p for p in Permission if p not in GRANTS or p not in LABELS or not GRANTS[p] <= ALL_ROLES]
if _incomplete:
    raise RuntimeError(f"permission table incomplete: {_incomplete}")


def allows(role: str | None, requirement: Requirement) -> bool:
    """Whether `role` holds `requirement` (a Permission, or a role set from roles_required)."""
    roles = GRANTS[requirement] if isinstance(requirement, Permission) else requirement
    return role in roles


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the permission a view needs; the gate checks it before the view runs.

    Only marks the function (no wrapper), so it may stand above or below the route decorator.
    """
    if not isinstance(permission, Permission):
        raise TypeError(f"requires() takes a Permission, not {permission!r}")

    def mark(view: F) -> F:
        setattr(view, REQUIREMENT_ATTR, permission)
        return view

    return mark


def requirement_of(view: Callable | None, endpoint: str = "") -> Requirement | None:
    """What a route needs: its own declaration, else its blueprint's, else None (refused)."""
    declared = getattr(view, REQUIREMENT_ATTR, None)
    if declared is not None or view is None:
        return declared
    return BLUEPRINT_PERMISSIONS.get(endpoint.rpartition(".")[0]) if "." in endpoint else None


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.split(".", 1)[0] in PUBLIC_BLUEPRINTS
